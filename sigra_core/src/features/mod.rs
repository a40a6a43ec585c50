//! Authentication flows, one module per feature.
//!
//! The modules of a capability whose Cargo feature is off (`passkeys`, `oauth`,
//! `organizations`, `admin`, `api`) are not compiled: `admin` and `impersonation` are
//! `admin`'s, `api_keys` and `api_tokens` are `api`'s, `organizations`, `memberships`
//! and `invitations` are `organizations`'.
//!
//! Every flow is a plain async function over an [`Auth`] (store, clock, config, keys,
//! hasher, mail) and its input, answering a typed result. The web layer parses the
//! request, calls one flow and maps the result to a page, a redirect or JSON.

use std::sync::{Arc, OnceLock};

use uuid::Uuid;

use crate::clock::SharedClock;
use crate::config::SigraConfig;
use crate::crypto::{FieldCipher, Keys, PasswordError, PasswordHasher, RandomError, TokenError};
use crate::jobs::WorkerHandle;
use crate::mail::{MailError, MailTemplates};
use crate::store::{Db, Executor, StoreError, new_id};

#[cfg(feature = "admin")]
pub mod admin;
#[cfg(feature = "api")]
pub mod api_keys;
#[cfg(feature = "api")]
pub mod api_tokens;
pub mod audit;
pub mod backup_codes;
pub mod change;
pub mod change_email;
pub mod change_password;
pub mod confirmation;
pub mod data_export;
pub mod deletion;
#[cfg(feature = "admin")]
pub mod impersonation;
#[cfg(feature = "organizations")]
pub mod invitations;
pub mod lockout;
pub mod login;
pub mod logout;
pub mod magic_link;
#[cfg(feature = "organizations")]
pub mod memberships;
pub mod mfa;
pub mod mfa_totp;
pub mod new_device;
#[cfg(feature = "oauth")]
pub mod oauth;
#[cfg(feature = "organizations")]
pub mod organizations;
#[cfg(feature = "passkeys")]
pub mod passkeys;
pub mod password_upgrade;
pub mod registration;
pub mod reset_password;
pub mod sessions;
pub mod set_password;
pub mod settings;
pub mod sudo;
pub mod trusted_browser;
pub mod user_fields;

pub use change::{Change, Revocation, valid_for};

/// Domain separation for [`Auth::typed_email_for_audit`]'s digests under the general
/// signing subkey. Changing it changes every digest.
const AUDIT_EMAIL_DOMAIN: &[u8] = b"sigra/v1/audit-typed-email\0";

/// Domain separation for [`Auth::recipient_digest`]. Changing it orphans the digests of
/// queued mail (throttle and purge would miss them).
const OUTBOX_RECIPIENT_DOMAIN: &[u8] = b"sigra/v1/outbox-recipient\0";

/// Everything a flow needs. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Auth {
    /// The database.
    pub db: Db,
    /// The only source of "now".
    pub clock: SharedClock,
    /// Validated configuration.
    pub config: Arc<SigraConfig>,
    /// Password hashing pool.
    pub hasher: PasswordHasher,
    /// Keys derived from the master secret.
    pub keys: Keys,
    /// Field encryption (sealed outbox payloads, secrets at rest).
    pub cipher: Arc<FieldCipher>,
    /// Mail templates.
    pub mail: Arc<MailTemplates>,
    /// The background worker, woken after mail is queued; set once it runs.
    pub worker: Arc<OnceLock<WorkerHandle>>,
    /// Validated sessions kept in memory (`sigra.session.cache_ms`; off at 0).
    pub session_cache: Arc<crate::session_cache::SessionCache>,
    /// How revocations reach the other instances and whether the caches may answer (see
    /// [`crate::session_cache::broadcast`]); started by the web layer.
    pub broadcast: Arc<crate::session_cache::Broadcast>,
    /// Validated API keys kept in memory, under the session cache's TTL and revocation
    /// rules (off at `sigra.session.cache_ms = 0`).
    #[cfg(feature = "api")]
    pub api_key_cache: Arc<crate::session_cache::SessionCache<api_keys::CachedKey>>,
    /// The Ed25519 keys of JWT access tokens (see [`api_tokens`]).
    #[cfg(feature = "api")]
    pub jwt: Arc<crate::crypto::JwtKeys>,
    /// The WebAuthn relying party of [`passkeys`] (id and origin from `sigra.public_url`
    /// and `sigra.passkeys`); `None` when the public URL's host is an IP address, which
    /// WebAuthn does not accept.
    #[cfg(feature = "passkeys")]
    pub webauthn: Option<Arc<webauthn_rs::Webauthn>>,
    /// The social log-in providers of [`oauth`] (`sigra.oauth.providers`).
    #[cfg(feature = "oauth")]
    pub oauth: Arc<oauth::Providers>,
    /// The host's extra registration fields ([`user_fields`]); none unless the web layer
    /// was given some.
    pub user_fields: Option<Arc<dyn user_fields::UserFields>>,
}

/// What differs between the flows that mail a link on request (magic link, reset).
#[derive(Debug, Clone, Copy)]
pub(crate) struct EmailedLink<'a> {
    /// The token's kind.
    pub kind: crate::crypto::TokenKind,
    /// Its lifetime.
    pub ttl_secs: i64,
    /// The route under the base path the token is appended to, e.g. `/magic-link/`.
    pub path: &'a str,
    /// The mail template.
    pub mail: &'a str,
    /// The audit action of the request.
    pub action: &'a str,
}

/// Who made a request: recorded on sessions and audit events.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RequestMeta {
    /// Client IP address.
    pub ip: Option<String>,
    /// `User-Agent` header.
    pub user_agent: Option<String>,
    /// The admin acting as the session's user, when the request comes from an
    /// impersonation session (see `impersonation`, the `admin` feature): every audit event
    /// the request causes carries it.
    pub impersonator_id: Option<Uuid>,
}

/// A flow failed for a reason that is not the user's input.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FlowError {
    /// The database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Password hashing failed or is saturated ([`PasswordError::Busy`]: answer 503).
    #[error(transparent)]
    Password(#[from] PasswordError),
    /// Mail could not be rendered or queued.
    #[error(transparent)]
    Mail(#[from] MailError),
    /// A token could not be made.
    #[error(transparent)]
    Token(#[from] TokenError),
    /// The OS random source failed.
    #[error(transparent)]
    Random(#[from] RandomError),
    /// A sealed secret could not be opened (a master secret was dropped from
    /// `old_secret_keys` too early, or the value was tampered with).
    #[error(transparent)]
    Cipher(#[from] crate::crypto::CipherError),
    /// A stored authenticator secret is unusable.
    #[error("the stored authenticator secret is unusable")]
    TotpSecret,
    /// Passkeys cannot work with this configuration: the host of `sigra.public_url` is an
    /// IP address, and WebAuthn needs a domain (`localhost` counts).
    #[error("passkeys need a domain in sigra.public_url, not an IP address")]
    PasskeysUnavailable,
    /// A passkey ceremony could not be started or its stored state read back (a bug, or
    /// state written by an incompatible version).
    #[error("passkey ceremony failed: {0}")]
    Webauthn(String),
    /// The host's [`user_fields::UserFields::store`] failed: the registration rolled back.
    #[error("the host's user fields could not be stored: {0}")]
    UserFields(#[from] user_fields::HookError),
}

impl FlowError {
    /// A stable machine-readable reason.
    pub fn reason(&self) -> &'static str {
        match self {
            FlowError::Store(e) => e.reason(),
            FlowError::Password(e) => e.reason(),
            FlowError::Mail(e) => e.reason(),
            FlowError::Token(e) => e.reason(),
            FlowError::Random(e) => e.reason(),
            FlowError::Cipher(e) => e.reason(),
            FlowError::TotpSecret => "totp_secret_unusable",
            FlowError::PasskeysUnavailable => "passkeys_unavailable",
            FlowError::Webauthn(_) => "webauthn_failed",
            FlowError::UserFields(e) => e.reason(),
        }
    }

    /// Whether the failure is load shedding, to be answered with 503 and `Retry-After`.
    pub fn is_busy(&self) -> bool {
        matches!(self, FlowError::Password(PasswordError::Busy))
    }

    /// Whether the database is out of reach for now ([`StoreError::is_unavailable`]):
    /// nothing was written (the change rolled back) and a retry later may succeed.
    pub fn is_unavailable(&self) -> bool {
        matches!(self, FlowError::Store(e) if e.is_unavailable())
    }
}

/// A time as pages and mails show it.
///
/// ```
/// let t = time::macros::datetime!(2026-11-22 05:51:30 UTC);
/// assert_eq!(sigra_core::features::human_time(t), "2026-11-22 05:51 UTC");
/// ```
pub fn human_time(t: time::OffsetDateTime) -> String {
    let format = time::macros::format_description!("[year]-[month]-[day] [hour]:[minute] UTC");
    t.format(&format).unwrap_or_default()
}

/// Why [`Auth::build`] could not make an [`Auth`].
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BuildError {
    /// A setting is out of range.
    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),
    /// `sigra.secret_key` is not set (the web layer makes a random one in development).
    #[error("`sigra.secret_key` (or SIGRA_SECRET_KEY, 32+ characters) is required")]
    NoSecretKey,
    /// A master secret cannot derive keys.
    #[error(transparent)]
    Keys(#[from] crate::crypto::KeysError),
    /// The database could not be migrated ([`FlowError::Store`]), the password hashing
    /// pool could not start ([`FlowError::Password`]), or a mail template (an override)
    /// does not parse ([`FlowError::Mail`]).
    #[error(transparent)]
    Setup(#[from] FlowError),
}

impl BuildError {
    /// A stable machine-readable reason.
    pub fn reason(&self) -> &'static str {
        match self {
            BuildError::Config(e) => e.reason(),
            BuildError::NoSecretKey => "secret_key_missing",
            BuildError::Keys(e) => e.reason(),
            BuildError::Setup(e) => e.reason(),
        }
    }
}

impl Auth {
    /// Everything a flow needs, from validated settings: keys derived from
    /// `sigra.secret_key` (and `old_secret_keys`), the database migrated (unless
    /// `run_migrations = false`), the password hashing pool started, the mail templates
    /// loaded (overrides from `template_dir/sigra/email/`). The background worker is not
    /// started: the caller does that once it serves. A setting that asks for a capability
    /// this build left out is logged as a warning and has no effect.
    pub async fn build(
        config: SigraConfig,
        db: Db,
        clock: SharedClock,
        template_dir: Option<&std::path::Path>,
    ) -> Result<Auth, BuildError> {
        config.validate()?;
        for (key, capability) in crate::capabilities::ignored_settings(&config) {
            log::warn!("{key} has no effect: Sigra was built without its `{capability}` feature");
        }
        let secret = config.secret_key.as_ref().ok_or(BuildError::NoSecretKey)?;
        let old: Vec<&[u8]> = config
            .old_secret_keys
            .iter()
            .map(|s| s.expose().as_bytes())
            .collect();
        let keys = Keys::new(secret.expose().as_bytes(), &old)?;
        if config.run_migrations {
            db.migrate().await.map_err(FlowError::from)?;
        }
        let workers = match config.password.hashing_workers {
            0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
            n => n,
        };
        let params = config.argon2_params();
        let queue = config.password.hashing_queue;
        let hasher = PasswordHasher::new(params, workers, queue).map_err(FlowError::from)?;
        let mail = MailTemplates::new(template_dir).map_err(FlowError::from)?;
        let mail = mail.with_app_name(config.app_name.clone());
        let cipher = Arc::new(FieldCipher::new(&keys));
        #[cfg(feature = "api")]
        let jwt = Arc::new(crate::crypto::JwtKeys::new(&keys));
        let broadcast = Arc::new(session_broadcast(&config, &db, &keys).await?);
        let gate = broadcast.gate().clone();
        let session_cache = Arc::new(crate::session_cache::SessionCache::new(
            config.session.cache_ms,
            gate.clone(),
        ));
        #[cfg(feature = "api")]
        let api_key_cache = Arc::new(crate::session_cache::SessionCache::new(
            config.session.cache_ms,
            gate,
        ));
        #[cfg(feature = "passkeys")]
        let webauthn = passkeys::relying_party(&config)?.map(Arc::new);
        #[cfg(feature = "oauth")]
        let oauth = Arc::new(oauth::Providers::new(&config.oauth)?);
        Ok(Auth {
            db,
            clock,
            config: Arc::new(config),
            hasher,
            keys,
            cipher,
            mail: Arc::new(mail),
            worker: Arc::new(OnceLock::new()),
            session_cache,
            broadcast,
            #[cfg(feature = "api")]
            api_key_cache,
            #[cfg(feature = "api")]
            jwt,
            #[cfg(feature = "passkeys")]
            webauthn,
            #[cfg(feature = "oauth")]
            oauth,
            user_fields: None,
        })
    }
}

/// The broadcast of revocations this deployment's configuration calls for (see
/// [`crate::session_cache::broadcast`]); not started.
async fn session_broadcast(
    config: &SigraConfig,
    db: &Db,
    keys: &Keys,
) -> Result<crate::session_cache::Broadcast, FlowError> {
    use crate::session_cache::{Broadcast, Gate, Transport, broadcast};
    let cache_ms = config.session.cache_ms;
    // Validation checked the URL, so it opens.
    let client = config
        .redis_url
        .as_ref()
        .and_then(|url| redis::Client::open(url.expose()).ok());
    let transport = Transport::choose(db.backend(), client.is_some(), cache_ms);
    let (redis, channel) = match (transport, client) {
        (Transport::Redis, Some(client)) => {
            let database = broadcast::database_name(db).await?;
            (Some(client), broadcast::redis_channel(keys, &database))
        }
        _ => (None, String::new()),
    };
    if transport == Transport::Off && cache_ms > 0 {
        log::warn!(
            "sigra: session cache off: on MySQL, revocations reach other instances only \
             through sigra.redis_url"
        );
    }
    Ok(Broadcast::new(
        transport,
        cache_ms,
        std::sync::Arc::new(Gate::new()),
        db.clone(),
        redis,
        channel,
    ))
}

/// A way to sign in that is about to go (see [`other_way_in`]).
#[derive(Debug, Clone, Copy)]
#[cfg_attr(not(all(feature = "passkeys", feature = "oauth")), allow(dead_code))]
pub(crate) enum WayIn {
    /// A passkey.
    Passkey(Uuid),
    /// A linked provider account.
    Identity(Uuid),
}

/// Whether the account keeps a way to sign in without `except`: a password, a passkey or
/// a linked provider account. Magic links do not count: they reach only an address the
/// owner may lose. Passkeys and linked accounts count whether or not their capability is
/// built in: they are rows of the account either way.
#[cfg_attr(not(any(feature = "passkeys", feature = "oauth")), allow(dead_code))]
pub(crate) async fn other_way_in(
    ex: &impl Executor,
    user: &crate::store::User,
    except: WayIn,
) -> Result<bool, FlowError> {
    if user.has_password() {
        return Ok(true);
    }
    let (passkey, identity) = match except {
        WayIn::Passkey(id) => (Some(id), None),
        WayIn::Identity(id) => (None, Some(id)),
    };
    if crate::store::passkeys::count_for_user(ex, user.id, passkey).await? > 0 {
        return Ok(true);
    }
    Ok(crate::store::oauth::count_for_user(ex, user.id, identity).await? > 0)
}

/// How often [`Auth::retrying`] runs a flow whose transaction the database aborted.
const CONFLICT_TRIES: usize = 3;

impl Auth {
    /// Runs `flow`, and runs it again (up to three times in all) when the database aborted
    /// its transaction to break a deadlock or a serialization conflict. For flows whose
    /// one transaction counts attempts under contention (MySQL's next-key locks can
    /// deadlock two such transactions): nothing of an aborted try was committed, so
    /// running it again counts each attempt once.
    pub(crate) async fn retrying<T, F, Fut>(&self, mut flow: F) -> Result<T, FlowError>
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Result<T, FlowError>>,
    {
        let mut tries = 1;
        loop {
            match flow().await {
                Err(FlowError::Store(e)) if e.is_retryable() && tries < CONFLICT_TRIES => {
                    log::warn!("transaction aborted by the database ({e}); running it again");
                    tries += 1;
                }
                other => return other,
            }
        }
    }

    /// Makes a single-use emailed token of `kind` for `user_id`, replacing older ones of
    /// the same kind, and answers the plaintext for the link.
    pub(crate) async fn emailed_token(
        &self,
        ex: &impl Executor,
        user_id: Uuid,
        kind: crate::crypto::TokenKind,
        sent_to: &str,
        ttl_secs: i64,
    ) -> Result<crate::crypto::Token, FlowError> {
        let token = crate::crypto::Token::generate()?;
        self.store_token(ex, user_id, kind, &token.hash(), sent_to, ttl_secs)
            .await?;
        Ok(token)
    }

    /// Stores a token hash of `kind`, replacing older ones of the same kind.
    pub(crate) async fn store_token(
        &self,
        ex: &impl Executor,
        user_id: Uuid,
        kind: crate::crypto::TokenKind,
        hash: &crate::crypto::TokenHash,
        sent_to: &str,
        ttl_secs: i64,
    ) -> Result<(), FlowError> {
        let now = self.clock.now();
        crate::store::tokens::delete_for_user(ex, user_id, &[kind]).await?;
        crate::store::tokens::insert(
            ex,
            &crate::store::tokens::NewToken {
                id: new_id(self.clock.as_ref()),
                user_id,
                hash,
                kind,
                sent_to: Some(sent_to),
                expires_at: now + time::Duration::seconds(ttl_secs),
                created_at: now,
            },
        )
        .await?;
        Ok(())
    }

    /// Whether a mail of `kind` went to this user within the resend throttle window.
    pub(crate) async fn throttled(
        &self,
        ex: &impl Executor,
        user_id: Uuid,
        kind: crate::crypto::TokenKind,
    ) -> Result<bool, FlowError> {
        let window = time::Duration::seconds(self.config.tokens.resend_throttle_secs);
        let latest = crate::store::tokens::latest_created_at(ex, user_id, kind).await?;
        Ok(latest.is_some_and(|at| self.clock.now() < at + window))
    }

    /// Mails a single-use link (`link.path` + token) to `email` when it has an account and
    /// no such mail went out within the throttle window; otherwise does the same work
    /// without sending. The caller answers the same either way.
    pub(crate) async fn mail_link_if_known(
        &self,
        email: &str,
        link: &EmailedLink<'_>,
        meta: &RequestMeta,
    ) -> Result<(), FlowError> {
        let email = crate::store::normalize_email(email);
        let mut change = self.change(meta).await?;
        let user = crate::store::users::find_by_email(change.tx(), &email).await?;
        let due = match &user {
            Some(u) => !self.throttled(change.tx(), u.id, link.kind).await?,
            None => false,
        };
        match user {
            Some(user) if due => {
                let token = self
                    .emailed_token(change.tx(), user.id, link.kind, &user.email, link.ttl_secs)
                    .await?;
                let path = format!("{}{}", link.path, token.as_str());
                let data = serde_json::json!({});
                change
                    .mail_link(link.mail, &user.email, link.ttl_secs, &path, data)
                    .await?;
                change
                    .audit_by(link.action, None, Some(user.id), serde_json::json!({}))
                    .await?;
                change.commit(Revocation::None).await?;
            }
            _ => {
                change.rollback().await?;
                let context = serde_json::json!({ "url": "" });
                self.decoy_mail(link.mail, &email, context, link.action, meta)
                    .await?;
            }
        }
        Ok(())
    }

    /// What a request about an address without an account does in place of mailing it, on
    /// enumeration-sensitive routes: the same template rendering and a committed write
    /// (the audit event of the request), so all addresses answer in similar time.
    pub(crate) async fn decoy_mail(
        &self,
        kind: &str,
        to: &str,
        context: serde_json::Value,
        action: &str,
        meta: &RequestMeta,
    ) -> Result<(), FlowError> {
        let _ = self.mail.render(kind, to, &context);
        let change = self.change(meta).await?;
        let details = serde_json::json!({ "email": self.typed_email_for_audit(to), "sent": false });
        change.audit_by(action, None, None, details).await?;
        change.commit(Revocation::None).await
    }

    /// What an audit event records of an address someone typed (log-in, magic link,
    /// forgot password, resend): the normalized address when it is a valid one (at most
    /// 254 characters), otherwise `hmac:` and a keyed digest of it. People type passwords
    /// into email fields, and a form field may hold 32 KiB: neither belongs in the audit
    /// log, yet the same mistyped value still correlates across events. The digest is an
    /// HMAC (subkey `Purpose::Signing`, domain-separated), so it cannot be reversed by
    /// hashing guesses without the master secret.
    pub fn typed_email_for_audit(&self, typed: &str) -> String {
        let email = crate::store::normalize_email(typed);
        if registration::valid_email(&email) {
            return email;
        }
        let mut message = AUDIT_EMAIL_DOMAIN.to_vec();
        message.extend_from_slice(email.as_bytes());
        let tag = self.keys.sign(crate::crypto::Purpose::Signing, &message);
        format!("hmac:{}", crate::crypto::to_hex(&tag))
    }

    /// The digest an outbox row keeps of its recipient: HMAC-SHA256 of the normalized
    /// address (subkey `Purpose::Signing`, domain-separated), hex. Keyed, so a copy of the
    /// table cannot be checked against a list of addresses.
    pub fn recipient_digest(&self, address: &str) -> String {
        let mut message = OUTBOX_RECIPIENT_DOMAIN.to_vec();
        message.extend_from_slice(crate::store::normalize_email(address).as_bytes());
        crate::crypto::to_hex(&self.keys.sign(crate::crypto::Purpose::Signing, &message))
    }

    /// The resend throttle (`sigra.tokens.resend_throttle_secs`, DESIGN §5: one mail per
    /// kind per address per window): whether a mail of `kind` may go to `to` now, that
    /// is, none was queued for it within the window. Read in the caller's transaction;
    /// two requests racing can both see "due", which costs at most one extra mail.
    pub(crate) async fn mail_due(
        &self,
        ex: &impl Executor,
        kind: &str,
        to: &str,
    ) -> Result<bool, FlowError> {
        let window = time::Duration::seconds(self.config.tokens.resend_throttle_secs);
        if window.is_zero() {
            return Ok(true);
        }
        let digest = self.recipient_digest(to);
        let tag = crate::store::outbox::MailTag {
            mail_kind: kind,
            recipient_digest: &digest,
        };
        let since = self.clock.now() - window;
        Ok(!crate::store::outbox::queued_since(ex, tag, since).await?)
    }

    /// A link to `path` (starting with `/`) under the public URL.
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.config.public_url, path)
    }

    /// A link to `path` under Sigra's base path.
    pub fn route_url(&self, path: &str) -> String {
        self.url(&format!("{}{}", self.config.base_path, path))
    }

    /// Whether an emailed link of `kind` is still good (for its landing page; uses
    /// nothing up).
    pub async fn link_valid(
        &self,
        kind: crate::crypto::TokenKind,
        token: &str,
    ) -> Result<bool, FlowError> {
        Ok(self.valid_link(kind, token).await?.is_some())
    }

    /// The stored token behind an emailed link of `kind`, if the link is still good (uses
    /// nothing up).
    pub(crate) async fn valid_link(
        &self,
        kind: crate::crypto::TokenKind,
        token: &str,
    ) -> Result<Option<crate::store::UserToken>, FlowError> {
        let Ok(hash) = crate::crypto::TokenHash::of_encoded(token) else {
            return Ok(None);
        };
        let now = self.clock.now();
        Ok(crate::store::tokens::find_valid(&self.db, &hash, kind, now).await?)
    }
}
