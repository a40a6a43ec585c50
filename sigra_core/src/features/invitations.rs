//! Invitations: how accounts join an organization.
//!
//! # Algorithm
//!
//! An admin or owner invites an address with a role ([`invite`]). The invitation holds
//! the SHA-256 of a 32-byte random token; the token travels once, in a mail to that
//! address, as a link to `/organizations/invitations/<token>`. The link is good for
//! `sigra.organizations.invitation_days` (7), once, and only for the invited address:
//!
//! - a visitor logged in with that address accepts with a button ([`accept`]);
//! - one logged in with another address is told so ([`OrganizationError::WrongAccount`])
//!   and may log out and back in; the invitation stays open;
//! - one with no account creates it on the invitation page ([`accept_with_new_account`]):
//!   the address is the invited one, already confirmed (the link proves the mailbox),
//!   and the account joins and is logged in in the same change.
//!
//! Accepting uses the invitation up with a conditional update (not accepted, not
//! revoked, not expired): of concurrent acceptances exactly one joins. The membership is
//! written under the organization's row lock, after checking the account is not a member
//! already (an invitation to a member is used up and changes nothing).
//!
//! # Trade-off
//!
//! An invitation to an address that is already a member is answered exactly like any
//! other (the same page, status and mail), so inviting reveals nothing about who belongs
//! to the organization beyond the members list the inviter already sees. Sending is
//! throttled per organization (`invitations_per_hour`), counted under the organization's
//! row lock so racing invitations cannot pass the limit, which bounds the mail one
//! compromised admin account can send.
//!
//! # Failure mode
//!
//! An unknown, used, revoked or expired link answers [`OrganizationError::InvitationInvalid`]
//! alike. A new account whose address is taken meanwhile answers
//! [`OrganizationError::AccountExists`] and writes nothing; the invitation stays open.

use serde_json::json;
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

use super::organizations::{InvitationView, OrganizationError, OrganizationView, Outcome, Role};
use super::sessions::{Authenticated, IssuedSession};
use super::{Auth, FlowError, RequestMeta, Revocation, audit, organizations};
use crate::crypto::{Token, TokenHash};
use crate::form::FieldError;
use crate::password_policy;
use crate::secret::SecretString;
use crate::store::organizations as store;
use crate::store::{MembershipRow, StoreError, new_id, normalize_email, users};

/// The path of an invitation link.
pub fn link_path(token: &str) -> String {
    format!("/organizations/invitations/{token}")
}

/// What the invite form sent.
#[derive(Debug, Clone, Default)]
pub struct InviteInput {
    /// The address to invite.
    pub email: String,
    /// `member`, `admin` or `owner`; empty: `member`.
    pub role: String,
}

/// Problems with the invite form, by field.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct InviteErrors {
    /// `email_invalid`.
    pub email: Vec<FieldError>,
    /// `role_invalid`.
    pub role: Vec<FieldError>,
}

impl InviteErrors {
    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.email.is_empty() && self.role.is_empty()
    }
}

fn check(input: &InviteInput) -> Result<(String, Role), InviteErrors> {
    let mut errors = InviteErrors::default();
    let email = normalize_email(&input.email);
    if !super::registration::valid_email(&email) {
        errors.email.push(FieldError::new(
            "email_invalid",
            "Enter a valid email address, like name@example.com.",
        ));
    }
    let role = if input.role.trim().is_empty() {
        Some(Role::Member)
    } else {
        Role::parse(&input.role)
    };
    let Some(role) = role else {
        errors.role.push(FieldError::new(
            "role_invalid",
            "Choose member, admin or owner.",
        ));
        return Err(errors);
    };
    if errors.is_empty() {
        Ok((email, role))
    } else {
        Err(errors)
    }
}

/// Invites `input.email` to organization `slug` with `input.role` (admins and owners;
/// only owners invite owners) and mails them the link. Answers the pending invitation,
/// or what is wrong with the form, or the refusal.
pub async fn invite(
    auth: &Auth,
    current: &Authenticated,
    slug: &str,
    input: &InviteInput,
    meta: &RequestMeta,
) -> Outcome<Result<InvitationView, InviteErrors>> {
    let acting = match organizations::act(auth, current, slug, Role::Admin, meta).await? {
        Ok(acting) => acting,
        Err(refusal) => return Ok(Err(refusal)),
    };
    let (email, role) = match check(input) {
        Ok(checked) => checked,
        Err(errors) => {
            acting.change.rollback().await?;
            return Ok(Ok(Err(errors)));
        }
    };
    if !acting.role.may_assign(None, role) {
        return acting.refuse(OrganizationError::Forbidden).await;
    }
    if acting.org.personal {
        return acting.refuse(OrganizationError::Personal).await;
    }
    let now = auth.clock.now();
    let since = now - Duration::hours(1);
    let sent = store::count_invitations_since(acting.change.tx(), acting.org.id, since).await?;
    if sent >= auth.config.organizations.invitations_per_hour {
        return acting.refuse(OrganizationError::InvitationLimit).await;
    }
    let organizations::Acting {
        mut change, org, ..
    } = acting;
    let actor = current.user.id;
    let token = Token::generate()?;
    let ttl = Duration::days(auth.config.organizations.invitation_days);
    let id = new_id(auth.clock.as_ref());
    store::insert_invitation(
        change.tx(),
        &store::NewInvitation {
            id,
            organization_id: org.id,
            email: &email,
            role: role.as_str(),
            invited_by: Some(actor),
            token_hash: token.hash().as_bytes(),
            created_at: now,
            expires_at: now + ttl,
        },
    )
    .await?;
    let data = json!({
        "organization": org.name,
        "inviter": current.user.email,
        "role": role.as_str(),
        "url": auth.url(&link_path(token.as_str())),
        "valid_for": super::valid_for(ttl.whole_seconds()),
    });
    change.mail("invitation", &email, data).await?;
    let details = json!({
        "invitation_id": id,
        "role": role,
        "recipient": auth.recipient_digest(&email),
    });
    change
        .audit_in(org.id, audit::INVITATION_SENT, Some(actor), None, details)
        .await?;
    change.commit(Revocation::None).await?;
    Ok(Ok(Ok(InvitationView {
        id,
        email,
        role,
        created_at: now,
        expires_at: now + ttl,
    })))
}

/// Revokes pending invitation `id` of organization `slug` (admins and owners).
pub async fn revoke(
    auth: &Auth,
    current: &Authenticated,
    slug: &str,
    id: Uuid,
    meta: &RequestMeta,
) -> Outcome<()> {
    let acting = match organizations::act(auth, current, slug, Role::Admin, meta).await? {
        Ok(acting) => acting,
        Err(refusal) => return Ok(Err(refusal)),
    };
    let now = auth.clock.now();
    if !store::revoke_invitation(acting.change.tx(), acting.org.id, id, now).await? {
        return acting.refuse(OrganizationError::InvitationNotFound).await;
    }
    let details = json!({ "invitation_id": id });
    let action = audit::INVITATION_REVOKED;
    acting.audit(action, current.user.id, None, details).await?;
    acting.change.commit(Revocation::None).await?;
    Ok(Ok(()))
}

/// What the invitation page shows of an open invitation.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[non_exhaustive]
pub struct InvitationDetails {
    /// The organization's name.
    pub organization: String,
    /// Its slug.
    pub slug: String,
    /// The invited address.
    pub email: String,
    /// The role it gives.
    pub role: Role,
    /// When it stops working.
    #[serde(with = "time::serde::rfc3339")]
    pub expires_at: OffsetDateTime,
    /// Whether an account with the invited address exists (the page then offers to log
    /// in rather than to register; the link holder owns the address).
    pub account_exists: bool,
}

fn open(row: &crate::store::InvitationRow, now: OffsetDateTime) -> bool {
    row.accepted_at.is_none() && row.revoked_at.is_none() && now < row.expires_at
}

/// The open invitation of link `token`, or [`OrganizationError::InvitationInvalid`].
pub async fn show(
    auth: &Auth,
    token: &str,
) -> Result<Result<InvitationDetails, OrganizationError>, FlowError> {
    let Ok(hash) = TokenHash::of_encoded(token) else {
        return Ok(Err(OrganizationError::InvitationInvalid));
    };
    let row = store::find_invitation(&auth.db, hash.as_bytes()).await?;
    let Some(row) = row.filter(|r| open(r, auth.clock.now())) else {
        return Ok(Err(OrganizationError::InvitationInvalid));
    };
    let Some(org) = store::find_by_id(&auth.db, row.organization_id).await? else {
        return Ok(Err(OrganizationError::InvitationInvalid));
    };
    let Some(role) = Role::parse(&row.role) else {
        return Ok(Err(OrganizationError::InvitationInvalid));
    };
    let account_exists = users::find_by_email(&auth.db, &row.email)
        .await?
        .is_some_and(|u| u.deleted_at.is_none());
    Ok(Ok(InvitationDetails {
        organization: org.name,
        slug: org.slug,
        email: row.email,
        role,
        expires_at: row.expires_at,
        account_exists,
    }))
}

/// How accepting ended for a logged-in account.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Accepted {
    /// The account joined.
    Joined(OrganizationView),
    /// The account was a member already; the invitation is used up.
    AlreadyMember(OrganizationView),
}

/// Uses up the invitation of link `token` for `user_id` and makes them a member, inside
/// `change`. Checks the address first.
async fn join(
    auth: &Auth,
    change: &super::Change<'_>,
    hash: &TokenHash,
    user_id: Uuid,
    email: &str,
) -> Result<Result<Accepted, OrganizationError>, FlowError> {
    let now = auth.clock.now();
    let tx = change.tx();
    let row = store::find_invitation(tx, hash.as_bytes()).await?;
    let Some(row) = row.filter(|r| open(r, now)) else {
        return Ok(Err(OrganizationError::InvitationInvalid));
    };
    if row.email != email {
        return Ok(Err(OrganizationError::WrongAccount));
    }
    let Some(role) = Role::parse(&row.role) else {
        return Ok(Err(OrganizationError::InvitationInvalid));
    };
    if !store::lock(tx, row.organization_id).await? {
        return Ok(Err(OrganizationError::InvitationInvalid));
    }
    // The conditional update decides between concurrent acceptances.
    if !store::accept_invitation(tx, hash.as_bytes(), user_id, now).await? {
        return Ok(Err(OrganizationError::InvitationInvalid));
    }
    let already = store::membership(tx, row.organization_id, user_id).await?;
    if already.is_none() {
        let membership = MembershipRow {
            id: new_id(auth.clock.as_ref()),
            organization_id: row.organization_id,
            user_id,
            role: role.as_str().to_owned(),
            created_at: now,
        };
        store::insert_membership(tx, &membership).await?;
    }
    let details =
        json!({ "invitation_id": row.id, "role": role, "already_member": already.is_some() });
    let org = row.organization_id;
    change
        .audit_in(
            org,
            audit::INVITATION_ACCEPTED,
            Some(user_id),
            Some(user_id),
            details,
        )
        .await?;
    if already.is_none() {
        let details =
            json!({ "role": role, "invitation_id": row.id, "invited_by": row.invited_by });
        change
            .audit_in(
                org,
                audit::MEMBERSHIP_ADDED,
                row.invited_by,
                Some(user_id),
                details,
            )
            .await?;
    }
    let Some(view) = store::membership_by_id(tx, user_id, org).await? else {
        return Ok(Err(OrganizationError::InvitationInvalid));
    };
    let Some(view) = OrganizationView::of_row(&view) else {
        return Ok(Err(OrganizationError::InvitationInvalid));
    };
    Ok(Ok(if already.is_some() {
        Accepted::AlreadyMember(view)
    } else {
        Accepted::Joined(view)
    }))
}

/// Accepts the invitation of link `token` for the logged-in account, which must have the
/// invited address. The session switches to the organization.
pub async fn accept(
    auth: &Auth,
    current: &Authenticated,
    token: &str,
    meta: &RequestMeta,
) -> Result<Result<Accepted, OrganizationError>, FlowError> {
    let Ok(hash) = TokenHash::of_encoded(token) else {
        return Ok(Err(OrganizationError::InvitationInvalid));
    };
    let change = auth.change(meta).await?;
    let user = &current.user;
    let accepted = match join(auth, &change, &hash, user.id, &user.email).await? {
        Ok(accepted) => accepted,
        Err(refusal) => {
            change.rollback().await?;
            return Ok(Err(refusal));
        }
    };
    let (Accepted::Joined(view) | Accepted::AlreadyMember(view)) = &accepted;
    crate::store::sessions::set_active_organization(change.tx(), current.session.id, Some(view.id))
        .await?;
    change.commit(Revocation::RefreshCache).await?;
    Ok(Ok(accepted))
}

/// Why accepting with a new account did not happen.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum NewAccountRefusal {
    /// The password does not meet the policy.
    Password(Vec<FieldError>),
    /// Refused (invalid link, or the address has an account: log in instead).
    Refused(OrganizationError),
}

/// Creates the account of the invited address (confirmed: the link proves the mailbox)
/// with `password`, accepts the invitation and logs the new account in, in one change.
pub async fn accept_with_new_account(
    auth: &Auth,
    token: &str,
    password: &SecretString,
    meta: &RequestMeta,
) -> Result<Result<(OrganizationView, IssuedSession), NewAccountRefusal>, FlowError> {
    let refused = |e| Ok(Err(NewAccountRefusal::Refused(e)));
    let details = match show(auth, token).await? {
        Ok(details) => details,
        Err(e) => return refused(e),
    };
    if details.account_exists {
        return refused(OrganizationError::AccountExists);
    }
    let problems = password_policy::check(
        &auth.config.password,
        password.expose(),
        Some(&details.email),
    );
    if !problems.is_empty() {
        return Ok(Err(NewAccountRefusal::Password(problems)));
    }
    let Ok(hash) = TokenHash::of_encoded(token) else {
        return refused(OrganizationError::InvitationInvalid);
    };
    let hashed = auth.hasher.hash(password).await?;
    let now = auth.clock.now();
    let change = auth.change(meta).await?;
    let id = new_id(auth.clock.as_ref());
    let user = match users::insert(change.tx(), id, &details.email, Some(hashed), now).await {
        Ok(user) => user,
        Err(StoreError::Conflict) => {
            change.rollback().await?;
            return refused(OrganizationError::AccountExists);
        }
        Err(e) => return Err(e.into()),
    };
    users::confirm(change.tx(), user.id, now).await?;
    #[cfg(feature = "admin")]
    super::admin::on_confirmed(auth, &change, user.id).await?;
    let registered = json!({ "via": "invitation", "confirmed_by": "invitation" });
    change
        .audit(audit::REGISTRATION, user.id, registered)
        .await?;
    organizations::create_personal(auth, &change, user.id, &user.email).await?;
    let view = match join(auth, &change, &hash, user.id, &user.email).await? {
        Ok(Accepted::Joined(view) | Accepted::AlreadyMember(view)) => view,
        Err(e) => {
            change.rollback().await?;
            return refused(e);
        }
    };
    let issued = super::sessions::issue(auth, &change, user.id, false, true, None).await?;
    crate::store::sessions::set_active_organization(change.tx(), issued.session.id, Some(view.id))
        .await?;
    let details = json!({ "session_id": issued.session.id, "method": "invitation" });
    change.audit(audit::LOGIN_SUCCESS, user.id, details).await?;
    change.commit(Revocation::None).await?;
    Ok(Ok((view, issued)))
}
