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

/// What an outbox row says in clear about the mail it carries (whose payload is sealed):
/// enough to throttle mail per recipient and kind, and to purge an account's mail when
/// the account is deleted, without the address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MailTag<'a> {
    /// The mail's kind (its template name, e.g. `account_exists`).
    pub mail_kind: &'a str,
    /// A keyed digest of the normalized recipient address (see
    /// [`Auth::recipient_digest`](crate::features::Auth::recipient_digest)).
    pub recipient_digest: &'a str,
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
    enqueue_tagged(ex, id, kind, payload, now, None).await
}

/// [`enqueue`], recording a mail's [`MailTag`].
pub async fn enqueue_tagged(
    ex: &impl Executor,
    id: Uuid,
    kind: &str,
    payload: serde_json::Value,
    now: OffsetDateTime,
    tag: Option<MailTag<'_>>,
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
            Outbox::MailKind,
            Outbox::RecipientDigest,
        ])
        .values([
            id.into(),
            kind.into(),
            payload.into(),
            0.into(),
            now.into(),
            now.into(),
            tag.map(|t| t.mail_kind.to_owned()).into(),
            tag.map(|t| t.recipient_digest.to_owned()).into(),
        ])?
        .to_owned();
    ex.execute(&stmt).await?;
    Ok(())
}

/// Whether a mail with this tag was queued after `since` (the resend throttle).
pub async fn queued_since(
    ex: &impl Executor,
    tag: MailTag<'_>,
    since: OffsetDateTime,
) -> Result<bool, StoreError> {
    let stmt = Query::select()
        .column(Outbox::Id)
        .from(Outbox::Table)
        .and_where(Expr::col(Outbox::RecipientDigest).eq(tag.recipient_digest))
        .and_where(Expr::col(Outbox::MailKind).eq(tag.mail_kind))
        .and_where(Expr::col(Outbox::CreatedAt).gt(since))
        .limit(1)
        .to_owned();
    let found: Option<(Uuid,)> = ex.fetch_optional(&stmt).await?;
    Ok(found.is_some())
}

/// Deletes every job that carries mail to this recipient digest, sent or not (an account
/// being deleted). Answers how many.
pub async fn delete_for_recipient(
    ex: &impl Executor,
    recipient_digest: &str,
) -> Result<u64, StoreError> {
    let stmt = Query::delete()
        .from_table(Outbox::Table)
        .and_where(Expr::col(Outbox::RecipientDigest).eq(recipient_digest))
        .to_owned();
    ex.execute(&stmt).await
}

/// Deletes jobs done (sent or given up) at or before `cutoff`. Answers how many. A plain
/// conditional delete: several workers running it at once delete each row once.
pub async fn delete_done_before(
    ex: &impl Executor,
    cutoff: OffsetDateTime,
) -> Result<u64, StoreError> {
    let stmt = Query::delete()
        .from_table(Outbox::Table)
        .and_where(Expr::col(Outbox::DoneAt).is_not_null())
        .and_where(Expr::col(Outbox::DoneAt).lte(cutoff))
        .to_owned();
    ex.execute(&stmt).await
}

/// `error` with every word that holds an `@` (an address, `user@host`) replaced by
/// `[address]`, cut to 1000 characters: what `last_error` and logs may keep of an SMTP
/// answer, which often quotes the recipient.
///
/// ```
/// use sigra_core::store::outbox::scrub_addresses;
/// assert_eq!(
///     scrub_addresses("550 5.1.1 <ada@example.com>: rejected"),
///     "550 5.1.1 <[address]>: rejected"
/// );
/// ```
pub fn scrub_addresses(error: &str) -> String {
    let is_boundary = |c: char| c.is_whitespace() || "<>()[]{},;:\"'`".contains(c);
    let mut out = String::with_capacity(error.len().min(1000));
    let mut word = String::new();
    let flush = |word: &mut String, out: &mut String| {
        if word.contains('@') {
            out.push_str("[address]");
        } else {
            out.push_str(word);
        }
        word.clear();
    };
    for c in error.chars() {
        if is_boundary(c) {
            flush(&mut word, &mut out);
            out.push(c);
        } else {
            word.push(c);
        }
    }
    flush(&mut word, &mut out);
    out.chars().take(1000).collect()
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
    let error = scrub_addresses(error);
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
