//! The operator's console's people: the platform's own staff, apart from merchants' users.
//! An operator signs in at `/console` with a password and, always, a TOTP code: an operator
//! without two-factor sets it up before anything else opens. Passwords, lock-out, codes used
//! once and sealed secrets follow the dashboard's rules ([`crate::users`]), whose helpers this
//! module calls; only the rows differ (migration 0024).
//!
//! Every operator action carries a [`Reason`] and is written to the audit log with it, in the
//! same unit of work as the change ([`audit_row`] and
//! [`cajero_store::operators::insert_audit`]). The actions themselves are in
//! [`crate::platform`].

use cajero_domain::id::OperatorId;
use cajero_store::dashboard::AuditRow;
use cajero_store::operators::{
    self as rows, AuditEntry, AuditSearch, OperatorRow, OperatorSessionRow,
};
use cajero_store::{Micros, Store, StoreError};

use crate::clock::{Clock, new_id};
use crate::users::{
    self, LOCK_OUT, LOGIN_FAILURES_MAX, Origin, SESSION_ABSOLUTE, SESSION_IDLE,
    SESSION_TOUCH_EVERY, TotpSetup, USER_NAME_CHARS_MAX, UsersError,
};

/// Longest reason an operator gives for an action.
pub const REASON_CHARS_MAX: usize = 2_000;
/// Entries of the audit log shown per page.
pub const AUDIT_PAGE_ROWS: i64 = 100;
/// Who the CLI is in the audit log.
pub const CLI_ACTOR: &str = "operator (cli)";

/// Why an operator acts: 1 to [`REASON_CHARS_MAX`] characters, trimmed, no control
/// characters but line breaks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reason(String);

/// The reason is missing, too long or has control characters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("a reason of 1 to {REASON_CHARS_MAX} characters is required for every operator action")]
pub struct ReasonRequired;

impl Reason {
    /// The reason in `text`, if it is one.
    pub fn parse(text: &str) -> Result<Reason, ReasonRequired> {
        let text = text.trim();
        let chars = text.chars().count();
        if chars == 0
            || chars > REASON_CHARS_MAX
            || text
                .chars()
                .any(|c| c.is_control() && c != '\n' && c != '\r')
        {
            return Err(ReasonRequired);
        }
        Ok(Reason(text.to_owned()))
    }

    /// The text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// An operator acting, with the reason for what it does.
#[derive(Debug, Clone)]
pub struct Acting {
    /// `opr_…`, or `None` for the CLI.
    pub operator_id: Option<String>,
    /// The operator's address, or [`CLI_ACTOR`].
    pub name: String,
    /// Where from.
    pub ip: Option<String>,
    /// Why.
    pub reason: Reason,
}

impl Acting {
    /// A signed-in operator acting.
    pub fn of(session: &OperatorSession, origin: &Origin, reason: Reason) -> Acting {
        Acting {
            operator_id: Some(session.operator.id.clone()),
            name: session.operator.email.clone(),
            ip: origin.ip.clone(),
            reason,
        }
    }

    /// The command line acting (automation).
    pub fn cli(reason: Reason) -> Acting {
        Acting {
            operator_id: None,
            name: CLI_ACTOR.to_owned(),
            ip: None,
            reason,
        }
    }

    /// The KYC service's actor for this operator.
    pub fn kyc_actor(&self) -> crate::kyc::Actor {
        crate::kyc::Actor {
            user_id: None,
            name: self.name.clone(),
            ip: self.ip.clone(),
        }
    }
}

/// The audit row of an operator's action (written with [`rows::insert_audit`] and the
/// reason, in the action's unit of work).
pub fn audit_row(
    clock: &dyn Clock,
    acting: &Acting,
    action: &str,
    merchant: Option<String>,
    object_id: Option<String>,
) -> AuditRow {
    AuditRow {
        id: new_id::<cajero_domain::id::Audit>(clock).to_string(),
        merchant_id: merchant,
        user_id: acting.operator_id.clone(),
        actor: acting.name.clone(),
        action: action.to_owned(),
        object_id,
        ip: acting.ip.clone(),
        at: Micros::from(clock.now()).0,
    }
}

/// A signed-in operator's session.
#[derive(Debug, Clone)]
pub struct OperatorSession {
    /// The session.
    pub row: OperatorSessionRow,
    /// Its operator.
    pub operator: OperatorRow,
}

/// A session just opened: the cookie's token (never stored) and the session.
#[derive(Debug, Clone)]
pub struct Opened {
    /// 256 random bits, URL-safe base64.
    pub token: String,
    /// The session.
    pub session: OperatorSession,
}

/// Adds an operator (`cajero operator add`); it sets up two-factor at its first sign-in.
pub async fn add(
    store: &Store,
    clock: &dyn Clock,
    email: &str,
    name: &str,
    password: &str,
) -> Result<OperatorRow, UsersError> {
    let email = users::normalize_email(email)?;
    let name = users::check_name(name, USER_NAME_CHARS_MAX)?;
    users::check_password(password)?;
    let hash = users::hash_password(password.to_owned()).await?;
    let now = Micros::from(clock.now()).0;
    let row = OperatorRow {
        id: new_id::<cajero_domain::id::Operator>(clock).to_string(),
        email,
        name,
        password_hash: hash,
        failed_logins: 0,
        locked_until: None,
        totp_secret: None,
        totp_enabled_at: None,
        totp_last_step: None,
        disabled_at: None,
        created_at: now,
        updated_at: now,
    };
    let stored = row.clone();
    let audit = operator_audit(clock, &row, "operator.added", None);
    let inserted = store
        .write(move |mut c| {
            Box::pin(async move {
                let inserted = rows::insert(&mut c, &stored).await?;
                if inserted {
                    rows::insert_audit(&mut c, &audit, Some("added from the command line")).await?;
                }
                Ok::<_, StoreError>(inserted)
            })
        })
        .await?;
    if !inserted {
        return Err(UsersError::EmailTaken);
    }
    Ok(row)
}

/// The operators, by address.
pub async fn list(store: &Store) -> Result<Vec<OperatorRow>, StoreError> {
    store
        .read(|mut c| Box::pin(async move { rows::all(&mut c).await }))
        .await
}

/// Disables an operator (its sessions end at once) or enables it again; false when no
/// operator has that address.
pub async fn set_disabled(
    store: &Store,
    clock: &dyn Clock,
    email: &str,
    disabled: bool,
    acting: &Acting,
) -> Result<bool, UsersError> {
    let email = users::normalize_email(email)?;
    let now = clock.now();
    let action = if disabled {
        "operator.disabled"
    } else {
        "operator.enabled"
    };
    let audit = audit_row(clock, acting, action, None, Some(email.clone()));
    let reason = acting.reason.clone();
    Ok(store
        .write(move |mut c| {
            Box::pin(async move {
                let Some(operator) = rows::by_email(&mut c, &email).await? else {
                    return Ok::<_, StoreError>(false);
                };
                rows::set_disabled(&mut c, &operator.id, disabled.then_some(now), now).await?;
                rows::insert_audit(&mut c, &audit, Some(reason.as_str())).await?;
                Ok(true)
            })
        })
        .await?)
}

fn operator_audit(
    clock: &dyn Clock,
    operator: &OperatorRow,
    action: &str,
    origin: Option<&Origin>,
) -> AuditRow {
    AuditRow {
        id: new_id::<cajero_domain::id::Audit>(clock).to_string(),
        merchant_id: None,
        user_id: Some(operator.id.clone()),
        actor: operator.email.clone(),
        action: action.to_owned(),
        object_id: Some(operator.id.clone()),
        ip: origin.and_then(|o| o.ip.clone()),
        at: Micros::from(clock.now()).0,
    }
}

/// Signs in with the password (lock-out as for users); the session opens nothing until its
/// TOTP code ([`verify_totp`]), or the setup of two-factor for a first sign-in.
pub async fn sign_in(
    store: &Store,
    clock: &dyn Clock,
    email: &str,
    password: &str,
    origin: &Origin,
) -> Result<Opened, UsersError> {
    let now = clock.now();
    let Ok(email) = users::normalize_email(email) else {
        return Err(UsersError::InvalidCredentials);
    };
    let operator = store
        .read(move |mut c| Box::pin(async move { rows::by_email(&mut c, &email).await }))
        .await?;
    let Some(operator) = operator.filter(|o| o.disabled_at.is_none()) else {
        let _ = users::verify_password(password.to_owned(), users::decoy_hash().await).await;
        return Err(UsersError::InvalidCredentials);
    };
    if let Some(until) = operator.locked_until.map(|t| Micros(t).to_timestamp())
        && until > now
    {
        return Err(UsersError::Locked { until });
    }
    if !users::verify_password(password.to_owned(), operator.password_hash.clone()).await {
        return Err(failed(store, clock, &operator, "operator.sign_in_failed", origin).await?);
    }
    let token = users::random_token();
    let now_us = Micros::from(now).0;
    let row = OperatorSessionRow {
        id: users::token_hash(&token),
        operator_id: operator.id.clone(),
        csrf_token: users::random_token(),
        verified: false,
        ip: origin.ip.clone(),
        created_at: now_us,
        last_seen_at: now_us,
    };
    let audit = operator_audit(clock, &operator, "operator.session_created", Some(origin));
    let stored = row.clone();
    store
        .write(move |mut c| {
            Box::pin(async move {
                rows::insert_session(&mut c, &stored).await?;
                rows::insert_audit(&mut c, &audit, None).await
            })
        })
        .await?;
    Ok(Opened {
        token,
        session: OperatorSession { row, operator },
    })
}

/// Counts a failed password or code: the error to answer (locked, or the given one).
async fn failed(
    store: &Store,
    clock: &dyn Clock,
    operator: &OperatorRow,
    action: &'static str,
    origin: &Origin,
) -> Result<UsersError, UsersError> {
    let now = clock.now();
    let (id, until) = (operator.id.clone(), now + LOCK_OUT);
    let audit = operator_audit(clock, operator, action, Some(origin));
    let after = store
        .write(move |mut c| {
            Box::pin(async move {
                rows::insert_audit(&mut c, &audit, None).await?;
                rows::record_failed_login(&mut c, &id, LOGIN_FAILURES_MAX, until, now).await
            })
        })
        .await?;
    Ok(match after.and_then(|o| o.locked_until) {
        Some(t) if Micros(t).to_timestamp() > now => UsersError::Locked {
            until: Micros(t).to_timestamp(),
        },
        _ if action == "operator.sign_in_failed" => UsersError::InvalidCredentials,
        _ => UsersError::InvalidCode,
    })
}

/// The session a cookie's token opens, if it is still valid (idle and absolute timeouts as
/// for users; a disabled operator's sessions are over). An expired session is deleted.
pub async fn authenticate(
    store: &Store,
    clock: &dyn Clock,
    token: &str,
) -> Result<Option<OperatorSession>, UsersError> {
    let now = clock.now();
    let id = users::token_hash(token);
    let found = store
        .read(move |mut c| {
            Box::pin(async move {
                let Some(session) = rows::session(&mut c, &id).await? else {
                    return Ok::<_, StoreError>(None);
                };
                Ok(rows::get(&mut c, &session.operator_id)
                    .await?
                    .map(|o| (session, o)))
            })
        })
        .await?;
    let Some((row, operator)) = found else {
        return Ok(None);
    };
    let idle_over = Micros(row.last_seen_at).to_timestamp() + SESSION_IDLE <= now;
    let absolute_over = Micros(row.created_at).to_timestamp() + SESSION_ABSOLUTE <= now;
    if idle_over || absolute_over || operator.disabled_at.is_some() {
        let id = row.id.clone();
        store
            .write(move |mut c| Box::pin(async move { rows::delete_session(&mut c, &id).await }))
            .await?;
        return Ok(None);
    }
    if Micros(row.last_seen_at).to_timestamp() + SESSION_TOUCH_EVERY <= now {
        let id = row.id.clone();
        store
            .write(move |mut c| {
                Box::pin(async move { rows::touch_session(&mut c, &id, now).await })
            })
            .await?;
    }
    Ok(Some(OperatorSession { row, operator }))
}

/// Ends a session.
pub async fn sign_out(
    store: &Store,
    clock: &dyn Clock,
    session: &OperatorSession,
    origin: &Origin,
) -> Result<(), UsersError> {
    let id = session.row.id.clone();
    let audit = operator_audit(
        clock,
        &session.operator,
        "operator.session_ended",
        Some(origin),
    );
    store
        .write(move |mut c| {
            Box::pin(async move {
                rows::delete_session(&mut c, &id).await?;
                rows::insert_audit(&mut c, &audit, None).await
            })
        })
        .await?;
    Ok(())
}

fn totp_context(operator_id: &str) -> String {
    format!("operator_totp:{operator_id}")
}

/// Starts setting up two-factor (an operator's first sign-in): a new secret, sealed and not
/// yet enabled; the next right code enables it and verifies the session.
pub async fn begin_totp(
    store: &Store,
    clock: &dyn Clock,
    secrets: &cajero_store::secret_box::SecretBox,
    session: &OperatorSession,
) -> Result<TotpSetup, UsersError> {
    if session.operator.totp_enabled_at.is_some() {
        return Err(UsersError::TotpAlreadyEnabled);
    }
    let (sealed, setup) = users::new_totp_secret(
        secrets,
        &totp_context(&session.operator.id),
        &session.operator.email,
    )?;
    let (id, now) = (session.operator.id.clone(), clock.now());
    store
        .write(move |mut c| {
            Box::pin(async move { rows::set_totp_secret(&mut c, &id, &sealed, now).await })
        })
        .await?;
    Ok(setup)
}

/// Checks a TOTP code: it confirms the setup or completes the sign-in, and the session is
/// verified. Each code is accepted once; a wrong one counts toward the lock-out.
pub async fn verify_totp(
    store: &Store,
    clock: &dyn Clock,
    secrets: &cajero_store::secret_box::SecretBox,
    session: &OperatorSession,
    code: &str,
    origin: &Origin,
) -> Result<(), UsersError> {
    let now = clock.now();
    let looked_up = session.operator.id.clone();
    let operator = store
        .read(move |mut c| Box::pin(async move { rows::get(&mut c, &looked_up).await }))
        .await?
        .ok_or(UsersError::InvalidCredentials)?;
    if let Some(until) = operator.locked_until.map(|t| Micros(t).to_timestamp())
        && until > now
    {
        return Err(UsersError::Locked { until });
    }
    let Some(sealed) = operator.totp_secret.as_deref() else {
        return Err(UsersError::InvalidCode);
    };
    let step = users::code_step(secrets, &totp_context(&operator.id), sealed, code, now)?;
    let action = if operator.totp_enabled_at.is_none() {
        "operator.two_factor_enabled"
    } else {
        "operator.second_factor_passed"
    };
    let audit = operator_audit(clock, &operator, action, Some(origin));
    let (operator_id, session_id) = (operator.id.clone(), session.row.id.clone());
    let accepted = store
        .write(move |mut c| {
            Box::pin(async move {
                let accepted = match step {
                    Some(step) => rows::accept_totp_step(&mut c, &operator_id, step, now).await?,
                    None => false,
                };
                if accepted {
                    rows::record_login(&mut c, &operator_id, now).await?;
                    rows::set_session_verified(&mut c, &session_id).await?;
                    rows::insert_audit(&mut c, &audit, None).await?;
                }
                Ok::<_, StoreError>(accepted)
            })
        })
        .await?;
    if accepted {
        Ok(())
    } else {
        Err(failed(
            store,
            clock,
            &operator,
            "operator.second_factor_failed",
            origin,
        )
        .await?)
    }
}

/// The audit log, searched (every merchant's and the platform's), newest first.
pub async fn search_audit(
    store: &Store,
    search: AuditSearch,
) -> Result<Vec<AuditEntry>, StoreError> {
    store
        .read(move |mut c| {
            Box::pin(async move { rows::search_audit(&mut c, &search, AUDIT_PAGE_ROWS).await })
        })
        .await
}

/// The id of an operator (for callers that hold a typed one).
pub fn operator_id(row: &OperatorRow) -> Option<OperatorId> {
    row.id.parse().ok()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn a_reason_is_required_and_bounded() {
        assert_eq!(Reason::parse("   "), Err(ReasonRequired));
        assert_eq!(Reason::parse(""), Err(ReasonRequired));
        assert_eq!(Reason::parse("bad\u{0}byte"), Err(ReasonRequired));
        assert_eq!(
            Reason::parse(&"x".repeat(REASON_CHARS_MAX + 1)),
            Err(ReasonRequired)
        );
        assert_eq!(
            Reason::parse(&"x".repeat(REASON_CHARS_MAX))
                .unwrap()
                .as_str()
                .len(),
            REASON_CHARS_MAX
        );
        assert_eq!(
            Reason::parse("  RUT checked\nagainst DIAN ")
                .unwrap()
                .as_str(),
            "RUT checked\nagainst DIAN"
        );
    }
}
