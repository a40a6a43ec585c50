//! Organizations: the tenants of the host app. Accounts belong to organizations through
//! memberships (see [`super::memberships`]) with a [`Role`], join them by invitation
//! (see [`super::invitations`]), and each session acts in one organization at a time.
//!
//! # Algorithm
//!
//! An organization has a name, a unique slug (its URL segment, `a-z`, `0-9` and `-`, 2 to
//! 48 characters) and a `personal` flag. Creating one makes its creator the only owner and
//! switches the creator's session to it. With `sigra.organizations.personal`, registration
//! makes each new account a personal organization too.
//!
//! Roles, and what each may do (the roles-matrix test checks every cell):
//!
//! | action                                   | member | admin | owner |
//! |------------------------------------------|--------|-------|-------|
//! | see the organization and its members     | yes    | yes   | yes   |
//! | see and revoke pending invitations       | —      | yes   | yes   |
//! | invite as member or admin                | —      | yes   | yes   |
//! | invite as owner, make or unmake owners   | —      | —     | yes   |
//! | change a member's or admin's role        | —      | yes   | yes   |
//! | remove a member or admin                 | —      | yes   | yes   |
//! | remove an owner                          | —      | —     | yes   |
//! | leave                                    | yes    | yes   | yes¹  |
//! | delete the organization (with sudo)      | —      | —     | yes   |
//! | create organization API keys             | —      | yes   | yes   |
//!
//! ¹ The last owner can never leave, be removed or be demoted: every change to a
//! membership takes the organization's row lock first (`store::organizations::lock`),
//! then counts owners and writes, so two owners demoting each other at once cannot both
//! succeed and leave none.
//!
//! The **active organization** is a column of the session. [`active`] answers it with the
//! caller's role, read from the membership on every call (one indexed query), so a member
//! removed elsewhere loses access on their next request. A session that never switched
//! acts in the account's personal organization, or else the one it joined first.
//!
//! **Scoping host data**: a [`Membership`] (from [`active`], [`Membership::of`] or the web
//! guards) gives the organization's id ([`Membership::org_id`]) and a sea-query
//! [`Condition`] on the host's own column ([`Membership::scope`]), so a host query reads
//! only the active organization's rows.
//!
//! **Deleting an account** removes its memberships. An organization it owned alone passes
//! to its oldest admin, or else its oldest member (`organization.ownership_transferred`),
//! and one with nobody left is deleted: an erasure request is never blocked by an
//! organization, and no organization is left without an owner.
//!
//! # Trade-off
//!
//! Membership is checked against the database on every guarded request rather than
//! cached with the session: one query per request buys removal that takes effect at once.
//! Non-members get `organization_not_found` for an organization that exists, so slugs of
//! organizations one does not belong to cannot be probed (a slug taken at creation does
//! say so: the name space is shared).
//!
//! # Failure mode
//!
//! Every change is one transaction with its audit events (each carrying the organization
//! id); a failure leaves nothing half-done. Deleting an organization removes its
//! memberships, invitations and organization API keys; sessions acting in it fall back
//! to their default organization.

use sea_query::{Condition, Expr, ExprTrait, IntoColumnRef};
use serde_json::json;
use time::OffsetDateTime;
use uuid::Uuid;

use super::sessions::Authenticated;
use super::{Auth, FlowError, RequestMeta, Revocation, audit};
use crate::form::FieldError;
use crate::store::organizations::{self as store, UserOrganizationRow};
use crate::store::{MembershipRow, OrganizationRow, new_id, sessions, users};

/// The longest organization name, in characters.
pub const MAX_NAME_CHARS: usize = 100;
/// Slug length bounds.
pub const SLUG_CHARS: std::ops::RangeInclusive<usize> = 2..=48;
/// Slugs that name Sigra's own pages under `/organizations`.
const RESERVED_SLUGS: [&str; 3] = ["invitations", "new", "switch"];

/// A member's role, weakest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Sees the organization and its members, uses its data.
    Member,
    /// Also invites, changes roles below owner and removes members.
    Admin,
    /// Also makes owners, removes owners and deletes the organization.
    Owner,
}

impl Role {
    /// Every role, weakest first.
    pub const ALL: [Role; 3] = [Role::Member, Role::Admin, Role::Owner];

    /// `member`, `admin` or `owner`.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Member => "member",
            Role::Admin => "admin",
            Role::Owner => "owner",
        }
    }

    /// The role named `name`, if any.
    pub fn parse(name: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == name.trim())
    }

    /// Whether this role may give `to` to someone who has `from` (`None`: a newcomer,
    /// by invitation): admins and owners manage roles, and only owners touch the owner
    /// role on either side.
    pub fn may_assign(self, from: Option<Role>, to: Role) -> bool {
        self >= Role::Admin
            && (self == Role::Owner || (to != Role::Owner && from != Some(Role::Owner)))
    }

    /// Whether this role may remove a member who has `target`.
    pub fn may_remove(self, target: Role) -> bool {
        self >= Role::Admin && (self == Role::Owner || target != Role::Owner)
    }
}

/// Why an organization flow refused. Each has a stable [`reason`](Self::reason).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum OrganizationError {
    /// No such organization, or the caller does not belong to it.
    #[error("organization not found")]
    NotFound,
    /// The caller's role may not do this.
    #[error("role does not allow this")]
    Forbidden,
    /// The change would leave the organization without an owner.
    #[error("last owner")]
    LastOwner,
    /// No such member.
    #[error("member not found")]
    MemberNotFound,
    /// No such pending invitation.
    #[error("invitation not found")]
    InvitationNotFound,
    /// The invitation link is unknown, expired, used or revoked.
    #[error("invitation invalid")]
    InvitationInvalid,
    /// The invitation was sent to another address than the logged-in account's.
    #[error("invitation for another account")]
    WrongAccount,
    /// An account with the invited address exists: log in to accept.
    #[error("account exists")]
    AccountExists,
    /// The organization sent `sigra.organizations.invitations_per_hour` invitations in
    /// the last hour.
    #[error("invitation limit")]
    InvitationLimit,
    /// A personal organization has one member: it takes no invitations.
    #[error("personal organization")]
    Personal,
}

impl OrganizationError {
    /// A stable machine-readable reason.
    pub const fn reason(self) -> &'static str {
        match self {
            OrganizationError::NotFound => "organization_not_found",
            OrganizationError::Forbidden => "organization_forbidden",
            OrganizationError::LastOwner => "last_owner",
            OrganizationError::MemberNotFound => "member_not_found",
            OrganizationError::InvitationNotFound => "invitation_not_found",
            OrganizationError::InvitationInvalid => "invitation_invalid",
            OrganizationError::WrongAccount => "invitation_wrong_account",
            OrganizationError::AccountExists => "invitation_account_exists",
            OrganizationError::InvitationLimit => "invitation_limit",
            OrganizationError::Personal => "personal_organization",
        }
    }

    /// The refusal as a sentence a person reads.
    pub const fn message(self) -> &'static str {
        match self {
            OrganizationError::NotFound => {
                "There is no such organization, or you do not belong to it."
            }
            OrganizationError::Forbidden => "Your role in this organization does not allow that.",
            OrganizationError::LastOwner => {
                "An organization needs an owner: make someone else an owner first."
            }
            OrganizationError::MemberNotFound => {
                "That person is not a member of this organization."
            }
            OrganizationError::InvitationNotFound => "There is no such pending invitation.",
            OrganizationError::InvitationInvalid => {
                "This invitation is invalid, was used already, or has expired. Ask for a new one."
            }
            OrganizationError::WrongAccount => {
                "This invitation was sent to another address. Log out and log in with that address to accept it."
            }
            OrganizationError::AccountExists => {
                "An account with this address exists. Log in to it to accept the invitation."
            }
            OrganizationError::InvitationLimit => {
                "This organization sent many invitations in the last hour. Try again later."
            }
            OrganizationError::Personal => "A personal organization has only you as its member.",
        }
    }
}

/// An organization as one of its members sees it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[non_exhaustive]
pub struct OrganizationView {
    /// Its id.
    pub id: Uuid,
    /// Its name.
    pub name: String,
    /// Its slug (URL segment).
    pub slug: String,
    /// Whether it is a personal organization.
    pub personal: bool,
    /// When it was created.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// The viewer's role in it.
    pub role: Role,
}

impl OrganizationView {
    pub(crate) fn of_row(row: &UserOrganizationRow) -> Option<OrganizationView> {
        Some(OrganizationView {
            id: row.id,
            name: row.name.clone(),
            slug: row.slug.clone(),
            personal: row.personal,
            created_at: row.created_at,
            role: Role::parse(&row.role)?,
        })
    }
}

/// Proof that an account belongs to an organization, with its role, read from the
/// database just now. Only Sigra makes one ([`active`], [`Membership::of`]); host code
/// uses it to scope its own queries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Membership {
    view: OrganizationView,
    user_id: Uuid,
}

impl Membership {
    fn from_row(row: &UserOrganizationRow, user_id: Uuid) -> Option<Membership> {
        Some(Membership {
            view: OrganizationView::of_row(row)?,
            user_id,
        })
    }

    /// `user_id`'s membership of the organization with `slug`, if they belong to it.
    ///
    /// ```no_run
    /// # async fn demo(auth: &sigra_core::features::Auth, user_id: uuid::Uuid) -> Result<(), sigra_core::features::FlowError> {
    /// use sigra_core::features::organizations::{Membership, Role};
    /// if let Some(m) = Membership::of(auth, user_id, "acme").await? {
    ///     assert!(m.role() >= Role::Member);
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn of(
        auth: &Auth,
        user_id: Uuid,
        slug: &str,
    ) -> Result<Option<Membership>, FlowError> {
        let row = store::membership_by_slug(&auth.db, user_id, slug).await?;
        Ok(row.and_then(|r| Membership::from_row(&r, user_id)))
    }

    /// The organization's id: the value the host's `organization_id` columns hold.
    pub fn org_id(&self) -> Uuid {
        self.view.id
    }

    /// The organization's slug.
    pub fn slug(&self) -> &str {
        &self.view.slug
    }

    /// The organization's name.
    pub fn name(&self) -> &str {
        &self.view.name
    }

    /// The member's role.
    pub fn role(&self) -> Role {
        self.view.role
    }

    /// The member's account.
    pub fn user_id(&self) -> Uuid {
        self.user_id
    }

    /// The organization as the member sees it.
    pub fn organization(&self) -> &OrganizationView {
        &self.view
    }

    /// A sea-query condition that keeps the rows of this organization only: `column =
    /// org_id`. Add it to every query of the host's organization-owned tables.
    ///
    /// ```
    /// # fn demo(m: &sigra_core::features::organizations::Membership) {
    /// use sea_query::{Alias, Query, SqliteQueryBuilder};
    /// let sql = Query::select()
    ///     .column(Alias::new("body"))
    ///     .from(Alias::new("notes"))
    ///     .cond_where(m.scope(Alias::new("organization_id")))
    ///     .to_string(SqliteQueryBuilder);
    /// assert!(sql.contains("\"organization_id\" ="));
    /// # }
    /// ```
    pub fn scope(&self, column: impl IntoColumnRef) -> Condition {
        Condition::all().add(Expr::col(column).eq(self.view.id))
    }
}

/// What the create form sent.
#[derive(Debug, Clone, Default)]
pub struct CreateInput {
    /// The name people see (1..=100 characters).
    pub name: String,
    /// The URL segment; empty: made from the name.
    pub slug: String,
}

/// Problems with the create form, by field.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct CreateErrors {
    /// `name_invalid`, or `organization_limit` when the account belongs to
    /// `sigra.organizations.max_per_user` organizations.
    pub name: Vec<FieldError>,
    /// `slug_invalid` or `slug_taken`.
    pub slug: Vec<FieldError>,
}

impl CreateErrors {
    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.name.is_empty() && self.slug.is_empty()
    }
}

/// A slug made from a name: lower-case ASCII letters and digits, other runs turned into
/// one `-`, trimmed to 48 characters.
///
/// ```
/// use sigra_core::features::organizations::slug_from;
/// assert_eq!(slug_from("Acme, Inc."), "acme-inc");
/// assert_eq!(slug_from("  Ünïcode  Team "), "n-code-team");
/// ```
pub fn slug_from(name: &str) -> String {
    let mut slug = String::new();
    for c in name.chars() {
        if c.is_ascii_alphanumeric() {
            slug.push(c.to_ascii_lowercase());
        } else if !slug.is_empty() && !slug.ends_with('-') {
            slug.push('-');
        }
    }
    let mut slug: String = slug.chars().take(*SLUG_CHARS.end()).collect();
    while slug.ends_with('-') {
        slug.pop();
    }
    slug
}

/// Whether `slug` is well formed: 2..=48 characters of `a-z`, `0-9` and `-`, not
/// starting or ending with `-`, and not one of Sigra's own page names.
pub fn valid_slug(slug: &str) -> bool {
    SLUG_CHARS.contains(&slug.len())
        && slug
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !slug.starts_with('-')
        && !slug.ends_with('-')
        && !RESERVED_SLUGS.contains(&slug)
}

fn check(input: &CreateInput) -> Result<(String, String), CreateErrors> {
    let mut errors = CreateErrors::default();
    let name = crate::form::clean_label(&input.name, MAX_NAME_CHARS).unwrap_or_default();
    if name.is_empty() {
        errors.name.push(FieldError::new(
            "name_invalid",
            format!("Give the organization a name of 1 to {MAX_NAME_CHARS} characters."),
        ));
    }
    let typed = input.slug.trim();
    let slug = if typed.is_empty() {
        slug_from(name)
    } else {
        typed.to_owned()
    };
    if !valid_slug(&slug) {
        errors.slug.push(FieldError::new(
            "slug_invalid",
            "Use 2 to 48 lower-case letters, digits and dashes, not starting or ending with a dash.",
        ));
    }
    if errors.is_empty() {
        Ok((name.to_owned(), slug))
    } else {
        Err(errors)
    }
}

/// Creates an organization with the current user as its only owner and switches the
/// session to it.
pub async fn create(
    auth: &Auth,
    current: &Authenticated,
    input: &CreateInput,
    meta: &RequestMeta,
) -> Result<Result<OrganizationView, CreateErrors>, FlowError> {
    let (name, slug) = match check(input) {
        Ok(checked) => checked,
        Err(errors) => return Ok(Err(errors)),
    };
    let user_id = current.user.id;
    let change = auth.change(meta).await?;
    // Held until commit: creations racing at the limit are counted one at a time.
    users::lock_row(change.tx(), user_id).await?;
    let count = store::memberships_of(change.tx(), user_id).await?.len();
    if i64::try_from(count).unwrap_or(i64::MAX) >= auth.config.organizations.max_per_user {
        change.rollback().await?;
        let limit = auth.config.organizations.max_per_user;
        return Ok(Err(CreateErrors {
            name: vec![FieldError::new(
                "organization_limit",
                format!("You belong to {limit} organizations already. Leave one first."),
            )],
            ..CreateErrors::default()
        }));
    }
    let view = match insert_owned(auth, &change, user_id, &name, &slug, false).await {
        Ok(view) => view,
        Err(FlowError::Store(crate::store::StoreError::Conflict)) => {
            change.rollback().await?;
            return Ok(Err(CreateErrors {
                slug: vec![FieldError::new(
                    "slug_taken",
                    "That address is taken. Choose another.",
                )],
                ..CreateErrors::default()
            }));
        }
        Err(e) => return Err(e),
    };
    sessions::set_active_organization(change.tx(), current.session.id, Some(view.id)).await?;
    change.commit(Revocation::RefreshCache).await?;
    Ok(Ok(view))
}

async fn audit_creation(
    change: &super::Change<'_>,
    view: &OrganizationView,
    user_id: Uuid,
) -> Result<(), FlowError> {
    let details = json!({ "name": view.name, "slug": view.slug, "personal": view.personal });
    change
        .audit_in(
            view.id,
            audit::ORGANIZATION_CREATED,
            Some(user_id),
            Some(user_id),
            details,
        )
        .await?;
    let details = json!({ "role": "owner" });
    change
        .audit_in(
            view.id,
            audit::MEMBERSHIP_ADDED,
            Some(user_id),
            Some(user_id),
            details,
        )
        .await
}

/// Stores an organization and its owner, and audits both.
async fn insert_owned(
    auth: &Auth,
    change: &super::Change<'_>,
    user_id: Uuid,
    name: &str,
    slug: &str,
    personal: bool,
) -> Result<OrganizationView, FlowError> {
    let now = auth.clock.now();
    let org = OrganizationRow {
        id: new_id(auth.clock.as_ref()),
        name: name.to_owned(),
        slug: slug.to_owned(),
        personal,
        created_at: now,
        updated_at: now,
    };
    store::insert(change.tx(), &org).await?;
    let membership = MembershipRow {
        id: new_id(auth.clock.as_ref()),
        organization_id: org.id,
        user_id,
        role: Role::Owner.as_str().to_owned(),
        created_at: now,
    };
    store::insert_membership(change.tx(), &membership).await?;
    let view = OrganizationView {
        id: org.id,
        name: org.name,
        slug: org.slug,
        personal,
        created_at: now,
        role: Role::Owner,
    };
    audit_creation(change, &view, user_id).await?;
    Ok(view)
}

/// Makes the personal organization of a new account inside its registration's change
/// (when `sigra.organizations.enabled` and `.personal` are on).
pub(crate) async fn create_personal(
    auth: &Auth,
    change: &super::Change<'_>,
    user_id: Uuid,
    email: &str,
) -> Result<(), FlowError> {
    let config = &auth.config.organizations;
    if !(config.enabled && config.personal) {
        return Ok(());
    }
    let local = email.split('@').next().unwrap_or("personal");
    let name: String = format!("{local}'s organization")
        .chars()
        .take(MAX_NAME_CHARS)
        .collect();
    // The id's random tail keeps the slug unique without revealing the address.
    let hex = user_id.simple().to_string();
    let slug = format!("personal-{}", &hex[hex.len() - 12..]);
    insert_owned(auth, change, user_id, &name, &slug, true).await?;
    Ok(())
}

/// The organizations the user belongs to, in the order they joined, with their role.
pub async fn list(auth: &Auth, user_id: Uuid) -> Result<Vec<OrganizationView>, FlowError> {
    let rows = store::organizations_of(&auth.db, user_id).await?;
    Ok(rows.iter().filter_map(OrganizationView::of_row).collect())
}

/// The organization the session acts in, with the caller's current role: the one it
/// switched to while the account still belongs to it; `Ok(None)` when it switched to
/// one it no longer belongs to, or when it never switched and the account belongs to
/// none. A session that never switched acts in the account's personal organization, or
/// else the one it joined first.
pub async fn active(auth: &Auth, current: &Authenticated) -> Result<Option<Membership>, FlowError> {
    active_for(
        auth,
        current.user.id,
        current.session.active_organization_id,
    )
    .await
}

/// [`active`] for an account and the organization a credential names (`None`: the
/// account's default).
pub async fn active_for(
    auth: &Auth,
    user_id: Uuid,
    chosen: Option<Uuid>,
) -> Result<Option<Membership>, FlowError> {
    if let Some(id) = chosen {
        let row = store::membership_by_id(&auth.db, user_id, id).await?;
        return Ok(row.and_then(|r| Membership::from_row(&r, user_id)));
    }
    let rows = store::organizations_of(&auth.db, user_id).await?;
    let default = rows.iter().find(|r| r.personal).or_else(|| rows.first());
    Ok(default.and_then(|r| Membership::from_row(r, user_id)))
}

/// Makes the organization with `slug` the one the session acts in.
pub async fn switch(
    auth: &Auth,
    current: &Authenticated,
    slug: &str,
    meta: &RequestMeta,
) -> Result<Result<OrganizationView, OrganizationError>, FlowError> {
    let user_id = current.user.id;
    let change = auth.change(meta).await?;
    let Some(row) = store::membership_by_slug(change.tx(), user_id, slug).await? else {
        change.rollback().await?;
        return Ok(Err(OrganizationError::NotFound));
    };
    let Some(view) = OrganizationView::of_row(&row) else {
        change.rollback().await?;
        return Ok(Err(OrganizationError::NotFound));
    };
    sessions::set_active_organization(change.tx(), current.session.id, Some(view.id)).await?;
    let details = json!({ "session_id": current.session.id });
    change
        .audit_in(
            view.id,
            audit::ORGANIZATION_SWITCHED,
            Some(user_id),
            Some(user_id),
            details,
        )
        .await?;
    change.commit(Revocation::RefreshCache).await?;
    Ok(Ok(view))
}

/// A member as the organization page shows them.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[non_exhaustive]
pub struct MemberView {
    /// Their account.
    pub user_id: Uuid,
    /// Their email.
    pub email: String,
    /// Their role.
    pub role: Role,
    /// When they joined.
    #[serde(with = "time::serde::rfc3339")]
    pub joined_at: OffsetDateTime,
}

/// A pending invitation as admins see it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[non_exhaustive]
pub struct InvitationView {
    /// Its id (for the revoke button).
    pub id: Uuid,
    /// The invited address.
    pub email: String,
    /// The role it gives.
    pub role: Role,
    /// When it was sent.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// When it stops working.
    #[serde(with = "time::serde::rfc3339")]
    pub expires_at: OffsetDateTime,
}

impl InvitationView {
    pub(crate) fn of(row: &crate::store::InvitationRow) -> Option<InvitationView> {
        Some(InvitationView {
            id: row.id,
            email: row.email.clone(),
            role: Role::parse(&row.role)?,
            created_at: row.created_at,
            expires_at: row.expires_at,
        })
    }
}

/// What a member sees of an organization: its members, and for admins and owners its
/// pending invitations.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[non_exhaustive]
pub struct OrganizationPage {
    /// The organization and the viewer's role.
    pub organization: OrganizationView,
    /// Its members, oldest first.
    pub members: Vec<MemberView>,
    /// Pending invitations, newest first (empty for members).
    pub invitations: Vec<InvitationView>,
}

/// The organization with `slug` as the user sees it; [`OrganizationError::NotFound`]
/// when it does not exist or they do not belong to it.
pub async fn page(
    auth: &Auth,
    user_id: Uuid,
    slug: &str,
) -> Result<Result<OrganizationPage, OrganizationError>, FlowError> {
    let Some(membership) = Membership::of(auth, user_id, slug).await? else {
        return Ok(Err(OrganizationError::NotFound));
    };
    let organization = membership.view;
    let members = members(auth, organization.id).await?;
    let invitations = if organization.role >= Role::Admin {
        let now = auth.clock.now();
        store::pending_invitations(&auth.db, organization.id, now)
            .await?
            .iter()
            .filter_map(InvitationView::of)
            .collect()
    } else {
        Vec::new()
    };
    Ok(Ok(OrganizationPage {
        organization,
        members,
        invitations,
    }))
}

/// The members of organization `id`, oldest first.
pub(crate) async fn members(auth: &Auth, id: Uuid) -> Result<Vec<MemberView>, FlowError> {
    Ok(store::members_with_email(&auth.db, id)
        .await?
        .into_iter()
        .filter_map(|m| {
            Some(MemberView {
                role: Role::parse(&m.role)?,
                user_id: m.user_id,
                email: m.email,
                joined_at: m.created_at,
            })
        })
        .collect())
}

/// Deletes the organization with `slug` (owners only; the web layer asks for sudo), with
/// its memberships, invitations and organization API keys.
pub async fn delete(
    auth: &Auth,
    current: &Authenticated,
    slug: &str,
    meta: &RequestMeta,
) -> Result<Result<(), OrganizationError>, FlowError> {
    let user_id = current.user.id;
    let change = auth.change(meta).await?;
    let Some(row) = store::membership_by_slug(change.tx(), user_id, slug).await? else {
        change.rollback().await?;
        return Ok(Err(OrganizationError::NotFound));
    };
    if Role::parse(&row.role) != Some(Role::Owner) {
        change.rollback().await?;
        return Ok(Err(OrganizationError::Forbidden));
    }
    store::lock(change.tx(), row.id).await?;
    let members = store::members(change.tx(), row.id).await?.len();
    crate::store::api_keys::delete_for_organization(change.tx(), row.id).await?;
    store::delete(change.tx(), row.id).await?;
    let details = json!({ "name": row.name, "slug": row.slug, "members": members });
    change
        .audit_in(
            row.id,
            audit::ORGANIZATION_DELETED,
            Some(user_id),
            None,
            details,
        )
        .await?;
    change.commit(Revocation::RefreshCache).await?;
    Ok(Ok(()))
}

/// A membership change under way: its [`Change`](super::Change), the organization (its
/// row held until the change ends) and the acting member's role.
pub(crate) struct Acting<'a> {
    pub(crate) change: super::Change<'a>,
    pub(crate) org: UserOrganizationRow,
    pub(crate) role: Role,
}

/// The outcome of an organization flow: done, refused, or failed.
pub(crate) type Outcome<T> = Result<Result<T, OrganizationError>, FlowError>;

/// Begins a change by `current` in organization `slug`: looks up their membership, takes
/// the organization's row lock, reads the role again under it, and refuses
/// ([`OrganizationError::NotFound`] for a non-member, [`OrganizationError::Forbidden`]
/// below `min`). The first step of every membership change.
pub(crate) async fn act<'a>(
    auth: &'a Auth,
    current: &Authenticated,
    slug: &str,
    min: Role,
    meta: &'a RequestMeta,
) -> Outcome<Acting<'a>> {
    let change = auth.change(meta).await?;
    let user_id = current.user.id;
    let locked = match store::membership_by_slug(change.tx(), user_id, slug).await? {
        Some(row) => {
            store::lock(change.tx(), row.id).await?;
            store::membership_by_id(change.tx(), user_id, row.id).await?
        }
        None => None,
    };
    let Some((org, role)) = locked.and_then(|r| Role::parse(&r.role).map(|role| (r, role))) else {
        change.rollback().await?;
        return Ok(Err(OrganizationError::NotFound));
    };
    if role < min {
        change.rollback().await?;
        return Ok(Err(OrganizationError::Forbidden));
    }
    Ok(Ok(Acting { change, org, role }))
}

impl Acting<'_> {
    /// Refuses with `refusal`: nothing of the change is written.
    pub(crate) async fn refuse<T>(self, refusal: OrganizationError) -> Outcome<T> {
        self.change.rollback().await?;
        Ok(Err(refusal))
    }

    /// Whether a member with `role` may stop being an owner: anyone but the last owner.
    pub(crate) async fn owner_may_go(&self, role: Role) -> Result<bool, FlowError> {
        Ok(role != Role::Owner || store::count_owners(self.change.tx(), self.org.id).await? > 1)
    }

    /// Records `action` about `target` in the organization, by the acting member.
    pub(crate) async fn audit(
        &self,
        action: &str,
        actor: Uuid,
        target: Option<Uuid>,
        details: serde_json::Value,
    ) -> Result<(), FlowError> {
        self.change
            .audit_in(self.org.id, action, Some(actor), target, details)
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_are_checked() {
        assert!(valid_slug("acme"));
        assert!(valid_slug("a1-b2"));
        assert!(!valid_slug("a"));
        assert!(!valid_slug("-acme"));
        assert!(!valid_slug("acme-"));
        assert!(!valid_slug("Acme"));
        assert!(!valid_slug("invitations"));
        assert!(!valid_slug(&"a".repeat(49)));
    }

    #[test]
    fn only_owners_touch_the_owner_role() {
        use Role::*;
        assert!(Owner.may_assign(Some(Admin), Owner));
        assert!(Owner.may_assign(Some(Owner), Member));
        assert!(Admin.may_assign(Some(Member), Admin));
        assert!(!Admin.may_assign(Some(Member), Owner));
        assert!(!Admin.may_assign(Some(Owner), Admin));
        assert!(!Member.may_assign(None, Member));
        assert!(Admin.may_remove(Admin));
        assert!(!Admin.may_remove(Owner));
        assert!(!Member.may_remove(Member));
    }
}
