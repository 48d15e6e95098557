//! The dashboard's people: sign-up of a merchant's owner, sign-in with lock-out, sessions with
//! idle and absolute timeouts, roles, and the audit log. A service: it speaks the domain (no
//! HTTP); the dashboard (`web`) renders what it answers.
//!
//! Passwords are hashed with argon2id (RFC 9106's second recommended option, the argon2
//! crate's defaults: 19 MiB, 2 passes, 1 lane). A session's cookie carries 256 random bits;
//! the database keeps only their SHA-256, so a copy of the table opens no session.

use argon2::Argon2;
use argon2::password_hash::{PasswordHasher as _, PasswordVerifier as _};
use base64::Engine as _;
use cajero_domain::id::{AuditId, MerchantId, UserId};
use cajero_domain::merchant::MerchantStatus;
use cajero_store::dashboard::{self, AuditRow, SessionRow, UserRow};
use cajero_store::merchants::{self, MerchantRecord};
use cajero_store::{Micros, Store, StoreError};
use jiff::{SignedDuration, Timestamp};
use rand::RngExt as _;
use sha2::{Digest as _, Sha256};

use crate::admin::MERCHANT_NAME_CHARS_MAX;
use crate::clock::{Clock, new_id};

/// Shortest password accepted (NIST SP 800-63B asks for at least 8; a payments dashboard asks
/// for more).
pub const PASSWORD_CHARS_MIN: usize = 12;
/// Longest password accepted: argon2 takes any length, but a megabyte "password" is a way to
/// make the server work, not a password.
pub const PASSWORD_CHARS_MAX: usize = 128;
/// Longest e-mail address (RFC 5321's path limit).
pub const EMAIL_CHARS_MAX: usize = 254;
/// Longest display name of a user.
pub const USER_NAME_CHARS_MAX: usize = 100;
/// Failed sign-ins in a row that lock a user out…
pub const LOGIN_FAILURES_MAX: i64 = 5;
/// …for this long.
pub const LOCK_OUT: SignedDuration = SignedDuration::from_mins(15);
/// A session unused for this long is over.
pub const SESSION_IDLE: SignedDuration = SignedDuration::from_mins(30);
/// A session is over this long after sign-in, however busy.
pub const SESSION_ABSOLUTE: SignedDuration = SignedDuration::from_hours(12);
/// Activity is written to a session at most this often (not on every page).
pub const SESSION_TOUCH_EVERY: SignedDuration = SignedDuration::from_mins(1);
/// Users a merchant may have.
pub const USERS_PER_MERCHANT_MAX: i64 = 200;
/// Random bytes of a session token and of a CSRF token.
const TOKEN_BYTES: usize = 32;

/// What a user may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Everything, including users, the audit log and live mode.
    Owner,
    /// API keys and webhook endpoints, and what an analyst sees.
    Developer,
    /// Read only.
    Analyst,
}

impl Role {
    /// As stored.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Owner => "owner",
            Role::Developer => "developer",
            Role::Analyst => "analyst",
        }
    }

    /// From storage.
    pub fn parse(text: &str) -> Option<Role> {
        match text {
            "owner" => Some(Role::Owner),
            "developer" => Some(Role::Developer),
            "analyst" => Some(Role::Analyst),
            _ => None,
        }
    }

    /// Refunds, cancellations, resending events.
    pub fn may_act_on_orders(self) -> bool {
        self == Role::Owner
    }

    /// API keys and webhook endpoints.
    pub fn may_manage_developer_settings(self) -> bool {
        matches!(self, Role::Owner | Role::Developer)
    }

    /// Users and the audit log.
    pub fn may_manage_users(self) -> bool {
        self == Role::Owner
    }
}

/// Why a request about users was refused.
#[derive(Debug, thiserror::Error)]
pub enum UsersError {
    /// Not an e-mail address.
    #[error("enter a valid e-mail address (at most {EMAIL_CHARS_MAX} characters)")]
    InvalidEmail,
    /// A name is empty, too long or has control characters.
    #[error("enter a name of 1 to {max} characters")]
    InvalidName {
        /// The limit.
        max: usize,
    },
    /// The password is too short or too long.
    #[error("the password must be {PASSWORD_CHARS_MIN} to {PASSWORD_CHARS_MAX} characters")]
    BadPassword,
    /// Someone already signs in with that address.
    #[error("that e-mail address already has an account")]
    EmailTaken,
    /// Unknown address or wrong password (never said which).
    #[error("wrong e-mail address or password")]
    InvalidCredentials,
    /// Too many failed sign-ins.
    #[error("too many failed sign-ins: try again after {until}")]
    Locked {
        /// When sign-in opens again.
        until: Timestamp,
    },
    /// The merchant has as many users as it may.
    #[error("a merchant has at most {USERS_PER_MERCHANT_MAX} users")]
    TooManyUsers,
    /// A wrong, expired or already used second-factor code.
    #[error("wrong or already used code")]
    InvalidCode,
    /// An owner switches to live mode without two-factor.
    #[error("owners need two-factor authentication for live mode")]
    TotpRequired,
    /// Two-factor is already on.
    #[error("two-factor authentication is already on")]
    TotpAlreadyEnabled,
    /// A stored secret could not be opened (wrong instance key).
    #[error("the stored two-factor secret cannot be opened: {0}")]
    Sealed(String),
    /// Live mode before the merchant is approved.
    #[error("live mode needs an approved merchant")]
    LiveModeNotAllowed,
    /// The change would leave the merchant without an owner.
    #[error("a merchant keeps at least one owner")]
    LastOwner,
    /// Not a user of the session's merchant.
    #[error("no such user")]
    UnknownUser,
    /// Only owners manage users.
    #[error("only owners manage users")]
    NotOwner,
    /// The user's merchant is suspended.
    #[error("this merchant is suspended")]
    Suspended,
    /// The database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Hashing failed (never with valid parameters).
    #[error("password hashing failed")]
    Hashing,
}

/// A sign-up: a new merchant and its owner.
#[derive(Debug, Clone)]
pub struct SignUp {
    /// The merchant's name.
    pub company: String,
    /// The owner's name.
    pub name: String,
    /// The owner's e-mail address.
    pub email: String,
    /// The owner's password.
    pub password: String,
    /// The owner's language, when chosen.
    pub locale: Option<String>,
}

/// Where a request comes from, for sessions and the audit log.
#[derive(Debug, Clone, Default)]
pub struct Origin {
    /// The client's address, when known.
    pub ip: Option<String>,
}

/// A signed-in user's session, as a page needs it.
#[derive(Debug, Clone)]
pub struct Session {
    /// The stored session (its id is the token's hash).
    pub row: SessionRow,
    /// Its user.
    pub user: UserRow,
    /// The user's role.
    pub role: Role,
    /// The user's merchant.
    pub merchant_id: MerchantId,
}

/// A session just opened: the token goes in the cookie and nowhere else.
#[derive(Debug)]
pub struct Opened {
    /// The cookie's value.
    pub token: String,
    /// The session.
    pub session: Session,
}

/// A fresh random token (base64url, no padding).
pub fn random_token() -> String {
    let bytes: [u8; TOKEN_BYTES] = rand::rng().random();
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// The stored id of a session token.
pub fn token_hash(token: &str) -> String {
    Sha256::digest(token.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// An e-mail address as stored (trimmed, lower case), if it looks like one: one `@`, text on
/// both sides, a dot in the domain, no spaces or control characters.
pub fn normalize_email(email: &str) -> Result<String, UsersError> {
    let email = email.trim().to_lowercase();
    let valid = email.chars().count() <= EMAIL_CHARS_MAX
        && !email.chars().any(|c| c.is_whitespace() || c.is_control())
        && email.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty()
                && !domain.contains('@')
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
        });
    if valid {
        Ok(email)
    } else {
        Err(UsersError::InvalidEmail)
    }
}

pub(crate) fn check_name(name: &str, max: usize) -> Result<String, UsersError> {
    let name = name.trim();
    let chars = name.chars().count();
    if chars == 0 || chars > max || name.chars().any(char::is_control) {
        return Err(UsersError::InvalidName { max });
    }
    Ok(name.to_owned())
}

pub(crate) fn check_password(password: &str) -> Result<(), UsersError> {
    let chars = password.chars().count();
    if (PASSWORD_CHARS_MIN..=PASSWORD_CHARS_MAX).contains(&chars) {
        Ok(())
    } else {
        Err(UsersError::BadPassword)
    }
}

/// The argon2id PHC string of `password`, on a blocking thread (≈ 20–50 ms of CPU).
pub async fn hash_password(password: String) -> Result<String, UsersError> {
    tokio::task::spawn_blocking(move || {
        let salt: [u8; 16] = rand::rng().random();
        Argon2::default()
            .hash_password_with_salt(password.as_bytes(), &salt)
            .map(|h| h.to_string())
            .map_err(|_| UsersError::Hashing)
    })
    .await
    .map_err(|_| UsersError::Hashing)?
}

/// Whether `password` matches `phc`, on a blocking thread.
pub(crate) async fn verify_password(password: String, phc: String) -> bool {
    tokio::task::spawn_blocking(move || {
        Argon2::default()
            .verify_password(password.as_bytes(), phc.as_str())
            .is_ok()
    })
    .await
    .unwrap_or(false)
}

/// A hash no password matches, verified against when the address is unknown so that a
/// wrong address takes as long as a wrong password.
pub(crate) async fn decoy_hash() -> String {
    static DECOY: tokio::sync::OnceCell<String> = tokio::sync::OnceCell::const_new();
    DECOY
        .get_or_init(|| async {
            hash_password(random_token())
                .await
                .unwrap_or_else(|_| String::from("$argon2id$v=19$m=19456,t=2,p=1$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"))
        })
        .await
        .clone()
}

/// Creates a merchant (in `onboarding`, test mode only until approved) and its owner, in one
/// unit of work, and opens the owner's first session.
pub async fn sign_up(
    store: &Store,
    clock: &dyn Clock,
    request: SignUp,
    origin: &Origin,
) -> Result<Opened, UsersError> {
    let company = check_name(&request.company, MERCHANT_NAME_CHARS_MAX)?;
    let name = check_name(&request.name, USER_NAME_CHARS_MAX)?;
    let email = normalize_email(&request.email)?;
    check_password(&request.password)?;
    let password_hash = hash_password(request.password).await?;
    let now = clock.now();
    let merchant = MerchantRecord {
        id: new_id(clock),
        name: company,
        nit: None,
        status: MerchantStatus::Onboarding,
        created_at: now,
        updated_at: now,
    };
    let user = UserRow {
        id: new_id::<cajero_domain::id::User>(clock).to_string(),
        merchant_id: merchant.id.to_string(),
        email,
        name,
        role: Role::Owner.as_str().to_owned(),
        password_hash,
        locale: request.locale,
        time_zone: String::from("America/Bogota"),
        failed_logins: 0,
        locked_until: None,
        totp_secret: None,
        totp_enabled_at: None,
        totp_last_step: None,
        created_at: Micros::from(now).0,
        updated_at: Micros::from(now).0,
    };
    let audit = audit_row(
        clock,
        &user,
        "user.signed_up",
        Some(&merchant.id.to_string()),
        origin,
    );
    let (stored_merchant, stored_user) = (merchant.clone(), user.clone());
    store
        .write(move |mut c| {
            Box::pin(async move {
                // The address first: a taken one must leave no merchant behind.
                if dashboard::user_by_email(&mut c, &stored_user.email)
                    .await?
                    .is_some()
                {
                    return Err(UsersError::EmailTaken);
                }
                merchants::insert_merchant(&mut c, &stored_merchant).await?;
                if !dashboard::insert_user(&mut c, &stored_user).await? {
                    return Err(UsersError::EmailTaken);
                }
                dashboard::insert_audit(&mut c, &audit).await?;
                Ok(())
            })
        })
        .await?;
    open_session(store, clock, user, origin).await
}

/// A user of an existing merchant (the demo's owner, operators' tooling). The address must be
/// free. Invitations ([`crate::invitations`]) end here too, through [`new_user`] and
/// [`insert_new_user`].
pub async fn create_user(
    store: &Store,
    clock: &dyn Clock,
    merchant: MerchantId,
    email: &str,
    name: &str,
    role: Role,
    password: &str,
) -> Result<UserRow, UsersError> {
    let user = new_user(merchant, email, name, role, password, clock).await?;
    let stored = user.clone();
    store
        .write(move |mut c| Box::pin(async move { insert_new_user(&mut c, &stored).await }))
        .await?;
    Ok(user)
}

/// A user to insert: the name, address and password checked, the password hashed.
pub async fn new_user(
    merchant: MerchantId,
    email: &str,
    name: &str,
    role: Role,
    password: &str,
    clock: &dyn Clock,
) -> Result<UserRow, UsersError> {
    let name = check_name(name, USER_NAME_CHARS_MAX)?;
    let email = normalize_email(email)?;
    check_password(password)?;
    let password_hash = hash_password(password.to_owned()).await?;
    let now = Micros::from(clock.now()).0;
    Ok(UserRow {
        id: new_id::<cajero_domain::id::User>(clock).to_string(),
        merchant_id: merchant.to_string(),
        email,
        name,
        role: role.as_str().to_owned(),
        password_hash,
        locale: None,
        time_zone: String::from("America/Bogota"),
        failed_logins: 0,
        locked_until: None,
        totp_secret: None,
        totp_enabled_at: None,
        totp_last_step: None,
        created_at: now,
        updated_at: now,
    })
}

/// Inserts a user in the caller's unit of work, within the merchant's user limit; the
/// address must be free.
pub async fn insert_new_user(
    c: &mut cajero_store::Conn<'_>,
    user: &UserRow,
) -> Result<(), UsersError> {
    let count = dashboard::users_of_merchant(c, &user.merchant_id, USERS_PER_MERCHANT_MAX)
        .await?
        .len();
    if i64::try_from(count).unwrap_or(i64::MAX) >= USERS_PER_MERCHANT_MAX {
        return Err(UsersError::TooManyUsers);
    }
    if !dashboard::insert_user(c, user).await? {
        return Err(UsersError::EmailTaken);
    }
    Ok(())
}

/// Removes a user of the session's merchant (owners only): its sessions end at once. The last
/// owner cannot be removed. Audited.
pub async fn remove_user(
    store: &Store,
    clock: &dyn Clock,
    session: &Session,
    user_id: &str,
    origin: &Origin,
) -> Result<(), UsersError> {
    change_member(store, clock, session, user_id, None, origin).await
}

/// Gives a user of the session's merchant another role (owners only); the last owner keeps
/// its role. Audited.
pub async fn change_role(
    store: &Store,
    clock: &dyn Clock,
    session: &Session,
    user_id: &str,
    role: Role,
    origin: &Origin,
) -> Result<(), UsersError> {
    change_member(store, clock, session, user_id, Some(role), origin).await
}

/// Removes (`role` None) or re-roles a member, keeping an owner.
async fn change_member(
    store: &Store,
    clock: &dyn Clock,
    session: &Session,
    user_id: &str,
    role: Option<Role>,
    origin: &Origin,
) -> Result<(), UsersError> {
    if !session.role.may_manage_users() {
        return Err(UsersError::NotOwner);
    }
    let merchant = session.merchant_id.to_string();
    let action = match role {
        Some(r) => format!("user.role_changed {user_id} {}", r.as_str()),
        None => format!("user.removed {user_id}"),
    };
    let (verb, object) = action.split_once(' ').unwrap_or((&action, ""));
    let audit = audit_row(clock, &session.user, verb, Some(object), origin);
    let (id, now) = (user_id.to_owned(), clock.now());
    store
        .write(move |mut c| {
            Box::pin(async move {
                let Some(target) = dashboard::user(&mut c, &id)
                    .await?
                    .filter(|u| u.merchant_id == merchant)
                else {
                    return Err(UsersError::UnknownUser);
                };
                let loses_owner = target.role == Role::Owner.as_str() && role != Some(Role::Owner);
                if loses_owner && dashboard::count_owners(&mut c, &merchant).await? <= 1 {
                    return Err(UsersError::LastOwner);
                }
                let done = match role {
                    Some(r) => dashboard::set_role(&mut c, &merchant, &id, r.as_str(), now).await?,
                    None => dashboard::delete_user(&mut c, &merchant, &id).await?,
                };
                if !done {
                    return Err(UsersError::UnknownUser);
                }
                dashboard::insert_audit(&mut c, &audit).await?;
                Ok(())
            })
        })
        .await
}

/// Signs in: the password, the lock-out, then a new session.
pub async fn sign_in(
    store: &Store,
    clock: &dyn Clock,
    email: &str,
    password: &str,
    origin: &Origin,
) -> Result<Opened, UsersError> {
    let now = clock.now();
    let Ok(email) = normalize_email(email) else {
        return Err(UsersError::InvalidCredentials);
    };
    let looked_up = email.clone();
    let user = store
        .read(move |mut c| {
            Box::pin(async move { dashboard::user_by_email(&mut c, &looked_up).await })
        })
        .await?;
    let Some(user) = user else {
        let _ = verify_password(password.to_owned(), decoy_hash().await).await;
        return Err(UsersError::InvalidCredentials);
    };
    if let Some(until) = user.locked_until.map(|t| Micros(t).to_timestamp())
        && until > now
    {
        return Err(UsersError::Locked { until });
    }
    if !verify_password(password.to_owned(), user.password_hash.clone()).await {
        let (id, until) = (user.id.clone(), now + LOCK_OUT);
        let audit = audit_row(clock, &user, "session.sign_in_failed", None, origin);
        let after = store
            .write(move |mut c| {
                Box::pin(async move {
                    dashboard::insert_audit(&mut c, &audit).await?;
                    dashboard::record_failed_login(&mut c, &id, LOGIN_FAILURES_MAX, until, now)
                        .await
                })
            })
            .await?;
        return match after.and_then(|u| u.locked_until) {
            Some(t) if Micros(t).to_timestamp() > now => Err(UsersError::Locked {
                until: Micros(t).to_timestamp(),
            }),
            _ => Err(UsersError::InvalidCredentials),
        };
    }
    let merchant_id = parse_merchant(&user)?;
    let status = store
        .read(move |mut c| {
            Box::pin(async move { merchants::get_merchant(&mut c, merchant_id).await })
        })
        .await?
        .map(|m| m.status);
    if status == Some(MerchantStatus::Suspended) {
        return Err(UsersError::Suspended);
    }
    let id = user.id.clone();
    store
        .write(move |mut c| {
            Box::pin(async move { dashboard::record_login(&mut c, &id, now).await })
        })
        .await?;
    open_session(store, clock, user, origin).await
}

pub(crate) async fn open_session(
    store: &Store,
    clock: &dyn Clock,
    user: UserRow,
    origin: &Origin,
) -> Result<Opened, UsersError> {
    let now = Micros::from(clock.now()).0;
    let token = random_token();
    let row = SessionRow {
        id: token_hash(&token),
        user_id: user.id.clone(),
        csrf_token: random_token(),
        livemode: false,
        // A user with two-factor passes its code before the session opens anything.
        verified: user.totp_enabled_at.is_none(),
        ip: origin.ip.clone(),
        created_at: now,
        last_seen_at: now,
    };
    let audit = audit_row(clock, &user, "session.created", None, origin);
    let stored = row.clone();
    store
        .write(move |mut c| {
            Box::pin(async move {
                dashboard::insert_session(&mut c, &stored).await?;
                dashboard::insert_audit(&mut c, &audit).await
            })
        })
        .await?;
    let role = Role::parse(&user.role).unwrap_or(Role::Analyst);
    let merchant_id = parse_merchant(&user)?;
    Ok(Opened {
        token,
        session: Session {
            row,
            user,
            role,
            merchant_id,
        },
    })
}

fn parse_merchant(user: &UserRow) -> Result<MerchantId, UsersError> {
    user.merchant_id.parse().map_err(|e| {
        UsersError::Store(StoreError::Corrupt {
            table: "dashboard_users",
            detail: format!("merchant_id {:?}: {e}", user.merchant_id),
        })
    })
}

/// The session a cookie's token opens, if it is still valid: not idle for
/// [`SESSION_IDLE`], not older than [`SESSION_ABSOLUTE`], its user's merchant not suspended.
/// An expired session is deleted.
pub async fn authenticate(
    store: &Store,
    clock: &dyn Clock,
    token: &str,
) -> Result<Option<Session>, UsersError> {
    let now = clock.now();
    let id = token_hash(token);
    let found = store
        .read(move |mut c| {
            Box::pin(async move {
                let Some(session) = dashboard::session(&mut c, &id).await? else {
                    return Ok::<_, StoreError>(None);
                };
                let Some(user) = dashboard::user(&mut c, &session.user_id).await? else {
                    return Ok(None);
                };
                let merchant = match user.merchant_id.parse() {
                    Ok(m) => merchants::get_merchant(&mut c, m).await?,
                    Err(_) => None,
                };
                Ok(Some((session, user, merchant.map(|m| m.status))))
            })
        })
        .await?;
    let Some((row, user, status)) = found else {
        return Ok(None);
    };
    let idle_over = Micros(row.last_seen_at).to_timestamp() + SESSION_IDLE <= now;
    let absolute_over = Micros(row.created_at).to_timestamp() + SESSION_ABSOLUTE <= now;
    if idle_over || absolute_over || status == Some(MerchantStatus::Suspended) || status.is_none() {
        let id = row.id.clone();
        store
            .write(move |mut c| {
                Box::pin(async move { dashboard::delete_session(&mut c, &id).await })
            })
            .await?;
        return Ok(None);
    }
    if Micros(row.last_seen_at).to_timestamp() + SESSION_TOUCH_EVERY <= now {
        let id = row.id.clone();
        store
            .write(move |mut c| {
                Box::pin(async move { dashboard::touch_session(&mut c, &id, now).await })
            })
            .await?;
    }
    let role = Role::parse(&user.role).unwrap_or(Role::Analyst);
    let merchant_id = parse_merchant(&user)?;
    Ok(Some(Session {
        row,
        user,
        role,
        merchant_id,
    }))
}

/// Ends a session.
pub async fn sign_out(
    store: &Store,
    clock: &dyn Clock,
    session: &Session,
    origin: &Origin,
) -> Result<(), UsersError> {
    let id = session.row.id.clone();
    let audit = audit_row(clock, &session.user, "session.ended", None, origin);
    store
        .write(move |mut c| {
            Box::pin(async move {
                dashboard::delete_session(&mut c, &id).await?;
                dashboard::insert_audit(&mut c, &audit).await
            })
        })
        .await?;
    Ok(())
}

/// Sets the user's language (`None`: the browser's).
pub async fn set_locale(
    store: &Store,
    clock: &dyn Clock,
    session: &Session,
    locale: Option<&'static str>,
) -> Result<(), UsersError> {
    let (id, now) = (session.user.id.clone(), clock.now());
    store
        .write(move |mut c| {
            Box::pin(async move { dashboard::set_locale(&mut c, &id, locale, now).await })
        })
        .await?;
    Ok(())
}

/// Flips the session between test and live; live only for a merchant allowed live mode.
pub async fn switch_mode(
    store: &Store,
    clock: &dyn Clock,
    session: &Session,
    live: bool,
    origin: &Origin,
) -> Result<(), UsersError> {
    if live && session.role == Role::Owner && session.user.totp_enabled_at.is_none() {
        return Err(UsersError::TotpRequired);
    }
    let (id, merchant) = (session.row.id.clone(), session.merchant_id);
    let action = if live { "mode.live" } else { "mode.test" };
    let audit = audit_row(clock, &session.user, action, None, origin);
    store
        .write(move |mut c| {
            Box::pin(async move {
                if live {
                    let status = merchants::get_merchant(&mut c, merchant)
                        .await?
                        .map(|m| m.status);
                    if !status.is_some_and(|s| s.allows_live_mode()) {
                        return Err(UsersError::LiveModeNotAllowed);
                    }
                }
                dashboard::set_session_mode(&mut c, &id, live).await?;
                dashboard::insert_audit(&mut c, &audit).await?;
                Ok(())
            })
        })
        .await
}

/// TOTP as authenticator apps expect it (RFC 6238): HMAC-SHA-1, 6 digits, 30-second steps,
/// one step of clock skew either way.
pub const TOTP_DIGITS: u8 = 6;
/// Seconds per TOTP step.
pub const TOTP_STEP_S: u64 = 30;
/// Random bytes of a TOTP secret (160 bits, RFC 4226's recommendation).
const TOTP_SECRET_BYTES: usize = 20;
/// The issuer authenticator apps show.
pub const TOTP_ISSUER: &str = "cajero";

fn totp(secret: Vec<u8>) -> Result<totp_rs::Totp, UsersError> {
    totp_rs::Builder::new()
        .with_algorithm(totp_rs::Algorithm::SHA1)
        .with_digits(TOTP_DIGITS)
        .with_step_duration(TOTP_STEP_S)
        .with_skew(1)
        .with_secret(secret)
        .build()
        .map_err(|e| UsersError::Sealed(e.to_string()))
}

fn totp_context(user_id: &str) -> String {
    format!("dashboard_totp:{user_id}")
}

/// What an authenticator app needs to add the account.
#[derive(Debug, Clone)]
pub struct TotpSetup {
    /// The secret in base32 (typed by hand).
    pub secret_base32: String,
    /// `otpauth://totp/…` (the QR code's content).
    pub otpauth_url: String,
}

/// Starts setting up two-factor: a new secret, stored sealed and not yet enabled (the next
/// right code enables it, [`verify_totp`]).
pub async fn begin_totp(
    store: &Store,
    clock: &dyn Clock,
    secrets: &cajero_store::secret_box::SecretBox,
    session: &Session,
) -> Result<TotpSetup, UsersError> {
    if session.user.totp_enabled_at.is_some() {
        return Err(UsersError::TotpAlreadyEnabled);
    }
    let (sealed, setup) = new_totp_secret(
        secrets,
        &totp_context(&session.user.id),
        &session.user.email,
    )?;
    let (id, now) = (session.user.id.clone(), clock.now());
    store
        .write(move |mut c| {
            Box::pin(async move { dashboard::set_totp_secret(&mut c, &id, &sealed, now).await })
        })
        .await?;
    Ok(setup)
}

/// A new TOTP secret: sealed under `context` (to be stored), and what an authenticator app
/// needs to add the account of `email`.
pub(crate) fn new_totp_secret(
    secrets: &cajero_store::secret_box::SecretBox,
    context: &str,
    email: &str,
) -> Result<(String, TotpSetup), UsersError> {
    let bytes: [u8; TOTP_SECRET_BYTES] = rand::rng().random();
    let sealed = secrets.seal(context, &bytes);
    let secret_base32 = totp_rs::Secret::from(bytes).to_base32();
    let label = format!("{TOTP_ISSUER}:{email}");
    let mut url =
        url::Url::parse("otpauth://totp/").map_err(|e| UsersError::Sealed(e.to_string()))?;
    url.set_path(&label);
    url.query_pairs_mut()
        .append_pair("secret", &secret_base32)
        .append_pair("issuer", TOTP_ISSUER)
        .append_pair("algorithm", "SHA1")
        .append_pair("digits", &TOTP_DIGITS.to_string())
        .append_pair("period", &TOTP_STEP_S.to_string());
    Ok((
        sealed,
        TotpSetup {
            secret_base32,
            otpauth_url: url.to_string(),
        },
    ))
}

/// The time step a code is right for, checked against the sealed secret (`None`: wrong).
pub(crate) fn code_step(
    secrets: &cajero_store::secret_box::SecretBox,
    context: &str,
    sealed: &str,
    code: &str,
    now: Timestamp,
) -> Result<Option<i64>, UsersError> {
    let secret = secrets
        .open(context, sealed)
        .map_err(|e| UsersError::Sealed(e.to_string()))?;
    let unix = u64::try_from(now.as_second()).unwrap_or(0);
    let code: String = code.chars().filter(|c| !c.is_whitespace()).collect();
    Ok(totp(secret)?
        .check(&code, unix)
        .and_then(|s| i64::try_from(s).ok()))
}

/// Checks a second-factor code: it confirms a setup (enabling two-factor) or completes a
/// sign-in (the session becomes verified). A code is accepted once; a wrong one counts as a
/// failed sign-in (lock-out).
pub async fn verify_totp(
    store: &Store,
    clock: &dyn Clock,
    secrets: &cajero_store::secret_box::SecretBox,
    session: &Session,
    code: &str,
    origin: &Origin,
) -> Result<(), UsersError> {
    let now = clock.now();
    let user_id = session.user.id.clone();
    let looked_up = user_id.clone();
    let user = store
        .read(move |mut c| Box::pin(async move { dashboard::user(&mut c, &looked_up).await }))
        .await?
        .ok_or(UsersError::InvalidCredentials)?;
    if let Some(until) = user.locked_until.map(|t| Micros(t).to_timestamp())
        && until > now
    {
        return Err(UsersError::Locked { until });
    }
    let Some(sealed) = user.totp_secret.as_deref() else {
        return Err(UsersError::InvalidCode);
    };
    let step = code_step(secrets, &totp_context(&user.id), sealed, code, now)?;
    let enabling = user.totp_enabled_at.is_none();
    let action = if enabling {
        "user.two_factor_enabled"
    } else {
        "session.second_factor_passed"
    };
    let audit = audit_row(clock, &user, action, None, origin);
    let failed = audit_row(clock, &user, "session.second_factor_failed", None, origin);
    let session_id = session.row.id.clone();
    let outcome = store
        .write(move |mut c| {
            Box::pin(async move {
                let accepted = match step {
                    Some(step) => dashboard::accept_totp_step(&mut c, &user_id, step, now).await?,
                    None => false,
                };
                if !accepted {
                    dashboard::insert_audit(&mut c, &failed).await?;
                    let until = now + LOCK_OUT;
                    let after = dashboard::record_failed_login(
                        &mut c,
                        &user_id,
                        LOGIN_FAILURES_MAX,
                        until,
                        now,
                    )
                    .await?;
                    return Ok::<_, StoreError>(Err(after.and_then(|u| u.locked_until)));
                }
                dashboard::record_login(&mut c, &user_id, now).await?;
                dashboard::set_session_verified(&mut c, &session_id).await?;
                dashboard::insert_audit(&mut c, &audit).await?;
                Ok(Ok(()))
            })
        })
        .await?;
    match outcome {
        Ok(()) => Ok(()),
        Err(Some(t)) if Micros(t).to_timestamp() > now => Err(UsersError::Locked {
            until: Micros(t).to_timestamp(),
        }),
        Err(_) => Err(UsersError::InvalidCode),
    }
}

/// Records what a user did to an object.
pub async fn audit(
    store: &Store,
    clock: &dyn Clock,
    session: &Session,
    action: &str,
    object_id: Option<&str>,
    origin: &Origin,
) -> Result<(), UsersError> {
    let row = audit_row(clock, &session.user, action, object_id, origin);
    store
        .write(move |mut c| Box::pin(async move { dashboard::insert_audit(&mut c, &row).await }))
        .await?;
    Ok(())
}

/// The merchant's audit log (owners only: the caller checks [`Role::may_manage_users`]).
pub async fn audit_log(
    store: &Store,
    merchant: MerchantId,
    before: Option<AuditId>,
    limit: i64,
) -> Result<Vec<AuditRow>, UsersError> {
    let (merchant, before) = (merchant.to_string(), before.map(|b| b.to_string()));
    Ok(store
        .read(move |mut c| {
            Box::pin(async move {
                dashboard::audit_of_merchant(&mut c, &merchant, before.as_deref(), limit).await
            })
        })
        .await?)
}

fn audit_row(
    clock: &dyn Clock,
    user: &UserRow,
    action: &str,
    object_id: Option<&str>,
    origin: &Origin,
) -> AuditRow {
    AuditRow {
        id: new_id::<cajero_domain::id::Audit>(clock).to_string(),
        merchant_id: Some(user.merchant_id.clone()),
        user_id: Some(user.id.clone()),
        actor: user.email.clone(),
        action: action.to_owned(),
        object_id: object_id.map(str::to_owned),
        ip: origin.ip.clone(),
        at: Micros::from(clock.now()).0,
    }
}

/// The id of a user (for callers that hold a typed one).
pub fn user_id(user: &UserRow) -> Option<UserId> {
    user.id.parse().ok()
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn e_mail_addresses_are_trimmed_lowered_and_checked() {
        assert_eq!(
            normalize_email("  Ana@Example.COM ").unwrap(),
            "ana@example.com"
        );
        for bad in [
            "", "ana", "ana@", "@x.co", "ana@x", "a b@x.co", "a@b@x.co", "a@.co", "a@x.",
        ] {
            assert!(normalize_email(bad).is_err(), "{bad:?}");
        }
        assert!(normalize_email(&format!("{}@x.co", "a".repeat(250))).is_err());
    }

    #[test]
    fn passwords_have_a_floor_and_a_ceiling() {
        assert!(check_password(&"a".repeat(PASSWORD_CHARS_MIN - 1)).is_err());
        assert!(check_password(&"a".repeat(PASSWORD_CHARS_MIN)).is_ok());
        assert!(check_password(&"ñ".repeat(PASSWORD_CHARS_MAX)).is_ok());
        assert!(check_password(&"a".repeat(PASSWORD_CHARS_MAX + 1)).is_err());
    }

    #[tokio::test]
    async fn a_password_verifies_against_its_argon2id_hash_only() {
        let phc = hash_password("correct horse battery".into()).await.unwrap();
        assert!(phc.starts_with("$argon2id$v=19$"), "{phc}");
        assert!(verify_password("correct horse battery".into(), phc.clone()).await);
        assert!(!verify_password("correct horse battery!".into(), phc).await);
    }

    /// RFC 6238 appendix B's SHA-1 vectors (8 digits there; 6 here are their last six).
    #[test]
    fn totp_codes_follow_rfc_6238() {
        let t = totp(b"12345678901234567890".to_vec()).unwrap();
        for (time, code) in [
            (59u64, "287082"),
            (1_111_111_109, "081804"),
            (1_234_567_890, "005924"),
        ] {
            assert_eq!(t.generate(time).to_string(), code, "at {time}");
            assert!(t.check(code, time).is_some());
        }
        // One step of skew either way, not two.
        assert!(t.check("287082", 59 + 30).is_some());
        assert!(t.check("287082", 59 + 60).is_none());
    }

    #[test]
    fn tokens_are_random_and_stored_only_as_their_hash() {
        let (a, b) = (random_token(), random_token());
        assert_ne!(a, b);
        assert_eq!(a.len(), 43);
        assert_eq!(token_hash(&a).len(), 64);
        assert_ne!(token_hash(&a), a);
    }

    #[test]
    fn roles_decide_what_a_user_may_do() {
        assert!(Role::Owner.may_act_on_orders() && Role::Owner.may_manage_users());
        assert!(Role::Developer.may_manage_developer_settings());
        assert!(!Role::Developer.may_act_on_orders() && !Role::Developer.may_manage_users());
        assert!(
            !Role::Analyst.may_manage_developer_settings() && !Role::Analyst.may_act_on_orders()
        );
        for r in [Role::Owner, Role::Developer, Role::Analyst] {
            assert_eq!(Role::parse(r.as_str()), Some(r));
        }
    }
}
