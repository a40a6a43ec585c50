//! Sigra's configuration: the `sigra` section of `Rocket.toml` plus `SIGRA_`-prefixed
//! environment variables.
//!
//! Every key has a default, documented on its field. Nested sections are separated by
//! `__` in environment variables: `SIGRA_SESSION__IDLE_TIMEOUT_SECS=3600` sets
//! `sigra.session.idle_timeout_secs`.
//!
//! ```toml
//! [default.sigra]
//! base_path = "/users"
//! secret_key = "a long random string of at least 32 characters......"
//!
//! [default.sigra.session]
//! idle_timeout_secs = 86400
//! ```
//!
//! ```
//! use figment::{Figment, providers::{Format, Toml}};
//! use sigra_core::SigraConfig;
//!
//! let figment = Figment::from(Toml::string("[sigra]\nbase_path = \"/auth\""));
//! let config = SigraConfig::from_figment(&figment).unwrap();
//! assert_eq!(config.base_path, "/auth");
//! assert_eq!(config.session.idle_timeout_secs, 86_400);
//! ```

use std::fmt;
use std::ops::RangeInclusive;

use figment::Figment;
use figment::providers::Env;
use serde::{Deserialize, Serialize};

use crate::crypto::Argon2Params;
use crate::secret::SecretString;

/// A configuration value that Sigra cannot start with.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// A key holds a value outside what it accepts.
    #[error("invalid configuration: `{key}` is {found}, expected {expected}")]
    Invalid {
        /// The full key, for example `sigra.session.idle_timeout_secs`.
        key: String,
        /// What the key accepts.
        expected: String,
        /// What was found (never a secret's value).
        found: String,
    },
    /// The configuration could not be read (a wrong type, an unknown key).
    #[error("invalid configuration: {0}")]
    Extract(String),
}

impl ConfigError {
    /// A stable machine-readable reason.
    pub fn reason(&self) -> &'static str {
        match self {
            ConfigError::Invalid { .. } => "config_invalid_value",
            ConfigError::Extract(_) => "config_unreadable",
        }
    }
}

/// What to do with an account when its scheduled deletion comes due.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeletionStrategy {
    /// Keep the row, scrub personal data.
    Anonymize,
    /// Keep the row, mark it deleted.
    SoftDelete,
    /// Delete the row and everything that hangs off it.
    HardDelete,
}

/// All of Sigra's settings.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct SigraConfig {
    /// Where Sigra's pages and endpoints are mounted. Default `"/users"`.
    pub base_path: String,
    /// Product name shown in pages and mail subjects. Default `"Sigra"`.
    pub app_name: String,
    /// Public origin used to build links in mails, e.g. `"https://example.com"`.
    /// Default `"http://127.0.0.1:8000"`.
    pub public_url: String,
    /// The master secret (at least 32 characters); every key Sigra uses is derived from
    /// it. Default: none. Required in release; in debug a random one is made at launch
    /// (sessions then end with the process).
    pub secret_key: Option<SecretString>,
    /// Earlier master secrets, still accepted for verification while rotating. Default empty.
    pub old_secret_keys: Vec<SecretString>,
    /// Where a log-in without a `return_to` lands. Default `"/"`.
    pub after_login_path: String,
    /// Where log-out lands. Default `"/"`.
    pub after_logout_path: String,
    /// Folder holding page and mail overrides (`sigra/<page>.html.tera`,
    /// `sigra/email/<kind>.txt.tera`). Default: Rocket's `template_dir`. Point it elsewhere
    /// when the app's own `rocket_dyn_templates` scans that folder, since an override that
    /// extends `sigra/layout.html` cannot load there.
    pub template_dir: Option<String>,
    /// Run the embedded migrations at launch. Default `true`.
    pub run_migrations: bool,
    /// Serve the development mailbox at `/dev/mailbox`. Default: on in the `debug` profile.
    /// In every other profile it stays off, and setting it to `true` there fails launch:
    /// only [`danger_dev_mailbox`](Self::danger_dev_mailbox) turns it on in production.
    pub dev_mailbox: Option<bool>,
    /// Serve the development mailbox in a production profile too. Anyone who can reach it
    /// reads every mail Sigra sends, reset links included. Default `false`.
    pub danger_dev_mailbox: bool,
    /// Mark cookies `Secure` (and use the `__Host-` prefix). Default: on in every profile
    /// other than `debug`, and in `debug` when Rocket serves TLS. Setting it to `false` in
    /// production fails launch: only
    /// [`danger_insecure_cookies`](Self::danger_insecure_cookies) does that.
    pub secure_cookies: Option<bool>,
    /// Send cookies without `Secure` in a production profile (a deployment whose TLS ends
    /// somewhere that cannot be trusted with the cookie's name prefix). Default `false`.
    pub danger_insecure_cookies: bool,
    /// The parent domain Sigra's shared cookies (session, remember-me, CSRF binding,
    /// trusted browser, social log-in, impersonation) are scoped to, so one log-in serves
    /// every subdomain of it: `"example.com"` (a leading dot is allowed and ignored).
    /// Lower case, at least one dot, no scheme, port or path, not an IP address; the host
    /// of [`public_url`](Self::public_url) must be it or a subdomain of it. Secure cookies
    /// then carry the `__Secure-` prefix instead of `__Host-` (which forbids `Domain`).
    /// Every subdomain, yours or not, then receives the session cookie. Default: none
    /// (host-only `__Host-` cookies).
    pub cookie_domain: Option<String>,
    /// Origins (`scheme://host[:port]`, as browsers send them in `Origin`) whose forms and
    /// scripts may post to Sigra besides its own host and `public_url`: the other
    /// subdomains of the site, e.g. `["https://admin.example.com"]`. A request from one
    /// of them is accepted with `Sec-Fetch-Site: same-site`. `https` only outside the
    /// `debug` profile, unless the host is loopback. Default empty.
    pub trusted_origins: Vec<String>,
    /// Refuse log-in to accounts that have not confirmed their email. Default `false`.
    pub require_confirmation: bool,
    /// Password policy and hashing.
    pub password: PasswordConfig,
    /// Session lifetimes and cookie.
    pub session: SessionConfig,
    /// Lifetimes of emailed tokens.
    pub tokens: TokenConfig,
    /// Re-authentication window.
    pub sudo: SudoConfig,
    /// Failed-password lockout.
    pub lockout: LockoutConfig,
    /// Mail delivery.
    pub mail: MailConfig,
    /// Rate limiting of the authentication endpoints.
    pub rate_limit: RateLimitConfig,
    /// Redis server every app instance shares
    /// (`redis://[[user]:password@]host[:port][/db]` or `redis+unix:///path`; no TLS):
    /// rate-limit counters, and the revocations of the session cache on SQLite and MySQL
    /// (PostgreSQL deployments use `LISTEN/NOTIFY`; see [`crate::session_cache`]). Default
    /// none: counts are kept in this process's memory, and on MySQL the session cache
    /// stays off. When Redis fails, rate limits count in memory and the session cache
    /// reads the database until it answers again.
    pub redis_url: Option<SecretString>,
    /// Scheduled account deletion.
    pub deletion: DeletionConfig,
    /// Second factor (authenticator app, backup codes, trusted browsers).
    pub mfa: MfaConfig,
    /// How long finished mail and expired sessions and tokens are kept.
    pub retention: RetentionConfig,
    /// Personal API keys.
    pub api_keys: ApiKeysConfig,
    /// Mail the owner when an account signs in from a browser it has not used before
    /// (see `sigra_core::features::new_device`). Default `true`.
    pub new_device_alert: bool,
    /// JWT access tokens and refresh tokens for API clients.
    pub api_tokens: ApiTokensConfig,
    /// Passkeys (WebAuthn).
    pub passkeys: PasskeysConfig,
    /// Social log-in: OAuth 2 and OpenID Connect providers.
    pub oauth: OauthConfig,
    /// Organizations: memberships, roles and invitations.
    pub organizations: OrganizationsConfig,
    /// The admin console and impersonation.
    pub admin: AdminConfig,
}

/// `sigra.organizations`: tenants, their members and invitations (see
/// `sigra_core::features::organizations`).
///
/// Off by default in the library: its pages live at `/organizations`, outside Sigra's
/// base path, in the host app's own URL space, so the host turns it on knowingly.
///
/// ```toml
/// [default.sigra.organizations]
/// enabled = true
/// personal = true
/// ```
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct OrganizationsConfig {
    /// Mount the organization pages and let accounts create and join organizations.
    /// Default `false`.
    pub enabled: bool,
    /// Make every new account a personal organization (its only owner) at registration.
    /// Default `false`.
    pub personal: bool,
    /// Days an invitation stays good. Default `7` (accepted 1..=30).
    pub invitation_days: i64,
    /// Invitations one organization may send per hour. Default `20` (accepted 1..=1000).
    pub invitations_per_hour: i64,
    /// Organizations one account may belong to. Default `100` (accepted 1..=10000).
    pub max_per_user: i64,
}

impl Default for OrganizationsConfig {
    fn default() -> Self {
        Self {
            enabled: false,
            personal: false,
            invitation_days: 7,
            invitations_per_hour: 20,
            max_per_user: 100,
        }
    }
}

impl OrganizationsConfig {
    /// Checks `sigra.organizations`.
    pub fn validate(&self) -> Result<(), ConfigError> {
        check_range(
            "sigra.organizations.invitation_days",
            self.invitation_days,
            1..=30,
        )?;
        check_range(
            "sigra.organizations.invitations_per_hour",
            self.invitations_per_hour,
            1..=1000,
        )?;
        check_range(
            "sigra.organizations.max_per_user",
            self.max_per_user,
            1..=10_000,
        )
    }
}

/// `sigra.admin`: the admin console (see `sigra_core::features::admin` and
/// `sigra_core::features::impersonation`).
///
/// Off by default in the library: its pages live at `/admin`, outside Sigra's base
/// path, in the host's URL space, so a host turns them on knowingly.
///
/// ```toml
/// [default.sigra.admin]
/// enabled = true
/// emails = ["ops@example.com"]   # made admins when they confirm their address
/// ```
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct AdminConfig {
    /// Mount the admin console at `/admin`. Default `false`.
    pub enabled: bool,
    /// Addresses made platform admins when they confirm them (by link, code, invitation
    /// or a provider's verified email). Default none.
    pub emails: Vec<String>,
    /// How long an impersonation lasts at most, in minutes. Default `30` (accepted
    /// 1..=30).
    pub impersonation_minutes: i64,
    /// Mail the user after an admin acted as them. Default `true`.
    pub notify_impersonated: bool,
    /// Let organization admins impersonate members of their own organization (never an
    /// owner or admin of it, never a platform admin), under the same guardrails.
    /// Default `false`.
    pub org_impersonation: bool,
}

impl Default for AdminConfig {
    fn default() -> Self {
        Self {
            enabled: false,
            emails: Vec::new(),
            impersonation_minutes: 30,
            notify_impersonated: true,
            org_impersonation: false,
        }
    }
}

impl AdminConfig {
    /// Checks `sigra.admin`.
    pub fn validate(&self) -> Result<(), ConfigError> {
        for email in &self.emails {
            if !email.contains('@') {
                return Err(invalid(
                    "sigra.admin.emails",
                    "email addresses",
                    format_args!("{email:?}"),
                ));
            }
        }
        check_range(
            "sigra.admin.impersonation_minutes",
            self.impersonation_minutes,
            1..=30,
        )
    }

    /// Whether `email` (normalized) is listed in `emails`.
    pub fn bootstraps(&self, email: &str) -> bool {
        self.emails
            .iter()
            .any(|e| crate::store::normalize_email(e) == email)
    }
}

/// `sigra.oauth`: social log-in (see `sigra_core::features::oauth`).
///
/// ```toml
/// [default.sigra.oauth.providers.google]
/// kind = "google"
/// client_id = "1234.apps.googleusercontent.com"
/// client_secret = "…"   # or SIGRA_OAUTH__PROVIDERS__GOOGLE__CLIENT_SECRET
/// trust_email = true
/// ```
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct OauthConfig {
    /// The providers, by name: the name is the URL segment (`<base>/auth/<name>`), so
    /// 1 to 32 of `a-z`, `0-9`, `-`, `_`. Default: none.
    pub providers: std::collections::BTreeMap<String, OauthProviderConfig>,
}

/// What kind of provider an entry of `sigra.oauth.providers` is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProviderKind {
    /// Google (OpenID Connect, issuer `https://accounts.google.com`).
    Google,
    /// GitHub (plain OAuth 2; the email comes from its API).
    Github,
    /// Sign in with Apple (OpenID Connect with `form_post` and an ES256 client secret).
    Apple,
    /// Any OpenID Connect provider, found by discovery from `issuer`.
    Oidc,
}

/// How an OpenID provider sends the browser back.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ResponseMode {
    /// A redirect with `?code=…&state=…` (the default).
    Query,
    /// A cross-site POST of `code` and `state` (Apple's only mode when asking for the name).
    FormPost,
}

/// One entry of `sigra.oauth.providers`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct OauthProviderConfig {
    /// `google`, `github`, `apple` or `oidc`. Required.
    pub kind: Option<ProviderKind>,
    /// The client id registered at the provider (Apple: the Services ID). Required.
    pub client_id: String,
    /// The client secret. Required, except for `apple` (made from `private_key`).
    pub client_secret: Option<SecretString>,
    /// The OpenID issuer, exactly as the provider states it; discovery reads
    /// `<issuer>/.well-known/openid-configuration`. Required for `oidc`; defaults to
    /// Google's and Apple's for those. `https`, or `http` on a loopback address.
    pub issuer: Option<String>,
    /// The scopes asked for. Default: `email profile` (OpenID kinds, which always ask for
    /// `openid`), `name email` (Apple), `read:user user:email` (GitHub).
    pub scopes: Option<Vec<String>>,
    /// The name on the buttons. Default: "Google", "GitHub", "Apple", or the provider's
    /// configured name.
    pub display_name: Option<String>,
    /// Link a provider account to an existing Sigra account with the same email address
    /// without asking the owner to sign in first, when the provider says the address is
    /// verified. Only for providers that verify addresses they assert (Google does for
    /// its own accounts). Default `false`.
    pub trust_email: bool,
    /// How the provider sends the browser back (OpenID kinds). Default `query`; Apple
    /// always uses `form_post`.
    pub response_mode: Option<ResponseMode>,
    /// Apple: the team id of the developer account. Required for `apple`.
    pub team_id: Option<String>,
    /// Apple: the id of the Sign in with Apple key. Required for `apple`.
    pub key_id: Option<String>,
    /// Apple: the `.p8` private key (PKCS#8 PEM) that signs the client secret. Required
    /// for `apple`.
    pub private_key: Option<SecretString>,
    /// GitHub: the authorization endpoint (GitHub Enterprise Server). Default
    /// `https://github.com/login/oauth/authorize`.
    pub auth_url: Option<String>,
    /// GitHub: the token endpoint. Default `https://github.com/login/oauth/access_token`.
    pub token_url: Option<String>,
    /// GitHub: the REST API root. Default `https://api.github.com`.
    pub api_url: Option<String>,
}

#[cfg(feature = "oauth")]
impl OauthConfig {
    /// Checks every provider: its name, the keys its kind requires, the URLs and the
    /// Apple key (parsed, never echoed).
    pub fn validate(&self) -> Result<(), ConfigError> {
        for (name, provider) in &self.providers {
            let well_formed = (1..=32).contains(&name.len())
                && name
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"-_".contains(&b));
            if !well_formed {
                return Err(invalid(
                    "sigra.oauth.providers",
                    "provider names of 1 to 32 characters from a-z, 0-9, - and _",
                    format_args!("{name:?}"),
                ));
            }
            provider.validate(&format!("sigra.oauth.providers.{name}"))?;
        }
        Ok(())
    }
}

#[cfg(feature = "oauth")]
impl OauthProviderConfig {
    fn validate(&self, prefix: &str) -> Result<(), ConfigError> {
        let key = |k: &str| format!("{prefix}.{k}");
        let Some(kind) = self.kind else {
            return Err(invalid(
                &key("kind"),
                "one of \"google\", \"github\", \"apple\", \"oidc\"",
                "missing",
            ));
        };
        if self.client_id.trim().is_empty() {
            return Err(invalid(
                &key("client_id"),
                "the client id from the provider",
                "empty",
            ));
        }
        let secret_missing = self
            .client_secret
            .as_ref()
            .is_none_or(|s| s.expose().trim().is_empty());
        if kind != ProviderKind::Apple && secret_missing {
            return Err(invalid(
                &key("client_secret"),
                "the client secret from the provider",
                "missing",
            ));
        }
        if kind == ProviderKind::Oidc && self.issuer.is_none() {
            return Err(invalid(
                &key("issuer"),
                "the provider's issuer URL",
                "missing",
            ));
        }
        if let Some(issuer) = &self.issuer {
            if kind == ProviderKind::Github {
                return Err(invalid(
                    &key("issuer"),
                    "no issuer for a GitHub provider",
                    "set",
                ));
            }
            check_provider_url(&key("issuer"), issuer)?;
        }
        for (k, value) in [
            ("auth_url", &self.auth_url),
            ("token_url", &self.token_url),
            ("api_url", &self.api_url),
        ] {
            if let Some(url) = value {
                if kind != ProviderKind::Github {
                    return Err(invalid(&key(k), "only for a GitHub provider", "set"));
                }
                check_provider_url(&key(k), url)?;
            }
        }
        if let Some(scopes) = &self.scopes {
            let bad = scopes
                .iter()
                .find(|s| s.is_empty() || s.chars().any(|c| c.is_whitespace() || c.is_control()));
            if let Some(bad) = bad {
                return Err(invalid(
                    &key("scopes"),
                    "scope names without spaces",
                    format_args!("{bad:?}"),
                ));
            }
        }
        if self
            .display_name
            .as_deref()
            .is_some_and(|n| n.trim().is_empty())
        {
            return Err(invalid(&key("display_name"), "a non-empty string", "\"\""));
        }
        if kind == ProviderKind::Github && self.response_mode == Some(ResponseMode::FormPost) {
            return Err(invalid(
                &key("response_mode"),
                "\"query\" for GitHub",
                "\"form_post\"",
            ));
        }
        if kind == ProviderKind::Apple {
            for (k, value) in [("team_id", &self.team_id), ("key_id", &self.key_id)] {
                if value.as_deref().is_none_or(|v| v.trim().is_empty()) {
                    return Err(invalid(
                        &key(k),
                        "the value from Apple's developer account",
                        "missing",
                    ));
                }
            }
            let parsed = self
                .private_key
                .as_ref()
                .map(|pem| crate::crypto::apple_signing_key(pem.expose()));
            match parsed {
                Some(Ok(_)) => {}
                Some(Err(())) => {
                    return Err(invalid(
                        &key("private_key"),
                        "the .p8 key from Apple (a PKCS#8 PEM P-256 private key)",
                        "a value that is not one",
                    ));
                }
                None => {
                    return Err(invalid(
                        &key("private_key"),
                        "the .p8 key from Apple (a PKCS#8 PEM P-256 private key)",
                        "missing",
                    ));
                }
            }
        } else {
            for (k, value) in [("team_id", &self.team_id), ("key_id", &self.key_id)] {
                if value.is_some() {
                    return Err(invalid(&key(k), "only for an Apple provider", "set"));
                }
            }
            if self.private_key.is_some() {
                return Err(invalid(
                    &key("private_key"),
                    "only for an Apple provider",
                    "set",
                ));
            }
        }
        Ok(())
    }
}

/// A provider URL: `https://…`, or `http://` on a loopback host (a provider run locally
/// for development and tests). No query or fragment.
#[cfg(feature = "oauth")]
fn check_provider_url(key: &str, url: &str) -> Result<(), ConfigError> {
    let ok = if let Some(rest) = url.strip_prefix("https://") {
        !rest.is_empty()
    } else if url.starts_with("http://") {
        is_loopback_host(url_host(url))
    } else {
        false
    };
    if !ok || url.contains(['?', '#', ' ']) {
        return Err(invalid(
            key,
            "an https:// URL (http:// only on a loopback host), without query or fragment",
            format_args!("{url:?}"),
        ));
    }
    Ok(())
}

/// `sigra.passkeys`: passkeys (WebAuthn), see `sigra_core::features::passkeys`.
///
/// The origin passkeys are bound to is `sigra.public_url`; a browser on any other origin
/// is refused. WebAuthn needs a domain there (`localhost` counts), not an IP address:
/// with an IP address every passkey flow answers `passkeys_unavailable`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct PasskeysConfig {
    /// The relying-party id passkeys are made for: the host of `sigra.public_url` or a
    /// parent domain of it (`example.com` for `https://app.example.com`, so passkeys also
    /// work on other subdomains later). Changing it orphans every registered passkey.
    /// Default: the host of `sigra.public_url`.
    pub rp_id: Option<String>,
    /// The name authenticators show next to a passkey. Default: `sigra.app_name`.
    pub rp_name: Option<String>,
    /// A passkey sign-in (always with user verification) also passes the second factor,
    /// so an account with one is not asked for a code after it. Default `true`.
    pub satisfies_mfa: bool,
}

impl Default for PasskeysConfig {
    fn default() -> Self {
        Self {
            rp_id: None,
            rp_name: None,
            satisfies_mfa: true,
        }
    }
}

impl PasskeysConfig {
    /// Checks `sigra.passkeys` against `public_url` (already checked): `rp_id` must be
    /// the URL's host or a parent domain of it, `rp_name` not blank.
    pub fn validate(&self, public_url: &str) -> Result<(), ConfigError> {
        if let Some(rp_id) = &self.rp_id {
            let host = url_host(public_url);
            let well_formed = !rp_id.is_empty()
                && rp_id.len() <= 253
                && !rp_id.starts_with('.')
                && !rp_id.ends_with('.')
                && rp_id
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"-.".contains(&b));
            let covers = host == rp_id.as_str() || host.ends_with(&format!(".{rp_id}"));
            if !well_formed || !covers {
                return Err(invalid(
                    "sigra.passkeys.rp_id",
                    format_args!(
                        "the host of sigra.public_url ({host:?}) or a parent domain of it, in \
                         lower case"
                    ),
                    format_args!("{rp_id:?}"),
                ));
            }
        }
        if self.rp_name.as_deref().is_some_and(|n| n.trim().is_empty()) {
            return Err(invalid(
                "sigra.passkeys.rp_name",
                "a non-empty string",
                "\"\"",
            ));
        }
        Ok(())
    }

    /// The relying-party id: `rp_id`, or the host of `public_url`.
    pub fn rp_id(&self, public_url: &str) -> String {
        match &self.rp_id {
            Some(id) => id.clone(),
            None => url_host(public_url).to_owned(),
        }
    }
}

/// Whether `host` (as [`url_host`] gives it) is this machine: plain HTTP to it never
/// leaves the machine.
fn is_loopback_host(host: &str) -> bool {
    ["127.0.0.1", "localhost", "[::1]"].contains(&host)
}

/// The host of an origin like `https://example.com:8443` (no port; IPv6 in brackets kept).
fn url_host(url: &str) -> &str {
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))
        .unwrap_or(url);
    let authority = rest.rsplit_once('@').map_or(rest, |(_, host)| host);
    if authority.starts_with('[') {
        return authority
            .find(']')
            .map_or(authority, |end| &authority[..=end]);
    }
    authority.split(':').next().unwrap_or(authority)
}

/// `sigra.api_tokens`: JWT access tokens and opaque refresh tokens (see
/// `sigra_core::features::api_tokens`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct ApiTokensConfig {
    /// Lifetime of an access token. Default `900` (15 min; accepted 60..=86400).
    pub access_ttl_secs: i64,
    /// Lifetime of a refresh family, fixed at log-in. Default `2592000` (30 days; accepted
    /// 3600..=31536000).
    pub refresh_ttl_secs: i64,
    /// `iss` of issued tokens, required of presented ones. Default: `sigra.public_url`.
    pub issuer: Option<String>,
    /// `aud` of issued tokens, required of presented ones. Default: `sigra.public_url`.
    pub audience: Option<String>,
    /// Look up the session (`sid`) of every access token, so a revoked session's access
    /// tokens stop at once instead of at expiry. Default `false` (no database read).
    pub check_revocation: bool,
}

impl Default for ApiTokensConfig {
    fn default() -> Self {
        Self {
            access_ttl_secs: 15 * 60,
            refresh_ttl_secs: 30 * 24 * 3600,
            issuer: None,
            audience: None,
            check_revocation: false,
        }
    }
}

impl ApiTokensConfig {
    /// Checks `sigra.api_tokens`.
    pub fn validate(&self) -> Result<(), ConfigError> {
        check_range(
            "sigra.api_tokens.access_ttl_secs",
            self.access_ttl_secs,
            60..=86_400,
        )?;
        check_range(
            "sigra.api_tokens.refresh_ttl_secs",
            self.refresh_ttl_secs,
            3_600..=31_536_000,
        )?;
        for (key, value) in [
            ("sigra.api_tokens.issuer", &self.issuer),
            ("sigra.api_tokens.audience", &self.audience),
        ] {
            if value.as_deref().is_some_and(|v| v.trim().is_empty()) {
                return Err(invalid(key, "a non-empty string", "\"\""));
            }
        }
        Ok(())
    }
}

/// `sigra.retention`: what the background worker's retention sweep deletes, and when.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct RetentionConfig {
    /// Days an outbox job is kept after it was sent (or given up); its sealed mail goes
    /// with it. Default `7` (accepted 1..=365).
    pub outbox_days: i64,
    /// Days sessions and emailed or remember-me tokens are kept after they expired.
    /// Default `0` (deleted at the first sweep after expiry; accepted 0..=365).
    pub expired_days: i64,
    /// Seconds between two retention sweeps of one worker. Default `86400` (daily;
    /// accepted 60..=604800).
    pub interval_secs: i64,
}

impl Default for RetentionConfig {
    fn default() -> Self {
        Self {
            outbox_days: 7,
            expired_days: 0,
            interval_secs: 24 * 3600,
        }
    }
}

/// `sigra.mfa`: the second factor.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct MfaConfig {
    /// Issuer shown in authenticator apps. Default: `app_name`.
    pub issuer: Option<String>,
    /// Wrong codes before codes are refused for `lock_secs`. Default `5` (accepted 1..=100).
    pub max_failed: i32,
    /// How long codes are refused after too many wrong ones. Default `900` (15 min;
    /// accepted 60..=86400).
    pub lock_secs: i64,
    /// Days a browser ticked "trust this browser" skips the second factor. Default `30`
    /// (accepted 0..=365; 0 hides the option).
    pub trust_browser_days: i64,
}

impl Default for MfaConfig {
    fn default() -> Self {
        Self {
            issuer: None,
            max_failed: 5,
            lock_secs: 15 * 60,
            trust_browser_days: 30,
        }
    }
}

/// `sigra.api_keys`: personal API keys (see `sigra_core::features::api_keys`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct ApiKeysConfig {
    /// The scope names a key may carry; a key asking for another is refused. Each is 1..=64
    /// characters of `a-z`, `0-9`, `_`, `:`, `.` or `-`. Default empty (keys carry no scope).
    pub scopes: Vec<String>,
    /// Live (unrevoked, unexpired) keys an account may hold. Default `50` (accepted 1..=1000).
    pub max_per_user: i64,
}

impl Default for ApiKeysConfig {
    fn default() -> Self {
        Self {
            scopes: Vec::new(),
            max_per_user: 50,
        }
    }
}

/// `sigra.deletion`: what happens when a user deletes their account.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct DeletionConfig {
    /// Days between the request and the deletion, during which logging in can cancel it.
    /// Default `14` (accepted 0..=365; 0 deletes at the worker's next run).
    pub grace_days: i64,
    /// What the deletion does. Default `anonymize`.
    pub strategy: DeletionStrategy,
}

impl Default for DeletionConfig {
    fn default() -> Self {
        Self {
            grace_days: 14,
            strategy: DeletionStrategy::Anonymize,
        }
    }
}

/// `sigra.password`: policy and Argon2id parameters.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct PasswordConfig {
    /// Shortest accepted password, in characters. Default `12` (accepted 8..=64).
    pub min_length: usize,
    /// Longest accepted password, in characters; never truncated. Default `256` (up to 4096).
    pub max_length: usize,
    /// Argon2id memory in KiB. Default `19456` (OWASP; accepted 8..=1048576).
    pub argon2_memory_kib: u32,
    /// Argon2id iterations. Default `2` (accepted 1..=16).
    pub argon2_iterations: u32,
    /// Argon2id lanes. Default `1` (accepted 1..=16).
    pub argon2_parallelism: u32,
    /// Hashing threads; `0` means one per core. Default `0` (accepted 0..=256).
    pub hashing_workers: usize,
    /// Hashes waiting for a thread before requests get 503. Default `64` (accepted 1..=100000).
    pub hashing_queue: usize,
}

/// `sigra.session`: lifetimes and cookie.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct SessionConfig {
    /// Session ends after this much inactivity. Default `86400` (24 h; accepted 60..=2592000).
    pub idle_timeout_secs: i64,
    /// Session ends this long after log-in, active or not. Default `1209600` (14 days;
    /// accepted 60..=31536000).
    pub absolute_timeout_secs: i64,
    /// Remember-me lifetime. Default `2592000` (30 days; accepted 60..=31536000).
    pub remember_me_secs: i64,
    /// How often `last_seen_at` is written. Default `60` (accepted 1..=3600).
    pub touch_interval_secs: i64,
    /// Keep validated sessions (and API keys) in memory this long, so most requests skip
    /// the database. Revocations are pushed to every instance (see
    /// [`crate::session_cache`]): a request that revokes sessions answers once every live
    /// instance has applied it, or after this long when one does not answer. Default
    /// `5000` (accepted 0..=60000; 0 turns the cache off). On MySQL the cache needs
    /// [`redis_url`](SigraConfig::redis_url), and stays off without it.
    pub cache_ms: u64,
    /// Session cookie name (prefixed `__Host-` when secure). Default `"sigra_session"`.
    pub cookie_name: String,
    /// Remember-me cookie name. Default `"sigra_remember_me"`.
    pub remember_cookie_name: String,
    /// Send `Cache-Control: no-store` on every response to a request that carried a live
    /// session (the host's guarded pages too), so a shared or back-button cache never
    /// keeps a signed-in page. Default `true`.
    pub no_store: bool,
}

/// `sigra.tokens`: lifetimes of emailed tokens, in seconds.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct TokenConfig {
    /// Confirmation link and code. Default `86400` (24 h; accepted 300..=604800).
    pub confirmation_secs: i64,
    /// Magic link. Default `900` (15 min; accepted 60..=3600).
    pub magic_link_secs: i64,
    /// Password reset link. Default `3600` (60 min; accepted 300..=86400).
    pub reset_password_secs: i64,
    /// Email change link. Default `86400` (24 h; accepted 300..=604800).
    pub change_email_secs: i64,
    /// One mail per kind per address per this many seconds. Default `300` (accepted 0..=86400).
    pub resend_throttle_secs: i64,
}

/// `sigra.sudo`: the re-authentication window.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct SudoConfig {
    /// Sudo lasts this long after the last interactive authentication. Default `900`
    /// (15 min; accepted 60..=86400).
    pub ttl_secs: i64,
}

/// `sigra.lockout`: failed-password lockout.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct LockoutConfig {
    /// Failed passwords before the account locks. Default `5` (accepted 1..=100).
    pub max_failed: i32,
    /// First lock duration, doubling on repeats. Default `900` (15 min; accepted 60..=86400).
    pub lock_secs: i64,
}

/// `sigra.mail`: delivery.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct MailConfig {
    /// Sender address. Default `"Sigra <no-reply@localhost>"`.
    pub from: String,
    /// SMTP server URL (`smtp://host:port`, `smtps://user:pass@host`); none keeps mail in
    /// the outbox and the dev mailbox. Default none.
    pub smtp_url: Option<SecretString>,
    /// Delivery attempts before a mail is given up. Default `8` (accepted 1..=50).
    pub max_attempts: i32,
    /// Drain the outbox from a background task of this process. Default `true`; turn it
    /// off when another process delivers the mail.
    pub background_worker: bool,
}

/// `sigra.rate_limit`: limits on the POSTs of the authentication endpoints, per client IP
/// and endpoint (see [`crate::rate_limit`]).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct RateLimitConfig {
    /// Limit the requests. Default `true`.
    pub enabled: bool,
    /// Requests allowed per client IP and endpoint in each window. Default `10`
    /// (accepted 1..=10000).
    pub max_requests: u32,
    /// Window length, in seconds. Default `60` (accepted 1..=86400).
    pub window_secs: i64,
    /// Reverse proxies trusted to set `X-Forwarded-For`: IP addresses or CIDR ranges
    /// (`"10.0.0.0/8"`). Default empty: the client IP is the socket's peer address and the
    /// header is ignored.
    pub trusted_proxies: Vec<String>,
}

impl Default for SigraConfig {
    fn default() -> Self {
        Self {
            base_path: "/users".into(),
            app_name: "Sigra".into(),
            public_url: "http://127.0.0.1:8000".into(),
            secret_key: None,
            old_secret_keys: Vec::new(),
            after_login_path: "/".into(),
            after_logout_path: "/".into(),
            template_dir: None,
            run_migrations: true,
            dev_mailbox: None,
            danger_dev_mailbox: false,
            secure_cookies: None,
            danger_insecure_cookies: false,
            cookie_domain: None,
            trusted_origins: Vec::new(),
            require_confirmation: false,
            password: PasswordConfig::default(),
            session: SessionConfig::default(),
            tokens: TokenConfig::default(),
            sudo: SudoConfig::default(),
            lockout: LockoutConfig::default(),
            mail: MailConfig::default(),
            rate_limit: RateLimitConfig::default(),
            redis_url: None,
            deletion: DeletionConfig::default(),
            mfa: MfaConfig::default(),
            retention: RetentionConfig::default(),
            api_keys: ApiKeysConfig::default(),
            new_device_alert: true,
            api_tokens: ApiTokensConfig::default(),
            passkeys: PasskeysConfig::default(),
            oauth: OauthConfig::default(),
            organizations: OrganizationsConfig::default(),
            admin: AdminConfig::default(),
        }
    }
}

impl Default for PasswordConfig {
    fn default() -> Self {
        let argon = Argon2Params::default();
        Self {
            min_length: 12,
            max_length: 256,
            argon2_memory_kib: argon.memory_kib,
            argon2_iterations: argon.iterations,
            argon2_parallelism: argon.parallelism,
            hashing_workers: 0,
            hashing_queue: 64,
        }
    }
}

impl Default for SessionConfig {
    fn default() -> Self {
        Self {
            idle_timeout_secs: 24 * 3600,
            absolute_timeout_secs: 14 * 24 * 3600,
            remember_me_secs: 30 * 24 * 3600,
            touch_interval_secs: 60,
            cache_ms: 5000,
            no_store: true,
            cookie_name: "sigra_session".into(),
            remember_cookie_name: "sigra_remember_me".into(),
        }
    }
}

impl Default for TokenConfig {
    fn default() -> Self {
        Self {
            confirmation_secs: 24 * 3600,
            magic_link_secs: 15 * 60,
            reset_password_secs: 60 * 60,
            change_email_secs: 24 * 3600,
            resend_throttle_secs: 5 * 60,
        }
    }
}

impl Default for SudoConfig {
    fn default() -> Self {
        Self { ttl_secs: 15 * 60 }
    }
}

impl Default for LockoutConfig {
    fn default() -> Self {
        Self {
            max_failed: 5,
            lock_secs: 15 * 60,
        }
    }
}

impl Default for MailConfig {
    fn default() -> Self {
        Self {
            from: "Sigra <no-reply@localhost>".into(),
            smtp_url: None,
            max_attempts: 8,
            background_worker: true,
        }
    }
}

impl Default for RateLimitConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            max_requests: 10,
            window_secs: 60,
            trusted_proxies: Vec::new(),
        }
    }
}

/// Environment variables with this prefix that are not configuration (test settings).
const ENV_IGNORED_PREFIX: &str = "test_";

impl SigraConfig {
    /// Reads the `sigra` section of `figment` (for a Rocket app, `rocket.figment()`),
    /// overlaid with `SIGRA_*` environment variables, then [`validate`](Self::validate)s it.
    pub fn from_figment(figment: &Figment) -> Result<Self, ConfigError> {
        let env = Env::prefixed("SIGRA_").split("__").filter(|key| {
            !key.as_str()
                .to_ascii_lowercase()
                .starts_with(ENV_IGNORED_PREFIX)
        });
        let config: SigraConfig = figment
            .focus("sigra")
            .merge(env)
            .extract()
            .map_err(|e| ConfigError::Extract(describe_figment_error(e)))?;
        config.validate()?;
        Ok(config)
    }

    /// Checks every value, section by section; the first bad one becomes an error naming
    /// its key and range.
    pub fn validate(&self) -> Result<(), ConfigError> {
        check_base_path(&self.base_path)?;
        check_url("sigra.public_url", &self.public_url)?;
        check_local_path("sigra.after_login_path", &self.after_login_path)?;
        check_local_path("sigra.after_logout_path", &self.after_logout_path)?;
        if let Some(domain) = &self.cookie_domain {
            check_cookie_domain(domain, &self.public_url)?;
        }
        for origin in &self.trusted_origins {
            check_origin("sigra.trusted_origins", origin)?;
        }
        if let Some(secret) = &self.secret_key {
            check_secret("sigra.secret_key", secret)?;
        }
        for secret in &self.old_secret_keys {
            check_secret("sigra.old_secret_keys", secret)?;
        }
        self.password.validate()?;
        self.session.validate()?;
        self.tokens.validate()?;
        self.sudo.validate()?;
        self.lockout.validate()?;
        self.deletion.validate()?;
        self.mfa.validate()?;
        self.mail.validate()?;
        self.retention.validate()?;
        self.api_keys.validate()?;
        self.api_tokens.validate()?;
        self.passkeys.validate(&self.public_url)?;
        // Without the `oauth` feature the providers are read but not checked (nor used).
        #[cfg(feature = "oauth")]
        self.oauth.validate()?;
        self.organizations.validate()?;
        self.admin.validate()?;
        if let Some(url) = &self.redis_url
            && !crate::rate_limit::redis_url_is_usable(url.expose())
        {
            let scheme = url.expose().split_once("://").map_or("", |(s, _)| s);
            return Err(invalid(
                "sigra.redis_url",
                "a redis:// or redis+unix:// URL (TLS is not built in)",
                format_args!("an unusable {scheme:?} URL"),
            ));
        }
        self.rate_limit.validate()
    }

    /// The Argon2id parameters new hashes use.
    pub fn argon2_params(&self) -> Argon2Params {
        Argon2Params {
            memory_kib: self.password.argon2_memory_kib,
            iterations: self.password.argon2_iterations,
            parallelism: self.password.argon2_parallelism,
        }
    }

    /// Whether the dev mailbox is served. `production` is true for every Rocket profile
    /// other than `debug`; there the mailbox is on only with `danger_dev_mailbox`, and
    /// asking for it with plain `dev_mailbox = true` is an error.
    pub fn dev_mailbox_enabled(&self, production: bool) -> Result<bool, ConfigError> {
        if self.danger_dev_mailbox {
            return Ok(true);
        }
        match (production, self.dev_mailbox) {
            (true, Some(true)) => Err(invalid(
                "sigra.dev_mailbox",
                "false outside the debug profile (set sigra.danger_dev_mailbox = true to serve \
                 every mail to anyone who can reach /dev/mailbox)",
                true,
            )),
            (true, _) => Ok(false),
            (false, on) => Ok(on.unwrap_or(true)),
        }
    }

    /// The `Domain` of the shared cookies: [`cookie_domain`](Self::cookie_domain)
    /// without its optional leading dot; `None` keeps them host-only.
    pub fn cookie_domain(&self) -> Option<&str> {
        self.cookie_domain
            .as_deref()
            .map(|domain| domain.strip_prefix('.').unwrap_or(domain))
    }

    /// Checks what depends on the profile in [`trusted_origins`](Self::trusted_origins)
    /// (their form is checked by [`validate`](Self::validate)): `production` as for
    /// [`dev_mailbox_enabled`](Self::dev_mailbox_enabled); there an `http://` origin is
    /// refused unless its host is loopback, since a page served over plain HTTP can be
    /// rewritten by anyone on the path and would then post with the user's session.
    pub fn check_trusted_origins(&self, production: bool) -> Result<(), ConfigError> {
        if !production {
            return Ok(());
        }
        match self
            .trusted_origins
            .iter()
            .find(|o| o.starts_with("http://") && !is_loopback_host(url_host(o)))
        {
            Some(origin) => Err(invalid(
                "sigra.trusted_origins",
                "https:// origins outside the debug profile (http:// only on a loopback host)",
                format_args!("{origin:?}"),
            )),
            None => Ok(()),
        }
    }

    /// Whether cookies are `Secure` (with the `__Host-` prefix). `production` as for
    /// [`dev_mailbox_enabled`](Self::dev_mailbox_enabled); `tls` is whether Rocket itself
    /// serves TLS. In production they are secure unless `danger_insecure_cookies` is set,
    /// and `secure_cookies = false` alone is an error.
    pub fn secure_cookies_enabled(&self, production: bool, tls: bool) -> Result<bool, ConfigError> {
        if self.danger_insecure_cookies {
            return Ok(false);
        }
        match (production, self.secure_cookies) {
            (true, Some(false)) => Err(invalid(
                "sigra.secure_cookies",
                "true outside the debug profile (set sigra.danger_insecure_cookies = true to \
                 send session cookies over plain HTTP)",
                false,
            )),
            (true, _) => Ok(true),
            (false, on) => Ok(on.unwrap_or(tls)),
        }
    }
}

impl PasswordConfig {
    /// Checks `sigra.password`.
    pub fn validate(&self) -> Result<(), ConfigError> {
        check_range("sigra.password.min_length", self.min_length, 8..=64)?;
        check_range(
            "sigra.password.max_length",
            self.max_length,
            self.min_length.max(64)..=4096,
        )?;
        check_range(
            "sigra.password.argon2_memory_kib",
            self.argon2_memory_kib,
            8..=1_048_576,
        )?;
        check_range(
            "sigra.password.argon2_iterations",
            self.argon2_iterations,
            1..=16,
        )?;
        check_range(
            "sigra.password.argon2_parallelism",
            self.argon2_parallelism,
            1..=16,
        )?;
        check_range(
            "sigra.password.hashing_workers",
            self.hashing_workers,
            0..=256,
        )?;
        check_range(
            "sigra.password.hashing_queue",
            self.hashing_queue,
            1..=100_000,
        )
    }
}

impl SessionConfig {
    /// Checks `sigra.session`.
    pub fn validate(&self) -> Result<(), ConfigError> {
        check_range(
            "sigra.session.idle_timeout_secs",
            self.idle_timeout_secs,
            60..=2_592_000,
        )?;
        check_range(
            "sigra.session.absolute_timeout_secs",
            self.absolute_timeout_secs,
            self.idle_timeout_secs.max(60)..=31_536_000,
        )?;
        check_range(
            "sigra.session.remember_me_secs",
            self.remember_me_secs,
            60..=31_536_000,
        )?;
        check_range(
            "sigra.session.touch_interval_secs",
            self.touch_interval_secs,
            1..=3600,
        )?;
        check_range("sigra.session.cache_ms", self.cache_ms, 0..=60_000)?;
        check_cookie_name("sigra.session.cookie_name", &self.cookie_name)?;
        check_cookie_name(
            "sigra.session.remember_cookie_name",
            &self.remember_cookie_name,
        )
    }
}

impl TokenConfig {
    /// Checks `sigra.tokens`.
    pub fn validate(&self) -> Result<(), ConfigError> {
        check_range(
            "sigra.tokens.confirmation_secs",
            self.confirmation_secs,
            300..=604_800,
        )?;
        check_range(
            "sigra.tokens.magic_link_secs",
            self.magic_link_secs,
            60..=3600,
        )?;
        check_range(
            "sigra.tokens.reset_password_secs",
            self.reset_password_secs,
            300..=86_400,
        )?;
        check_range(
            "sigra.tokens.change_email_secs",
            self.change_email_secs,
            300..=604_800,
        )?;
        check_range(
            "sigra.tokens.resend_throttle_secs",
            self.resend_throttle_secs,
            0..=86_400,
        )
    }
}

impl SudoConfig {
    /// Checks `sigra.sudo`.
    pub fn validate(&self) -> Result<(), ConfigError> {
        check_range("sigra.sudo.ttl_secs", self.ttl_secs, 60..=86_400)
    }
}

impl LockoutConfig {
    /// Checks `sigra.lockout`.
    pub fn validate(&self) -> Result<(), ConfigError> {
        check_range("sigra.lockout.max_failed", self.max_failed, 1..=100)?;
        check_range("sigra.lockout.lock_secs", self.lock_secs, 60..=86_400)
    }
}

impl ApiKeysConfig {
    /// Checks `sigra.api_keys`.
    pub fn validate(&self) -> Result<(), ConfigError> {
        check_range("sigra.api_keys.max_per_user", self.max_per_user, 1..=1000)?;
        for scope in &self.scopes {
            let well_formed = (1..=64).contains(&scope.len())
                && scope
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"_:.-".contains(&b));
            if !well_formed {
                return Err(invalid(
                    "sigra.api_keys.scopes",
                    "names of 1..=64 characters from a-z, 0-9, `_`, `:`, `.`, `-`",
                    format_args!("{scope:?}"),
                ));
            }
        }
        Ok(())
    }
}

impl DeletionConfig {
    /// Checks `sigra.deletion`.
    pub fn validate(&self) -> Result<(), ConfigError> {
        check_range("sigra.deletion.grace_days", self.grace_days, 0..=365)
    }
}

impl MfaConfig {
    /// Checks `sigra.mfa`.
    pub fn validate(&self) -> Result<(), ConfigError> {
        check_range("sigra.mfa.max_failed", self.max_failed, 1..=100)?;
        check_range("sigra.mfa.lock_secs", self.lock_secs, 60..=86_400)?;
        check_range(
            "sigra.mfa.trust_browser_days",
            self.trust_browser_days,
            0..=365,
        )
    }
}

impl MailConfig {
    /// Checks `sigra.mail`.
    pub fn validate(&self) -> Result<(), ConfigError> {
        check_range("sigra.mail.max_attempts", self.max_attempts, 1..=50)?;
        if !self.from.contains('@') {
            return Err(invalid("sigra.mail.from", "an email address", &self.from));
        }
        Ok(())
    }
}

impl RetentionConfig {
    /// Checks `sigra.retention`.
    pub fn validate(&self) -> Result<(), ConfigError> {
        check_range("sigra.retention.outbox_days", self.outbox_days, 1..=365)?;
        check_range("sigra.retention.expired_days", self.expired_days, 0..=365)?;
        check_range(
            "sigra.retention.interval_secs",
            self.interval_secs,
            60..=604_800,
        )
    }
}

impl RateLimitConfig {
    /// Checks `sigra.rate_limit`.
    pub fn validate(&self) -> Result<(), ConfigError> {
        check_range(
            "sigra.rate_limit.max_requests",
            self.max_requests,
            1..=10_000,
        )?;
        check_range("sigra.rate_limit.window_secs", self.window_secs, 1..=86_400)?;
        for proxy in &self.trusted_proxies {
            if crate::net::parse_proxy(proxy).is_none() {
                return Err(invalid(
                    "sigra.rate_limit.trusted_proxies",
                    "IP addresses or CIDR ranges like \"10.0.0.0/8\"",
                    format_args!("{proxy:?}"),
                ));
            }
        }
        Ok(())
    }
}

fn invalid(key: &str, expected: impl fmt::Display, found: impl fmt::Display) -> ConfigError {
    ConfigError::Invalid {
        key: key.to_owned(),
        expected: expected.to_string(),
        found: found.to_string(),
    }
}

fn check_range<T: PartialOrd + fmt::Display>(
    key: &str,
    value: T,
    range: RangeInclusive<T>,
) -> Result<(), ConfigError> {
    if range.contains(&value) {
        Ok(())
    } else {
        Err(invalid(
            key,
            format_args!("a value in {}..={}", range.start(), range.end()),
            value,
        ))
    }
}

fn check_base_path(path: &str) -> Result<(), ConfigError> {
    let ok = path.starts_with('/')
        && !path.ends_with('/')
        && path.len() > 1
        && path[1..].split('/').all(|seg| {
            !seg.is_empty()
                && seg
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-_".contains(&b))
        });
    if ok {
        Ok(())
    } else {
        Err(invalid(
            "sigra.base_path",
            "an absolute path like \"/users\" (letters, digits, '-', '_'; no trailing slash)",
            format_args!("{path:?}"),
        ))
    }
}

fn check_url(key: &str, url: &str) -> Result<(), ConfigError> {
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"));
    match rest {
        Some(host) if !host.is_empty() && !host.contains(['/', '?', '#', ' ']) => Ok(()),
        _ => Err(invalid(
            key,
            "an origin like \"https://example.com\" (no path)",
            format_args!("{url:?}"),
        )),
    }
}

/// `sigra.cookie_domain`: a registrable-looking domain (lower-case DNS labels, at least
/// two, the last not numeric so no IPv4 address passes; no scheme, port or path) that is
/// the host of `public_url` or a parent of it. A browser refuses a cookie whose `Domain`
/// does not cover the host that set it, so any other value would only log everyone out.
fn check_cookie_domain(domain: &str, public_url: &str) -> Result<(), ConfigError> {
    const KEY: &str = "sigra.cookie_domain";
    let bare = domain.strip_prefix('.').unwrap_or(domain);
    let labels: Vec<&str> = bare.split('.').collect();
    let label_ok = |label: &&str| {
        (1..=63).contains(&label.len())
            && !label.starts_with('-')
            && !label.ends_with('-')
            && label
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    };
    let well_formed = bare.len() <= 253
        && labels.len() >= 2
        && labels.iter().all(label_ok)
        && labels
            .last()
            .is_some_and(|tld| !tld.bytes().all(|b| b.is_ascii_digit()));
    if !well_formed {
        return Err(invalid(
            KEY,
            "a lower-case domain with at least one dot, like \"example.com\" (no scheme, \
             port, path or IP address)",
            format_args!("{domain:?}"),
        ));
    }
    let host = url_host(public_url).to_ascii_lowercase();
    if host != bare && !host.ends_with(&format!(".{bare}")) {
        return Err(invalid(
            KEY,
            format_args!("the host of sigra.public_url ({host:?}) or a parent domain of it"),
            format_args!("{domain:?}"),
        ));
    }
    Ok(())
}

/// An origin as a browser serializes it in `Origin`: `http` or `https`, a lower-case
/// host, an optional non-default port, nothing else (an entry written any other way
/// would never match a request).
fn check_origin(key: &str, origin: &str) -> Result<(), ConfigError> {
    let (rest, default_port) = match origin.split_once("://") {
        Some(("https", rest)) => (rest, "443"),
        Some(("http", rest)) => (rest, "80"),
        _ => ("", ""),
    };
    let (host, port) = match rest.rsplit_once(':') {
        Some((host, port)) if !host.ends_with(':') && !rest.ends_with(']') => (host, Some(port)),
        _ => (rest, None),
    };
    let host_ok = match host.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
        Some(ipv6) => !ipv6.is_empty() && ipv6.bytes().all(|b| b.is_ascii_hexdigit() || b == b':'),
        None => {
            !host.is_empty()
                && host
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"-.".contains(&b))
        }
    };
    let port_ok = port.is_none_or(|p| {
        !p.is_empty() && p != default_port && p.len() <= 5 && p.bytes().all(|b| b.is_ascii_digit())
    });
    if host_ok && port_ok {
        Ok(())
    } else {
        Err(invalid(
            key,
            "origins like \"https://admin.example.com\" (http or https, lower-case host, \
             optional non-default port, no path)",
            format_args!("{origin:?}"),
        ))
    }
}

fn check_local_path(key: &str, path: &str) -> Result<(), ConfigError> {
    if crate::net::is_local_path(path) {
        Ok(())
    } else {
        Err(invalid(
            key,
            "a local path starting with a single '/'",
            format_args!("{path:?}"),
        ))
    }
}

fn check_secret(key: &str, secret: &SecretString) -> Result<(), ConfigError> {
    let len = secret.expose().len();
    if len >= 32 {
        Ok(())
    } else {
        Err(invalid(
            key,
            "a secret of at least 32 characters",
            format_args!("{len} characters long"),
        ))
    }
}

fn check_cookie_name(key: &str, name: &str) -> Result<(), ConfigError> {
    if !name.is_empty()
        && name.len() <= 64
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_".contains(&b))
    {
        Ok(())
    } else {
        Err(invalid(
            key,
            "1 to 64 letters, digits, '-' or '_'",
            format_args!("{name:?}"),
        ))
    }
}

fn describe_figment_error(error: figment::Error) -> String {
    error
        .into_iter()
        .map(|e| {
            let path = e.path.join(".");
            if path.is_empty() {
                e.kind.to_string()
            } else {
                format!("`sigra.{path}`: {}", e.kind)
            }
        })
        .collect::<Vec<_>>()
        .join("; ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use figment::providers::{Format, Toml};

    /// Held while a test reads `SIGRA_*` variables or sets them: tests run on parallel
    /// threads of one process, and the environment is the process's.
    static ENV_LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());

    /// The configuration of `toml`, with no test's `SIGRA_*` variables set meanwhile.
    fn from_toml(toml: &str) -> Result<SigraConfig, ConfigError> {
        let _env = ENV_LOCK.lock().unwrap_or_else(|p| p.into_inner());
        read_toml(toml)
    }

    /// The configuration of `toml` and the environment (inside [`with_env`]).
    fn read_toml(toml: &str) -> Result<SigraConfig, ConfigError> {
        SigraConfig::from_figment(&Figment::from(Toml::string(toml)))
    }

    /// Runs `test` in a figment `Jail` (its variables undone afterwards), holding the
    /// environment lock.
    #[allow(clippy::result_large_err)] // figment's Jail API returns its own large error type
    fn with_env(test: impl FnOnce(&mut figment::Jail) -> figment::error::Result<()>) {
        let _env = ENV_LOCK.lock().unwrap_or_else(|p| p.into_inner());
        figment::Jail::expect_with(test);
    }

    #[test]
    fn defaults_are_valid_and_match_design() {
        let c = from_toml("").unwrap();
        assert_eq!(c.base_path, "/users");
        assert_eq!(c.password.min_length, 12);
        assert_eq!(c.password.max_length, 256);
        assert_eq!(c.argon2_params(), Argon2Params::default());
        assert_eq!(c.session.idle_timeout_secs, 86_400);
        assert_eq!(c.session.absolute_timeout_secs, 14 * 86_400);
        assert_eq!(c.session.remember_me_secs, 30 * 86_400);
        assert_eq!(c.tokens.reset_password_secs, 3600);
        assert_eq!(c.tokens.magic_link_secs, 900);
        assert_eq!(c.sudo.ttl_secs, 900);
        assert_eq!(c.lockout.max_failed, 5);
        assert_eq!(c.deletion.grace_days, 14);
        assert_eq!(c.deletion.strategy, DeletionStrategy::Anonymize);
        assert_eq!(
            (c.mfa.max_failed, c.mfa.lock_secs, c.mfa.trust_browser_days),
            (5, 900, 30)
        );
        assert!(c.dev_mailbox_enabled(false).unwrap());
        assert!(!c.dev_mailbox_enabled(true).unwrap());
        let r = &c.retention;
        assert_eq!(
            (r.outbox_days, r.expired_days, r.interval_secs),
            (7, 0, 86_400)
        );
    }

    #[test]
    fn retention_values_are_checked() {
        let err = from_toml("[sigra.retention]\noutbox_days = 0").unwrap_err();
        assert!(
            err.to_string().contains("sigra.retention.outbox_days"),
            "{err}"
        );
        let err = from_toml("[sigra.retention]\ninterval_secs = 5").unwrap_err();
        assert!(err.to_string().contains("60..=604800"), "{err}");
        assert!(from_toml("[sigra.retention]\nexpired_days = -1").is_err());
        assert!(from_toml("[sigra.retention]\nexpired_days = 90").is_ok());
    }

    #[test]
    fn api_keys_values_are_checked() {
        let c = from_toml("").unwrap();
        assert!(c.api_keys.scopes.is_empty());
        assert_eq!(c.api_keys.max_per_user, 50);
        let err = from_toml("[sigra.api_keys]\nmax_per_user = 0").unwrap_err();
        assert!(
            err.to_string().contains("sigra.api_keys.max_per_user"),
            "{err}"
        );
        let err = from_toml("[sigra.api_keys]\nscopes = [\"read\", \"Write All\"]").unwrap_err();
        assert!(err.to_string().contains("sigra.api_keys.scopes"), "{err}");
        let ok = from_toml("[sigra.api_keys]\nscopes = [\"read\", \"billing:write\"]").unwrap();
        assert_eq!(ok.api_keys.scopes, ["read", "billing:write"]);
    }

    #[test]
    fn production_profiles_refuse_the_dev_mailbox_and_insecure_cookies_without_danger() {
        let c = from_toml("").unwrap();
        assert!(c.secure_cookies_enabled(true, false).unwrap());
        assert!(!c.secure_cookies_enabled(false, false).unwrap());
        assert!(c.secure_cookies_enabled(false, true).unwrap());

        let asked = from_toml("[sigra]\ndev_mailbox = true\nsecure_cookies = false").unwrap();
        assert!(asked.dev_mailbox_enabled(false).unwrap());
        assert!(!asked.secure_cookies_enabled(false, true).unwrap());
        let err = asked.dev_mailbox_enabled(true).unwrap_err().to_string();
        assert!(
            err.contains("sigra.dev_mailbox") && err.contains("danger_dev_mailbox"),
            "{err}"
        );
        let err = asked
            .secure_cookies_enabled(true, false)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("sigra.secure_cookies") && err.contains("danger_insecure_cookies"),
            "{err}"
        );

        let danger =
            from_toml("[sigra]\ndanger_dev_mailbox = true\ndanger_insecure_cookies = true")
                .unwrap();
        assert!(danger.dev_mailbox_enabled(true).unwrap());
        assert!(!danger.secure_cookies_enabled(true, true).unwrap());
    }

    #[test]
    fn bad_value_names_key_and_range() {
        let err = from_toml("[sigra.session]\nidle_timeout_secs = 5").unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("sigra.session.idle_timeout_secs"), "{msg}");
        assert!(msg.contains("60..=2592000"), "{msg}");
        assert_eq!(err.reason(), "config_invalid_value");
    }

    #[test]
    fn unknown_key_and_wrong_type_are_errors_naming_the_key() {
        let msg = from_toml("[sigra]\nbase_pth = \"/x\"")
            .unwrap_err()
            .to_string();
        assert!(msg.contains("base_pth"), "{msg}");
        let msg = from_toml("[sigra.password]\nmin_length = \"long\"")
            .unwrap_err()
            .to_string();
        assert!(msg.contains("sigra.password.min_length"), "{msg}");
    }

    #[test]
    fn short_secret_is_rejected_without_echoing_it() {
        let err = from_toml("[sigra]\nsecret_key = \"tooshort-secret\"").unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("sigra.secret_key"), "{msg}");
        assert!(!msg.contains("tooshort-secret"), "{msg}");
    }

    #[test]
    fn base_path_and_public_url_are_checked() {
        assert!(from_toml("[sigra]\nbase_path = \"users\"").is_err());
        assert!(from_toml("[sigra]\nbase_path = \"/users/\"").is_err());
        assert!(from_toml("[sigra]\nbase_path = \"/a/b-c\"").is_ok());
        assert!(from_toml("[sigra]\npublic_url = \"ftp://x\"").is_err());
        assert!(from_toml("[sigra]\npublic_url = \"https://example.com/path\"").is_err());
    }

    #[test]
    fn passkey_rp_id_defaults_to_the_public_host_and_must_cover_it() {
        let c = from_toml("[sigra]\npublic_url = \"https://app.example.com:8443\"").unwrap();
        assert_eq!(c.passkeys.rp_id(&c.public_url), "app.example.com");
        assert!(c.passkeys.satisfies_mfa);
        assert!(c.passkeys.rp_name.is_none());
        let ok = "[sigra]\npublic_url = \"https://app.example.com\"\n[sigra.passkeys]\nrp_id = \"example.com\"";
        let c = from_toml(ok).unwrap();
        assert_eq!(c.passkeys.rp_id(&c.public_url), "example.com");
        for rp_id in [
            "other.com",
            "ple.com",
            "APP.example.com",
            "",
            ".example.com",
        ] {
            let toml = format!(
                "[sigra]\npublic_url = \"https://app.example.com\"\n[sigra.passkeys]\nrp_id = \"{rp_id}\""
            );
            match from_toml(&toml) {
                Err(ConfigError::Invalid { key, .. }) => assert_eq!(key, "sigra.passkeys.rp_id"),
                other => panic!("{rp_id:?} was accepted: {other:?}"),
            }
        }
        let blank = "[sigra.passkeys]\nrp_name = \" \"";
        assert!(
            matches!(from_toml(blank), Err(ConfigError::Invalid { key, .. }) if key == "sigra.passkeys.rp_name")
        );
        assert_eq!(url_host("http://[::1]:8000"), "[::1]");
        assert_eq!(url_host("http://localhost:8000"), "localhost");
    }

    fn invalid_key(toml: &str) -> String {
        match from_toml(toml) {
            Err(ConfigError::Invalid { key, .. }) => key,
            other => panic!("{toml:?} was accepted: {other:?}"),
        }
    }

    #[test]
    fn cookie_domain_is_unset_by_default_and_must_cover_the_public_host() {
        let c = from_toml("").unwrap();
        assert_eq!(c.cookie_domain(), None);
        assert!(c.trusted_origins.is_empty());
        let app = "[sigra]\npublic_url = \"https://app.example.com:8443\"\n";
        for (domain, bare) in [
            ("example.com", "example.com"),
            (".example.com", "example.com"),
            ("app.example.com", "app.example.com"),
        ] {
            let c = from_toml(&format!("{app}cookie_domain = \"{domain}\"")).unwrap();
            assert_eq!(c.cookie_domain(), Some(bare));
        }
        for domain in [
            "other.com",
            "ple.com",
            "com",
            ".com",
            "Example.com",
            "https://example.com",
            "example.com:443",
            "example.com/path",
            "127.0.0.1",
            "-example.com",
            "example..com",
            "",
        ] {
            let toml = format!("{app}cookie_domain = \"{domain}\"");
            assert_eq!(invalid_key(&toml), "sigra.cookie_domain", "{domain:?}");
        }
        // An IP public URL has no parent domain to share.
        let ip = "[sigra]\npublic_url = \"http://127.0.0.1:8000\"\ncookie_domain = \"0.0.1\"";
        assert_eq!(invalid_key(ip), "sigra.cookie_domain");
    }

    #[test]
    fn trusted_origins_are_exact_origins_and_https_outside_debug() {
        let ok = "[sigra]\ntrusted_origins = [\"https://admin.example.com\", \
                  \"http://admin.example.com:8080\", \"http://localhost:3000\", \
                  \"https://[::1]:8443\"]";
        let c = from_toml(ok).unwrap();
        assert_eq!(c.trusted_origins.len(), 4);
        // Plain HTTP to another machine passes in debug only.
        assert!(c.check_trusted_origins(false).is_ok());
        match c.check_trusted_origins(true) {
            Err(ConfigError::Invalid { key, found, .. }) => {
                assert_eq!(key, "sigra.trusted_origins");
                assert!(found.contains("http://admin.example.com:8080"), "{found}");
            }
            other => panic!("http origin accepted in production: {other:?}"),
        }
        let loopback = "[sigra]\ntrusted_origins = [\"http://localhost:3000\", \
                        \"http://127.0.0.1:8000\", \"https://admin.example.com\"]";
        assert!(
            from_toml(loopback)
                .unwrap()
                .check_trusted_origins(true)
                .is_ok()
        );
        for origin in [
            "admin.example.com",
            "ftp://admin.example.com",
            "https://",
            "https://admin.example.com/",
            "https://admin.example.com/path",
            "https://Admin.example.com",
            "https://admin.example.com:443",
            "https://admin.example.com:",
            "https://admin.example.com:80x",
            "https://user@admin.example.com",
            "https://admin.example.com?x",
            "null",
        ] {
            let toml = format!("[sigra]\ntrusted_origins = [\"{origin}\"]");
            assert_eq!(invalid_key(&toml), "sigra.trusted_origins", "{origin:?}");
        }
    }

    #[test]
    #[allow(clippy::result_large_err)] // figment's Jail API returns its own large error type
    fn subdomain_settings_come_from_the_environment_too() {
        with_env(|jail| {
            jail.set_env("SIGRA_PUBLIC_URL", "https://app.example.com");
            jail.set_env("SIGRA_COOKIE_DOMAIN", ".example.com");
            jail.set_env(
                "SIGRA_TRUSTED_ORIGINS",
                "[\"https://admin.example.com\", \"https://shop.example.com\"]",
            );
            let c = read_toml("").unwrap();
            assert_eq!(c.cookie_domain(), Some("example.com"));
            assert_eq!(
                c.trusted_origins,
                ["https://admin.example.com", "https://shop.example.com"]
            );
            Ok(())
        });
    }

    #[test]
    #[allow(clippy::result_large_err)] // figment's Jail API returns its own large error type
    fn env_overrides_file() {
        with_env(|jail| {
            jail.set_env("SIGRA_SESSION__IDLE_TIMEOUT_SECS", "3600");
            jail.set_env("SIGRA_APP_NAME", "Acme");
            jail.set_env("SIGRA_TEST_POSTGRES_URL", "postgres://ignored");
            let c = read_toml("[sigra]\napp_name = \"File\"").unwrap();
            assert_eq!(c.session.idle_timeout_secs, 3600);
            assert_eq!(c.app_name, "Acme");
            Ok(())
        });
    }

    #[test]
    #[allow(clippy::result_large_err)] // figment's Jail API returns its own large error type
    fn oauth_providers_come_from_the_environment_too_and_debug_hides_their_secrets() {
        with_env(|jail| {
            jail.set_env("SIGRA_OAUTH__PROVIDERS__GOOGLE__KIND", "google");
            jail.set_env(
                "SIGRA_OAUTH__PROVIDERS__GOOGLE__CLIENT_ID",
                "1234.apps.example",
            );
            jail.set_env(
                "SIGRA_OAUTH__PROVIDERS__GOOGLE__CLIENT_SECRET",
                "env-client-secret",
            );
            jail.set_env("SIGRA_OAUTH__PROVIDERS__GOOGLE__TRUST_EMAIL", "true");
            let c = read_toml("[sigra.oauth.providers.google]\nclient_id = \"from-file\"").unwrap();
            let google = &c.oauth.providers["google"];
            assert_eq!(google.kind, Some(ProviderKind::Google));
            assert_eq!(google.client_id, "1234.apps.example");
            assert!(google.trust_email);
            assert_eq!(
                google.client_secret.as_ref().unwrap().expose(),
                "env-client-secret"
            );
            assert!(!format!("{c:?}").contains("env-client-secret"));
            Ok(())
        });
    }

    #[test]
    fn debug_output_redacts_secrets() {
        let c = from_toml(
            "[sigra]\nsecret_key = \"0123456789abcdef0123456789abcdef-secret\"\n[sigra.mail]\nsmtp_url = \"smtp://u:pw@host\"",
        )
        .unwrap();
        let dbg = format!("{c:?}");
        assert!(!dbg.contains("0123456789abcdef"), "{dbg}");
        assert!(!dbg.contains("pw@host"), "{dbg}");
    }

    #[test]
    fn a_bad_oauth_provider_names_its_key_and_never_echoes_a_secret() {
        let cases = [
            (
                "[sigra.oauth.providers.g]\nclient_id = \"x\"\nclient_secret = \"s\"",
                "sigra.oauth.providers.g.kind",
            ),
            (
                "[sigra.oauth.providers.g]\nkind = \"google\"\nclient_secret = \"s\"",
                "sigra.oauth.providers.g.client_id",
            ),
            (
                "[sigra.oauth.providers.g]\nkind = \"google\"\nclient_id = \"x\"",
                "sigra.oauth.providers.g.client_secret",
            ),
            (
                "[sigra.oauth.providers.o]\nkind = \"oidc\"\nclient_id = \"x\"\nclient_secret = \"s\"",
                "sigra.oauth.providers.o.issuer",
            ),
            (
                "[sigra.oauth.providers.o]\nkind = \"oidc\"\nclient_id = \"x\"\nclient_secret = \"s\"\nissuer = \"http://idp.example.com\"",
                "sigra.oauth.providers.o.issuer",
            ),
            (
                "[sigra.oauth.providers.gh]\nkind = \"github\"\nclient_id = \"x\"\nclient_secret = \"s\"\nissuer = \"https://github.com\"",
                "sigra.oauth.providers.gh.issuer",
            ),
            (
                "[sigra.oauth.providers.a]\nkind = \"apple\"\nclient_id = \"x\"\nkey_id = \"K\"\nprivate_key = \"x\"",
                "sigra.oauth.providers.a.team_id",
            ),
            (
                "[sigra.oauth.providers.a]\nkind = \"apple\"\nclient_id = \"x\"\nteam_id = \"T\"\nkey_id = \"K\"\nprivate_key = \"not-a-key-SECRET\"",
                "sigra.oauth.providers.a.private_key",
            ),
            (
                "[sigra.oauth.providers.\"Bad Name\"]\nkind = \"google\"\nclient_id = \"x\"\nclient_secret = \"s\"",
                "sigra.oauth.providers",
            ),
        ];
        for (toml, key) in cases {
            match from_toml(toml) {
                Err(e @ ConfigError::Invalid { .. }) => {
                    let ConfigError::Invalid { key: named, .. } = &e else {
                        unreachable!()
                    };
                    assert_eq!(named, key, "{toml}");
                    assert!(!e.to_string().contains("SECRET"), "{e}");
                }
                other => panic!("{toml}: {other:?}"),
            }
        }
        let ok = "[sigra.oauth.providers.o]\nkind = \"oidc\"\nclient_id = \"x\"\nclient_secret = \"s\"\nissuer = \"http://127.0.0.1:9000\"";
        let c = from_toml(ok).unwrap();
        assert_eq!(
            c.oauth.providers["o"].issuer.as_deref(),
            Some("http://127.0.0.1:9000")
        );
        let apple = format!(
            "[sigra.oauth.providers.a]\nkind = \"apple\"\nclient_id = \"x\"\nteam_id = \"T\"\nkey_id = \"K\"\nprivate_key = \"\"\"{}\"\"\"",
            crate::crypto::apple::tests::TEST_P8
        );
        assert!(from_toml(&apple).is_ok());
    }
}
