//! Social log-in: accounts at Google, GitHub, Apple or any OpenID Connect provider sign
//! in to Sigra accounts, are linked to them from the connections page, and confirm sudo.
//! Config section `sigra.oauth`.
//!
//! # Algorithm
//!
//! Every flow is the authorization code flow with PKCE (S256) and, for OpenID providers,
//! a `nonce`. [`start`] makes a random `state`, nonce and PKCE verifier, seals the
//! verifier, the nonce and where to go next with the field cipher (AES-256-GCM, the
//! flow's id as associated data) and stores them in `sigra_oauth_flows` under the SHA-256
//! of `state`, for [`FLOW_SECS`] (10 minutes), together with the SHA-256 of the browser's
//! binding token (an HttpOnly cookie the web layer keeps) and, for a link or a sudo step,
//! the session. The provider gets `state`, the nonce and the PKCE challenge only.
//!
//! [`callback`] uses the flow up first, by a conditional update (that `state`, this
//! browser's binding, this provider, unused, unexpired) committed on its own: a replayed
//! callback, a `state` from another browser (login CSRF) or a late one finds nothing. A
//! provider that answers with a cross-site POST (`form_post`, Apple) cannot bring the
//! browser's SameSite cookie: [`stash`] keeps that answer, sealed, on the flow (first
//! answer wins) and the web layer sends the browser to the GET callback, which brings the
//! cookie and proceeds as above. Then the code is exchanged with the PKCE verifier (the
//! HTTP client follows no redirect and gives up after 10 s). An OpenID provider's ID
//! token is verified by `openidconnect`: signature (asymmetric algorithms only; the keys
//! from the issuer's discovery document, cached for an hour and fetched again once when a
//! token names an unknown key), issuer, audience (and `azp`), expiry against Sigra's
//! clock, and the nonce. The RFC 9207 `iss` parameter, when sent, must name the issuer.
//! GitHub has no ID token: its API gives the account id and the primary verified email.
//!
//! What happens next is the linking decision, in one transaction:
//!
//! | purpose | found | result |
//! |---|---|---|
//! | sign-in | identity linked | that account signs in; its second factor still applies |
//! | sign-in | no identity, no account with the email | new account (no password), linked; confirmed only when the provider says the email is verified |
//! | sign-in | no identity, account with the email, email verified and `trust_email` | linked implicitly (mailed to the owner; an unconfirmed account's password and sessions end, as with any first proof of the address), then signs in |
//! | sign-in | no identity, account with the email, otherwise | nothing linked: the identity waits, sealed, for [`FLOW_SECS`] in this browser until the owner signs in to that account (any way) and links it |
//! | link | identity free | linked to the signed-in account |
//! | link | identity linked to this account | nothing changes |
//! | link | identity linked to another account | refused |
//! | sudo | identity linked to this account | sudo, token rotated |
//! | sudo | otherwise | refused |
//!
//! Access and refresh tokens the provider gives are sealed with the field cipher (the
//! identity's id as associated data) and never shown.
//!
//! # Trade-off
//!
//! Flow state on the server costs a row per sign-in but makes every flow single-use
//! across instances and keeps the PKCE verifier off the browser. Implicit linking by
//! email is off unless a provider is trusted for it (`trust_email`): a provider that
//! asserts addresses it does not own could otherwise take over accounts. A sign-in
//! through a provider counts as an interactive log-in (it opens the sudo window) but not
//! as a second factor: the provider's own MFA is invisible to Sigra.
//!
//! # Failure mode
//!
//! A flow is used before the provider is asked anything, so a failing provider or a
//! refused token costs the user a new click, never a second try of the same flow. A
//! provider that cannot be reached (discovery or token endpoint) refuses the sign-in
//! with `oauth_provider_unavailable`; other ways in keep working. Nothing is written for
//! a refused callback but its audit event.

use oauth2::basic::BasicClient;
use openidconnect::core::{
    CoreAuthenticationFlow, CoreClient, CoreClientAuthMethod, CoreJwsSigningAlgorithm,
    CoreProviderMetadata,
};
use openidconnect::{
    AccessToken, AuthType, AuthUrl, AuthorizationCode, ClaimsVerificationError, ClientId,
    ClientSecret, CsrfToken, EndpointMaybeSet, EndpointNotSet, EndpointSet, IssuerUrl, Nonce,
    OAuth2TokenResponse, PkceCodeChallenge, PkceCodeVerifier, RedirectUrl, Scope,
    SignatureVerificationError, TokenResponse, TokenUrl,
};
use serde::{Deserialize, Serialize};
use serde_json::json;
use time::OffsetDateTime;
use tokio::sync::Mutex;
use uuid::Uuid;

use super::login::{self, LoginOutcome};
use super::sessions::Authenticated;
use super::{Auth, Change, FlowError, RequestMeta, Revocation, WayIn, audit, human_time};
use crate::config::{OauthConfig, OauthProviderConfig, ProviderKind, ResponseMode};
use crate::crypto::{AppleKey, Token, TokenHash};
use crate::secret::SecretString;
use crate::store::oauth::{self as store, NewFlow, NewIdentity, SealedTokens};
use crate::store::{IdentityRow, OauthFlowRow, StoreError, User, new_id, users};

/// How long a started flow (and an identity waiting to be linked) lives, in seconds.
pub const FLOW_SECS: i64 = 600;
/// How long a provider's discovery document (and its signing keys) is kept, in seconds.
const DISCOVERY_SECS: i64 = 3600;
/// How long a request to a provider may take.
const HTTP_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);
/// Domain separation of the sealed parts' associated data.
const FLOW_AAD: &[u8] = b"sigra/oauth-flow\0";
const CALLBACK_AAD: &[u8] = b"sigra/oauth-callback\0";
const TOKEN_AAD: &[u8] = b"sigra/oauth-token\0";
/// The signature algorithms accepted on ID tokens: asymmetric only (a symmetric one
/// would make the client secret a signing key).
const ID_TOKEN_ALGS: [CoreJwsSigningAlgorithm; 7] = [
    CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256,
    CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha384,
    CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha512,
    CoreJwsSigningAlgorithm::RsaSsaPssSha256,
    CoreJwsSigningAlgorithm::EcdsaP256Sha256,
    CoreJwsSigningAlgorithm::EcdsaP384Sha384,
    CoreJwsSigningAlgorithm::EdDsa,
];

type OidcClient = CoreClient<
    EndpointSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointMaybeSet,
    EndpointMaybeSet,
>;

/// Why a social log-in flow refused. Each has a stable [`reason`](OauthError::reason)
/// and a sentence a person reads (`Display`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("{}", self.message())]
#[non_exhaustive]
pub enum OauthError {
    /// No provider of that name is configured.
    UnknownProvider,
    /// The user declined at the provider (`access_denied`).
    Denied,
    /// The provider answered with another error.
    ProviderError,
    /// The `state` is unknown, used, of another provider, or was started in another
    /// browser or session.
    StateInvalid,
    /// The flow is older than [`FLOW_SECS`].
    FlowExpired,
    /// The provider refused the code (a replayed or foreign code, a wrong secret).
    ExchangeFailed,
    /// The ID token (or the `iss` parameter) did not verify: signature, issuer,
    /// audience, expiry or nonce.
    TokenInvalid,
    /// The provider gave no email address, and a new account needs one.
    EmailMissing,
    /// That provider account is linked to another Sigra account.
    IdentityTaken,
    /// Sudo through a provider account that is not linked to this account.
    IdentityMismatch,
    /// Unlinking it would leave the account without a way to sign in.
    LastMethod,
    /// The account has no connection with that id.
    NotFound,
    /// The provider cannot be reached (discovery, keys or token endpoint).
    ProviderUnavailable,
}

impl OauthError {
    /// A stable machine-readable reason.
    pub const fn reason(&self) -> &'static str {
        match self {
            OauthError::UnknownProvider => "oauth_unknown_provider",
            OauthError::Denied => "oauth_denied",
            OauthError::ProviderError => "oauth_provider_error",
            OauthError::StateInvalid => "oauth_state_invalid",
            OauthError::FlowExpired => "oauth_flow_expired",
            OauthError::ExchangeFailed => "oauth_exchange_failed",
            OauthError::TokenInvalid => "oauth_token_invalid",
            OauthError::EmailMissing => "oauth_email_missing",
            OauthError::IdentityTaken => "oauth_identity_taken",
            OauthError::IdentityMismatch => "oauth_identity_mismatch",
            OauthError::LastMethod => "oauth_last_method",
            OauthError::NotFound => "oauth_connection_not_found",
            OauthError::ProviderUnavailable => "oauth_provider_unavailable",
        }
    }

    /// The sentence shown to the user.
    pub const fn message(&self) -> &'static str {
        match self {
            OauthError::UnknownProvider => "There is no such sign-in provider.",
            OauthError::Denied => "Signing in with the provider was cancelled.",
            OauthError::ProviderError => "The provider could not sign you in. Please try again.",
            OauthError::StateInvalid => {
                "This sign-in was not started in this browser, or was finished already. Please start again."
            }
            OauthError::FlowExpired => {
                "This sign-in took too long and has expired. Please start again."
            }
            OauthError::ExchangeFailed => {
                "The provider did not accept this sign-in. Please start again."
            }
            OauthError::TokenInvalid => {
                "The provider's answer could not be verified. Please start again."
            }
            OauthError::EmailMissing => {
                "The provider did not share an email address, which an account needs."
            }
            OauthError::IdentityTaken => {
                "That provider account is already linked to another account."
            }
            OauthError::IdentityMismatch => {
                "That is not the provider account linked to your account."
            }
            OauthError::LastMethod => {
                "This is your only way to sign in. Set a password or add a passkey first."
            }
            OauthError::NotFound => "There is no such connection on your account.",
            OauthError::ProviderUnavailable => {
                "The provider cannot be reached right now. Please try again later."
            }
        }
    }
}

/// A configured provider as pages show it (the buttons).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct ProviderInfo {
    /// The configured name: the URL segment.
    pub name: String,
    /// The name on the button.
    pub display_name: String,
    /// `google`, `github`, `apple` or `oidc`.
    pub kind: &'static str,
}

/// One configured provider, ready to use.
struct Provider {
    info: ProviderInfo,
    kind: ProviderKind,
    client_id: String,
    client_secret: Option<SecretString>,
    issuer: Option<String>,
    scopes: Vec<String>,
    trust_email: bool,
    form_post: bool,
    apple: Option<AppleSecret>,
    github: GithubEndpoints,
    /// The discovery document and when it was fetched.
    discovery: Mutex<Option<(OffsetDateTime, CoreProviderMetadata)>>,
}

struct AppleSecret {
    key: AppleKey,
    key_id: String,
    team_id: String,
}

struct GithubEndpoints {
    auth_url: String,
    token_url: String,
    api_url: String,
}

/// The configured providers and the HTTP client that talks to them.
pub struct Providers {
    http: reqwest::Client,
    list: Vec<Provider>,
    /// The origins of the providers' authorization endpoints (configured, and learnt from
    /// discovery), for the pages' `form-action` policy: a provider button's form ends in a
    /// redirect there, which the browser checks against it.
    origins: std::sync::RwLock<std::collections::BTreeSet<String>>,
}

impl std::fmt::Debug for Providers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names: Vec<&str> = self.list.iter().map(|p| p.info.name.as_str()).collect();
        f.debug_struct("Providers")
            .field("providers", &names)
            .finish_non_exhaustive()
    }
}

impl Providers {
    /// The providers of `config` (validated already), with an HTTP client on rustls that
    /// follows no redirect and gives up after 10 seconds.
    pub fn new(config: &OauthConfig) -> Result<Providers, crate::config::ConfigError> {
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(HTTP_TIMEOUT)
            .connect_timeout(HTTP_TIMEOUT)
            .user_agent("Sigra")
            .build()
            .map_err(|e| crate::config::ConfigError::Extract(format!("HTTP client: {e}")))?;
        let list: Vec<Provider> = config
            .providers
            .iter()
            .map(|(name, c)| Provider::new(name, c))
            .collect::<Result<_, _>>()?;
        let origins = list
            .iter()
            .filter_map(|p| match p.kind {
                ProviderKind::Github => origin_of(&p.github.auth_url),
                _ => p.issuer.as_deref().and_then(origin_of),
            })
            .collect();
        Ok(Providers {
            http,
            list,
            origins: std::sync::RwLock::new(origins),
        })
    }

    /// The origins a provider button's form may end at (its redirect goes to the
    /// provider's authorization endpoint), for the `form-action` directive of pages.
    pub fn form_action_origins(&self) -> Vec<String> {
        self.origins
            .read()
            .map(|o| o.iter().cloned().collect())
            .unwrap_or_default()
    }

    fn learn_origin(&self, url: &str) {
        if let (Some(origin), Ok(mut origins)) = (origin_of(url), self.origins.write()) {
            origins.insert(origin);
        }
    }

    /// The configured providers, in name order.
    pub fn list(&self) -> Vec<ProviderInfo> {
        self.list.iter().map(|p| p.info.clone()).collect()
    }

    /// Whether any provider is configured.
    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    fn get(&self, name: &str) -> Option<&Provider> {
        self.list.iter().find(|p| p.info.name == name)
    }

    /// The display name of provider `name` (the name itself when it is not configured
    /// any more).
    fn display_name(&self, name: &str) -> String {
        self.get(name)
            .map_or_else(|| name.to_owned(), |p| p.info.display_name.clone())
    }
}

impl Provider {
    fn new(name: &str, c: &OauthProviderConfig) -> Result<Provider, crate::config::ConfigError> {
        let kind = c.kind.unwrap_or(ProviderKind::Oidc);
        let (kind_name, default_display, issuer, scopes): (_, _, _, &[&str]) = match kind {
            ProviderKind::Google => (
                "google",
                "Google",
                Some("https://accounts.google.com"),
                &["email", "profile"],
            ),
            ProviderKind::Github => ("github", "GitHub", None, &["read:user", "user:email"]),
            ProviderKind::Apple => (
                "apple",
                "Apple",
                Some("https://appleid.apple.com"),
                &["name", "email"],
            ),
            ProviderKind::Oidc => ("oidc", name, None, &["email", "profile"]),
        };
        let apple = match (&c.private_key, &c.key_id, &c.team_id) {
            (Some(pem), Some(key_id), Some(team_id)) if kind == ProviderKind::Apple => {
                let key = crate::crypto::apple_signing_key(pem.expose()).map_err(|()| {
                    crate::config::ConfigError::Invalid {
                        key: format!("sigra.oauth.providers.{name}.private_key"),
                        expected: "a PKCS#8 PEM P-256 private key".into(),
                        found: "a value that is not one".into(),
                    }
                })?;
                Some(AppleSecret {
                    key,
                    key_id: key_id.trim().to_owned(),
                    team_id: team_id.trim().to_owned(),
                })
            }
            _ => None,
        };
        let scopes = c
            .scopes
            .clone()
            .unwrap_or_else(|| scopes.iter().map(|s| (*s).to_owned()).collect())
            .into_iter()
            // openidconnect always asks for `openid`; twice would be a malformed request.
            .filter(|s| s != "openid")
            .collect();
        Ok(Provider {
            info: ProviderInfo {
                name: name.to_owned(),
                display_name: c
                    .display_name
                    .clone()
                    .unwrap_or_else(|| default_display.to_owned()),
                kind: kind_name,
            },
            kind,
            client_id: c.client_id.trim().to_owned(),
            client_secret: c.client_secret.clone(),
            issuer: c.issuer.clone().or(issuer.map(str::to_owned)),
            scopes,
            trust_email: c.trust_email,
            form_post: kind == ProviderKind::Apple
                || c.response_mode == Some(ResponseMode::FormPost),
            apple,
            github: GithubEndpoints {
                auth_url: c
                    .auth_url
                    .clone()
                    .unwrap_or_else(|| "https://github.com/login/oauth/authorize".into()),
                token_url: c
                    .token_url
                    .clone()
                    .unwrap_or_else(|| "https://github.com/login/oauth/access_token".into()),
                api_url: c
                    .api_url
                    .clone()
                    .unwrap_or_else(|| "https://api.github.com".into())
                    .trim_end_matches('/')
                    .to_owned(),
            },
            discovery: Mutex::new(None),
        })
    }

    fn name(&self) -> &str {
        &self.info.name
    }

    /// The client secret to send now: Apple's is a fresh ES256 JWT.
    fn secret(&self, now: OffsetDateTime) -> Option<ClientSecret> {
        if let Some(apple) = &self.apple {
            let jwt = crate::crypto::apple_client_secret(
                &apple.key,
                &apple.key_id,
                &apple.team_id,
                &self.client_id,
                now,
            );
            return Some(ClientSecret::new(jwt));
        }
        self.client_secret
            .as_ref()
            .map(|s| ClientSecret::new(s.expose().to_owned()))
    }
}

/// What starts a flow.
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub enum Intent<'a> {
    /// Sign in (or sign up) from the log-in or register page.
    SignIn {
        /// Where to go after signing in (a validated local path).
        return_to: Option<&'a str>,
    },
    /// Link the provider account to the signed-in account (the connections page; the
    /// web layer asks for sudo first).
    Link(&'a Authenticated),
    /// Re-authenticate for sudo through a linked provider account.
    Sudo {
        /// The session.
        current: &'a Authenticated,
        /// Where to go after sudo.
        return_to: Option<&'a str>,
    },
}

impl Intent<'_> {
    fn purpose(&self) -> &'static str {
        match self {
            Intent::SignIn { .. } => "sign_in",
            Intent::Link(_) => "link",
            Intent::Sudo { .. } => "sudo",
        }
    }

    fn current(&self) -> Option<&Authenticated> {
        match self {
            Intent::SignIn { .. } => None,
            Intent::Link(current) | Intent::Sudo { current, .. } => Some(current),
        }
    }
}

/// A started flow: where to send the browser, and the binding token to keep in a cookie
/// when the browser had none.
#[derive(Debug)]
#[non_exhaustive]
pub struct Started {
    /// The provider's authorization URL (carries `state`, the PKCE challenge, the nonce).
    pub authorization_url: String,
    /// A new browser binding token, when the browser brought none: set it as the
    /// binding cookie.
    pub browser: Option<Token>,
}

/// What the flow keeps, sealed.
#[derive(Serialize, Deserialize)]
struct FlowState {
    verifier: String,
    nonce: String,
    return_to: Option<String>,
}

impl Drop for FlowState {
    fn drop(&mut self) {
        use zeroize::Zeroize as _;
        self.verifier.zeroize();
    }
}

/// Starts a flow with provider `provider` for `intent`. `browser` is the binding cookie
/// the browser brought, if any.
pub async fn start(
    auth: &Auth,
    provider: &str,
    intent: Intent<'_>,
    browser: Option<&str>,
    meta: &RequestMeta,
) -> Result<Result<Started, OauthError>, FlowError> {
    let Some(p) = auth.oauth.get(provider) else {
        return Ok(Err(OauthError::UnknownProvider));
    };
    let now = auth.clock.now();
    let (new_browser, browser_hash) = binding(browser)?;
    let state = Token::generate()?;
    let nonce = Token::generate()?;
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let redirect = redirect_uri(auth, p);
    let url = match authorization_url(auth, p, &redirect, &state, &nonce, challenge, now).await {
        Ok(url) => url,
        Err(e) => return Ok(Err(e)),
    };
    let return_to = match intent {
        Intent::SignIn { return_to } | Intent::Sudo { return_to, .. } => {
            return_to.map(str::to_owned)
        }
        Intent::Link(_) => None,
    };
    let sealed_state = FlowState {
        verifier: verifier.secret().clone(),
        nonce: nonce.as_str().to_owned(),
        return_to,
    };
    let id = new_id(auth.clock.as_ref());
    let sealed = seal(auth, &sealed_state, FLOW_AAD, id)?;
    let change = auth.change(meta).await?;
    let current = intent.current();
    store::delete_expired_flows(change.tx(), now).await?;
    store::insert_flow(
        change.tx(),
        &NewFlow {
            id,
            state_hash: state.hash().as_bytes(),
            browser_hash: browser_hash.as_bytes(),
            provider: p.name(),
            purpose: intent.purpose(),
            user_id: current.map(|c| c.user.id),
            session_id: current.map(|c| c.session.id),
            sealed: &sealed,
            created_at: now,
            expires_at: now + time::Duration::seconds(FLOW_SECS),
        },
    )
    .await?;
    change.commit(Revocation::None).await?;
    Ok(Ok(Started {
        authorization_url: url,
        browser: new_browser,
    }))
}

/// The browser's binding: the hash of the token it brought, or a new token.
fn binding(browser: Option<&str>) -> Result<(Option<Token>, TokenHash), FlowError> {
    if let Some(hash) = browser.and_then(|b| TokenHash::of_encoded(b).ok()) {
        return Ok((None, hash));
    }
    let token = Token::generate()?;
    let hash = token.hash();
    Ok((Some(token), hash))
}

/// `<public_url><base>/auth/<name>/callback`: the redirect URL to register at the
/// provider.
pub fn callback_url(auth: &Auth, provider: &str) -> String {
    auth.route_url(&format!("/auth/{provider}/callback"))
}

fn redirect_uri(auth: &Auth, p: &Provider) -> String {
    callback_url(auth, p.name())
}

async fn authorization_url(
    auth: &Auth,
    p: &Provider,
    redirect: &str,
    state: &Token,
    nonce: &Token,
    challenge: PkceCodeChallenge,
    now: OffsetDateTime,
) -> Result<String, OauthError> {
    let state = state.as_str().to_owned();
    let redirect = RedirectUrl::new(redirect.to_owned()).map_err(|_| OauthError::ProviderError)?;
    if p.kind == ProviderKind::Github {
        let client = github_client(p, redirect)?;
        let mut request = client
            .authorize_url(move || CsrfToken::new(state))
            .set_pkce_challenge(challenge);
        for scope in &p.scopes {
            request = request.add_scope(Scope::new(scope.clone()));
        }
        return Ok(request.url().0.to_string());
    }
    let metadata = discover(auth, p, false, now).await?;
    let client = oidc_client(p, metadata, redirect, now);
    let nonce = nonce.as_str().to_owned();
    let mut request = client
        .authorize_url(
            CoreAuthenticationFlow::AuthorizationCode,
            move || CsrfToken::new(state),
            move || Nonce::new(nonce),
        )
        .set_pkce_challenge(challenge);
    for scope in &p.scopes {
        request = request.add_scope(Scope::new(scope.clone()));
    }
    if p.form_post {
        request = request.add_extra_param("response_mode", "form_post");
    }
    Ok(request.url().0.to_string())
}

/// The provider's discovery document: cached for [`DISCOVERY_SECS`], fetched again when
/// `refresh` (a token named a key the cached set lacks).
async fn discover(
    auth: &Auth,
    p: &Provider,
    refresh: bool,
    now: OffsetDateTime,
) -> Result<CoreProviderMetadata, OauthError> {
    let mut cached = p.discovery.lock().await;
    if let Some((fetched, metadata)) = cached.as_ref() {
        let fresh = now - *fetched < time::Duration::seconds(DISCOVERY_SECS) && now >= *fetched;
        if fresh && !refresh {
            return Ok(metadata.clone());
        }
    }
    let issuer = p.issuer.clone().ok_or(OauthError::ProviderUnavailable)?;
    let issuer = IssuerUrl::new(issuer).map_err(|_| OauthError::ProviderUnavailable)?;
    match CoreProviderMetadata::discover_async(issuer, &auth.oauth.http).await {
        Ok(metadata) => {
            auth.oauth
                .learn_origin(metadata.authorization_endpoint().as_str());
            *cached = Some((now, metadata.clone()));
            Ok(metadata)
        }
        Err(e) => {
            log::warn!("oauth provider {}: discovery failed: {e}", p.name());
            Err(OauthError::ProviderUnavailable)
        }
    }
}

/// `scheme://host[:port]` of `url`, as CSP source lists name origins.
fn origin_of(url: &str) -> Option<String> {
    let url = reqwest::Url::parse(url).ok()?;
    url.has_host().then(|| url.origin().ascii_serialization())
}

fn oidc_client(
    p: &Provider,
    metadata: CoreProviderMetadata,
    redirect: RedirectUrl,
    now: OffsetDateTime,
) -> OidcClient {
    // client_secret_basic unless the provider supports only client_secret_post (Apple).
    let post_only = p.kind == ProviderKind::Apple
        || metadata
            .token_endpoint_auth_methods_supported()
            .is_some_and(|methods| {
                !methods.contains(&CoreClientAuthMethod::ClientSecretBasic)
                    && methods.contains(&CoreClientAuthMethod::ClientSecretPost)
            });
    let client = CoreClient::from_provider_metadata(
        metadata,
        ClientId::new(p.client_id.clone()),
        p.secret(now),
    )
    .set_redirect_uri(redirect);
    if post_only {
        client.set_auth_type(AuthType::RequestBody)
    } else {
        client
    }
}

type GithubClient =
    BasicClient<EndpointSet, EndpointNotSet, EndpointNotSet, EndpointNotSet, EndpointSet>;

fn github_client(p: &Provider, redirect: RedirectUrl) -> Result<GithubClient, OauthError> {
    let auth_url =
        AuthUrl::new(p.github.auth_url.clone()).map_err(|_| OauthError::ProviderUnavailable)?;
    let token_url =
        TokenUrl::new(p.github.token_url.clone()).map_err(|_| OauthError::ProviderUnavailable)?;
    let mut client = BasicClient::new(ClientId::new(p.client_id.clone()))
        .set_auth_uri(auth_url)
        .set_token_uri(token_url)
        .set_redirect_uri(redirect)
        .set_auth_type(AuthType::RequestBody);
    if let Some(secret) = &p.client_secret {
        client = client.set_client_secret(ClientSecret::new(secret.expose().to_owned()));
    }
    Ok(client)
}

/// What the provider sent the browser back with.
#[derive(Debug, Clone, Default)]
pub struct CallbackInput {
    /// The `state` Sigra sent.
    pub state: String,
    /// The authorization code.
    pub code: Option<SecretString>,
    /// An OAuth error code (`access_denied`, …).
    pub error: Option<String>,
    /// The provider's description of the error (audited, not shown).
    pub error_description: Option<String>,
    /// RFC 9207: the issuer that answered.
    pub iss: Option<String>,
    /// Apple: the user's name (JSON), on the first sign-in only.
    pub user: Option<String>,
}

/// A `form_post` answer as kept (sealed) on its flow: the code in the clear inside the
/// seal, since [`SecretString`] serializes redacted.
#[derive(Serialize, Deserialize)]
struct Stashed {
    code: Option<String>,
    error: Option<String>,
    error_description: Option<String>,
    iss: Option<String>,
    user: Option<String>,
}

impl Drop for Stashed {
    fn drop(&mut self) {
        use zeroize::Zeroize as _;
        if let Some(code) = self.code.as_mut() {
            code.zeroize();
        }
    }
}

/// The provider's cross-site POST answer (`form_post`): kept on the flow until the
/// browser, redirected to the GET callback, brings its binding cookie. Answers whether
/// it was kept (a flow of `provider` for that `state`, live, unused, without an answer
/// yet).
pub async fn stash(auth: &Auth, provider: &str, input: &CallbackInput) -> Result<bool, FlowError> {
    let Ok(state_hash) = TokenHash::of_encoded(&input.state) else {
        return Ok(false);
    };
    let now = auth.clock.now();
    let Some(flow) = store::find_flow(&auth.db, state_hash.as_bytes()).await? else {
        return Ok(false);
    };
    let stashed = Stashed {
        code: input.code.as_ref().map(|c| c.expose().to_owned()),
        error: input.error.clone(),
        error_description: input.error_description.clone(),
        iss: input.iss.clone(),
        user: input.user.clone(),
    };
    let sealed = seal(auth, &stashed, CALLBACK_AAD, flow.id)?;
    let kept =
        store::stash_callback(&auth.db, state_hash.as_bytes(), provider, &sealed, now).await?;
    Ok(kept == 1)
}

/// Where a callback finished.
#[derive(Debug)]
#[non_exhaustive]
pub enum CallbackOutcome {
    /// Signed in (or not: the outcome says, as for a password log-in).
    SignedIn {
        /// The log-in's outcome.
        outcome: LoginOutcome,
        /// Where the flow was asked to go.
        return_to: Option<String>,
        /// Whether the account was made by this sign-in.
        new_account: bool,
    },
    /// An account with the provider's email exists and was not linked: the owner must
    /// sign in to it; the identity waits in this browser to be linked then.
    AccountExists {
        /// The provider's display name.
        provider: String,
        /// The address.
        email: String,
    },
    /// The provider account is linked to the signed-in account (or was already).
    Linked {
        /// The provider's display name.
        provider: String,
    },
    /// Sudo confirmed: the session's new cookie value.
    SudoConfirmed {
        /// The new session token.
        token: Token,
        /// Where the flow was asked to go.
        return_to: Option<String>,
    },
    /// Refused; audited.
    Refused(OauthError),
}

/// The browser that came back: its binding cookie, its session, its trusted-browser
/// cookie.
#[derive(Debug, Clone, Copy, Default)]
pub struct Browser<'a> {
    /// The binding cookie.
    pub binding: Option<&'a str>,
    /// The browser's session, if any (a link or sudo flow must be finished by the
    /// session that started it; a sign-in ends it).
    pub current: Option<&'a Authenticated>,
    /// The trusted-browser cookie (it passes the second factor like after a password).
    pub trusted_browser: Option<&'a str>,
}

/// What a provider says about the account that signed in there.
struct Fetched {
    subject: String,
    email: Option<String>,
    email_verified: bool,
    name: Option<String>,
    label: String,
    access_token: Option<SecretString>,
    refresh_token: Option<SecretString>,
    expires_at: Option<OffsetDateTime>,
}

/// Finishes a flow: the provider's answer `input` for provider `provider`, in `browser`.
pub async fn callback(
    auth: &Auth,
    provider: &str,
    input: CallbackInput,
    browser: Browser<'_>,
    meta: &RequestMeta,
) -> Result<CallbackOutcome, FlowError> {
    let Some(p) = auth.oauth.get(provider) else {
        return Ok(CallbackOutcome::Refused(OauthError::UnknownProvider));
    };
    let now = auth.clock.now();
    let (flow, mut input) = match take_flow(auth, p, input, browser, now).await? {
        Ok(taken) => taken,
        Err((error, flow)) => return refuse(auth, p, flow.as_ref(), error, None, meta).await,
    };
    if let Some(code) = input.error.take() {
        let error = if code == "access_denied" {
            OauthError::Denied
        } else {
            OauthError::ProviderError
        };
        let described = json!({ "error": code, "description": input.error_description });
        return refuse(auth, p, Some(&flow), error, Some(described), meta).await;
    }
    let state: FlowState = open(auth, &flow.sealed, FLOW_AAD, flow.id)?;
    let fetched = match fetch(auth, p, &input, &state, now).await {
        Ok(fetched) => fetched,
        Err(error) => return refuse(auth, p, Some(&flow), error, None, meta).await,
    };
    match flow.purpose.as_str() {
        "link" => match browser.current {
            Some(current) => link(auth, p, current, &fetched, meta).await,
            None => refuse(auth, p, Some(&flow), OauthError::StateInvalid, None, meta).await,
        },
        "sudo" => match browser.current {
            Some(current) => sudo(auth, p, current, &fetched, state.return_to.clone(), meta).await,
            None => refuse(auth, p, Some(&flow), OauthError::StateInvalid, None, meta).await,
        },
        _ => sign_in(auth, p, &fetched, browser, state.return_to.clone(), meta).await,
    }
}

/// Uses up the flow `input.state` names, if this browser (and, for link and sudo, this
/// session) started it with this provider; with the `form_post` answer kept on it, if
/// any. On refusal, the flow when one was found (for the audit event).
async fn take_flow(
    auth: &Auth,
    p: &Provider,
    input: CallbackInput,
    browser: Browser<'_>,
    now: OffsetDateTime,
) -> Result<Result<(OauthFlowRow, CallbackInput), (OauthError, Option<OauthFlowRow>)>, FlowError> {
    let Ok(state_hash) = TokenHash::of_encoded(&input.state) else {
        return Ok(Err((OauthError::StateInvalid, None)));
    };
    let browser_hash = browser.binding.and_then(|b| TokenHash::of_encoded(b).ok());
    let taken = match &browser_hash {
        Some(hash) => {
            store::consume_flow(
                &auth.db,
                state_hash.as_bytes(),
                hash.as_bytes(),
                p.name(),
                now,
            )
            .await?
        }
        None => None,
    };
    let Some(flow) = taken else {
        let found = store::find_flow(&auth.db, state_hash.as_bytes()).await?;
        let expired = found
            .as_ref()
            .is_some_and(|f| f.used_at.is_none() && f.expires_at <= now);
        let error = if expired {
            OauthError::FlowExpired
        } else {
            OauthError::StateInvalid
        };
        return Ok(Err((error, found)));
    };
    let session = browser.current.map(|c| (c.user.id, c.session.id));
    let bound = match flow.purpose.as_str() {
        "sign_in" => true,
        _ => flow.user_id.zip(flow.session_id) == session,
    };
    if !bound {
        return Ok(Err((OauthError::StateInvalid, Some(flow))));
    }
    let input = match &flow.callback {
        Some(sealed) => {
            let mut kept: Stashed = open(auth, sealed, CALLBACK_AAD, flow.id)?;
            CallbackInput {
                state: input.state,
                code: kept.code.take().map(SecretString::new),
                error: kept.error.take(),
                error_description: kept.error_description.take(),
                iss: kept.iss.take(),
                user: kept.user.take(),
            }
        }
        None => input,
    };
    Ok(Ok((flow, input)))
}

/// Records a refused callback (`login.oauth_failure`) and answers the refusal.
async fn refuse(
    auth: &Auth,
    p: &Provider,
    flow: Option<&OauthFlowRow>,
    error: OauthError,
    more: Option<serde_json::Value>,
    meta: &RequestMeta,
) -> Result<CallbackOutcome, FlowError> {
    let change = auth.change(meta).await?;
    let details = json!({
        "provider": p.name(),
        "reason": error.reason(),
        "purpose": flow.map(|f| f.purpose.as_str()),
        "provider_error": more,
    });
    let user = flow.and_then(|f| f.user_id);
    change
        .audit_by(audit::LOGIN_OAUTH_FAILURE, user, user, details)
        .await?;
    change.commit(Revocation::None).await?;
    Ok(CallbackOutcome::Refused(error))
}

/// Exchanges the code and learns who signed in at the provider.
async fn fetch(
    auth: &Auth,
    p: &Provider,
    input: &CallbackInput,
    state: &FlowState,
    now: OffsetDateTime,
) -> Result<Fetched, OauthError> {
    let code = input
        .code
        .as_ref()
        .ok_or(OauthError::ProviderError)?
        .expose()
        .to_owned();
    let redirect =
        RedirectUrl::new(redirect_uri(auth, p)).map_err(|_| OauthError::ProviderError)?;
    let verifier = PkceCodeVerifier::new(state.verifier.clone());
    if p.kind == ProviderKind::Github {
        let client = github_client(p, redirect)?;
        let token = client
            .exchange_code(AuthorizationCode::new(code))
            .set_pkce_verifier(verifier)
            .request_async(&auth.oauth.http)
            .await
            .map_err(|e| {
                log::warn!("oauth provider {}: code exchange failed: {e}", p.name());
                OauthError::ExchangeFailed
            })?;
        let access = token.access_token();
        let user = github_get(auth, p, "/user", access).await?;
        let emails = github_get(auth, p, "/user/emails", access).await?;
        let mut fetched = github_identity(&user, &emails).ok_or(OauthError::ProviderError)?;
        fetched.access_token = Some(SecretString::new(access.secret().clone()));
        fetched.refresh_token = token
            .refresh_token()
            .map(|t| SecretString::new(t.secret().clone()));
        fetched.expires_at = token.expires_in().map(|d| now + d);
        return Ok(fetched);
    }
    if let (Some(iss), Some(issuer)) = (&input.iss, &p.issuer)
        && iss != issuer
    {
        return Err(OauthError::TokenInvalid);
    }
    let metadata = discover(auth, p, false, now).await?;
    let client = oidc_client(p, metadata, redirect.clone(), now);
    let token = client
        .exchange_code(AuthorizationCode::new(code))
        .map_err(|_| OauthError::ProviderUnavailable)?
        .set_pkce_verifier(verifier)
        .request_async(&auth.oauth.http)
        .await
        .map_err(|e| {
            log::warn!("oauth provider {}: code exchange failed: {e}", p.name());
            OauthError::ExchangeFailed
        })?;
    let id_token = token.id_token().ok_or(OauthError::TokenInvalid)?;
    let nonce = Nonce::new(state.nonce.clone());
    let clock = now.unix_timestamp();
    let time_fn = move || chrono::DateTime::from_timestamp(clock, 0).unwrap_or_default();
    let verifier = client
        .id_token_verifier()
        .set_allowed_algs(ID_TOKEN_ALGS)
        .set_time_fn(time_fn);
    let claims = match id_token.claims(&verifier, &nonce) {
        Ok(claims) => claims.clone(),
        Err(ClaimsVerificationError::SignatureVerification(
            SignatureVerificationError::NoMatchingKey,
        )) => {
            // The provider rotated its keys since discovery: fetch them once more.
            let metadata = discover(auth, p, true, now).await?;
            let client = oidc_client(p, metadata, redirect, now);
            let verifier = client
                .id_token_verifier()
                .set_allowed_algs(ID_TOKEN_ALGS)
                .set_time_fn(time_fn);
            id_token
                .claims(&verifier, &nonce)
                .map_err(|e| token_refused(p, &e))?
                .clone()
        }
        Err(e) => return Err(token_refused(p, &e)),
    };
    let subject = claims.subject().to_string();
    let mut email = claims.email().map(|e| e.to_string());
    let mut email_verified = claims.email_verified().unwrap_or(false);
    let mut name = claims
        .name()
        .and_then(|n| n.get(None))
        .map(|n| n.to_string());
    if email.is_none()
        && let Ok(request) =
            client.user_info(token.access_token().clone(), Some(claims.subject().clone()))
    {
        let info: Result<openidconnect::core::CoreUserInfoClaims, _> =
            request.request_async(&auth.oauth.http).await;
        if let Ok(info) = info {
            email = info.email().map(|e| e.to_string());
            email_verified = info.email_verified().unwrap_or(false);
            name = name.or_else(|| info.name().and_then(|n| n.get(None)).map(|n| n.to_string()));
        }
    }
    if p.kind == ProviderKind::Apple {
        name = name.or_else(|| input.user.as_deref().and_then(apple_name));
    }
    let email = usable_email(email);
    Ok(Fetched {
        label: email.clone().unwrap_or_else(|| subject.clone()),
        subject,
        email,
        email_verified,
        name,
        access_token: Some(SecretString::new(token.access_token().secret().clone())),
        refresh_token: token
            .refresh_token()
            .map(|t| SecretString::new(t.secret().clone())),
        expires_at: token.expires_in().map(|d| now + d),
    })
}

/// The provider's address, normalized, when it is one an account can have (a provider
/// may send an empty or malformed one).
fn usable_email(email: Option<String>) -> Option<String> {
    email
        .map(|e| crate::store::normalize_email(&e))
        .filter(|e| super::registration::valid_email(e))
}

fn token_refused(p: &Provider, e: &ClaimsVerificationError) -> OauthError {
    log::warn!("oauth provider {}: ID token refused: {e}", p.name());
    OauthError::TokenInvalid
}

/// Apple's `user` form field on a first sign-in: `{"name":{"firstName","lastName"},…}`.
fn apple_name(user: &str) -> Option<String> {
    let user: serde_json::Value = serde_json::from_str(user).ok()?;
    let name = user.get("name")?;
    let parts: Vec<&str> = ["firstName", "lastName"]
        .iter()
        .filter_map(|k| name.get(*k).and_then(serde_json::Value::as_str))
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect();
    (!parts.is_empty()).then(|| parts.join(" "))
}

/// GET `<api_url><path>` of GitHub's REST API with the access token.
async fn github_get(
    auth: &Auth,
    p: &Provider,
    path: &str,
    token: &AccessToken,
) -> Result<serde_json::Value, OauthError> {
    let answer = auth
        .oauth
        .http
        .get(format!("{}{path}", p.github.api_url))
        .bearer_auth(token.secret())
        .header(reqwest::header::ACCEPT, "application/vnd.github+json")
        .header("X-GitHub-Api-Version", "2022-11-28")
        .send()
        .await
        .map_err(|e| {
            log::warn!("oauth provider {}: GitHub API {path}: {e}", p.name());
            OauthError::ProviderUnavailable
        })?;
    if !answer.status().is_success() {
        log::warn!(
            "oauth provider {}: GitHub API {path} answered {}",
            p.name(),
            answer.status()
        );
        return Err(OauthError::ProviderError);
    }
    answer.json().await.map_err(|_| OauthError::ProviderError)
}

/// Who signed in at GitHub, from `GET /user` and `GET /user/emails`: the numeric id is
/// the subject (logins can be renamed), the email is the primary verified one (none when
/// the primary is not verified: an unverified address proves nothing).
fn github_identity(user: &serde_json::Value, emails: &serde_json::Value) -> Option<Fetched> {
    let id = user.get("id")?.as_u64()?;
    let login = user.get("login").and_then(serde_json::Value::as_str);
    let primary = emails.as_array()?.iter().find(|e| {
        e.get("primary").and_then(serde_json::Value::as_bool) == Some(true)
            && e.get("verified").and_then(serde_json::Value::as_bool) == Some(true)
    });
    let email = usable_email(
        primary
            .and_then(|e| e.get("email"))
            .and_then(serde_json::Value::as_str)
            .map(str::to_owned),
    );
    let name = user
        .get("name")
        .and_then(serde_json::Value::as_str)
        .map(str::to_owned);
    Some(Fetched {
        subject: id.to_string(),
        label: login
            .map(str::to_owned)
            .or_else(|| email.clone())
            .unwrap_or_else(|| id.to_string()),
        email_verified: email.is_some(),
        email,
        name,
        access_token: None,
        refresh_token: None,
        expires_at: None,
    })
}

/// The provider tokens of `fetched`, sealed for identity `id`.
fn seal_tokens(auth: &Auth, fetched: &Fetched, id: Uuid) -> Result<SealedTokens, FlowError> {
    let seal_one = |t: &Option<SecretString>, which: &[u8]| -> Result<Option<String>, FlowError> {
        t.as_ref()
            .map(|t| {
                let aad = [TOKEN_AAD, which, b"\0", id.as_bytes().as_slice()].concat();
                auth.cipher.encrypt(t.expose().as_bytes(), &aad)
            })
            .transpose()
            .map_err(FlowError::from)
    };
    Ok(SealedTokens {
        access_token: seal_one(&fetched.access_token, b"access")?,
        refresh_token: seal_one(&fetched.refresh_token, b"refresh")?,
        expires_at: fetched.expires_at,
    })
}

fn seal<S: Serialize>(auth: &Auth, value: &S, aad: &[u8], id: Uuid) -> Result<String, FlowError> {
    let plain = zeroize::Zeroizing::new(
        serde_json::to_vec(value).map_err(|e| FlowError::Webauthn(format!("oauth state: {e}")))?,
    );
    Ok(auth
        .cipher
        .encrypt(&plain, &[aad, id.as_bytes().as_slice()].concat())?)
}

fn open<S: serde::de::DeserializeOwned>(
    auth: &Auth,
    sealed: &str,
    aad: &[u8],
    id: Uuid,
) -> Result<S, FlowError> {
    let plain = zeroize::Zeroizing::new(
        auth.cipher
            .decrypt(sealed, &[aad, id.as_bytes().as_slice()].concat())?,
    );
    serde_json::from_slice(&plain).map_err(|e| FlowError::Webauthn(format!("oauth state: {e}")))
}

/// Records a sign-in or step-up through identity `id`: the label and name the provider
/// gave now, and its fresh tokens, sealed.
async fn record_use(
    auth: &Auth,
    ex: &impl crate::store::Executor,
    id: Uuid,
    fetched: &Fetched,
    now: OffsetDateTime,
) -> Result<(), FlowError> {
    let tokens = seal_tokens(auth, fetched, id)?;
    let name = fetched.name.as_deref();
    store::record_use(ex, id, &fetched.label, name, &tokens, now).await?;
    Ok(())
}

/// Links `fetched` to `user_id` in `change`: the identity row (tokens sealed), the audit
/// event, the owner's mail. [`StoreError::Conflict`] when the subject got linked
/// concurrently.
async fn insert_identity(
    auth: &Auth,
    change: &mut Change<'_>,
    p: &Provider,
    user: &User,
    fetched: &Fetched,
    implicit: bool,
) -> Result<Uuid, FlowError> {
    let now = auth.clock.now();
    let id = new_id(auth.clock.as_ref());
    let tokens = seal_tokens(auth, fetched, id)?;
    store::insert(
        change.tx(),
        &NewIdentity {
            id,
            user_id: user.id,
            provider: p.name(),
            subject: &fetched.subject,
            email: fetched.email.as_deref(),
            name: fetched.name.as_deref(),
            label: &fetched.label,
            tokens: &tokens,
            created_at: now,
        },
    )
    .await?;
    let details = json!({ "provider": p.name(), "identity_id": id, "implicit": implicit });
    change.audit(audit::OAUTH_LINKED, user.id, details).await?;
    let context = json!({
        "provider": p.info.display_name,
        "label": fetched.label,
        "time": human_time(now),
        "settings_url": auth.route_url("/settings/connections"),
    });
    change.mail("oauth_linked", &user.email, context).await?;
    Ok(id)
}

/// The sign-in rows of the linking decision (module docs). Runs twice at most: a
/// concurrent callback that linked the subject or took the email first makes the second
/// run see it.
async fn sign_in(
    auth: &Auth,
    p: &Provider,
    fetched: &Fetched,
    browser: Browser<'_>,
    return_to: Option<String>,
    meta: &RequestMeta,
) -> Result<CallbackOutcome, FlowError> {
    for _ in 0..2 {
        match sign_in_once(auth, p, fetched, browser, &return_to, meta).await {
            Err(FlowError::Store(StoreError::Conflict)) => continue,
            other => return other,
        }
    }
    Err(FlowError::Store(StoreError::Conflict))
}

async fn sign_in_once(
    auth: &Auth,
    p: &Provider,
    fetched: &Fetched,
    browser: Browser<'_>,
    return_to: &Option<String>,
    meta: &RequestMeta,
) -> Result<CallbackOutcome, FlowError> {
    let now = auth.clock.now();
    let mut change = auth.change(meta).await?;
    let tx = change.tx();
    let linked = store::find_by_subject(tx, p.name(), &fetched.subject).await?;
    let (user, identity_id, new_account) = if let Some(identity) = linked {
        let user = users::find_by_id(tx, identity.user_id).await?;
        let Some(user) = user.filter(|u| u.deleted_at.is_none()) else {
            change.rollback().await?;
            return Ok(CallbackOutcome::Refused(OauthError::IdentityTaken));
        };
        record_use(auth, tx, identity.id, fetched, now).await?;
        (user, identity.id, false)
    } else {
        let Some(email) = fetched.email.as_deref() else {
            change.rollback().await?;
            return refuse(auth, p, None, OauthError::EmailMissing, None, meta).await;
        };
        match users::find_by_email(tx, email).await? {
            Some(user) if fetched.email_verified && p.trust_email => {
                let id = insert_identity(auth, &mut change, p, &user, fetched, true).await?;
                // The provider proved the address: a squatter who registered it first
                // loses the password and sessions it set (as with a confirmation link).
                let first_proof =
                    super::confirmation::address_proven(auth, &change, user.id, None, true).await?;
                if first_proof {
                    let details = json!({ "by": p.name(), "first": true });
                    change.audit(audit::CONFIRMATION, user.id, details).await?;
                }
                let user = users::find_by_id(change.tx(), user.id)
                    .await?
                    .unwrap_or(user);
                (user, id, false)
            }
            Some(user) => {
                keep_pending(auth, &change, p, &user, fetched, browser, now).await?;
                let details =
                    json!({ "provider": p.name(), "email_verified": fetched.email_verified });
                change
                    .audit_by(audit::OAUTH_LINK_REQUIRED, None, Some(user.id), details)
                    .await?;
                change.commit(Revocation::None).await?;
                return Ok(CallbackOutcome::AccountExists {
                    provider: p.info.display_name.clone(),
                    email: user.email,
                });
            }
            None => {
                let id = new_id(auth.clock.as_ref());
                let user = users::insert(tx, id, email, None, now).await?;
                if fetched.email_verified {
                    users::confirm(change.tx(), user.id, now).await?;
                    #[cfg(feature = "admin")]
                    super::admin::on_confirmed(auth, &change, user.id).await?;
                } else {
                    super::confirmation::send(auth, &mut change, &user).await?;
                }
                let details =
                    json!({ "provider": p.name(), "email_verified": fetched.email_verified });
                change.audit(audit::REGISTRATION, user.id, details).await?;
                let user = users::find_by_id(change.tx(), user.id)
                    .await?
                    .unwrap_or(user);
                let identity = insert_identity(auth, &mut change, p, &user, fetched, false).await?;
                (user, identity, true)
            }
        }
    };
    let login_browser = login::Browser {
        remember_me: false,
        previous: browser.current,
        trusted_browser: browser.trusted_browser,
    };
    let mut details = serde_json::Map::new();
    details.insert("provider".into(), p.name().into());
    details.insert("identity_id".into(), json!(identity_id));
    let proof = login::Proof {
        second_factor: None,
        details,
    };
    let action = audit::LOGIN_OAUTH;
    let revocation = if new_account {
        Revocation::None
    } else {
        Revocation::EndSessions
    };
    let outcome = login::complete(
        auth,
        change,
        &user,
        login_browser,
        action,
        revocation,
        proof,
    )
    .await?;
    Ok(CallbackOutcome::SignedIn {
        outcome,
        return_to: return_to.clone(),
        new_account,
    })
}

/// An identity waiting, sealed, in this browser to be linked once the owner signs in.
#[derive(Serialize, Deserialize)]
struct Pending {
    subject: String,
    email: Option<String>,
    name: Option<String>,
    label: String,
    user_id: Uuid,
}

async fn keep_pending(
    auth: &Auth,
    change: &Change<'_>,
    p: &Provider,
    user: &User,
    fetched: &Fetched,
    browser: Browser<'_>,
    now: OffsetDateTime,
) -> Result<(), FlowError> {
    let Some(browser_hash) = browser.binding.and_then(|b| TokenHash::of_encoded(b).ok()) else {
        return Ok(());
    };
    let id = new_id(auth.clock.as_ref());
    let pending = Pending {
        subject: fetched.subject.clone(),
        email: fetched.email.clone(),
        name: fetched.name.clone(),
        label: fetched.label.clone(),
        user_id: user.id,
    };
    let sealed = seal(auth, &pending, FLOW_AAD, id)?;
    // A fresh random value: the pending row is found by browser, never by state.
    let state = Token::generate()?;
    store::insert_flow(
        change.tx(),
        &NewFlow {
            id,
            state_hash: state.hash().as_bytes(),
            browser_hash: browser_hash.as_bytes(),
            provider: p.name(),
            purpose: "pending_link",
            user_id: None,
            session_id: None,
            sealed: &sealed,
            created_at: now,
            expires_at: now + time::Duration::seconds(FLOW_SECS),
        },
    )
    .await?;
    Ok(())
}

/// The link rows of the linking decision.
async fn link(
    auth: &Auth,
    p: &Provider,
    current: &Authenticated,
    fetched: &Fetched,
    meta: &RequestMeta,
) -> Result<CallbackOutcome, FlowError> {
    let mut change = auth.change(meta).await?;
    let tx = change.tx();
    users::lock_row(tx, current.user.id).await?;
    match store::find_by_subject(tx, p.name(), &fetched.subject).await? {
        Some(identity) if identity.user_id == current.user.id => {
            record_use(auth, tx, identity.id, fetched, auth.clock.now()).await?;
        }
        Some(_) => {
            change.rollback().await?;
            return refuse(auth, p, None, OauthError::IdentityTaken, None, meta).await;
        }
        None => match insert_identity(auth, &mut change, p, &current.user, fetched, false).await {
            Err(FlowError::Store(StoreError::Conflict)) => {
                change.rollback().await?;
                return refuse(auth, p, None, OauthError::IdentityTaken, None, meta).await;
            }
            other => {
                other?;
            }
        },
    }
    change.commit(Revocation::None).await?;
    Ok(CallbackOutcome::Linked {
        provider: p.info.display_name.clone(),
    })
}

/// The sudo rows of the linking decision.
async fn sudo(
    auth: &Auth,
    p: &Provider,
    current: &Authenticated,
    fetched: &Fetched,
    return_to: Option<String>,
    meta: &RequestMeta,
) -> Result<CallbackOutcome, FlowError> {
    let now = auth.clock.now();
    let change = auth.change(meta).await?;
    let tx = change.tx();
    let identity = store::find_by_subject(tx, p.name(), &fetched.subject).await?;
    let Some(identity) = identity.filter(|i| i.user_id == current.user.id) else {
        let details =
            json!({ "provider": p.name(), "reason": OauthError::IdentityMismatch.reason() });
        change
            .audit(audit::SUDO_FAILURE, current.user.id, details)
            .await?;
        change.commit(Revocation::None).await?;
        return Ok(CallbackOutcome::Refused(OauthError::IdentityMismatch));
    };
    record_use(auth, tx, identity.id, fetched, now).await?;
    let token = Token::generate()?;
    crate::store::sessions::rotate(tx, current.session.id, &token.hash(), Some(now), None).await?;
    let details = json!({ "method": "oauth", "provider": p.name() });
    change.audit(audit::SUDO, current.user.id, details).await?;
    // The old session token is dead.
    change.commit(Revocation::EndSessions).await?;
    Ok(CallbackOutcome::SudoConfirmed { token, return_to })
}

/// A provider identity waiting in this browser to be linked.
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct PendingView {
    /// The provider's configured name.
    pub provider: String,
    /// The provider's display name.
    pub display_name: String,
    /// The provider account's email or login.
    pub label: String,
}

/// The identity waiting in this browser (`binding` cookie) to be linked to the account
/// of `current`, if any.
pub async fn pending(
    auth: &Auth,
    current: &Authenticated,
    binding: Option<&str>,
) -> Result<Option<PendingView>, FlowError> {
    let Some(hash) = binding.and_then(|b| TokenHash::of_encoded(b).ok()) else {
        return Ok(None);
    };
    let now = auth.clock.now();
    let Some(row) = store::find_pending(&auth.db, hash.as_bytes(), None, now).await? else {
        return Ok(None);
    };
    let pending: Pending = open(auth, &row.sealed, FLOW_AAD, row.id)?;
    if pending.user_id != current.user.id {
        return Ok(None);
    }
    Ok(Some(PendingView {
        display_name: auth.oauth.display_name(&row.provider),
        provider: row.provider,
        label: pending.label,
    }))
}

/// Links the identity of `provider` waiting in this browser to the signed-in account of
/// `current` (the owner signed in after being told the account exists). `Ok(Ok(None))`
/// when none waits for this account: the caller starts a link flow instead.
pub async fn link_pending(
    auth: &Auth,
    current: &Authenticated,
    provider: &str,
    binding: Option<&str>,
    meta: &RequestMeta,
) -> Result<Result<Option<String>, OauthError>, FlowError> {
    let Some(p) = auth.oauth.get(provider) else {
        return Ok(Err(OauthError::UnknownProvider));
    };
    let Some(hash) = binding.and_then(|b| TokenHash::of_encoded(b).ok()) else {
        return Ok(Ok(None));
    };
    let now = auth.clock.now();
    let Some(row) = store::find_pending(&auth.db, hash.as_bytes(), Some(provider), now).await?
    else {
        return Ok(Ok(None));
    };
    let pending: Pending = open(auth, &row.sealed, FLOW_AAD, row.id)?;
    if pending.user_id != current.user.id {
        return Ok(Ok(None));
    }
    let mut change = auth.change(meta).await?;
    if !store::consume_pending(change.tx(), row.id, now).await? {
        change.rollback().await?;
        return Ok(Ok(None));
    }
    users::lock_row(change.tx(), current.user.id).await?;
    let fetched = Fetched {
        subject: pending.subject,
        email: pending.email,
        email_verified: false,
        name: pending.name,
        label: pending.label,
        access_token: None,
        refresh_token: None,
        expires_at: None,
    };
    if store::find_by_subject(change.tx(), p.name(), &fetched.subject)
        .await?
        .is_some()
    {
        change.rollback().await?;
        return Ok(Err(OauthError::IdentityTaken));
    }
    match insert_identity(auth, &mut change, p, &current.user, &fetched, false).await {
        Ok(_) => {}
        Err(FlowError::Store(StoreError::Conflict)) => {
            change.rollback().await?;
            return Ok(Err(OauthError::IdentityTaken));
        }
        Err(e) => return Err(e),
    }
    change.commit(Revocation::None).await?;
    Ok(Ok(Some(p.info.display_name.clone())))
}

/// A linked provider account as its owner sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct ConnectionView {
    /// The connection's id (for unlinking).
    pub id: Uuid,
    /// The provider's configured name.
    pub provider: String,
    /// The provider's display name.
    pub display_name: String,
    /// The provider account's email or login.
    pub label: String,
    /// The person's name, when the provider gave one.
    pub name: Option<String>,
    /// When it was linked.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// Last sign-in or step-up through it.
    #[serde(with = "time::serde::rfc3339::option")]
    pub last_used_at: Option<OffsetDateTime>,
}

impl ConnectionView {
    fn of(auth: &Auth, row: &IdentityRow) -> ConnectionView {
        ConnectionView {
            id: row.id,
            display_name: auth.oauth.display_name(&row.provider),
            provider: row.provider.clone(),
            label: row.label.clone(),
            name: row.name.clone(),
            created_at: row.created_at,
            last_used_at: row.last_used_at,
        }
    }
}

/// The account's linked provider accounts, oldest first.
pub async fn connections(
    auth: &Auth,
    current: &Authenticated,
) -> Result<Vec<ConnectionView>, FlowError> {
    connection_views(auth, current.user.id).await
}

/// The linked provider accounts of `user_id` as [`connections`] shows them.
pub(crate) async fn connection_views(
    auth: &Auth,
    user_id: Uuid,
) -> Result<Vec<ConnectionView>, FlowError> {
    let rows = store::list_for_user(&auth.db, user_id).await?;
    Ok(rows.iter().map(|r| ConnectionView::of(auth, r)).collect())
}

/// Unlinks the account's connection `id` (the web layer asks for sudo first), unless it
/// is the account's last way to sign in: no password, no passkey, no other connection.
/// Mails the owner (`oauth_unlinked`) and audits `oauth.unlinked`.
pub async fn unlink(
    auth: &Auth,
    current: &Authenticated,
    id: Uuid,
    meta: &RequestMeta,
) -> Result<Result<(), OauthError>, FlowError> {
    let user_id = current.user.id;
    let mut change = auth.change(meta).await?;
    let tx = change.tx();
    // One removal of a way in at a time: two concurrent unlinks (or an unlink and a
    // passkey removal) must not each think the other way remains.
    users::lock_row(tx, user_id).await?;
    let identities = store::list_for_user(tx, user_id).await?;
    let Some(identity) = identities.into_iter().find(|i| i.id == id) else {
        change.rollback().await?;
        return Ok(Err(OauthError::NotFound));
    };
    let Some(user) = users::find_by_id(tx, user_id).await? else {
        change.rollback().await?;
        return Ok(Err(OauthError::NotFound));
    };
    if !super::other_way_in(tx, &user, WayIn::Identity(id)).await? {
        change.rollback().await?;
        return Ok(Err(OauthError::LastMethod));
    }
    store::delete(tx, user_id, id).await?;
    let details = json!({ "provider": identity.provider, "identity_id": id });
    change
        .audit(audit::OAUTH_UNLINKED, user_id, details)
        .await?;
    let context = json!({
        "provider": auth.oauth.display_name(&identity.provider),
        "label": identity.label,
        "time": human_time(auth.clock.now()),
        "settings_url": auth.route_url("/settings/connections"),
    });
    change.mail("oauth_unlinked", &user.email, context).await?;
    change.commit(Revocation::None).await?;
    Ok(Ok(()))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `GET https://api.github.com/user` for an account (recorded, trimmed).
    const GITHUB_USER: &str = r#"{
        "login": "octocat", "id": 583231, "node_id": "MDQ6VXNlcjU4MzIzMQ==",
        "avatar_url": "https://avatars.githubusercontent.com/u/583231?v=4",
        "type": "User", "site_admin": false, "name": "The Octocat",
        "company": "@github", "blog": "https://github.blog", "location": "San Francisco",
        "email": "octocat@github.com", "public_repos": 8, "followers": 9000,
        "created_at": "2011-01-25T18:44:36Z", "updated_at": "2024-01-22T12:00:00Z"
    }"#;

    /// `GET https://api.github.com/user/emails` (recorded, addresses changed): the
    /// public address is not the primary one, and one address is unverified.
    const GITHUB_EMAILS: &str = r#"[
        {"email": "octocat@github.com", "primary": false, "verified": true, "visibility": null},
        {"email": "Octo.Cat@Example.com", "primary": true, "verified": true, "visibility": "private"},
        {"email": "old@example.net", "primary": false, "verified": false, "visibility": null},
        {"email": "583231+octocat@users.noreply.github.com", "primary": false, "verified": true, "visibility": null}
    ]"#;

    fn json(text: &str) -> serde_json::Value {
        serde_json::from_str(text).unwrap()
    }

    #[test]
    fn github_gives_its_numeric_id_as_subject_and_the_primary_verified_email() {
        let fetched = github_identity(&json(GITHUB_USER), &json(GITHUB_EMAILS)).unwrap();
        assert_eq!(fetched.subject, "583231");
        // The primary address, not the public profile's, normalized.
        assert_eq!(fetched.email.as_deref(), Some("octo.cat@example.com"));
        assert!(fetched.email_verified);
        assert_eq!(fetched.label, "octocat");
        assert_eq!(fetched.name.as_deref(), Some("The Octocat"));
    }

    #[test]
    fn an_unverified_primary_github_email_gives_no_email() {
        let emails = r#"[
            {"email": "new@example.com", "primary": true, "verified": false, "visibility": "private"},
            {"email": "other@example.com", "primary": false, "verified": true, "visibility": null}
        ]"#;
        let fetched = github_identity(&json(GITHUB_USER), &json(emails)).unwrap();
        assert_eq!(fetched.email, None);
        assert!(!fetched.email_verified);
        // An API error body is no identity at all.
        let error = r#"{"message": "Bad credentials", "documentation_url": "https://docs.github.com/rest"}"#;
        assert!(github_identity(&json(error), &json(emails)).is_none());
        assert!(github_identity(&json(GITHUB_USER), &json(error)).is_none());
    }

    #[test]
    fn a_github_token_error_in_a_200_answer_is_not_a_token() {
        // GitHub answers a bad or replayed code with 200 and an error body; oauth2 must
        // not read it as a token (the exchange then fails as `oauth_exchange_failed`).
        let body = r#"{"error":"bad_verification_code","error_description":"The code passed is incorrect or expired.","error_uri":"https://docs.github.com/apps/managing-oauth-apps/troubleshooting-oauth-app-access-token-request-errors/#bad-verification-code"}"#;
        let parsed: Result<oauth2::basic::BasicTokenResponse, _> = serde_json::from_str(body);
        assert!(parsed.is_err());
        let ok = r#"{"access_token":"gho_16C7e42F292c6912E7710c838347Ae178B4a","token_type":"bearer","scope":"read:user,user:email"}"#;
        let parsed: oauth2::basic::BasicTokenResponse = serde_json::from_str(ok).unwrap();
        assert_eq!(
            parsed.access_token().secret(),
            "gho_16C7e42F292c6912E7710c838347Ae178B4a"
        );
    }

    #[test]
    fn apples_first_sign_in_form_gives_the_name() {
        // The `user` field Apple posts on the first sign-in only (recorded shape).
        let user = r#"{"name":{"firstName":"Jane","lastName":"Appleseed"},"email":"jane@privaterelay.appleid.com"}"#;
        assert_eq!(apple_name(user).as_deref(), Some("Jane Appleseed"));
        assert_eq!(
            apple_name(r#"{"name":{"firstName":"Jane"}}"#).as_deref(),
            Some("Jane")
        );
        assert_eq!(apple_name(r#"{"email":"x@example.com"}"#), None);
        assert_eq!(apple_name("not json"), None);
    }

    #[test]
    fn apples_id_token_claims_accept_email_verified_as_a_string() {
        // Apple sends `email_verified` (and `is_private_email`) as the strings "true" /
        // "false"; the claims must read them as booleans.
        let claims = r#"{
            "iss": "https://appleid.apple.com", "aud": "com.example.web",
            "exp": 1780000000, "iat": 1779990000, "sub": "001234.abcdef0123456789.0123",
            "nonce": "n-0S6_WzA2Mj", "c_hash": "x", "email": "jane@privaterelay.appleid.com",
            "email_verified": "true", "is_private_email": "true", "auth_time": 1779990000,
            "nonce_supported": true
        }"#;
        let parsed: openidconnect::core::CoreIdTokenClaims = serde_json::from_str(claims).unwrap();
        assert_eq!(parsed.email_verified(), Some(true));
        assert_eq!(parsed.subject().as_str(), "001234.abcdef0123456789.0123");
        let unverified = claims.replace(
            r#""email_verified": "true""#,
            r#""email_verified": "false""#,
        );
        let parsed: openidconnect::core::CoreIdTokenClaims =
            serde_json::from_str(&unverified).unwrap();
        assert_eq!(parsed.email_verified(), Some(false));
    }
}
