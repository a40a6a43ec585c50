//! Queries on `sigra_organizations`, `sigra_memberships` and `sigra_invitations`: the
//! tenants of the host app, who belongs to them with which role, and the invitations to
//! join (their tokens stored as SHA-256 digests, each accepted at most once).
//!
//! Rules that span rows ("the last owner stays") are decided one caller at a time: the
//! flow takes [`lock`] on the organization's row first, then counts and changes.

use sea_query::{Expr, ExprTrait, LockType, Order, Query};
use time::OffsetDateTime;
use uuid::Uuid;

use super::{
    Executor, InvitationRow, Invitations, MembershipRow, Memberships, OrganizationRow,
    Organizations, StoreError, Users,
};

const COLUMNS: [Organizations; 6] = [
    Organizations::Id,
    Organizations::Name,
    Organizations::Slug,
    Organizations::Personal,
    Organizations::CreatedAt,
    Organizations::UpdatedAt,
];

const MEMBER_COLUMNS: [Memberships; 5] = [
    Memberships::Id,
    Memberships::OrganizationId,
    Memberships::UserId,
    Memberships::Role,
    Memberships::CreatedAt,
];

const INVITATION_COLUMNS: [Invitations; 10] = [
    Invitations::Id,
    Invitations::OrganizationId,
    Invitations::Email,
    Invitations::Role,
    Invitations::InvitedBy,
    Invitations::CreatedAt,
    Invitations::ExpiresAt,
    Invitations::AcceptedAt,
    Invitations::AcceptedBy,
    Invitations::RevokedAt,
];

/// Stores an organization. [`StoreError::Conflict`] when its slug is taken (the unique
/// index decides).
pub async fn insert(ex: &impl Executor, org: &OrganizationRow) -> Result<(), StoreError> {
    let stmt = Query::insert()
        .into_table(Organizations::Table)
        .columns(COLUMNS)
        .values([
            org.id.into(),
            org.name.clone().into(),
            org.slug.clone().into(),
            org.personal.into(),
            org.created_at.into(),
            org.updated_at.into(),
        ])?
        .to_owned();
    ex.execute(&stmt).await?;
    Ok(())
}

/// The organization with this slug.
pub async fn find_by_slug(
    ex: &impl Executor,
    slug: &str,
) -> Result<Option<OrganizationRow>, StoreError> {
    let stmt = Query::select()
        .columns(COLUMNS)
        .from(Organizations::Table)
        .and_where(Expr::col(Organizations::Slug).eq(slug))
        .to_owned();
    ex.fetch_optional(&stmt).await
}

/// Organizations in slug order whose slug starts with `prefix` (all when empty), after
/// slug `after`, at most `limit` (the admin console's list: one range scan of the unique
/// slug index).
pub async fn search(
    ex: &impl Executor,
    prefix: &str,
    after: Option<&str>,
    limit: u64,
) -> Result<Vec<OrganizationRow>, StoreError> {
    let mut stmt = Query::select();
    stmt.columns(COLUMNS).from(Organizations::Table);
    if !prefix.is_empty() {
        stmt.and_where(Expr::col(Organizations::Slug).gte(prefix));
        if let Some(end) = super::users::prefix_end(prefix) {
            stmt.and_where(Expr::col(Organizations::Slug).lt(end));
        }
    }
    if let Some(after) = after {
        stmt.and_where(Expr::col(Organizations::Slug).gt(after));
    }
    stmt.order_by(Organizations::Slug, Order::Asc).limit(limit);
    ex.fetch_all(&stmt).await
}

/// The organization with this id.
pub async fn find_by_id(
    ex: &impl Executor,
    id: Uuid,
) -> Result<Option<OrganizationRow>, StoreError> {
    let stmt = Query::select()
        .columns(COLUMNS)
        .from(Organizations::Table)
        .and_where(Expr::col(Organizations::Id).eq(id))
        .to_owned();
    ex.fetch_optional(&stmt).await
}

/// Holds the organization's row until the transaction ends (`SELECT … FOR UPDATE` on
/// PostgreSQL and MySQL; SQLite transactions hold the write lock already), so changes
/// to its memberships are decided one caller at a time. Answers whether it exists.
pub async fn lock(ex: &impl Executor, id: Uuid) -> Result<bool, StoreError> {
    let stmt = Query::select()
        .columns(COLUMNS)
        .from(Organizations::Table)
        .and_where(Expr::col(Organizations::Id).eq(id))
        .lock(LockType::Update)
        .to_owned();
    let row: Option<OrganizationRow> = ex.fetch_optional(&stmt).await?;
    Ok(row.is_some())
}

/// Deletes the organization; its memberships and invitations go with it (foreign keys,
/// and explicitly, so no backend keeps one). Answers the affected row count.
pub async fn delete(ex: &impl Executor, id: Uuid) -> Result<u64, StoreError> {
    let invitations = Query::delete()
        .from_table(Invitations::Table)
        .and_where(Expr::col(Invitations::OrganizationId).eq(id))
        .to_owned();
    ex.execute(&invitations).await?;
    let memberships = Query::delete()
        .from_table(Memberships::Table)
        .and_where(Expr::col(Memberships::OrganizationId).eq(id))
        .to_owned();
    ex.execute(&memberships).await?;
    let stmt = Query::delete()
        .from_table(Organizations::Table)
        .and_where(Expr::col(Organizations::Id).eq(id))
        .to_owned();
    ex.execute(&stmt).await
}

/// Adds a member. [`StoreError::Conflict`] when they are one already.
pub async fn insert_membership(
    ex: &impl Executor,
    membership: &MembershipRow,
) -> Result<(), StoreError> {
    let stmt = Query::insert()
        .into_table(Memberships::Table)
        .columns(MEMBER_COLUMNS)
        .values([
            membership.id.into(),
            membership.organization_id.into(),
            membership.user_id.into(),
            membership.role.clone().into(),
            membership.created_at.into(),
        ])?
        .to_owned();
    ex.execute(&stmt).await?;
    Ok(())
}

/// `user_id`'s membership of `organization_id`, if any.
pub async fn membership(
    ex: &impl Executor,
    organization_id: Uuid,
    user_id: Uuid,
) -> Result<Option<MembershipRow>, StoreError> {
    let stmt = Query::select()
        .columns(MEMBER_COLUMNS)
        .from(Memberships::Table)
        .and_where(Expr::col(Memberships::OrganizationId).eq(organization_id))
        .and_where(Expr::col(Memberships::UserId).eq(user_id))
        .to_owned();
    ex.fetch_optional(&stmt).await
}

/// The organization's memberships, oldest first.
pub async fn members(
    ex: &impl Executor,
    organization_id: Uuid,
) -> Result<Vec<MembershipRow>, StoreError> {
    let stmt = Query::select()
        .columns(MEMBER_COLUMNS)
        .from(Memberships::Table)
        .and_where(Expr::col(Memberships::OrganizationId).eq(organization_id))
        .order_by(Memberships::CreatedAt, Order::Asc)
        .order_by(Memberships::Id, Order::Asc)
        .to_owned();
    ex.fetch_all(&stmt).await
}

/// The user's memberships, oldest first.
pub async fn memberships_of(
    ex: &impl Executor,
    user_id: Uuid,
) -> Result<Vec<MembershipRow>, StoreError> {
    let stmt = Query::select()
        .columns(MEMBER_COLUMNS)
        .from(Memberships::Table)
        .and_where(Expr::col(Memberships::UserId).eq(user_id))
        .order_by(Memberships::CreatedAt, Order::Asc)
        .order_by(Memberships::Id, Order::Asc)
        .to_owned();
    ex.fetch_all(&stmt).await
}

/// How many owners the organization has.
pub async fn count_owners(ex: &impl Executor, organization_id: Uuid) -> Result<i64, StoreError> {
    let stmt = Query::select()
        .from(Memberships::Table)
        .and_where(Expr::col(Memberships::OrganizationId).eq(organization_id))
        .and_where(Expr::col(Memberships::Role).eq("owner"))
        .to_owned();
    super::count(ex, stmt).await
}

/// Sets a member's role; answers the affected row count.
pub async fn set_role(
    ex: &impl Executor,
    organization_id: Uuid,
    user_id: Uuid,
    role: &str,
) -> Result<u64, StoreError> {
    let stmt = Query::update()
        .table(Memberships::Table)
        .value(Memberships::Role, role)
        .and_where(Expr::col(Memberships::OrganizationId).eq(organization_id))
        .and_where(Expr::col(Memberships::UserId).eq(user_id))
        .to_owned();
    ex.execute(&stmt).await
}

/// Ends a membership; answers the affected row count.
pub async fn delete_membership(
    ex: &impl Executor,
    organization_id: Uuid,
    user_id: Uuid,
) -> Result<u64, StoreError> {
    let stmt = Query::delete()
        .from_table(Memberships::Table)
        .and_where(Expr::col(Memberships::OrganizationId).eq(organization_id))
        .and_where(Expr::col(Memberships::UserId).eq(user_id))
        .to_owned();
    ex.execute(&stmt).await
}

/// An invitation to store.
#[derive(Debug, Clone)]
pub struct NewInvitation<'a> {
    /// Primary key.
    pub id: Uuid,
    /// The organization.
    pub organization_id: Uuid,
    /// The invited address (normalized).
    pub email: &'a str,
    /// The role the invitee gets.
    pub role: &'a str,
    /// Who invited.
    pub invited_by: Option<Uuid>,
    /// SHA-256 of the emailed token.
    pub token_hash: &'a [u8; 32],
    /// When it was sent.
    pub created_at: OffsetDateTime,
    /// Refused from then on.
    pub expires_at: OffsetDateTime,
}

/// Stores an invitation.
pub async fn insert_invitation(
    ex: &impl Executor,
    new: &NewInvitation<'_>,
) -> Result<(), StoreError> {
    let stmt = Query::insert()
        .into_table(Invitations::Table)
        .columns([
            Invitations::Id,
            Invitations::OrganizationId,
            Invitations::Email,
            Invitations::Role,
            Invitations::InvitedBy,
            Invitations::TokenHash,
            Invitations::CreatedAt,
            Invitations::ExpiresAt,
        ])
        .values([
            new.id.into(),
            new.organization_id.into(),
            new.email.into(),
            new.role.into(),
            new.invited_by.into(),
            new.token_hash.to_vec().into(),
            new.created_at.into(),
            new.expires_at.into(),
        ])?
        .to_owned();
    ex.execute(&stmt).await?;
    Ok(())
}

/// The invitation whose token hashes to `token_hash`, in whatever state.
pub async fn find_invitation(
    ex: &impl Executor,
    token_hash: &[u8; 32],
) -> Result<Option<InvitationRow>, StoreError> {
    let stmt = Query::select()
        .columns(INVITATION_COLUMNS)
        .from(Invitations::Table)
        .and_where(Expr::col(Invitations::TokenHash).eq(token_hash.to_vec()))
        .to_owned();
    ex.fetch_optional(&stmt).await
}

/// Accepts the invitation whose token hashes to `token_hash` for `user_id`, if it is
/// neither accepted, revoked nor expired at `now`. The conditional update decides: of
/// concurrent acceptances exactly one answers `true`.
pub async fn accept_invitation(
    ex: &impl Executor,
    token_hash: &[u8; 32],
    user_id: Uuid,
    now: OffsetDateTime,
) -> Result<bool, StoreError> {
    let stmt = Query::update()
        .table(Invitations::Table)
        .value(Invitations::AcceptedAt, now)
        .value(Invitations::AcceptedBy, user_id)
        .and_where(Expr::col(Invitations::TokenHash).eq(token_hash.to_vec()))
        .and_where(Expr::col(Invitations::AcceptedAt).is_null())
        .and_where(Expr::col(Invitations::RevokedAt).is_null())
        .and_where(Expr::col(Invitations::ExpiresAt).gt(now))
        .to_owned();
    Ok(ex.execute(&stmt).await? == 1)
}

/// Revokes the organization's pending invitation `id`; answers whether it did.
pub async fn revoke_invitation(
    ex: &impl Executor,
    organization_id: Uuid,
    id: Uuid,
    now: OffsetDateTime,
) -> Result<bool, StoreError> {
    let stmt = Query::update()
        .table(Invitations::Table)
        .value(Invitations::RevokedAt, now)
        .and_where(Expr::col(Invitations::Id).eq(id))
        .and_where(Expr::col(Invitations::OrganizationId).eq(organization_id))
        .and_where(Expr::col(Invitations::AcceptedAt).is_null())
        .and_where(Expr::col(Invitations::RevokedAt).is_null())
        .to_owned();
    Ok(ex.execute(&stmt).await? == 1)
}

/// The organization's invitations still open at `now` (not accepted, revoked or
/// expired), newest first.
pub async fn pending_invitations(
    ex: &impl Executor,
    organization_id: Uuid,
    now: OffsetDateTime,
) -> Result<Vec<InvitationRow>, StoreError> {
    let stmt = Query::select()
        .columns(INVITATION_COLUMNS)
        .from(Invitations::Table)
        .and_where(Expr::col(Invitations::OrganizationId).eq(organization_id))
        .and_where(Expr::col(Invitations::AcceptedAt).is_null())
        .and_where(Expr::col(Invitations::RevokedAt).is_null())
        .and_where(Expr::col(Invitations::ExpiresAt).gt(now))
        .order_by(Invitations::CreatedAt, Order::Desc)
        .order_by(Invitations::Id, Order::Desc)
        .to_owned();
    ex.fetch_all(&stmt).await
}

/// How many invitations the organization sent since `since` (the per-organization
/// throttle counts these).
pub async fn count_invitations_since(
    ex: &impl Executor,
    organization_id: Uuid,
    since: OffsetDateTime,
) -> Result<i64, StoreError> {
    let stmt = Query::select()
        .from(Invitations::Table)
        .and_where(Expr::col(Invitations::OrganizationId).eq(organization_id))
        .and_where(Expr::col(Invitations::CreatedAt).gte(since))
        .to_owned();
    super::count(ex, stmt).await
}

row! {
    /// An organization with one user's role in it (see [`organizations_of`]).
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct UserOrganizationRow {
        /// The organization's id.
        pub id: Uuid,
        /// Its name.
        pub name: String,
        /// Its slug.
        pub slug: String,
        /// Whether it is personal.
        pub personal: bool,
        /// When it was created.
        pub created_at: OffsetDateTime,
        /// The user's role in it.
        pub role: String,
        /// When the user joined.
        pub joined_at: OffsetDateTime,
    }
}

fn user_organizations(user_id: Uuid) -> sea_query::SelectStatement {
    let o = |c: Organizations| Expr::col((Organizations::Table, c));
    let m = |c: Memberships| Expr::col((Memberships::Table, c));
    Query::select()
        .expr_as(o(Organizations::Id), "id")
        .expr_as(o(Organizations::Name), "name")
        .expr_as(o(Organizations::Slug), "slug")
        .expr_as(o(Organizations::Personal), "personal")
        .expr_as(o(Organizations::CreatedAt), "created_at")
        .expr_as(m(Memberships::Role), "role")
        .expr_as(m(Memberships::CreatedAt), "joined_at")
        .from(Memberships::Table)
        .inner_join(
            Organizations::Table,
            Expr::col((Organizations::Table, Organizations::Id))
                .equals((Memberships::Table, Memberships::OrganizationId)),
        )
        .and_where(m(Memberships::UserId).eq(user_id))
        .to_owned()
}

/// The organizations `user_id` belongs to, with their role, in the order they joined.
pub async fn organizations_of(
    ex: &impl Executor,
    user_id: Uuid,
) -> Result<Vec<UserOrganizationRow>, StoreError> {
    let stmt = user_organizations(user_id)
        .order_by((Memberships::Table, Memberships::CreatedAt), Order::Asc)
        .order_by((Memberships::Table, Memberships::Id), Order::Asc)
        .to_owned();
    ex.fetch_all(&stmt).await
}

/// The organization with this slug and `user_id`'s role in it, if they belong to it:
/// one query, for the guards.
pub async fn membership_by_slug(
    ex: &impl Executor,
    user_id: Uuid,
    slug: &str,
) -> Result<Option<UserOrganizationRow>, StoreError> {
    let stmt = user_organizations(user_id)
        .and_where(Expr::col((Organizations::Table, Organizations::Slug)).eq(slug))
        .to_owned();
    ex.fetch_optional(&stmt).await
}

/// The organization with this id and `user_id`'s role in it, if they belong to it.
pub async fn membership_by_id(
    ex: &impl Executor,
    user_id: Uuid,
    organization_id: Uuid,
) -> Result<Option<UserOrganizationRow>, StoreError> {
    let stmt = user_organizations(user_id)
        .and_where(Expr::col((Organizations::Table, Organizations::Id)).eq(organization_id))
        .to_owned();
    ex.fetch_optional(&stmt).await
}

row! {
    /// A member as the organization page lists them.
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct MemberRow {
        /// The member's account.
        pub user_id: Uuid,
        /// Their email.
        pub email: String,
        /// Their role.
        pub role: String,
        /// When they joined.
        pub created_at: OffsetDateTime,
    }
}

/// The organization's members with their email, oldest first.
pub async fn members_with_email(
    ex: &impl Executor,
    organization_id: Uuid,
) -> Result<Vec<MemberRow>, StoreError> {
    let m = |c: Memberships| Expr::col((Memberships::Table, c));
    let stmt = Query::select()
        .expr_as(m(Memberships::UserId), "user_id")
        .expr_as(Expr::col((Users::Table, Users::Email)), "email")
        .expr_as(m(Memberships::Role), "role")
        .expr_as(m(Memberships::CreatedAt), "created_at")
        .from(Memberships::Table)
        .inner_join(
            Users::Table,
            Expr::col((Users::Table, Users::Id)).equals((Memberships::Table, Memberships::UserId)),
        )
        .and_where(m(Memberships::OrganizationId).eq(organization_id))
        .order_by((Memberships::Table, Memberships::CreatedAt), Order::Asc)
        .order_by((Memberships::Table, Memberships::Id), Order::Asc)
        .to_owned();
    ex.fetch_all(&stmt).await
}

/// Ends every membership of `user_id` (their account is being deleted); answers how
/// many.
pub async fn delete_memberships_of_user(
    ex: &impl Executor,
    user_id: Uuid,
) -> Result<u64, StoreError> {
    let stmt = Query::delete()
        .from_table(Memberships::Table)
        .and_where(Expr::col(Memberships::UserId).eq(user_id))
        .to_owned();
    ex.execute(&stmt).await
}

/// The oldest member of the organization with `role`, other than `except`.
pub async fn oldest_with_role(
    ex: &impl Executor,
    organization_id: Uuid,
    role: &str,
    except: Uuid,
) -> Result<Option<MembershipRow>, StoreError> {
    let stmt = Query::select()
        .columns(MEMBER_COLUMNS)
        .from(Memberships::Table)
        .and_where(Expr::col(Memberships::OrganizationId).eq(organization_id))
        .and_where(Expr::col(Memberships::Role).eq(role))
        .and_where(Expr::col(Memberships::UserId).ne(except))
        .order_by(Memberships::CreatedAt, Order::Asc)
        .order_by(Memberships::Id, Order::Asc)
        .limit(1)
        .to_owned();
    ex.fetch_optional(&stmt).await
}

/// The invitation `id` of the organization, in whatever state.
pub async fn invitation_by_id(
    ex: &impl Executor,
    organization_id: Uuid,
    id: Uuid,
) -> Result<Option<InvitationRow>, StoreError> {
    let stmt = Query::select()
        .columns(INVITATION_COLUMNS)
        .from(Invitations::Table)
        .and_where(Expr::col(Invitations::OrganizationId).eq(organization_id))
        .and_where(Expr::col(Invitations::Id).eq(id))
        .to_owned();
    ex.fetch_optional(&stmt).await
}
