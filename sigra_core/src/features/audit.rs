//! The audit log: who did what, when, from where.
//!
//! Flows record events in the same transaction as the change they describe. Action
//! names are stable strings, listed here.

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
