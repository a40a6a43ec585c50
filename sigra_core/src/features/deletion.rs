//! Scheduled account deletion with a grace period.
//!
//! [`schedule_deletion`] marks the account for deletion `sigra.deletion.grace_days` from
//! now and logs it out everywhere at once (every session, remember-me cookie and emailed
//! token ends). Until the date, logging in again is allowed but leads only to a page that
//! offers [`cancel_deletion`]; every other guard refuses the session, and the account's
//! API keys are refused (cancelling brings them back). When the date
//! passes, the background worker calls [`execute_due`], which applies the configured
//! [`DeletionStrategy`]:
//!
//! | strategy | account row | sessions, tokens, API keys, passkeys, known devices | audit events about the account |
//! |---|---|---|---|
//! | `anonymize` (default) | kept, email replaced by a placeholder, password and other personal fields cleared, marked deleted | removed | kept, IP, user agent and details cleared |
//! | `soft_delete` | kept as is, marked deleted; can never log in | removed | kept as they are |
//! | `hard_delete` | removed | removed | removed, but those already sealed in the audit chain keep their place with IP, user agent and details cleared (see [`super::audit`]) |
//!
//! Each strategy then records one [`audit::DELETION_EXECUTED`] event holding the account
//! id and the strategy, and mails a last notice to the address the account had.
//!
//! Every execution is a conditional statement (scheduled, due, not yet deleted), so when
//! several app instances run the worker, exactly one of them carries out each deletion.

use serde_json::json;
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

use super::sessions::Authenticated;
use super::{Auth, FlowError, RequestMeta, Revocation, audit, human_time};
use crate::config::DeletionStrategy;
use crate::crypto::Token;
use crate::store::{audit as audit_store, sessions, tokens, users};

/// Due deletions handled per worker run.
const BATCH: u64 = 50;

/// Schedules the deletion of the current user's account and ends every session of it
/// (the caller clears the cookies). Answers when the account will be deleted. The web
/// layer asks for sudo first. Scheduling again while a deletion is pending changes
/// nothing and answers the date already set.
///
/// ```no_run
/// # async fn demo(auth: &sigra_core::features::Auth, me: &sigra_core::features::sessions::Authenticated) -> Result<(), sigra_core::features::FlowError> {
/// use sigra_core::features::{RequestMeta, deletion};
/// let delete_at = deletion::schedule_deletion(auth, me, &RequestMeta::default()).await?;
/// println!("deleted on {delete_at} unless cancelled");
/// # Ok(()) }
/// ```
pub async fn schedule_deletion(
    auth: &Auth,
    current: &Authenticated,
    meta: &RequestMeta,
) -> Result<OffsetDateTime, FlowError> {
    let user = &current.user;
    let now = auth.clock.now();
    let delete_at = now + Duration::days(auth.config.deletion.grace_days);
    let mut change = auth.change(meta).await?;
    let delete_at = if users::schedule_deletion(change.tx(), user.id, delete_at, now).await? == 1 {
        let context = json!({
            "delete_at": human_time(delete_at),
            "log_in_url": auth.route_url("/log_in"),
        });
        change
            .mail("deletion_scheduled", &user.email, context)
            .await?;
        let details = json!({ "delete_at": delete_at.unix_timestamp() });
        change
            .audit(audit::DELETION_SCHEDULED, user.id, details)
            .await?;
        delete_at
    } else {
        users::find_by_id(change.tx(), user.id)
            .await?
            .and_then(|u| u.deletion_scheduled_at)
            .unwrap_or(delete_at)
    };
    sessions::delete_for_user(change.tx(), user.id, None).await?;
    tokens::delete_for_user(change.tx(), user.id, &[]).await?;
    change.commit(Revocation::EndSessions).await?;
    Ok(delete_at)
}

/// Cancels the pending deletion of the current user's account. When one was pending,
/// answers the current session's new token (the session gains full rights, so it is
/// rotated); `None` when nothing was pending.
///
/// ```no_run
/// # async fn demo(auth: &sigra_core::features::Auth, me: &sigra_core::features::sessions::Authenticated) -> Result<(), sigra_core::features::FlowError> {
/// use sigra_core::features::{RequestMeta, deletion};
/// let was_pending = deletion::cancel_deletion(auth, me, &RequestMeta::default()).await?.is_some();
/// # Ok(()) }
/// ```
pub async fn cancel_deletion(
    auth: &Auth,
    current: &Authenticated,
    meta: &RequestMeta,
) -> Result<Option<Token>, FlowError> {
    let user = &current.user;
    let mut change = auth.change(meta).await?;
    if users::cancel_deletion(change.tx(), user.id, auth.clock.now()).await? != 1 {
        change.rollback().await?;
        return Ok(None);
    }
    // The session gains full rights: a privilege change gets a new token.
    let token = super::sessions::rotate_token(change.tx(), &current.session, None, None).await?;
    let context = json!({ "log_in_url": auth.route_url("/log_in") });
    change
        .mail("deletion_cancelled", &user.email, context)
        .await?;
    let action = audit::DELETION_CANCELLED;
    change.audit(action, user.id, json!({})).await?;
    change.commit(Revocation::EndSessions).await?;
    Ok(Some(token))
}

/// How carrying out one deletion ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ExecutionOutcome {
    /// This call deleted the account with the configured strategy.
    Executed,
    /// Nothing to do: the account is gone, not scheduled, not due, its deletion was
    /// cancelled, or another worker carried it out already.
    NotDue,
}

impl ExecutionOutcome {
    /// A stable machine-readable reason for a failure; `None` for success.
    pub fn reason(&self) -> Option<&'static str> {
        match self {
            ExecutionOutcome::Executed => None,
            ExecutionOutcome::NotDue => Some("deletion_not_due"),
        }
    }
}

/// Carries out the deletion of one account if it is due, with the configured strategy.
pub async fn execute_deletion(auth: &Auth, user_id: Uuid) -> Result<ExecutionOutcome, FlowError> {
    let now = auth.clock.now();
    let strategy = auth.config.deletion.strategy;
    let meta = RequestMeta::default();
    let mut change = auth.change(&meta).await?;
    let tx = change.tx();
    let Some(user) = users::find_by_id(tx, user_id).await? else {
        change.rollback().await?;
        return Ok(ExecutionOutcome::NotDue);
    };
    let placeholder = format!("deleted-{}@deleted.invalid", user.id.simple());
    let removal = match strategy {
        DeletionStrategy::Anonymize => users::Removal::Anonymize {
            placeholder: &placeholder,
        },
        DeletionStrategy::SoftDelete => users::Removal::MarkDeleted,
        DeletionStrategy::HardDelete => users::Removal::Delete,
    };
    // Before the account row goes (a hard delete cascades its memberships away): organizations
    // it owns alone pass to their oldest admin (or member), or go when nobody is left. A
    // deletion that is not due rolls this back.
    leave_organizations(&change, user.id).await?;
    if users::execute_deletion(tx, user.id, removal, now).await? != 1 {
        change.rollback().await?;
        return Ok(ExecutionOutcome::NotDue);
    }
    sessions::delete_for_user(tx, user.id, None).await?;
    tokens::delete_for_user(tx, user.id, &[]).await?;
    crate::store::mfa::delete_all(tx, user.id).await?;
    crate::store::api_keys::delete_for_user(tx, user.id).await?;
    // Anonymized and soft-deleted accounts keep their row, so no foreign key cascades.
    crate::store::passkeys::delete_for_user(tx, user.id).await?;
    crate::store::oauth::delete_for_user(tx, user.id).await?;
    sessions::delete_known_devices(tx, user.id).await?;
    if let Some(hook) = &auth.user_fields {
        hook.forget(tx, user.id)
            .await
            .map_err(super::user_fields::HookError::into_flow)?;
    }
    match strategy {
        DeletionStrategy::Anonymize => {
            audit_store::scrub_for_user(tx, user.id).await?;
        }
        DeletionStrategy::SoftDelete => {}
        DeletionStrategy::HardDelete => {
            audit_store::erase_for_user(tx, user.id).await?;
        }
    }
    let strategy_name = match strategy {
        DeletionStrategy::Anonymize => "anonymize",
        DeletionStrategy::SoftDelete => "soft_delete",
        DeletionStrategy::HardDelete => "hard_delete",
    };
    let details = json!({ "strategy": strategy_name });
    change
        .audit_by(audit::DELETION_EXECUTED, None, Some(user.id), details)
        .await?;
    // Earlier mail to the account (sent or not) goes with it. The last notice is sealed in
    // the outbox and deleted with the done rows (`sigra.retention.outbox_days`).
    let digest = auth.recipient_digest(&user.email);
    crate::store::outbox::delete_for_recipient(change.tx(), &digest).await?;
    change
        .mail("account_deleted", &user.email, json!({}))
        .await?;
    // The worker runs outside any request: its sessions ended with the scheduling.
    change.commit(Revocation::None).await?;
    log::info!("account {} deleted ({strategy_name})", user.id);
    Ok(ExecutionOutcome::Executed)
}

/// Ends the memberships of an account being deleted, inside its deletion's change:
/// each organization it owned alone passes to its oldest admin, or else its oldest
/// member; one with no other member is deleted. Store-level, so a build without the
/// `organizations` feature leaves no membership of a deleted account behind either.
async fn leave_organizations(change: &super::Change<'_>, user_id: Uuid) -> Result<(), FlowError> {
    use crate::store::organizations as orgs;
    let tx = change.tx();
    for row in orgs::organizations_of(tx, user_id).await? {
        if row.role != "owner" {
            continue;
        }
        orgs::lock(tx, row.id).await?;
        if orgs::count_owners(tx, row.id).await? > 1 {
            continue;
        }
        let heir = match orgs::oldest_with_role(tx, row.id, "admin", user_id).await? {
            Some(heir) => Some(heir),
            None => orgs::oldest_with_role(tx, row.id, "member", user_id).await?,
        };
        match heir {
            Some(heir) => {
                orgs::set_role(tx, row.id, heir.user_id, "owner").await?;
                let details = json!({ "from": user_id });
                change
                    .audit_in(
                        row.id,
                        audit::ORGANIZATION_OWNERSHIP_TRANSFERRED,
                        None,
                        Some(heir.user_id),
                        details,
                    )
                    .await?;
            }
            None => {
                crate::store::api_keys::delete_for_organization(tx, row.id).await?;
                orgs::delete(tx, row.id).await?;
                let details = json!({ "slug": row.slug, "account_deleted": true });
                change
                    .audit_in(row.id, audit::ORGANIZATION_DELETED, None, None, details)
                    .await?;
            }
        }
    }
    orgs::delete_memberships_of_user(tx, user_id).await?;
    Ok(())
}

/// Carries out every deletion that is due (the background worker calls this on each
/// run). Answers how many this call carried out.
pub async fn execute_due(auth: &Auth) -> Result<usize, FlowError> {
    let due = users::due_for_deletion(&auth.db, auth.clock.now(), BATCH).await?;
    let mut done = 0;
    for user_id in due {
        if execute_deletion(auth, user_id).await? == ExecutionOutcome::Executed {
            done += 1;
        }
    }
    Ok(done)
}

/// Whether `user` has a deletion pending: such an account may only cancel it or log out.
pub fn is_pending(user: &crate::store::User) -> bool {
    user.deletion_scheduled_at.is_some()
}

/// The [`crate::jobs::Sweep`] that runs [`execute_due`] in the background worker.
#[derive(Debug, Clone)]
pub struct DeletionSweep(pub Auth);

impl crate::jobs::Sweep for DeletionSweep {
    fn name(&self) -> &'static str {
        "deletion"
    }

    fn run(&self) -> crate::jobs::SweepFuture<'_> {
        Box::pin(async move { execute_due(&self.0).await.map_err(|e| e.to_string()) })
    }
}
