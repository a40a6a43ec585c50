//! Queries on `sigra_instances`: the app instances sharing the database and their
//! heartbeats (see [`crate::session_cache::broadcast`]). Times are Unix milliseconds of
//! the instances' wall clocks.

use sea_query::{Expr, ExprTrait, Query};
use uuid::Uuid;

use super::{Executor, Instances, StoreError};

row! {
    struct IdRow {
        id: Uuid,
    }
}

/// Records instance `id` as live at `now_ms`, or refreshes its heartbeat. Answers whether
/// its row was there already (a peer deletes rows it finds long dead).
pub async fn heartbeat(ex: &impl Executor, id: Uuid, now_ms: i64) -> Result<bool, StoreError> {
    let update = Query::update()
        .table(Instances::Table)
        .value(Instances::HeartbeatMs, now_ms)
        .and_where(Expr::col(Instances::Id).eq(id))
        .to_owned();
    if ex.execute(&update).await? == 1 {
        return Ok(true);
    }
    let mut insert = Query::insert();
    insert
        .into_table(Instances::Table)
        .columns([Instances::Id, Instances::StartedMs, Instances::HeartbeatMs])
        .values([id.into(), now_ms.into(), now_ms.into()])?;
    ex.execute(&insert).await?;
    Ok(false)
}

/// The instances other than `except` whose last heartbeat is at or after `since_ms`.
pub async fn live(
    ex: &impl Executor,
    except: Uuid,
    since_ms: i64,
) -> Result<Vec<Uuid>, StoreError> {
    let stmt = Query::select()
        .column(Instances::Id)
        .from(Instances::Table)
        .and_where(Expr::col(Instances::HeartbeatMs).gte(since_ms))
        .and_where(Expr::col(Instances::Id).ne(except))
        .to_owned();
    let rows: Vec<IdRow> = ex.fetch_all(&stmt).await?;
    Ok(rows.into_iter().map(|r| r.id).collect())
}

/// Forgets instance `id` (a clean shutdown), or every instance whose last heartbeat is
/// before `before_ms` when `id` is `None`. Answers the rows deleted.
pub async fn remove(
    ex: &impl Executor,
    id: Option<Uuid>,
    before_ms: i64,
) -> Result<u64, StoreError> {
    let mut stmt = Query::delete();
    stmt.from_table(Instances::Table);
    match id {
        Some(id) => stmt.and_where(Expr::col(Instances::Id).eq(id)),
        None => stmt.and_where(Expr::col(Instances::HeartbeatMs).lt(before_ms)),
    };
    ex.execute(&stmt).await
}
