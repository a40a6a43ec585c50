//! Memberships: changing a member's role, removing a member, leaving an organization.
//!
//! # Algorithm
//!
//! Each flow begins a change, looks up the caller's membership of the organization and
//! takes the organization's row lock ([`organizations::lock_membership`]), then reads the
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

use super::organizations::{self, OrganizationError, Role};
use super::sessions::Authenticated;
use super::{Auth, FlowError, RequestMeta, Revocation, audit};
use crate::store::organizations as store;

/// Gives member `member_id` of organization `slug` the role `role`.
pub async fn change_role(
    auth: &Auth,
    current: &Authenticated,
    slug: &str,
    member_id: Uuid,
    role: Role,
    meta: &RequestMeta,
) -> Result<Result<(), OrganizationError>, FlowError> {
    let actor = current.user.id;
    let change = auth.change(meta).await?;
    let Some((org, actor_role)) = organizations::lock_membership(change.tx(), actor, slug).await?
    else {
        change.rollback().await?;
        return Ok(Err(OrganizationError::NotFound));
    };
    if actor_role < Role::Admin {
        change.rollback().await?;
        return Ok(Err(OrganizationError::Forbidden));
    }
    let Some(target) = store::membership(change.tx(), org.id, member_id).await? else {
        change.rollback().await?;
        return Ok(Err(OrganizationError::MemberNotFound));
    };
    let Some(from) = Role::parse(&target.role) else {
        change.rollback().await?;
        return Ok(Err(OrganizationError::MemberNotFound));
    };
    if !actor_role.may_assign(Some(from), role) {
        change.rollback().await?;
        return Ok(Err(OrganizationError::Forbidden));
    }
    if from == role {
        change.rollback().await?;
        return Ok(Ok(()));
    }
    if from == Role::Owner && store::count_owners(change.tx(), org.id).await? <= 1 {
        change.rollback().await?;
        return Ok(Err(OrganizationError::LastOwner));
    }
    store::set_role(change.tx(), org.id, member_id, role.as_str()).await?;
    let details = json!({ "from": from, "to": role });
    change
        .audit_in(
            org.id,
            audit::MEMBERSHIP_ROLE_CHANGED,
            Some(actor),
            Some(member_id),
            details,
        )
        .await?;
    change.commit(Revocation::None).await?;
    Ok(Ok(()))
}

/// Removes member `member_id` from organization `slug`. Removing oneself is leaving.
pub async fn remove(
    auth: &Auth,
    current: &Authenticated,
    slug: &str,
    member_id: Uuid,
    meta: &RequestMeta,
) -> Result<Result<(), OrganizationError>, FlowError> {
    if member_id == current.user.id {
        return leave(auth, current, slug, meta).await;
    }
    let actor = current.user.id;
    let change = auth.change(meta).await?;
    let Some((org, actor_role)) = organizations::lock_membership(change.tx(), actor, slug).await?
    else {
        change.rollback().await?;
        return Ok(Err(OrganizationError::NotFound));
    };
    if actor_role < Role::Admin {
        change.rollback().await?;
        return Ok(Err(OrganizationError::Forbidden));
    }
    let target = store::membership(change.tx(), org.id, member_id).await?;
    let Some(role) = target.and_then(|t| Role::parse(&t.role)) else {
        change.rollback().await?;
        return Ok(Err(OrganizationError::MemberNotFound));
    };
    if !actor_role.may_remove(role) {
        change.rollback().await?;
        return Ok(Err(OrganizationError::Forbidden));
    }
    if role == Role::Owner && store::count_owners(change.tx(), org.id).await? <= 1 {
        change.rollback().await?;
        return Ok(Err(OrganizationError::LastOwner));
    }
    store::delete_membership(change.tx(), org.id, member_id).await?;
    let details = json!({ "role": role });
    change
        .audit_in(
            org.id,
            audit::MEMBERSHIP_REMOVED,
            Some(actor),
            Some(member_id),
            details,
        )
        .await?;
    change.commit(Revocation::RefreshCache).await?;
    Ok(Ok(()))
}

/// Ends the current user's membership of organization `slug`.
pub async fn leave(
    auth: &Auth,
    current: &Authenticated,
    slug: &str,
    meta: &RequestMeta,
) -> Result<Result<(), OrganizationError>, FlowError> {
    let user_id = current.user.id;
    let change = auth.change(meta).await?;
    let Some((org, role)) = organizations::lock_membership(change.tx(), user_id, slug).await?
    else {
        change.rollback().await?;
        return Ok(Err(OrganizationError::NotFound));
    };
    if role == Role::Owner && store::count_owners(change.tx(), org.id).await? <= 1 {
        change.rollback().await?;
        return Ok(Err(OrganizationError::LastOwner));
    }
    store::delete_membership(change.tx(), org.id, user_id).await?;
    let details = json!({ "role": role });
    change
        .audit_in(
            org.id,
            audit::MEMBERSHIP_LEFT,
            Some(user_id),
            Some(user_id),
            details,
        )
        .await?;
    change.commit(Revocation::RefreshCache).await?;
    Ok(Ok(()))
}
