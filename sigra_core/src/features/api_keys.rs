//! Personal API keys: long-lived credentials a user issues to their own scripts and
//! services, presented as `Authorization: Bearer sigra_sk_…`.
//!
//! # Algorithm
//!
//! A key is `sigra_sk_` followed by 32 random bytes in base64url (43 characters). Its
//! plaintext is answered once, by [`create`]; the database keeps the first 12 characters
//! (to tell keys apart on the settings page, in mails and in audit events) and the SHA-256
//! of the whole key, under a unique index. [`authenticate`] hashes what it is given and
//! looks that digest up: the database compares digests, never the secret, so the lookup's
//! time says nothing about how much of a guessed key was right; the stored digest is
//! compared again in constant time after loading. A key carries the scopes its owner
//! picked from `sigra.api_keys.scopes` and may expire; `last_used_at` is written at most
//! once a minute by a conditional update, so a busy key costs one write a minute, not one
//! per request.
//!
//! # Trade-off
//!
//! An unsalted fast hash is enough because the key holds 256 random bits: there is
//! nothing to guess from a leaked table. A key is a bearer credential that skips the
//! password and the second factor, so creating one asks for sudo, every creation and
//! revocation is mailed to the owner and audited (prefix and name, never the key).
//!
//! A password reset does not revoke keys: keys are credentials the user issued for
//! machines, and a reset answers a lost password. Revoking them there would break the
//! user's integrations each time they forget a password, while the case of an attacker
//! holding the account is answered by [`Auth::revoke_all_credentials`] (every session,
//! emailed link and key at once). Keys of an account that is locked, has a deletion
//! pending or is deleted are refused; the deletion itself removes them.
//!
//! Checking a key reads two rows. With `sigra.session.cache_ms` on, a validated key is
//! kept in memory that long ([`Auth::api_key_cache`], the session cache's rules): a
//! revocation commits with `Revocation::EndSessions`, which empties this instance's
//! memory and waits the TTL, so no instance accepts the key once the revocation answers;
//! a lock or a changed account reaches other instances within the TTL.
//!
//! # Failure mode
//!
//! A lost key cannot be shown again: the user revokes it and creates another. The
//! `max_per_user` count is taken with the owner's row locked ([`users::lock_row`]), so
//! creations racing at the limit are judged one at a time and never exceed it. A failed
//! `last_used_at` write fails the authentication (the caller answers 500) rather than
//! letting a use go unrecorded.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::json;
use sha2::{Digest, Sha256};
use time::{Duration, OffsetDateTime};
use uuid::Uuid;
use zeroize::Zeroizing;

use super::sessions::Authenticated;
use super::{Auth, FlowError, RequestMeta, Revocation, audit, deletion, human_time};
use crate::crypto::{constant_time_eq, random_bytes};
use crate::form::FieldError;
use crate::secret::SecretString;
use crate::store::{ApiKeyRow, User, api_keys, new_id, sessions, tokens, users};

/// What every key starts with, so scanners and people recognise a leaked one.
pub const KEY_PREFIX: &str = "sigra_sk_";
/// Characters of a key kept for display (`sigra_sk_` and three more).
pub const DISPLAY_PREFIX_LEN: usize = 12;
/// The longest name a key may have, in characters.
pub const MAX_NAME_CHARS: usize = 100;
/// The longest lifetime a key may be given, in days.
pub const MAX_EXPIRES_IN_DAYS: i64 = 3650;
/// Random bytes in a key.
const KEY_BYTES: usize = 32;
/// Length of a whole key: the prefix and 43 base64url characters.
const KEY_LEN: usize = KEY_PREFIX.len() + 43;
/// `last_used_at` is written at most once per this interval.
const TOUCH_INTERVAL: Duration = Duration::seconds(60);

/// What the create form sent.
#[derive(Debug, Clone, Default)]
pub struct CreateInput {
    /// The owner's label for the key (1..=100 characters after trimming).
    pub name: String,
    /// Scope names, each one of `sigra.api_keys.scopes`.
    pub scopes: Vec<String>,
    /// Days until the key expires, as typed: missing, empty or `0` for never, otherwise
    /// 1..=3650.
    pub expires_in_days: Option<String>,
    /// The slug of an organization that owns the key (the creator must be one of its
    /// admins or owners); missing or empty for a personal key.
    pub organization: Option<String>,
}

/// Problems with the create form, by field.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct CreateErrors {
    /// Problems with the name (`name_invalid`, or `api_key_limit` when the account
    /// holds `sigra.api_keys.max_per_user` live keys already).
    pub name: Vec<FieldError>,
    /// Problems with the scopes (`scope_unknown`).
    pub scopes: Vec<FieldError>,
    /// Problems with the lifetime (`expires_in_days_invalid`).
    pub expires_in_days: Vec<FieldError>,
    /// Problems with the owning organization (`organization_invalid`).
    pub organization: Vec<FieldError>,
}

impl CreateErrors {
    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.name.is_empty()
            && self.scopes.is_empty()
            && self.expires_in_days.is_empty()
            && self.organization.is_empty()
    }
}

/// A key as its owner sees it: never the key itself.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[non_exhaustive]
pub struct ApiKeyView {
    /// Key id (for the revoke button).
    pub id: Uuid,
    /// The owner's label.
    pub name: String,
    /// The key's first 12 characters.
    pub prefix: String,
    /// Scope names.
    pub scopes: Vec<String>,
    /// Creation time.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// Last authenticated use (to the minute).
    #[serde(with = "time::serde::rfc3339::option")]
    pub last_used_at: Option<OffsetDateTime>,
    /// Expiry; `None` for a key that never expires.
    #[serde(with = "time::serde::rfc3339::option")]
    pub expires_at: Option<OffsetDateTime>,
    /// Whether the expiry has passed (the key is refused).
    pub expired: bool,
    /// The organization that owns the key, if any.
    pub organization_id: Option<Uuid>,
}

impl ApiKeyView {
    fn of(row: ApiKeyRow, now: OffsetDateTime) -> ApiKeyView {
        ApiKeyView {
            id: row.id,
            expired: row.expires_at.is_some_and(|at| now >= at),
            name: row.name,
            prefix: row.prefix,
            scopes: row.scopes.0,
            created_at: row.created_at,
            last_used_at: row.last_used_at,
            expires_at: row.expires_at,
            organization_id: row.organization_id,
        }
    }
}

/// A key just made: the key itself, to be shown once, and its view.
#[derive(Debug)]
#[non_exhaustive]
pub struct CreatedApiKey {
    /// The whole key (`sigra_sk_…`). It is not stored and cannot be shown again.
    pub key: SecretString,
    /// What is stored about it.
    pub view: ApiKeyView,
}

/// How revoking a key ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum RevokeOutcome {
    /// The key was revoked.
    Revoked,
    /// The account has no live key with that id (another account's keys count as none).
    NotFound,
}

impl RevokeOutcome {
    /// A stable machine-readable reason for a failure; `None` for success.
    pub fn reason(&self) -> Option<&'static str> {
        match self {
            RevokeOutcome::Revoked => None,
            RevokeOutcome::NotFound => Some("api_key_not_found"),
        }
    }
}

/// A validated key as [`Auth::api_key_cache`] keeps it: the caller, the key's expiry and
/// its last recorded use.
pub type CachedKey = (
    ApiKeyCaller,
    Option<time::OffsetDateTime>,
    Option<time::OffsetDateTime>,
);

/// Who called with a valid API key. Holds no secret.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ApiKeyCaller {
    /// The key's owner.
    pub user: User,
    /// The key's id.
    pub key_id: Uuid,
    /// The key's scopes.
    pub scopes: Vec<String>,
    /// The organization that owns the key: the key acts only there, for as long as its
    /// creator is an admin or owner of it.
    pub organization_id: Option<Uuid>,
}

/// What [`Auth::revoke_all_credentials`] ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[non_exhaustive]
pub struct RevokedCredentials {
    /// Sessions ended.
    pub sessions: u64,
    /// API keys revoked.
    pub api_keys: u64,
}

fn key_hash(key: &str) -> [u8; 32] {
    Sha256::digest(key.as_bytes()).into()
}

/// Whether `presented` has the shape of a key (checked before any lookup).
fn looks_like_key(presented: &str) -> bool {
    presented.len() == KEY_LEN
        && presented.starts_with(KEY_PREFIX)
        && presented[KEY_PREFIX.len()..]
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

fn generate_key() -> Result<SecretString, FlowError> {
    let bytes = Zeroizing::new(random_bytes::<KEY_BYTES>()?);
    let mut key = String::with_capacity(KEY_LEN);
    key.push_str(KEY_PREFIX);
    URL_SAFE_NO_PAD.encode_string(*bytes, &mut key);
    Ok(SecretString::new(key))
}

/// Checks the form against the configuration; answers the cleaned name, scopes and
/// lifetime, or what is wrong.
fn check(
    auth: &Auth,
    input: &CreateInput,
) -> Result<(String, Vec<String>, Option<Duration>), CreateErrors> {
    let mut errors = CreateErrors::default();
    let name = crate::form::clean_label(&input.name, MAX_NAME_CHARS).unwrap_or_default();
    if name.is_empty() {
        errors.name.push(FieldError::new(
            "name_invalid",
            format!("Give the key a name of 1 to {MAX_NAME_CHARS} characters."),
        ));
    }
    let allowed = &auth.config.api_keys.scopes;
    let mut scopes: Vec<String> = Vec::new();
    for scope in input
        .scopes
        .iter()
        .map(|s| s.trim())
        .filter(|s| !s.is_empty())
    {
        if !allowed.iter().any(|a| a == scope) {
            let shown: String = scope.chars().take(64).collect();
            errors.scopes.push(FieldError::new(
                "scope_unknown",
                format!("There is no scope named \"{shown}\"."),
            ));
        } else if !scopes.iter().any(|s| s == scope) {
            scopes.push(scope.to_owned());
        }
    }
    let days = match input.expires_in_days.as_deref().map(str::trim) {
        None | Some("") => Some(0),
        Some(text) => text
            .parse::<i64>()
            .ok()
            .filter(|d| (0..=MAX_EXPIRES_IN_DAYS).contains(d)),
    };
    let lifetime = match days {
        Some(0) => None,
        Some(d) => Some(Duration::days(d)),
        None => {
            errors.expires_in_days.push(FieldError::new(
                "expires_in_days_invalid",
                format!("Enter a number of days from 0 (never expires) to {MAX_EXPIRES_IN_DAYS}."),
            ));
            None
        }
    };
    if errors.is_empty() {
        Ok((name.to_owned(), scopes, lifetime))
    } else {
        Err(errors)
    }
}

/// The organization `input.organization` names, when the user may make keys for it.
async fn owning_organization(
    auth: &Auth,
    user_id: Uuid,
    input: &CreateInput,
) -> Result<Result<Option<Uuid>, CreateErrors>, FlowError> {
    let Some(slug) = input
        .organization
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
    else {
        return Ok(Ok(None));
    };
    match administered(auth, user_id, slug).await? {
        Some(org_id) => Ok(Ok(Some(org_id))),
        None => Ok(Err(CreateErrors {
            organization: vec![FieldError::new(
                "organization_invalid",
                "Choose an organization you administer.",
            )],
            ..CreateErrors::default()
        })),
    }
}

/// The id of organization `slug` when `user_id` is an admin or owner of it and
/// organizations are on.
#[cfg(feature = "organizations")]
async fn administered(auth: &Auth, user_id: Uuid, slug: &str) -> Result<Option<Uuid>, FlowError> {
    use super::organizations::{Membership, Role};
    if !auth.config.organizations.enabled {
        return Ok(None);
    }
    let membership = Membership::of(auth, user_id, slug).await?;
    Ok(membership
        .filter(|m| m.role() >= Role::Admin)
        .map(|m| m.org_id()))
}

/// Without the `organizations` feature nobody administers an organization.
#[cfg(not(feature = "organizations"))]
async fn administered(_: &Auth, _: Uuid, _: &str) -> Result<Option<Uuid>, FlowError> {
    Ok(None)
}

/// Whether `user_id` is still an admin or owner of organization `org_id`: an
/// organization's key works only then (never without the `organizations` feature).
#[cfg(feature = "organizations")]
async fn administers(auth: &Auth, user_id: Uuid, org_id: Uuid) -> Result<bool, FlowError> {
    use super::organizations::Role;
    let row = crate::store::organizations::membership_by_id(&auth.db, user_id, org_id).await?;
    let role = row.and_then(|r| Role::parse(&r.role));
    Ok(role.is_some_and(|r| r >= Role::Admin))
}

/// Without the `organizations` feature nobody administers an organization.
#[cfg(not(feature = "organizations"))]
async fn administers(_: &Auth, _: Uuid, _: Uuid) -> Result<bool, FlowError> {
    Ok(false)
}

/// Makes a new key for the current user (the web layer asks for sudo first) and answers
/// it, to be shown once. The owner is mailed and the creation audited, with the key's
/// display prefix and name.
///
/// ```no_run
/// # async fn demo(auth: &sigra_core::features::Auth, me: &sigra_core::features::sessions::Authenticated) -> Result<(), sigra_core::features::FlowError> {
/// use sigra_core::features::{RequestMeta, api_keys};
/// let input = api_keys::CreateInput { name: "deploy bot".into(), ..Default::default() };
/// match api_keys::create(auth, me, &input, &RequestMeta::default()).await? {
///     Ok(created) => println!("copy it now: {}", created.key.expose()),
///     Err(errors) => println!("{errors:?}"),
/// }
/// # Ok(()) }
/// ```
pub async fn create(
    auth: &Auth,
    current: &Authenticated,
    input: &CreateInput,
    meta: &RequestMeta,
) -> Result<Result<CreatedApiKey, CreateErrors>, FlowError> {
    let user = &current.user;
    let (name, scopes, lifetime) = match check(auth, input) {
        Ok(checked) => checked,
        Err(errors) => return Ok(Err(errors)),
    };
    let organization_id = match owning_organization(auth, user.id, input).await? {
        Ok(id) => id,
        Err(errors) => return Ok(Err(errors)),
    };
    let now = auth.clock.now();
    let mut change = auth.change(meta).await?;
    // The owner's row is held until commit, so creations racing at the limit are counted
    // one after the other.
    users::lock_row(change.tx(), user.id).await?;
    if api_keys::count_live(change.tx(), user.id, now).await? >= auth.config.api_keys.max_per_user {
        change.rollback().await?;
        let limit = auth.config.api_keys.max_per_user;
        let errors = CreateErrors {
            name: vec![FieldError::new(
                "api_key_limit",
                format!("You have {limit} keys already. Revoke one you no longer use first."),
            )],
            ..CreateErrors::default()
        };
        return Ok(Err(errors));
    }
    let key = generate_key()?;
    let prefix: String = key.expose().chars().take(DISPLAY_PREFIX_LEN).collect();
    let id = new_id(auth.clock.as_ref());
    let expires_at = lifetime.map(|l| now + l);
    api_keys::insert(
        change.tx(),
        &api_keys::NewApiKey {
            id,
            user_id: user.id,
            name: &name,
            prefix: &prefix,
            key_hash: &key_hash(key.expose()),
            scopes: &scopes,
            created_at: now,
            expires_at,
            organization_id,
        },
    )
    .await?;
    let context = json!({
        "name": name,
        "prefix": prefix,
        "scopes": scopes,
        "expires_at": expires_at.map(human_time),
        "settings_url": auth.route_url("/settings/api-keys"),
    });
    change.mail("api_key_created", &user.email, context).await?;
    let details = json!({
        "key_id": id,
        "name": name,
        "prefix": prefix,
        "scopes": scopes,
        "expires_at": expires_at.map(OffsetDateTime::unix_timestamp),
        "organization_id": organization_id,
    });
    match organization_id {
        Some(org) => {
            let action = audit::API_KEY_CREATED;
            change
                .audit_in(org, action, Some(user.id), Some(user.id), details)
                .await?;
        }
        None => {
            change
                .audit(audit::API_KEY_CREATED, user.id, details)
                .await?;
        }
    }
    change.commit(Revocation::None).await?;
    let view = ApiKeyView {
        id,
        name,
        prefix,
        scopes,
        created_at: now,
        last_used_at: None,
        expires_at,
        expired: false,
        organization_id,
    };
    Ok(Ok(CreatedApiKey { key, view }))
}

/// The account's keys that are not revoked (expired ones marked), newest first.
pub async fn list(auth: &Auth, user_id: Uuid) -> Result<Vec<ApiKeyView>, FlowError> {
    let now = auth.clock.now();
    let rows = api_keys::list_for_user(&auth.db, user_id).await?;
    Ok(rows.into_iter().map(|r| ApiKeyView::of(r, now)).collect())
}

/// Revokes the current user's key `id`: it is refused from the next request on. The
/// owner is mailed and the revocation audited.
pub async fn revoke(
    auth: &Auth,
    current: &Authenticated,
    id: Uuid,
    meta: &RequestMeta,
) -> Result<RevokeOutcome, FlowError> {
    let user = &current.user;
    let mut change = auth.change(meta).await?;
    let now = auth.clock.now();
    let Some(key) = api_keys::revoke(change.tx(), user.id, id, now).await? else {
        change.rollback().await?;
        return Ok(RevokeOutcome::NotFound);
    };
    let context = json!({
        "name": key.name,
        "prefix": key.prefix,
        "settings_url": auth.route_url("/settings/api-keys"),
    });
    change.mail("api_key_revoked", &user.email, context).await?;
    let details = json!({ "key_id": key.id, "name": key.name, "prefix": key.prefix });
    change
        .audit(audit::API_KEY_REVOKED, user.id, details)
        .await?;
    // Like an ended session: answered only once no instance still holds the key in memory.
    change.commit(Revocation::EndSessions).await?;
    Ok(RevokeOutcome::Revoked)
}

/// The caller a presented key (`sigra_sk_…`, without `Bearer `) stands for, if it is a
/// live key of a usable account: not revoked, not expired, and its account not locked,
/// not waiting for deletion, not deleted. Records the use at most once a minute.
///
/// ```no_run
/// # async fn demo(auth: &sigra_core::features::Auth, header: &str) -> Result<(), sigra_core::features::FlowError> {
/// use sigra_core::features::api_keys;
/// if let Some(presented) = header.strip_prefix("Bearer ")
///     && let Some(caller) = api_keys::authenticate(auth, presented).await?
/// {
///     println!("{} with scopes {:?}", caller.user.email, caller.scopes);
/// }
/// # Ok(()) }
/// ```
pub async fn authenticate(auth: &Auth, presented: &str) -> Result<Option<ApiKeyCaller>, FlowError> {
    if !looks_like_key(presented) {
        return Ok(None);
    }
    let digest = key_hash(presented);
    let now = auth.clock.now();
    // A key validated within `cache_ms` (and its last use recorded) is answered from
    // memory; revoking flows empty the memory and wait it out like sessions'.
    let cached = crate::crypto::TokenHash::from_bytes(digest);
    let cache = &auth.api_key_cache;
    let due = |last: Option<time::OffsetDateTime>| last.is_none_or(|at| now >= at + TOUCH_INTERVAL);
    if let Some((caller, expires_at, last_used_at)) = cache.get(&cached)
        && expires_at.is_none_or(|at| now < at)
        && !due(last_used_at)
    {
        return Ok(Some(caller));
    }
    let ticket = cache.ticket();
    let Some(key) = api_keys::find_by_hash(&auth.db, &digest).await? else {
        return Ok(None);
    };
    if !constant_time_eq(&key.key_hash, &digest)
        || key.revoked_at.is_some()
        || key.expires_at.is_some_and(|at| now >= at)
    {
        return Ok(None);
    }
    let Some(user) = users::find_by_id(&auth.db, key.user_id).await? else {
        return Ok(None);
    };
    let locked = user.locked_until.is_some_and(|until| now < until);
    if locked || user.barred() || deletion::is_pending(&user) || user.deleted_at.is_some() {
        return Ok(None);
    }
    // Most uses fall inside the interval: skip the write entirely. The conditional
    // update still decides when several requests race past the check.
    let mut last_used_at = key.last_used_at;
    if due(last_used_at) && api_keys::touch(&auth.db, key.id, now, TOUCH_INTERVAL).await? == 1 {
        last_used_at = Some(now);
    }
    // An organization's key works while its creator administers that organization.
    if let Some(org) = key.organization_id
        && !administers(auth, user.id, org).await?
    {
        return Ok(None);
    }
    let caller = ApiKeyCaller {
        user,
        key_id: key.id,
        scopes: key.scopes.0,
        organization_id: key.organization_id,
    };
    cache.insert(
        &cached,
        &(caller.clone(), key.expires_at, last_used_at),
        ticket,
    );
    Ok(Some(caller))
}

impl Auth {
    /// Ends every way into the account at once, for an account that is (or may be) in
    /// someone else's hands: every session and remember-me cookie, every emailed link,
    /// every API key; in one change, audited (`credentials.revoked`, by `actor` when an
    /// administrator does it, otherwise by the account itself), answered only once no
    /// instance still accepts the ended sessions. The password stays: a reset (or an
    /// administrator) sets a new one.
    pub async fn revoke_all_credentials(
        &self,
        user_id: Uuid,
        actor: Option<Uuid>,
        meta: &RequestMeta,
    ) -> Result<RevokedCredentials, FlowError> {
        let now = self.clock.now();
        let change = self.change(meta).await?;
        let ended = sessions::delete_for_user(change.tx(), user_id, None).await?;
        tokens::delete_for_user(change.tx(), user_id, &[]).await?;
        let keys = api_keys::revoke_all_for_user(change.tx(), user_id, now).await?;
        let revoked = RevokedCredentials {
            sessions: ended,
            api_keys: keys,
        };
        let actor = actor.or(Some(user_id));
        let action = audit::CREDENTIALS_REVOKED;
        change
            .audit_by(action, actor, Some(user_id), revoked)
            .await?;
        change.commit(Revocation::EndSessions).await?;
        Ok(revoked)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_have_the_documented_shape() {
        let key = generate_key().unwrap();
        let key = key.expose();
        assert_eq!(key.len(), 52);
        assert!(key.starts_with("sigra_sk_"));
        assert!(looks_like_key(key));
        assert_ne!(key, generate_key().unwrap().expose());
    }

    #[test]
    fn malformed_keys_are_refused_before_any_lookup() {
        let key = generate_key().unwrap();
        let key = key.expose();
        assert!(!looks_like_key(&key[..51]));
        assert!(!looks_like_key(&format!("{key}A")));
        assert!(!looks_like_key(&key.replacen("sigra_sk_", "sigra_pk_", 1)));
        assert!(!looks_like_key(&format!("{}+", &key[..51])));
        assert!(!looks_like_key(""));
    }
}
