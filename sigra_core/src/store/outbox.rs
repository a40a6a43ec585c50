//! Queries on `sigra_outbox`: durable background work (mail first of all).

use sea_query::{Cond, Expr, ExprTrait, Order, Query};
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

use super::{Executor, Outbox, OutboxJob, StoreError};

const COLUMNS: [Outbox; 7] = [
    Outbox::Id,
    Outbox::Kind,
    Outbox::Payload,
    Outbox::Attempts,
    Outbox::RunAt,
    Outbox::LastError,
    Outbox::DoneAt,
];

impl std::fmt::Debug for OutboxJob {
    /// Leaves out the payload: sealed, but a mail's body holds single-use tokens.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OutboxJob")
            .field("id", &self.id)
            .field("kind", &self.kind)
            .field("payload", &format_args!("[sealed]"))
            .field("attempts", &self.attempts)
            .field("run_at", &self.run_at)
            .field("last_error", &self.last_error)
            .field("done_at", &self.done_at)
            .finish_non_exhaustive()
    }
}

/// Queues a job; run it inside the transaction that makes the change it reports, so the
/// two land together.
pub async fn enqueue(
    ex: &impl Executor,
    id: Uuid,
    kind: &str,
    payload: serde_json::Value,
    now: OffsetDateTime,
) -> Result<(), StoreError> {
    let stmt = Query::insert()
        .into_table(Outbox::Table)
        .columns([
            Outbox::Id,
            Outbox::Kind,
            Outbox::Payload,
            Outbox::Attempts,
            Outbox::RunAt,
            Outbox::CreatedAt,
        ])
        .values([
            id.into(),
            kind.into(),
            payload.into(),
            0.into(),
            now.into(),
            now.into(),
        ])?
        .to_owned();
    ex.execute(&stmt).await?;
    Ok(())
}

/// Claims up to `limit` due jobs for `lease`: each claim is a conditional update, so two
/// workers never run the same job at once. A worker that dies loses its lease and the job
/// runs again later.
pub async fn claim_due(
    ex: &impl Executor,
    now: OffsetDateTime,
    lease: Duration,
    limit: u64,
) -> Result<Vec<OutboxJob>, StoreError> {
    let unclaimed = || {
        Cond::any()
            .add(Expr::col(Outbox::LockedUntil).is_null())
            .add(Expr::col(Outbox::LockedUntil).lte(now))
    };
    let select = Query::select()
        .columns(COLUMNS)
        .from(Outbox::Table)
        .and_where(Expr::col(Outbox::DoneAt).is_null())
        .and_where(Expr::col(Outbox::RunAt).lte(now))
        .cond_where(unclaimed())
        .order_by(Outbox::RunAt, Order::Asc)
        .order_by(Outbox::CreatedAt, Order::Asc)
        .order_by(Outbox::Id, Order::Asc)
        .limit(limit)
        .to_owned();
    let candidates: Vec<OutboxJob> = ex.fetch_all(&select).await?;
    let mut claimed = Vec::with_capacity(candidates.len());
    for job in candidates {
        let claim = Query::update()
            .table(Outbox::Table)
            .value(Outbox::LockedUntil, now + lease)
            .and_where(Expr::col(Outbox::Id).eq(job.id))
            .and_where(Expr::col(Outbox::DoneAt).is_null())
            .cond_where(unclaimed())
            .to_owned();
        if ex.execute(&claim).await? == 1 {
            claimed.push(job);
        }
    }
    Ok(claimed)
}

/// Marks a job done.
pub async fn complete(
    ex: &impl Executor,
    id: Uuid,
    now: OffsetDateTime,
) -> Result<u64, StoreError> {
    let stmt = Query::update()
        .table(Outbox::Table)
        .value(Outbox::DoneAt, now)
        .value(Outbox::LockedUntil, Option::<OffsetDateTime>::None)
        .value(Outbox::Attempts, Expr::col(Outbox::Attempts).add(1))
        .and_where(Expr::col(Outbox::Id).eq(id))
        .to_owned();
    ex.execute(&stmt).await
}

/// Records a failed attempt: runs again at `retry_at`, or never (`None`: given up).
pub async fn fail(
    ex: &impl Executor,
    id: Uuid,
    error: &str,
    retry_at: Option<OffsetDateTime>,
    now: OffsetDateTime,
) -> Result<u64, StoreError> {
    let error: String = error.chars().take(1000).collect();
    let mut stmt = Query::update();
    stmt.table(Outbox::Table)
        .value(Outbox::Attempts, Expr::col(Outbox::Attempts).add(1))
        .value(Outbox::LastError, error)
        .value(Outbox::LockedUntil, Option::<OffsetDateTime>::None)
        .and_where(Expr::col(Outbox::Id).eq(id));
    match retry_at {
        Some(at) => stmt.value(Outbox::RunAt, at),
        None => stmt.value(Outbox::DoneAt, now),
    };
    ex.execute(&stmt).await
}

/// A job by id.
pub async fn find(ex: &impl Executor, id: Uuid) -> Result<Option<OutboxJob>, StoreError> {
    let stmt = Query::select()
        .columns(COLUMNS)
        .from(Outbox::Table)
        .and_where(Expr::col(Outbox::Id).eq(id))
        .to_owned();
    ex.fetch_optional(&stmt).await
}
