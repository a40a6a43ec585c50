//! Queries on `sigra_audit_events`.

use sea_query::{Expr, ExprTrait, Order, Query};
use sqlx::types::Json;
use time::OffsetDateTime;
use uuid::Uuid;

use super::{AuditChain, AuditEvent, AuditEvents, AuditLinks, Executor, StoreError};

const COLUMNS: [AuditEvents; 11] = [
    AuditEvents::Id,
    AuditEvents::ActorId,
    AuditEvents::TargetId,
    AuditEvents::Action,
    AuditEvents::Metadata,
    AuditEvents::Ip,
    AuditEvents::UserAgent,
    AuditEvents::OccurredAt,
    AuditEvents::OrganizationId,
    AuditEvents::Scrubbed,
    AuditEvents::ImpersonatorId,
];

/// Records an event.
pub async fn insert(ex: &impl Executor, event: &AuditEvent) -> Result<(), StoreError> {
    let stmt = Query::insert()
        .into_table(AuditEvents::Table)
        .columns(
            COLUMNS
                .iter()
                .copied()
                .filter(|c| !matches!(c, AuditEvents::Scrubbed)),
        )
        .values([
            event.id.into(),
            event.actor_id.into(),
            event.target_id.into(),
            event.action.clone().into(),
            event.metadata.0.clone().into(),
            event.ip.clone().into(),
            event.user_agent.clone().into(),
            event.occurred_at.into(),
            event.organization_id.into(),
            event.impersonator_id.into(),
        ])?
        .to_owned();
    ex.execute(&stmt).await?;
    Ok(())
}

/// How many events of one of `actions` happened in `[from, to)` (one range of the
/// `(action, occurred_at)` index per action).
pub async fn count_actions_between(
    ex: &impl Executor,
    actions: &[&str],
    from: OffsetDateTime,
    to: OffsetDateTime,
) -> Result<i64, StoreError> {
    let stmt = Query::select()
        .from(AuditEvents::Table)
        .and_where(Expr::col(AuditEvents::Action).is_in(actions.iter().copied()))
        .and_where(Expr::col(AuditEvents::OccurredAt).gte(from))
        .and_where(Expr::col(AuditEvents::OccurredAt).lt(to))
        .to_owned();
    super::count(ex, stmt).await
}

/// Which events to list.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct AuditFilter {
    /// Only events about or by this user.
    pub user_id: Option<Uuid>,
    /// Only this action.
    pub action: Option<String>,
    /// Only events in this organization.
    pub organization_id: Option<Uuid>,
    /// At most this many (default 100, at most 1000).
    pub limit: Option<u64>,
}

impl AuditFilter {
    /// Events about or by one user.
    pub fn for_user(user_id: Uuid) -> Self {
        Self {
            user_id: Some(user_id),
            ..Self::default()
        }
    }

    /// Only this action.
    pub fn action(mut self, action: impl Into<String>) -> Self {
        self.action = Some(action.into());
        self
    }

    /// Events in one organization.
    pub fn for_organization(organization_id: Uuid) -> Self {
        Self {
            organization_id: Some(organization_id),
            ..Self::default()
        }
    }
}

/// Events matching `filter`, newest first.
pub async fn list(ex: &impl Executor, filter: &AuditFilter) -> Result<Vec<AuditEvent>, StoreError> {
    let mut stmt = Query::select();
    stmt.columns(COLUMNS).from(AuditEvents::Table);
    if let Some(user_id) = filter.user_id {
        stmt.cond_where(about_user(user_id));
    }
    if let Some(action) = &filter.action {
        stmt.and_where(Expr::col(AuditEvents::Action).eq(action.as_str()));
    }
    if let Some(organization_id) = filter.organization_id {
        stmt.and_where(Expr::col(AuditEvents::OrganizationId).eq(organization_id));
    }
    stmt.order_by(AuditEvents::OccurredAt, Order::Desc)
        .order_by(AuditEvents::Id, Order::Desc)
        .limit(Ord::min(filter.limit.unwrap_or(100), 1000));
    ex.fetch_all(&stmt).await
}

/// A new event value, ready for [`insert`].
pub fn event(
    id: Uuid,
    action: &str,
    actor_id: Option<Uuid>,
    target_id: Option<Uuid>,
    metadata: serde_json::Value,
    occurred_at: OffsetDateTime,
) -> AuditEvent {
    AuditEvent {
        id,
        actor_id,
        target_id,
        action: action.to_owned(),
        metadata: Json(metadata),
        ip: None,
        user_agent: None,
        occurred_at,
        organization_id: None,
        scrubbed: false,
        impersonator_id: None,
    }
}

fn about_user(user_id: Uuid) -> sea_query::Condition {
    sea_query::Cond::any()
        .add(Expr::col(AuditEvents::ActorId).eq(user_id))
        .add(Expr::col(AuditEvents::TargetId).eq(user_id))
}

/// Clears the personal details (IP, user agent, metadata) of every event by or about a
/// user, keeping what happened and when. Answers the number of events scrubbed.
pub async fn scrub_for_user(ex: &impl Executor, user_id: Uuid) -> Result<u64, StoreError> {
    let stmt = Query::update()
        .table(AuditEvents::Table)
        .value(AuditEvents::Ip, Option::<String>::None)
        .value(AuditEvents::UserAgent, Option::<String>::None)
        .value(AuditEvents::Metadata, serde_json::json!({}))
        .value(AuditEvents::Scrubbed, true)
        .cond_where(about_user(user_id))
        .to_owned();
    ex.execute(&stmt).await
}

/// Erases every event by or about a user as far as the chain allows: events not sealed
/// yet are deleted; sealed ones keep their place in the chain (what happened, when, the
/// account's random id) with their personal fields cleared, since deleting them would
/// break verification. Answers the number of events deleted or cleared.
pub async fn erase_for_user(ex: &impl Executor, user_id: Uuid) -> Result<u64, StoreError> {
    let sealed = Query::select()
        .column(AuditLinks::EventId)
        .from(AuditLinks::Table)
        .to_owned();
    let stmt = Query::delete()
        .from_table(AuditEvents::Table)
        .cond_where(about_user(user_id))
        .and_where(Expr::col(AuditEvents::Id).not_in_subquery(sealed))
        .to_owned();
    let deleted = ex.execute(&stmt).await?;
    Ok(deleted + scrub_for_user(ex, user_id).await?)
}

/// The chain's head, held until the transaction ends: whoever appends to the chain takes
/// it first, so appends from every instance form one chain.
pub async fn lock_chain_head(ex: &impl Executor) -> Result<ChainHead, StoreError> {
    let stmt = head_select().lock(sea_query::LockType::Update).to_owned();
    ex.fetch_optional(&stmt)
        .await?
        .ok_or(StoreError::Missing("sigra_audit_chain head row"))
}

/// The chain's head, without holding it.
pub async fn chain_head(ex: &impl Executor) -> Result<ChainHead, StoreError> {
    ex.fetch_optional(&head_select())
        .await?
        .ok_or(StoreError::Missing("sigra_audit_chain head row"))
}

fn head_select() -> sea_query::SelectStatement {
    Query::select()
        .columns([AuditChain::Seq, AuditChain::Hash, AuditChain::SealedThrough])
        .from(AuditChain::Table)
        .and_where(Expr::col(AuditChain::Id).eq(1))
        .to_owned()
}

row! {
    /// The head of the audit chain.
    #[derive(Debug, Clone, PartialEq, Eq)]
    #[non_exhaustive]
    pub struct ChainHead {
        /// The last sealed position (0: none).
        pub seq: i64,
        /// The last sealed hash.
        pub hash: Vec<u8>,
        /// The time of the newest event sealed.
        pub sealed_through: Option<OffsetDateTime>,
    }
}

/// Moves the chain's head.
pub async fn set_chain_head(ex: &impl Executor, head: &ChainHead) -> Result<u64, StoreError> {
    let stmt = Query::update()
        .table(AuditChain::Table)
        .value(AuditChain::Seq, head.seq)
        .value(AuditChain::Hash, head.hash.clone())
        .value(AuditChain::SealedThrough, head.sealed_through)
        .and_where(Expr::col(AuditChain::Id).eq(1))
        .to_owned();
    ex.execute(&stmt).await
}

fn unsealed_select() -> sea_query::SelectStatement {
    let mut stmt = Query::select();
    for c in COLUMNS {
        stmt.column((AuditEvents::Table, c));
    }
    stmt.from(AuditEvents::Table)
        .left_join(
            AuditLinks::Table,
            Expr::col((AuditLinks::Table, AuditLinks::EventId))
                .equals((AuditEvents::Table, AuditEvents::Id)),
        )
        .and_where(Expr::col((AuditLinks::Table, AuditLinks::EventId)).is_null())
        .to_owned()
}

/// Up to `limit` events not in the chain yet, oldest first, from `since` on (the search
/// uses the time index; `None` searches every event).
pub async fn unsealed(
    ex: &impl Executor,
    since: Option<OffsetDateTime>,
    limit: u64,
) -> Result<Vec<AuditEvent>, StoreError> {
    let mut stmt = unsealed_select();
    if let Some(since) = since {
        stmt.and_where(Expr::col((AuditEvents::Table, AuditEvents::OccurredAt)).gte(since));
    }
    stmt.order_by((AuditEvents::Table, AuditEvents::OccurredAt), Order::Asc)
        .order_by((AuditEvents::Table, AuditEvents::Id), Order::Asc)
        .limit(limit);
    ex.fetch_all(&stmt).await
}

/// How many events are not in the chain yet.
pub async fn count_unsealed(ex: &impl Executor) -> Result<i64, StoreError> {
    let select = Query::select()
        .from(AuditEvents::Table)
        .left_join(
            AuditLinks::Table,
            Expr::col((AuditLinks::Table, AuditLinks::EventId))
                .equals((AuditEvents::Table, AuditEvents::Id)),
        )
        .and_where(Expr::col((AuditLinks::Table, AuditLinks::EventId)).is_null())
        .to_owned();
    super::count(ex, select).await
}

const LINK_COLUMNS: [AuditLinks; 6] = [
    AuditLinks::Seq,
    AuditLinks::EventId,
    AuditLinks::OccurredAt,
    AuditLinks::PrevHash,
    AuditLinks::Hash,
    AuditLinks::PersonalDigest,
];

row! {
    /// A place in the chain.
    #[derive(Debug, Clone, PartialEq, Eq)]
    #[non_exhaustive]
    pub struct AuditLink {
        /// Position.
        pub seq: i64,
        /// The event.
        pub event_id: Uuid,
        /// The event's time.
        pub occurred_at: OffsetDateTime,
        /// The previous link's hash.
        pub prev_hash: Vec<u8>,
        /// This link's hash.
        pub hash: Vec<u8>,
        /// The digest of the event's personal fields as sealed.
        pub personal_digest: Vec<u8>,
    }
}

/// Stores a link.
pub async fn insert_link(ex: &impl Executor, link: &AuditLink) -> Result<(), StoreError> {
    let stmt = Query::insert()
        .into_table(AuditLinks::Table)
        .columns(LINK_COLUMNS)
        .values([
            link.seq.into(),
            link.event_id.into(),
            link.occurred_at.into(),
            link.prev_hash.clone().into(),
            link.hash.clone().into(),
            link.personal_digest.clone().into(),
        ])?
        .to_owned();
    ex.execute(&stmt).await?;
    Ok(())
}

/// Up to `limit` links after position `after`, in chain order.
pub async fn links_after(
    ex: &impl Executor,
    after: i64,
    limit: u64,
) -> Result<Vec<AuditLink>, StoreError> {
    let stmt = Query::select()
        .columns(LINK_COLUMNS)
        .from(AuditLinks::Table)
        .and_where(Expr::col(AuditLinks::Seq).gt(after))
        .order_by(AuditLinks::Seq, Order::Asc)
        .limit(limit)
        .to_owned();
    ex.fetch_all(&stmt).await
}

/// The events with these ids.
pub async fn by_ids(ex: &impl Executor, ids: &[Uuid]) -> Result<Vec<AuditEvent>, StoreError> {
    let stmt = Query::select()
        .columns(COLUMNS)
        .from(AuditEvents::Table)
        .and_where(Expr::col(AuditEvents::Id).is_in(ids.iter().copied()))
        .to_owned();
    ex.fetch_all(&stmt).await
}

/// What the audit explorer selects: every condition is optional and they all hold
/// together. Built by `features::audit` from what an admin typed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct AuditSearch {
    /// Only events by this account (`actor_id`; the actor index).
    pub actor_id: Option<Uuid>,
    /// Only events about this account (`target_id`; the target index).
    pub target_id: Option<Uuid>,
    /// Only this action (the `(action, occurred_at)` index).
    pub action: Option<String>,
    /// Only events in this organization (the `(organization_id, occurred_at)` index).
    pub organization_id: Option<Uuid>,
    /// Only events at or after this time.
    pub from: Option<OffsetDateTime>,
    /// Only events strictly before this time.
    pub before: Option<OffsetDateTime>,
}

/// Where a keyset page starts: strictly after this event in newest-first order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AuditCursor {
    /// The last listed event's time.
    pub occurred_at: OffsetDateTime,
    /// The last listed event's id (breaks ties between events of the same time).
    pub id: Uuid,
}

impl AuditCursor {
    /// The place just after `event`.
    pub fn after(event: &AuditEvent) -> AuditCursor {
        AuditCursor {
            occurred_at: event.occurred_at,
            id: event.id,
        }
    }
}

/// Up to `limit` events matching `search`, newest first by `(occurred_at, id)`, after
/// `cursor` when given. Each page is one range scan whatever its depth: the cursor is a
/// condition, never an offset.
pub async fn search(
    ex: &impl Executor,
    search: &AuditSearch,
    cursor: Option<AuditCursor>,
    limit: u64,
) -> Result<Vec<AuditEvent>, StoreError> {
    let mut stmt = Query::select();
    stmt.columns(COLUMNS)
        .from(AuditEvents::Table)
        .cond_where(search_condition(search, cursor));
    stmt.order_by(AuditEvents::OccurredAt, Order::Desc)
        .order_by(AuditEvents::Id, Order::Desc)
        .limit(limit);
    ex.fetch_all(&stmt).await
}

/// The `WHERE` of [`search`]: every filter, and the cursor's place.
fn search_condition(search: &AuditSearch, cursor: Option<AuditCursor>) -> sea_query::Condition {
    let mut cond = sea_query::Cond::all();
    if let Some(actor_id) = search.actor_id {
        cond = cond.add(Expr::col(AuditEvents::ActorId).eq(actor_id));
    }
    if let Some(target_id) = search.target_id {
        cond = cond.add(Expr::col(AuditEvents::TargetId).eq(target_id));
    }
    if let Some(action) = &search.action {
        cond = cond.add(Expr::col(AuditEvents::Action).eq(action.as_str()));
    }
    if let Some(organization_id) = search.organization_id {
        cond = cond.add(Expr::col(AuditEvents::OrganizationId).eq(organization_id));
    }
    if let Some(from) = search.from {
        cond = cond.add(Expr::col(AuditEvents::OccurredAt).gte(from));
    }
    if let Some(before) = search.before {
        cond = cond.add(Expr::col(AuditEvents::OccurredAt).lt(before));
    }
    if let Some(cursor) = cursor {
        // `occurred_at <= t` alone bounds the index range; the disjunction then drops
        // the events of time `t` whose id is not below the cursor's.
        cond = cond
            .add(Expr::col(AuditEvents::OccurredAt).lte(cursor.occurred_at))
            .add(
                sea_query::Cond::any()
                    .add(Expr::col(AuditEvents::OccurredAt).lt(cursor.occurred_at))
                    .add(Expr::col(AuditEvents::Id).lt(cursor.id)),
            );
    }
    cond
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cursor_is_a_range_bound_and_a_tie_break_on_the_id() {
        let cursor = AuditCursor {
            occurred_at: time::macros::datetime!(2026-01-02 03:04:05 UTC),
            id: Uuid::nil(),
        };
        let search = AuditSearch {
            action: Some("logout".into()),
            ..AuditSearch::default()
        };
        let sql = Query::select()
            .column(AuditEvents::Id)
            .from(AuditEvents::Table)
            .cond_where(search_condition(&search, Some(cursor)))
            .to_string(sea_query::PostgresQueryBuilder);
        assert!(
            sql.contains(r#""action" = 'logout' AND "occurred_at" <= "#)
                && sql.contains(r#" AND ("occurred_at" < "#)
                && sql.contains(r#" OR "id" < "#),
            "{sql}"
        );
    }
}
