//! Invitations: an owner invites a person by e-mail address to become a user of its merchant
//! with a role; the person follows a one-time link, chooses a name and a password, and is
//! signed in. The link is e-mailed through the relay of `[alerts.smtp]` when one is
//! configured; otherwise it is written to the log (and shown once to the owner who invited).
//!
//! Rules: only owners invite; an address that already has an account cannot be invited; a
//! merchant has at most [`PENDING_MAX`] usable invitations and
//! [`crate::users::USERS_PER_MERCHANT_MAX`] users; a link works once, for [`TTL`], and not
//! after the owner withdraws it. The link's token (256 random bits) is kept only as its
//! SHA-256. Each step is in the audit log.

use cajero_domain::id::{Invitation, MerchantId};
use cajero_store::dashboard::{self, AuditRow, InvitationRow, UserRow};
use cajero_store::{Micros, Store};
use jiff::SignedDuration;

use crate::clock::{Clock, new_id};
use crate::users::{self, Opened, Origin, Role, Session, UsersError};

/// How long a link works.
pub const TTL: SignedDuration = SignedDuration::from_hours(7 * 24);
/// Usable invitations a merchant may have at once.
pub const PENDING_MAX: i64 = 50;

/// Why an invitation was refused.
#[derive(Debug, thiserror::Error)]
pub enum InvitationError {
    /// Only owners invite.
    #[error("only owners invite users")]
    NotOwner,
    /// The link is unknown, used, withdrawn or expired (never said which).
    #[error("this invitation link is not valid: it may have been used, withdrawn or expired")]
    Invalid,
    /// No such merchant.
    #[error("no such merchant")]
    UnknownMerchant,
    /// The merchant has as many usable invitations as it may.
    #[error("a merchant has at most {PENDING_MAX} open invitations")]
    TooMany,
    /// What the users service refused (address, name, password, limits).
    #[error(transparent)]
    Users(#[from] UsersError),
}

impl From<cajero_store::StoreError> for InvitationError {
    fn from(e: cajero_store::StoreError) -> Self {
        InvitationError::Users(UsersError::Store(e))
    }
}

/// A new invitation and its link's token (shown or sent once, never stored).
#[derive(Debug)]
pub struct Invited {
    /// As stored.
    pub invitation: InvitationRow,
    /// The one-time token of the link.
    pub token: String,
}

/// The link a token opens.
pub fn link(public_url: &str, token: &str) -> String {
    format!(
        "{}/dashboard/invitations/{token}",
        public_url.trim_end_matches('/')
    )
}

fn audit_row(
    clock: &dyn Clock,
    merchant: &str,
    user: Option<&UserRow>,
    actor: &str,
    action: &str,
    object: &str,
    origin: &Origin,
) -> AuditRow {
    AuditRow {
        id: new_id::<cajero_domain::id::Audit>(clock).to_string(),
        merchant_id: Some(merchant.to_owned()),
        user_id: user.map(|u| u.id.clone()),
        actor: actor.to_owned(),
        action: action.to_owned(),
        object_id: Some(object.to_owned()),
        ip: origin.ip.clone(),
        at: Micros::from(clock.now()).0,
    }
}

/// Invites `email` to `session`'s merchant as `role`.
pub async fn invite(
    store: &Store,
    clock: &dyn Clock,
    session: &Session,
    email: &str,
    role: Role,
    origin: &Origin,
) -> Result<Invited, InvitationError> {
    if !session.role.may_manage_users() {
        return Err(InvitationError::NotOwner);
    }
    let by = Inviter {
        user: Some(&session.user),
        name: &session.user.email,
    };
    create(store, clock, session.merchant_id, email, role, by, origin).await
}

/// Invites `email` to `merchant` as `role` on the operator's behalf (`cajero user invite`):
/// the first user of a merchant made with `cajero merchant create`, or any other.
pub async fn invite_as_operator(
    store: &Store,
    clock: &dyn Clock,
    merchant: MerchantId,
    email: &str,
    role: Role,
) -> Result<Invited, InvitationError> {
    let by = Inviter {
        user: None,
        name: OPERATOR,
    };
    create(store, clock, merchant, email, role, by, &Origin::default()).await
}

/// Who the audit log says invited, for invitations made from the CLI.
pub const OPERATOR: &str = "operator (cli)";

/// Who invites.
#[derive(Clone, Copy)]
struct Inviter<'a> {
    user: Option<&'a UserRow>,
    name: &'a str,
}

async fn create(
    store: &Store,
    clock: &dyn Clock,
    merchant: MerchantId,
    email: &str,
    role: Role,
    by: Inviter<'_>,
    origin: &Origin,
) -> Result<Invited, InvitationError> {
    let email = users::normalize_email(email)?;
    let token = users::random_token();
    let now = clock.now();
    let invitation = InvitationRow {
        id: new_id::<Invitation>(clock).to_string(),
        merchant_id: merchant.to_string(),
        email,
        role: role.as_str().to_owned(),
        token_hash: users::token_hash(&token),
        invited_by: by
            .user
            .map_or_else(|| OPERATOR.to_owned(), |u| u.id.clone()),
        created_at: Micros::from(now).0,
        expires_at: Micros::from(now.checked_add(TTL).unwrap_or(now)).0,
        accepted_at: None,
        revoked_at: None,
    };
    let audit = audit_row(
        clock,
        &invitation.merchant_id,
        by.user,
        by.name,
        "invitation.created",
        &format!("{} {} {}", invitation.id, invitation.email, invitation.role),
        origin,
    );
    let stored = invitation.clone();
    store
        .write(move |mut c| {
            Box::pin(async move {
                if cajero_store::merchants::get_merchant(&mut c, merchant)
                    .await?
                    .is_none()
                {
                    return Err(InvitationError::UnknownMerchant);
                }
                if dashboard::user_by_email(&mut c, &stored.email)
                    .await?
                    .is_some()
                {
                    return Err(InvitationError::Users(UsersError::EmailTaken));
                }
                let pending = dashboard::pending_invitations(
                    &mut c,
                    &stored.merchant_id,
                    stored.created_at,
                    PENDING_MAX,
                )
                .await?;
                if i64::try_from(pending.len()).unwrap_or(i64::MAX) >= PENDING_MAX {
                    return Err(InvitationError::TooMany);
                }
                dashboard::insert_invitation(&mut c, &stored).await?;
                dashboard::insert_audit(&mut c, &audit).await?;
                Ok(())
            })
        })
        .await?;
    Ok(Invited { invitation, token })
}

/// The invitation a link's token opens, if it is still usable.
pub async fn usable(
    store: &Store,
    clock: &dyn Clock,
    token: &str,
) -> Result<Option<InvitationRow>, InvitationError> {
    let hash = users::token_hash(token);
    let now = Micros::from(clock.now()).0;
    let found = store
        .read(move |mut c| {
            Box::pin(async move { dashboard::invitation_by_token(&mut c, &hash).await })
        })
        .await?;
    Ok(found.filter(|i| i.accepted_at.is_none() && i.revoked_at.is_none() && i.expires_at > now))
}

/// Uses a link: creates the user with the invitation's address and role, and signs it in.
pub async fn accept(
    store: &Store,
    clock: &dyn Clock,
    token: &str,
    name: &str,
    password: &str,
    origin: &Origin,
) -> Result<Opened, InvitationError> {
    let invitation = usable(store, clock, token)
        .await?
        .ok_or(InvitationError::Invalid)?;
    let role = Role::parse(&invitation.role).ok_or(InvitationError::Invalid)?;
    let merchant: MerchantId = invitation
        .merchant_id
        .parse()
        .map_err(|_| InvitationError::Invalid)?;
    let user = users::new_user(merchant, &invitation.email, name, role, password, clock).await?;
    let audit = audit_row(
        clock,
        &invitation.merchant_id,
        Some(&user),
        &user.email,
        "invitation.accepted",
        &invitation.id,
        origin,
    );
    let (stored, id, now) = (
        user.clone(),
        invitation.id.clone(),
        Micros::from(clock.now()).0,
    );
    store
        .write(move |mut c| {
            Box::pin(async move {
                // The link first: used twice at once, only one use creates a user.
                if !dashboard::accept_invitation(&mut c, &id, now).await? {
                    return Err(InvitationError::Invalid);
                }
                users::insert_new_user(&mut c, &stored).await?;
                dashboard::insert_audit(&mut c, &audit).await?;
                Ok(())
            })
        })
        .await?;
    Ok(users::open_session(store, clock, user, origin).await?)
}

/// Withdraws one of the merchant's usable invitations; false when there was none.
pub async fn revoke(
    store: &Store,
    clock: &dyn Clock,
    session: &Session,
    id: &str,
    origin: &Origin,
) -> Result<bool, InvitationError> {
    if !session.role.may_manage_users() {
        return Err(InvitationError::NotOwner);
    }
    let merchant = session.merchant_id.to_string();
    let audit = audit_row(
        clock,
        &merchant,
        Some(&session.user),
        &session.user.email,
        "invitation.revoked",
        id,
        origin,
    );
    let (id, now) = (id.to_owned(), Micros::from(clock.now()).0);
    store
        .write(move |mut c| {
            Box::pin(async move {
                let done = dashboard::revoke_invitation(&mut c, &merchant, &id, now).await?;
                if done {
                    dashboard::insert_audit(&mut c, &audit).await?;
                }
                Ok::<_, InvitationError>(done)
            })
        })
        .await
}

/// The merchant's usable invitations and its users, for its owners.
pub async fn team(
    store: &Store,
    clock: &dyn Clock,
    session: &Session,
) -> Result<(Vec<UserRow>, Vec<InvitationRow>), InvitationError> {
    if !session.role.may_manage_users() {
        return Err(InvitationError::NotOwner);
    }
    let merchant = session.merchant_id.to_string();
    let now = Micros::from(clock.now()).0;
    store
        .read(move |mut c| {
            Box::pin(async move {
                let users =
                    dashboard::users_of_merchant(&mut c, &merchant, users::USERS_PER_MERCHANT_MAX)
                        .await?;
                let pending =
                    dashboard::pending_invitations(&mut c, &merchant, now, PENDING_MAX).await?;
                Ok::<_, InvitationError>((users, pending))
            })
        })
        .await
}
