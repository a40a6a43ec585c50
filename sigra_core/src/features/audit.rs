//! The audit log: who did what, when, from where, in a hash chain whose integrity can be
//! checked.
//!
//! Flows record events in the same transaction as the change they describe. Action
//! names are stable strings, listed here.
//!
//! # Algorithm (the chain)
//!
//! Events are written unchained, inside their flow's transaction, so no request waits
//! for any other. [`seal`] (run by the background worker every poll, and by
//! `run_due_jobs`) then appends them to one chain: in a short transaction it takes the
//! chain head's row lock (`sigra_audit_chain`, one row; `SELECT … FOR UPDATE` on
//! PostgreSQL and MySQL, the write lock of SQLite's `BEGIN IMMEDIATE`), reads the events
//! that have no link yet, oldest first (looking back 10 minutes from the newest sealed
//! one, through the time index, for transactions that committed late), and writes one
//! row of `sigra_audit_links` per event: its position `seq`, the previous link's hash,
//! its personal digest and its own hash. Sealing never writes an event row, so it takes
//! no lock a flow recording an event could wait on:
//!
//! - `personal_digest = SHA-256("sigra-audit-personal-v1" ‖ ip ‖ user_agent ‖ metadata)`,
//!   each field length-prefixed (absent ≠ empty), metadata as JSON with sorted keys;
//! - `hash = SHA-256("sigra-audit-v1" ‖ seq ‖ prev_hash ‖ id ‖ action ‖ actor ‖ target ‖
//!   organization ‖ impersonator ‖ occurred_at (µs) ‖ personal_digest)`, integers big-endian, optional
//!   ids as a presence byte and 16 bytes; the first event's `prev_hash` is 32 zero bytes.
//!
//! The head then holds the last position and hash. [`verify`] walks the links in `seq`
//! order and reports the first broken one: a gap in positions (a deleted link), a
//! `prev_hash` that is not the previous link's hash (reordered links), an event row that
//! is gone (`missing`), a hash that does not match the event (an edited event or link),
//! personal fields that do not match their digest (an edited IP, user agent or metadata
//! of an event that was not anonymized), or a head that does not end the chain (links
//! deleted from its end).
//!
//! # Trade-off
//!
//! Anonymizing a deleted account clears the personal fields and marks the event
//! `scrubbed`; the chain commits to their digest, not the fields, so it still verifies.
//! The price: on a scrubbed event the personal fields are not checked (they are gone),
//! so the flag itself is what an editor would flip to hide an edit of them; what
//! happened, to whom, by whom and when stays covered. Sealing is serialised on one row,
//! but only the sealer holds it, for one batch: requests never wait on it, so the log-in
//! path keeps its speed.
//!
//! # Failure mode
//!
//! An event is tamper-evident once sealed (within the worker's poll interval, 2 s);
//! [`verify`] counts the events not sealed yet. A sealer that fails rolls its batch back
//! and the next run seals it. Someone who can write the database can rewrite the whole
//! chain from a point on; the chain shows edits, it cannot prevent them, so keep the
//! head's latest hash somewhere else too (the verification report prints it).
//!
//! # The explorer ([`explore`], [`batch`], the export records)
//!
//! Algorithm: the typed filters ([`AuditQuery`]) are resolved once (an email to its
//! account's id, a slug to its organization's id, a day or RFC 3339 time to a
//! whole-second bound) into an [`AuditSearch`]; each page is one query ordered by
//! `(occurred_at, id)` descending with the previous page's last event as a condition
//! (keyset), through the actor, target, `(action, occurred_at)`, `(organization_id,
//! occurred_at)` or time index. The cursor is that event's time and id, base64url.
//!
//! Trade-off: a cursor names a place, not a snapshot: events recorded while an admin
//! pages (or an export runs) newer than the first page are not shown until they start
//! over, and a late-committing transaction can land behind a cursor. Filtering by email
//! finds live accounts only; a deleted account's events are found by its id.
//!
//! Failure mode: a value that cannot be used is an [`InvalidFilter`] naming the field
//! (`invalid_filter`, or `filter_not_found` for an email or slug that names nothing),
//! never a database error; an unreadable cursor is refused rather than read as the
//! first page, so a script following cursors never silently starts over.

pub use crate::store::audit::{AuditFilter, list};

/// A new account was registered.
pub const REGISTRATION: &str = "registration";
/// Registration was attempted with an email that already has an account.
pub const REGISTRATION_EXISTING_EMAIL: &str = "registration.existing_email";
/// A password log-in succeeded.
pub const LOGIN_SUCCESS: &str = "login.success";
/// A password log-in failed.
pub const LOGIN_FAILURE: &str = "login.failure";
/// An account signed in from a device it had not used before; its owner was mailed.
pub const LOGIN_NEW_DEVICE: &str = "login.new_device";
/// A session was restored from a remember-me cookie.
pub const SESSION_RESTORED: &str = "session.restored";
/// A remember-me token that was already used came back (a copied cookie): its whole
/// family and every session it made were ended.
pub const SESSION_REMEMBER_ME_REUSE: &str = "session.remember_me_reuse";
/// A user logged out.
pub const LOGOUT: &str = "logout";
/// A user revoked one of their sessions.
pub const SESSION_REVOKED: &str = "session.revoked";
/// A user signed out every other session.
pub const SESSIONS_REVOKED_OTHERS: &str = "session.revoked_others";
/// A user re-authenticated for sudo mode.
pub const SUDO: &str = "sudo";
/// A sudo re-authentication failed.
pub const SUDO_FAILURE: &str = "sudo.failure";
/// An email was confirmed (by link or code).
pub const CONFIRMATION: &str = "confirmation";
/// A wrong confirmation code was entered.
pub const CONFIRMATION_FAILURE: &str = "confirmation.failure";
/// A new confirmation mail was sent on request.
pub const CONFIRMATION_RESENT: &str = "confirmation.resent";
/// A magic link was requested for an existing account.
pub const MAGIC_LINK_REQUESTED: &str = "magic_link.requested";
/// A magic link logged a user in.
pub const LOGIN_MAGIC_LINK: &str = "login.magic_link";
/// A password reset was requested for an existing account.
pub const RESET_PASSWORD_REQUESTED: &str = "reset_password.requested";
/// A password was reset with an emailed link.
pub const RESET_PASSWORD: &str = "reset_password";
/// An account was locked after too many wrong passwords.
pub const LOCKOUT: &str = "lockout";
/// An account was unlocked with the emailed link.
pub const UNLOCK: &str = "unlock";
/// A user changed their password from the settings page.
pub const CHANGE_PASSWORD: &str = "change_password";
/// A change-password attempt gave the wrong current password.
pub const CHANGE_PASSWORD_FAILURE: &str = "change_password.failure";
/// A user without a password set one (sudo).
pub const SET_PASSWORD: &str = "set_password";
/// A user downloaded their personal data (sudo).
pub const DATA_EXPORT: &str = "data_export";
/// An email change was requested (a link went to the new address).
pub const CHANGE_EMAIL_REQUESTED: &str = "change_email.requested";
/// An email change was confirmed with the link.
pub const CHANGE_EMAIL: &str = "change_email";
/// A pending email change was cancelled.
pub const CHANGE_EMAIL_CANCELLED: &str = "change_email.cancelled";
/// A user scheduled the deletion of their account (sudo).
pub const DELETION_SCHEDULED: &str = "deletion.scheduled";
/// A user cancelled the scheduled deletion of their account.
pub const DELETION_CANCELLED: &str = "deletion.cancelled";
/// A scheduled deletion was carried out (metadata: the strategy). After a hard delete
/// this is the only event left about the account, and it holds nothing but its id.
pub const DELETION_EXECUTED: &str = "deletion.executed";
/// An authenticator app was enrolled and the second factor turned on.
pub const MFA_ENABLED: &str = "mfa.enabled";
/// The second factor was turned off (sudo).
pub const MFA_DISABLED: &str = "mfa.disabled";
/// New backup codes replaced the old ones (sudo).
pub const MFA_BACKUP_CODES_REGENERATED: &str = "mfa.backup_codes_regenerated";
/// A log-in passed the second factor (metadata: `method` is `totp`, `backup_code` or
/// `trusted_browser`).
pub const MFA_SUCCESS: &str = "mfa.success";
/// A wrong (or replayed) second-factor code was entered.
pub const MFA_FAILURE: &str = "mfa.failure";
/// Too many wrong codes: codes are refused for a while.
pub const MFA_LOCKED: &str = "mfa.locked";
/// A personal API key was made (sudo; metadata: its id, name, display prefix, scopes).
pub const API_KEY_CREATED: &str = "api_key.created";
/// A personal API key was revoked (metadata: its id, name, display prefix).
pub const API_KEY_REVOKED: &str = "api_key.revoked";
/// Every session, emailed link and API key of an account was ended at once (metadata:
/// how many sessions and keys).
pub const CREDENTIALS_REVOKED: &str = "credentials.revoked";
/// An API client traded a log-in for an access token and a refresh token.
pub const API_TOKEN_ISSUED: &str = "api_token.issued";
/// A refresh token that was already used came back: its family and session ended.
pub const API_TOKEN_REUSE_DETECTED: &str = "api_token.reuse_detected";
/// An API client revoked its refresh token (its family and session ended).
pub const API_TOKEN_REVOKED: &str = "api_token.revoked";
/// A passkey was registered (metadata: its id, name, AAGUID, whether it may sync).
pub const PASSKEY_ADDED: &str = "passkey.added";
/// A passkey was renamed (metadata: its id, the old and new name).
pub const PASSKEY_RENAMED: &str = "passkey.renamed";
/// A passkey was removed (sudo; metadata: its id, name, whether the account's second
/// factor went off with it).
pub const PASSKEY_REMOVED: &str = "passkey.removed";
/// A passkey was turned on or off as a second factor ("use as two-step verification";
/// metadata: its id, `used_for_mfa`, and whether the account now has a second factor).
pub const PASSKEY_MFA_CHANGED: &str = "passkey.mfa_changed";
/// A passkey signed a user in (metadata: the session, the passkey, `mfa`: `passkey` when
/// it passed the second factor too, `pending` when a code is still owed, `none`).
pub const LOGIN_PASSKEY: &str = "login.passkey";
/// A passkey sign-in was refused (metadata: the reason; the account when it is known).
pub const LOGIN_PASSKEY_FAILURE: &str = "login.passkey_failure";
/// A passkey presented a signature counter at or below the stored one (a copied key may be
/// in use); the use was refused (metadata: the passkey, the stored and presented counters).
pub const PASSKEY_COUNTER_REGRESSION: &str = "passkey.counter_regression";
/// A passkey's backup state changed between uses (it started or stopped syncing; metadata:
/// the passkey, the new state).
pub const PASSKEY_BACKUP_STATE_CHANGED: &str = "passkey.backup_state_changed";
/// A provider account signed a user in (metadata: the provider, the identity, the
/// session, `mfa`: `pending` when the second factor is still owed, `none`, or how a
/// trusted browser passed it).
pub const LOGIN_OAUTH: &str = "login.oauth";
/// A provider callback was refused (metadata: the provider, the reason, the flow's
/// purpose, the provider's error when it sent one).
pub const LOGIN_OAUTH_FAILURE: &str = "login.oauth_failure";
/// A provider account was linked (metadata: the provider, the identity, `implicit`
/// when linked by a trusted verified email without the owner signing in first).
pub const OAUTH_LINKED: &str = "oauth.linked";
/// A provider account was unlinked (sudo; metadata: the provider, the identity).
pub const OAUTH_UNLINKED: &str = "oauth.unlinked";
/// A provider sign-in found an account with the same email that it may not link
/// implicitly; the owner must sign in first (metadata: the provider, whether the email
/// was verified).
pub const OAUTH_LINK_REQUIRED: &str = "oauth.link_required";
/// An organization was created (`organization_id` on the event).
pub const ORGANIZATION_CREATED: &str = "organization.created";
/// An organization was renamed.
pub const ORGANIZATION_RENAMED: &str = "organization.renamed";
/// An organization was deleted, with its memberships and invitations.
pub const ORGANIZATION_DELETED: &str = "organization.deleted";
/// A session switched the organization it acts in.
pub const ORGANIZATION_SWITCHED: &str = "organization.switched";
/// The sole owner's account was deleted: the oldest remaining admin (or member) became owner.
pub const ORGANIZATION_OWNERSHIP_TRANSFERRED: &str = "organization.ownership_transferred";
/// A member joined (by creating the organization or accepting an invitation).
pub const MEMBERSHIP_ADDED: &str = "membership.added";
/// A member's role changed (`from`, `to`).
pub const MEMBERSHIP_ROLE_CHANGED: &str = "membership.role_changed";
/// An admin removed a member.
pub const MEMBERSHIP_REMOVED: &str = "membership.removed";
/// A member left.
pub const MEMBERSHIP_LEFT: &str = "membership.left";
/// An invitation was sent (to the address's digest, never the address).
pub const INVITATION_SENT: &str = "invitation.sent";
/// An invitation was accepted.
pub const INVITATION_ACCEPTED: &str = "invitation.accepted";
/// An admin revoked an invitation.
pub const INVITATION_REVOKED: &str = "invitation.revoked";
/// An account became a platform admin (`details.via`: `sigra.admin.emails` or `cli`).
pub const ADMIN_GRANTED: &str = "admin.granted";
/// An account stopped being a platform admin (`details.via`: `cli`).
pub const ADMIN_REVOKED: &str = "admin.revoked";
/// An admin locked an account.
pub const ADMIN_USER_LOCKED: &str = "admin.user_locked";
/// An admin lifted a lock (`details.lockout`: a lockout was lifted too).
pub const ADMIN_USER_UNLOCKED: &str = "admin.user_unlocked";
/// An admin banned an account.
pub const ADMIN_USER_BANNED: &str = "admin.user_banned";
/// An admin lifted a ban.
pub const ADMIN_USER_UNBANNED: &str = "admin.user_unbanned";
/// An admin ended every session of an account.
pub const ADMIN_SESSIONS_REVOKED: &str = "admin.sessions_revoked";
/// An admin mailed an account a password-reset link.
pub const ADMIN_RESET_SENT: &str = "admin.reset_sent";
/// An admin marked an account's address confirmed.
pub const ADMIN_EMAIL_CONFIRMED: &str = "admin.email_confirmed";
/// An admin turned an account's second factor off.
pub const ADMIN_MFA_RESET: &str = "admin.mfa_reset";
/// An admin scheduled an account's deletion.
pub const ADMIN_DELETION_SCHEDULED: &str = "admin.deletion_scheduled";
/// An admin began acting as an account (`details.reason`, `details.session_id`,
/// `details.expires_at`; `organization_id` when an organization admin did).
pub const IMPERSONATION_STARTED: &str = "impersonation.started";
/// An impersonation ended (`details.how`: `stopped` or `expired`).
pub const IMPERSONATION_ENDED: &str = "impersonation.ended";

use sha2::{Digest, Sha256};
use uuid::Uuid;

use super::{Auth, FlowError};
use crate::store::AuditEvent;
use crate::store::audit as store;

/// The `prev_hash` of the first event of the chain.
pub const GENESIS: [u8; 32] = [0; 32];
/// Events sealed per transaction.
const SEAL_BATCH: u64 = 500;

fn put_field(h: &mut Sha256, value: Option<&[u8]>) {
    match value {
        None => h.update([0]),
        Some(bytes) => {
            h.update([1]);
            h.update((bytes.len() as u64).to_be_bytes());
            h.update(bytes);
        }
    }
}

fn put_id(h: &mut Sha256, id: Option<Uuid>) {
    put_field(h, id.as_ref().map(|id| id.as_bytes().as_slice()));
}

/// `value` as JSON with the keys of every object sorted.
fn canonical_json(value: &serde_json::Value) -> String {
    fn sorted(value: &serde_json::Value) -> serde_json::Value {
        match value {
            serde_json::Value::Object(map) => {
                let mut keys: Vec<&String> = map.keys().collect();
                keys.sort();
                let mut out = serde_json::Map::new();
                for key in keys {
                    if let Some(v) = map.get(key) {
                        out.insert(key.clone(), sorted(v));
                    }
                }
                serde_json::Value::Object(out)
            }
            serde_json::Value::Array(items) => {
                serde_json::Value::Array(items.iter().map(sorted).collect())
            }
            other => other.clone(),
        }
    }
    sorted(value).to_string()
}

/// The digest of an event's personal fields (IP, user agent, metadata).
pub fn personal_digest(event: &AuditEvent) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(b"sigra-audit-personal-v1");
    put_field(&mut h, event.ip.as_deref().map(str::as_bytes));
    put_field(&mut h, event.user_agent.as_deref().map(str::as_bytes));
    put_field(&mut h, Some(canonical_json(&event.metadata.0).as_bytes()));
    h.finalize().into()
}

/// The hash of `event` at position `seq` after `prev_hash`, committing to `personal`.
pub fn link_hash(seq: i64, prev_hash: &[u8], event: &AuditEvent, personal: &[u8]) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(b"sigra-audit-v1");
    h.update(seq.to_be_bytes());
    put_field(&mut h, Some(prev_hash));
    h.update(event.id.as_bytes());
    put_field(&mut h, Some(event.action.as_bytes()));
    put_id(&mut h, event.actor_id);
    put_id(&mut h, event.target_id);
    put_id(&mut h, event.organization_id);
    put_id(&mut h, event.impersonator_id);
    let micros = event.occurred_at.unix_timestamp_nanos().div_euclid(1000);
    h.update(micros.to_be_bytes());
    put_field(&mut h, Some(personal));
    h.finalize().into()
}

/// How far back from the newest sealed event [`seal`] looks for events committed late
/// (a flow's transaction that began before it and committed after).
const LATE_WINDOW: time::Duration = time::Duration::minutes(10);

/// Appends every event not in the chain yet to it, in batches; answers how many.
pub async fn seal(auth: &Auth) -> Result<usize, FlowError> {
    let mut sealed = 0;
    loop {
        let tx = auth.db.begin().await?;
        let mut head = store::lock_chain_head(&tx).await?;
        let since = head.sealed_through.map(|t| t - LATE_WINDOW);
        let batch = store::unsealed(&tx, since, SEAL_BATCH).await?;
        if batch.is_empty() {
            tx.rollback().await?;
            return Ok(sealed);
        }
        for event in &batch {
            let seq = head.seq + 1;
            let personal = personal_digest(event);
            let hash = link_hash(seq, &head.hash, event, &personal);
            let link = store::AuditLink {
                seq,
                event_id: event.id,
                occurred_at: event.occurred_at,
                prev_hash: head.hash.clone(),
                hash: hash.to_vec(),
                personal_digest: personal.to_vec(),
            };
            store::insert_link(&tx, &link).await?;
            head.seq = seq;
            head.hash = hash.to_vec();
            let newest = head
                .sealed_through
                .map_or(event.occurred_at, |t| t.max(event.occurred_at));
            head.sealed_through = Some(newest);
        }
        store::set_chain_head(&tx, &head).await?;
        tx.commit().await?;
        sealed += batch.len();
        if (batch.len() as u64) < SEAL_BATCH {
            return Ok(sealed);
        }
    }
}

/// What [`verify`] found.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[non_exhaustive]
pub struct Verification {
    /// Sealed events checked.
    pub checked: u64,
    /// The head's position.
    pub head_seq: i64,
    /// The head's hash, hex (keep it elsewhere to detect a rewritten chain).
    pub head_hash: String,
    /// Events not sealed yet (not covered).
    pub unsealed: i64,
    /// The first broken link, if any.
    pub broken: Option<BrokenLink>,
}

impl Verification {
    /// Whether the chain is whole.
    pub fn is_intact(&self) -> bool {
        self.broken.is_none()
    }
}

/// Where and how the chain breaks.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[non_exhaustive]
pub struct BrokenLink {
    /// The position where the break shows.
    pub seq: i64,
    /// The event found there, if any.
    pub event_id: Option<Uuid>,
    /// `gap` (a missing position), `prev_hash` (not linked to the previous event),
    /// `missing` (the event's row was deleted), `hash` (the event or its link was
    /// changed), `personal` (personal fields changed) or `head` (the chain ends before
    /// its head).
    pub problem: &'static str,
}

/// Walks the sealed chain and reports the first broken link.
pub async fn verify(auth: &Auth) -> Result<Verification, FlowError> {
    let head = store::chain_head(&auth.db).await?;
    let unsealed = store::count_unsealed(&auth.db).await?;
    let mut report = Verification {
        checked: 0,
        head_seq: head.seq,
        head_hash: hex(&head.hash),
        unsealed,
        broken: None,
    };
    let mut expected = 1_i64;
    let mut prev = GENESIS.to_vec();
    loop {
        let links = store::links_after(&auth.db, expected - 1, SEAL_BATCH).await?;
        if links.is_empty() {
            break;
        }
        let ids: Vec<Uuid> = links.iter().map(|l| l.event_id).collect();
        let events = store::by_ids(&auth.db, &ids).await?;
        for link in &links {
            let event = events.iter().find(|e| e.id == link.event_id);
            if let Some(problem) = check_link(expected, &prev, link, event) {
                report.broken = Some(BrokenLink {
                    seq: expected,
                    event_id: Some(link.event_id),
                    problem,
                });
                return Ok(report);
            }
            prev.clone_from(&link.hash);
            expected += 1;
            report.checked += 1;
        }
    }
    if expected - 1 != head.seq || prev != head.hash {
        report.broken = Some(BrokenLink {
            seq: expected,
            event_id: None,
            problem: "head",
        });
    }
    Ok(report)
}

/// What is wrong with `link` as the chain's `seq`-th link after `prev`, if anything.
fn check_link(
    seq: i64,
    prev: &[u8],
    link: &store::AuditLink,
    event: Option<&AuditEvent>,
) -> Option<&'static str> {
    if link.seq != seq {
        return Some("gap");
    }
    if link.prev_hash != prev {
        return Some("prev_hash");
    }
    let Some(event) = event else {
        return Some("missing");
    };
    if !event.scrubbed && personal_digest(event).as_slice() != link.personal_digest {
        return Some("personal");
    }
    let hash = link_hash(seq, prev, event, &link.personal_digest);
    if link.hash != hash.as_slice() {
        return Some("hash");
    }
    None
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Seals the audit log on every run of the background worker.
#[derive(Debug)]
pub struct AuditSealSweep(pub Auth);

impl crate::jobs::Sweep for AuditSealSweep {
    fn name(&self) -> &'static str {
        "audit_seal"
    }

    fn run(&self) -> crate::jobs::SweepFuture<'_> {
        Box::pin(async move { seal(&self.0).await.map_err(|e| e.to_string()) })
    }

    fn counted(&self) -> bool {
        false
    }
}

// ---------------------------------------------------------------------------------------
// The explorer: filtered, keyset-paginated reading and streamed export.
// ---------------------------------------------------------------------------------------

pub use crate::store::audit::{AuditCursor, AuditSearch};
use time::OffsetDateTime;

/// Events per page of the explorer.
pub const EVENTS_PER_PAGE: u64 = 50;
/// Events per query of an export: what an export holds in memory at once.
pub const EXPORT_BATCH: u64 = 1000;
/// The longest filter value accepted (an email address is at most 254 characters).
const MAX_FILTER_CHARS: usize = 320;

/// What the explorer is asked for, as typed (the query string of `/admin/audit`). Empty
/// values filter nothing.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
#[non_exhaustive]
pub struct AuditQuery {
    /// Who acted: an account id or an email address.
    pub actor: Option<String>,
    /// Whom it concerned: an account id or an email address.
    pub target: Option<String>,
    /// The action, exactly (`login.success`).
    pub action: Option<String>,
    /// The organization: its id or its slug.
    pub organization: Option<String>,
    /// From this time on: RFC 3339 (`2026-06-01T09:00:00Z`) or a day (`2026-06-01`,
    /// from its start, UTC).
    pub from: Option<String>,
    /// Up to this time: RFC 3339, or a day (through its end, UTC).
    pub to: Option<String>,
    /// The cursor of the page to show ([`AuditPage::next`] of the previous one).
    pub page: Option<String>,
}

impl AuditQuery {
    /// The same query on its first page.
    pub fn first_page(&self) -> AuditQuery {
        AuditQuery {
            page: None,
            ..self.clone()
        }
    }
}

/// A filter value the explorer cannot use: the field, a stable reason and a sentence.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
#[non_exhaustive]
pub struct InvalidFilter {
    /// The query parameter at fault (`actor`, `target`, `action`, `organization`,
    /// `from`, `to`, `page`).
    pub field: &'static str,
    /// `invalid_filter` (the value cannot mean anything) or `filter_not_found` (a
    /// well-formed email or slug that names no account or organization).
    pub reason: &'static str,
    /// What a person reads.
    pub message: &'static str,
}

impl InvalidFilter {
    const fn invalid(field: &'static str, message: &'static str) -> InvalidFilter {
        InvalidFilter {
            field,
            reason: "invalid_filter",
            message,
        }
    }

    const fn not_found(field: &'static str, message: &'static str) -> InvalidFilter {
        InvalidFilter {
            field,
            reason: "filter_not_found",
            message,
        }
    }

    /// The problem as a form field's error.
    pub fn field_error(&self) -> crate::form::FieldError {
        crate::form::FieldError::new(self.reason, self.message)
    }
}

/// A page of the explorer.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[non_exhaustive]
pub struct AuditPage {
    /// The events, newest first.
    pub events: Vec<AuditEvent>,
    /// The cursor of the next page, when there is one.
    pub next: Option<String>,
}

/// The trimmed value of an optional filter, `None` when empty; too long is invalid.
fn typed<'a>(
    value: Option<&'a str>,
    field: &'static str,
) -> Result<Option<&'a str>, InvalidFilter> {
    let Some(value) = value.map(str::trim).filter(|v| !v.is_empty()) else {
        return Ok(None);
    };
    if value.chars().count() > MAX_FILTER_CHARS || value.chars().any(char::is_control) {
        return Err(InvalidFilter::invalid(
            field,
            "That value is too long or not text.",
        ));
    }
    Ok(Some(value))
}

/// An account named by id or email.
async fn account(
    auth: &Auth,
    value: Option<&str>,
    field: &'static str,
) -> Result<Result<Option<Uuid>, InvalidFilter>, FlowError> {
    let value = match typed(value, field) {
        Ok(Some(value)) => value,
        Ok(None) => return Ok(Ok(None)),
        Err(e) => return Ok(Err(e)),
    };
    if let Ok(id) = Uuid::parse_str(value) {
        return Ok(Ok(Some(id)));
    }
    if !value.contains('@') {
        return Ok(Err(InvalidFilter::invalid(
            field,
            "Enter an account id or an email address.",
        )));
    }
    Ok(crate::store::users::find_by_email(&auth.db, value)
        .await?
        .map(|user| Some(user.id))
        .ok_or(InvalidFilter::not_found(
            field,
            "No account has that address (search a deleted account by its id).",
        )))
}

/// An organization named by id or slug.
async fn organization(
    auth: &Auth,
    value: Option<&str>,
) -> Result<Result<Option<Uuid>, InvalidFilter>, FlowError> {
    const FIELD: &str = "organization";
    let value = match typed(value, FIELD) {
        Ok(Some(value)) => value,
        Ok(None) => return Ok(Ok(None)),
        Err(e) => return Ok(Err(e)),
    };
    if let Ok(id) = Uuid::parse_str(value) {
        return Ok(Ok(Some(id)));
    }
    #[cfg(feature = "organizations")]
    if !super::organizations::valid_slug(value) {
        return Ok(Err(InvalidFilter::invalid(
            FIELD,
            "Enter an organization id or its address (slug).",
        )));
    }
    Ok(crate::store::organizations::find_by_slug(&auth.db, value)
        .await?
        .map(|org| Some(org.id))
        .ok_or(InvalidFilter::not_found(
            FIELD,
            "No organization has that address.",
        )))
}

/// Which end of a time range a typed time bounds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum End {
    /// `from`: the first instant included.
    From,
    /// `to`: the last instant included.
    To,
}

/// A typed time as a bound on the stored, whole-second times: `from` → the first second
/// included (a fraction rounds up); `to` → the first second excluded (a day's end, or
/// the second after the time).
fn time_bound(value: &str, end: End) -> Option<OffsetDateTime> {
    use time::format_description::well_known::Rfc3339;
    let second = time::Duration::seconds(1);
    if let Ok(t) = OffsetDateTime::parse(value, &Rfc3339) {
        let whole = crate::clock::normalize(t);
        return match end {
            End::From if whole < t => whole.checked_add(second),
            End::From => Some(whole),
            End::To => whole.checked_add(second),
        };
    }
    let day = time::Date::parse(
        value,
        time::macros::format_description!("[year]-[month]-[day]"),
    )
    .ok()?;
    let day = match end {
        End::From => day,
        End::To => day.next_day()?,
    };
    Some(day.midnight().assume_utc())
}

/// The typed times as `(from, before)`.
fn time_range(
    query: &AuditQuery,
) -> Result<(Option<OffsetDateTime>, Option<OffsetDateTime>), InvalidFilter> {
    const MESSAGE: &str = "Enter a day (2026-06-01) or a time (2026-06-01T09:00:00Z).";
    let from = match typed(query.from.as_deref(), "from")? {
        Some(v) => Some(time_bound(v, End::From).ok_or(InvalidFilter::invalid("from", MESSAGE))?),
        None => None,
    };
    let before = match typed(query.to.as_deref(), "to")? {
        Some(v) => Some(time_bound(v, End::To).ok_or(InvalidFilter::invalid("to", MESSAGE))?),
        None => None,
    };
    if let (Some(from), Some(before)) = (from, before)
        && before <= from
    {
        return Err(InvalidFilter::invalid(
            "to",
            "The end comes before the start.",
        ));
    }
    Ok((from, before))
}

/// The search `query` asks for: emails and slugs resolved to ids, times to bounds.
/// `Ok(Err(_))` names the first value that cannot be used.
pub async fn search_for(
    auth: &Auth,
    query: &AuditQuery,
) -> Result<Result<AuditSearch, InvalidFilter>, FlowError> {
    let actor_id = match account(auth, query.actor.as_deref(), "actor").await? {
        Ok(id) => id,
        Err(e) => return Ok(Err(e)),
    };
    let target_id = match account(auth, query.target.as_deref(), "target").await? {
        Ok(id) => id,
        Err(e) => return Ok(Err(e)),
    };
    let action = match typed(query.action.as_deref(), "action") {
        Ok(action) => action.map(str::to_owned),
        Err(e) => return Ok(Err(e)),
    };
    let organization_id = match organization(auth, query.organization.as_deref()).await? {
        Ok(id) => id,
        Err(e) => return Ok(Err(e)),
    };
    let (from, before) = match time_range(query) {
        Ok(range) => range,
        Err(e) => return Ok(Err(e)),
    };
    Ok(Ok(AuditSearch {
        actor_id,
        target_id,
        action,
        organization_id,
        from,
        before,
    }))
}

/// The cursor after `event`: its time (nanoseconds since the epoch, 16 bytes) and id,
/// base64url.
pub fn cursor_after(event: &AuditEvent) -> String {
    use base64::Engine as _;
    let mut bytes = Vec::with_capacity(32);
    bytes.extend_from_slice(&event.occurred_at.unix_timestamp_nanos().to_be_bytes());
    bytes.extend_from_slice(event.id.as_bytes());
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// The place a cursor from [`cursor_after`] names; `None` when it is not one.
pub fn parse_cursor(token: &str) -> Option<AuditCursor> {
    use base64::Engine as _;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(token.trim())
        .ok()?;
    let (nanos, id) = bytes.split_at_checked(16)?;
    let nanos = i128::from_be_bytes(nanos.try_into().ok()?);
    Some(AuditCursor {
        occurred_at: OffsetDateTime::from_unix_timestamp_nanos(nanos).ok()?,
        id: Uuid::from_slice(id).ok()?,
    })
}

/// Up to `limit` events of `search` after `cursor`, newest first: one indexed query.
pub async fn batch(
    auth: &Auth,
    search: &AuditSearch,
    cursor: Option<AuditCursor>,
    limit: u64,
) -> Result<Vec<AuditEvent>, FlowError> {
    Ok(store::search(&auth.db, search, cursor, limit).await?)
}

/// One page of the explorer ([`EVENTS_PER_PAGE`] events, newest first, and the cursor of
/// the next one), or the first filter value that cannot be used.
pub async fn explore(
    auth: &Auth,
    query: &AuditQuery,
) -> Result<Result<AuditPage, InvalidFilter>, FlowError> {
    explore_within(auth, None, query).await
}

/// [`explore`] within one organization (an organization admin's view): the query's own
/// `organization` is not read, every event listed is the organization's.
pub async fn explore_organization(
    auth: &Auth,
    organization_id: Uuid,
    query: &AuditQuery,
) -> Result<Result<AuditPage, InvalidFilter>, FlowError> {
    explore_within(auth, Some(organization_id), query).await
}

async fn explore_within(
    auth: &Auth,
    organization_id: Option<Uuid>,
    query: &AuditQuery,
) -> Result<Result<AuditPage, InvalidFilter>, FlowError> {
    let search = if let Some(organization_id) = organization_id {
        let outside = AuditQuery {
            organization: None,
            ..query.clone()
        };
        match search_for(auth, &outside).await? {
            Ok(search) => AuditSearch {
                organization_id: Some(organization_id),
                ..search
            },
            Err(e) => return Ok(Err(e)),
        }
    } else {
        match search_for(auth, query).await? {
            Ok(search) => search,
            Err(e) => return Ok(Err(e)),
        }
    };
    let cursor = match typed(query.page.as_deref(), "page") {
        Ok(Some(token)) => match parse_cursor(token) {
            Some(cursor) => Some(cursor),
            None => {
                return Ok(Err(InvalidFilter::invalid(
                    "page",
                    "That page does not exist. Start from the first page.",
                )));
            }
        },
        Ok(None) => None,
        Err(e) => return Ok(Err(e)),
    };
    Ok(Ok(page_of(auth, &search, cursor).await?))
}

/// The page of `search` after `cursor`.
pub async fn page_of(
    auth: &Auth,
    search: &AuditSearch,
    cursor: Option<AuditCursor>,
) -> Result<AuditPage, FlowError> {
    let mut events = batch(auth, search, cursor, EVENTS_PER_PAGE + 1).await?;
    let more = events.len() as u64 > EVENTS_PER_PAGE;
    events.truncate(EVENTS_PER_PAGE as usize);
    let next = if more {
        events.last().map(cursor_after)
    } else {
        None
    };
    Ok(AuditPage { events, next })
}

/// The columns of an export, in order.
pub const EXPORT_COLUMNS: [&str; 10] = [
    "id",
    "occurred_at",
    "action",
    "actor_id",
    "target_id",
    "organization_id",
    "impersonator_id",
    "ip",
    "user_agent",
    "metadata",
];

fn rfc3339(t: OffsetDateTime) -> String {
    t.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

/// An event's export fields, in [`EXPORT_COLUMNS`] order (absent: empty).
fn export_fields(event: &AuditEvent) -> [String; 10] {
    let id = |id: Option<Uuid>| id.map(|id| id.to_string()).unwrap_or_default();
    [
        event.id.to_string(),
        rfc3339(event.occurred_at),
        event.action.clone(),
        id(event.actor_id),
        id(event.target_id),
        id(event.organization_id),
        id(event.impersonator_id),
        event.ip.clone().unwrap_or_default(),
        event.user_agent.clone().unwrap_or_default(),
        event.metadata.0.to_string(),
    ]
}

/// One CSV field: a value a spreadsheet would run as a formula (starting with `=`, `+`,
/// `-`, `@`, a tab or a carriage return) gets a leading apostrophe; then a value with a
/// comma, quote, CR or LF is quoted with its quotes doubled (RFC 4180).
pub fn csv_field(value: &str) -> String {
    let formula = value.starts_with(['=', '+', '-', '@', '\t', '\r']);
    let value = if formula {
        format!("'{value}")
    } else {
        value.to_owned()
    };
    if value.contains([',', '"', '\r', '\n']) {
        format!("\"{}\"", value.replace('"', "\"\""))
    } else {
        value
    }
}

/// The export's CSV header record, CRLF-terminated.
pub fn csv_header() -> String {
    let mut line = EXPORT_COLUMNS.join(",");
    line.push_str("\r\n");
    line
}

/// An event as one CSV record ([`EXPORT_COLUMNS`]), CRLF-terminated.
pub fn csv_record(event: &AuditEvent) -> String {
    let fields = export_fields(event);
    let mut line = fields
        .iter()
        .map(|f| csv_field(f))
        .collect::<Vec<_>>()
        .join(",");
    line.push_str("\r\n");
    line
}

/// An event as one JSON Lines record (the object the explorer's JSON answer lists,
/// [`EXPORT_COLUMNS`] plus `scrubbed`), LF-terminated.
pub fn jsonl_record(event: &AuditEvent) -> String {
    let mut line = serde_json::to_string(event).unwrap_or_default();
    line.push('\n');
    line
}

#[cfg(test)]
mod explorer_tests {
    use super::*;

    fn event() -> AuditEvent {
        let mut e = store::event(
            Uuid::from_u128(7),
            "login.success",
            Some(Uuid::from_u128(1)),
            None,
            serde_json::json!({"note": "a, \"b\"\nc"}),
            time::macros::datetime!(2026-06-01 09:00:05 UTC),
        );
        e.user_agent = Some("=HYPERLINK(\"http://x\")".into());
        e.ip = Some("@SUM(1)".into());
        e
    }

    #[test]
    fn csv_quotes_per_rfc_4180_and_neutralises_formulas() {
        assert_eq!(csv_field("plain"), "plain");
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_field("two\nlines"), "\"two\nlines\"");
        assert_eq!(csv_field("=1+1"), "'=1+1");
        assert_eq!(csv_field("+1"), "'+1");
        assert_eq!(csv_field("-1"), "'-1");
        assert_eq!(csv_field("@x"), "'@x");
        assert_eq!(csv_field("=A1,B1"), "\"'=A1,B1\"");
        assert_eq!(csv_field(""), "");
        let record = csv_record(&event());
        assert!(record.ends_with("\r\n"));
        assert!(record.starts_with("00000000-0000-0000-0000-000000000007,2026-06-01T09:00:05Z,login.success,00000000-0000-0000-0000-000000000001,,,,'@SUM(1),\"'=HYPERLINK(\"\"http://x\"\")\","), "{record}");
        assert_eq!(csv_header().trim_end().split(',').count(), 10);
    }

    #[test]
    fn a_cursor_round_trips_and_rejects_anything_else() {
        let e = event();
        let cursor = parse_cursor(&cursor_after(&e));
        assert_eq!(
            cursor,
            Some(AuditCursor {
                occurred_at: e.occurred_at,
                id: e.id
            })
        );
        assert_eq!(parse_cursor("not a cursor"), None);
        assert_eq!(parse_cursor("AAAA"), None);
        assert_eq!(parse_cursor(""), None);
    }

    #[test]
    fn typed_times_bound_whole_seconds() {
        let at = |s| time_bound(s, End::From);
        let to = |s| time_bound(s, End::To);
        use time::macros::datetime;
        assert_eq!(at("2026-06-01"), Some(datetime!(2026-06-01 00:00 UTC)));
        assert_eq!(to("2026-06-01"), Some(datetime!(2026-06-02 00:00 UTC)));
        assert_eq!(
            at("2026-06-01T09:00:00Z"),
            Some(datetime!(2026-06-01 09:00 UTC))
        );
        assert_eq!(
            at("2026-06-01T09:00:00.5Z"),
            Some(datetime!(2026-06-01 09:00:01 UTC))
        );
        assert_eq!(
            to("2026-06-01T09:00:00.5Z"),
            Some(datetime!(2026-06-01 09:00:01 UTC))
        );
        assert_eq!(
            to("2026-06-01T11:00:00+02:00"),
            Some(datetime!(2026-06-01 09:00:01 UTC))
        );
        assert_eq!(at("yesterday"), None);
        assert_eq!(at("2026-13-01"), None);
        let range = |from: &str, to: &str| {
            time_range(&AuditQuery {
                from: Some(from.into()),
                to: Some(to.into()),
                ..AuditQuery::default()
            })
        };
        assert!(range("2026-06-01", "2026-06-01").is_ok(), "one whole day");
        assert_eq!(
            range("2026-06-02", "2026-06-01").map_err(|e| e.field),
            Err("to")
        );
        assert_eq!(
            range("soon", "2026-06-01").map_err(|e| e.field),
            Err("from")
        );
    }
}
