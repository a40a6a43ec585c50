//! Memberships: changing a member's role, removing a member, leaving an organization.
//!
//! # Algorithm
//!
//! Each flow begins a change, looks up the caller's membership of the organization and
//! takes the organization's row lock (`organizations::act`), then reads the
//! target's membership, checks the roles table of [`super::organizations`] with
//! [`Role::may_assign`] and [`Role::may_remove`], counts owners when an owner would stop
//! being one, and writes. The last owner can never leave, be removed or be demoted
//! ([`OrganizationError::LastOwner`]).
//!
//! # Trade-off
//!
//! Holding the organization's row for the length of a membership change serialises the
//! changes of one organization, which are rare, and nothing else: other organizations
//! and every read go on. Without it, two owners demoting each other at once would each
//! count two owners and leave none.
//!
//! # Failure mode
//!
//! A refused change writes nothing. A removed member loses access on their next request,
//! since guards read the membership every time; their organization API keys stop working
//! at once for the same reason. Every change is audited with the organization's id.

use serde_json::json;
use uuid::Uuid;

use super::organizations::{self, OrganizationError, Outcome, Role};
use super::sessions::Authenticated;
use super::{Auth, RequestMeta, Revocation, audit};
use crate::store::organizations as store;

/// Gives member `member_id` of organization `slug` the role `role`.
pub async fn change_role(
    auth: &Auth,
    current: &Authenticated,
    slug: &str,
    member_id: Uuid,
    role: Role,
    meta: &RequestMeta,
) -> Outcome<()> {
    let acting = match organizations::act(auth, current, slug, Role::Admin, meta).await? {
        Ok(acting) => acting,
        Err(refusal) => return Ok(Err(refusal)),
    };
    let target = store::membership(acting.change.tx(), acting.org.id, member_id).await?;
    let Some(from) = target.and_then(|t| Role::parse(&t.role)) else {
        return acting.refuse(OrganizationError::MemberNotFound).await;
    };
    if !acting.role.may_assign(Some(from), role) {
        return acting.refuse(OrganizationError::Forbidden).await;
    }
    if from == role {
        acting.change.rollback().await?;
        return Ok(Ok(()));
    }
    if !acting.owner_may_go(from).await? {
        return acting.refuse(OrganizationError::LastOwner).await;
    }
    store::set_role(acting.change.tx(), acting.org.id, member_id, role.as_str()).await?;
    let details = json!({ "from": from, "to": role });
    let action = audit::MEMBERSHIP_ROLE_CHANGED;
    acting
        .audit(action, current.user.id, Some(member_id), details)
        .await?;
    acting.change.commit(Revocation::None).await?;
    Ok(Ok(()))
}

/// Removes member `member_id` from organization `slug`. Removing oneself is leaving.
pub async fn remove(
    auth: &Auth,
    current: &Authenticated,
    slug: &str,
    member_id: Uuid,
    meta: &RequestMeta,
) -> Outcome<()> {
    let (min, action) = if member_id == current.user.id {
        (Role::Member, audit::MEMBERSHIP_LEFT)
    } else {
        (Role::Admin, audit::MEMBERSHIP_REMOVED)
    };
    let acting = match organizations::act(auth, current, slug, min, meta).await? {
        Ok(acting) => acting,
        Err(refusal) => return Ok(Err(refusal)),
    };
    let target = store::membership(acting.change.tx(), acting.org.id, member_id).await?;
    let Some(role) = target.and_then(|t| Role::parse(&t.role)) else {
        return acting.refuse(OrganizationError::MemberNotFound).await;
    };
    if member_id != current.user.id && !acting.role.may_remove(role) {
        return acting.refuse(OrganizationError::Forbidden).await;
    }
    if !acting.owner_may_go(role).await? {
        return acting.refuse(OrganizationError::LastOwner).await;
    }
    store::delete_membership(acting.change.tx(), acting.org.id, member_id).await?;
    let details = json!({ "role": role });
    acting
        .audit(action, current.user.id, Some(member_id), details)
        .await?;
    acting.change.commit(Revocation::RefreshCache).await?;
    Ok(Ok(()))
}

/// Ends the current user's membership of organization `slug`.
pub async fn leave(
    auth: &Auth,
    current: &Authenticated,
    slug: &str,
    meta: &RequestMeta,
) -> Outcome<()> {
    remove(auth, current, slug, current.user.id, meta).await
}
