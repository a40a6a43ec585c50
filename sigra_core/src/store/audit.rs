//! Queries on `sigra_audit_events`.

use sea_query::{Expr, ExprTrait, Order, Query};
use sqlx::types::Json;
use time::OffsetDateTime;
use uuid::Uuid;

use super::{AuditEvent, AuditEvents, Executor, StoreError};

const COLUMNS: [AuditEvents; 9] = [
    AuditEvents::Id,
    AuditEvents::ActorId,
    AuditEvents::TargetId,
    AuditEvents::Action,
    AuditEvents::Metadata,
    AuditEvents::Ip,
    AuditEvents::UserAgent,
    AuditEvents::OccurredAt,
    AuditEvents::OrganizationId,
];

/// Records an event.
pub async fn insert(ex: &impl Executor, event: &AuditEvent) -> Result<(), StoreError> {
    let stmt = Query::insert()
        .into_table(AuditEvents::Table)
        .columns(COLUMNS)
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
        ])?
        .to_owned();
    ex.execute(&stmt).await?;
    Ok(())
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
        .cond_where(about_user(user_id))
        .to_owned();
    ex.execute(&stmt).await
}

/// Deletes every event by or about a user. Answers the number deleted.
pub async fn delete_for_user(ex: &impl Executor, user_id: Uuid) -> Result<u64, StoreError> {
    let stmt = Query::delete()
        .from_table(AuditEvents::Table)
        .cond_where(about_user(user_id))
        .to_owned();
    ex.execute(&stmt).await
}
