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
