//! Cookie names and attributes: HttpOnly, SameSite=Lax, Path=/, and `Secure` whenever
//! cookies are secure (`sigra.secure_cookies`; always in production).
//!
//! # Host-only by default, shared across subdomains on request (`subdomains`)
//!
//! By default every cookie is host-only (no `Domain`) and, when secure, carries the
//! `__Host-` prefix: the browser then guarantees it was set by this very host over
//! HTTPS, for `Path=/`, and sends it to this host alone.
//!
//! With `sigra.cookie_domain = "example.com"` the cookies of a log-in are *shared*:
//! they carry `Domain=example.com`, so one session serves `app.example.com`,
//! `admin.example.com` and every other subdomain. A `__Host-` cookie may not carry a
//! `Domain`, so shared cookies use `__Secure-` instead (still `Secure`-only, but it
//! does not pin the host). Config validation makes sure the public URL's host lies
//! under the domain (a browser drops a cookie whose `Domain` does not cover the host
//! that set it).
//!
//! Which cookie is shared, and why:
//! - session, remember-me, trusted browser: the log-in itself; shared, or the user would
//!   sign in again on every subdomain.
//! - CSRF binding (pre-session): shared, so a log-in form served by one subdomain can
//!   post to another (with `sigra.trusted_origins` listing the first).
//! - social log-in binding: shared. The provider always sends the browser back to
//!   `<public_url><base>/auth/<provider>/callback`, which may be another host than the
//!   one whose button started the flow; a host-only cookie would not reach it.
//! - impersonator (the admin's own session kept aside): shared, like the session cookie
//!   it stands beside. The impersonated session can end (log-out, expiry) on any
//!   subdomain and the admin's session must come back there; host-only, it would stay
//!   behind on the host where the impersonation began. It holds a session token, like the
//!   session cookie, so sharing it exposes nothing the session cookie does not.
//! - passkey ceremony: host-only (`__Host-` when secure) in every configuration. Its
//!   options and its answer are posted by the script of one page to one host within
//!   5 minutes, so it never needs to travel, and sibling subdomains never see it.
//!
//! Every removal is built with the same `Domain` and `Path` as the cookie it removes: a
//! browser ignores a removal whose attributes differ and keeps the old cookie.
//!
//! Trade-offs of a shared domain (the failure modes to weigh before turning it on):
//! - the session cookie is sent to *every* subdomain, including ones run by someone
//!   else or serving user content; any of them can read it server-side (HttpOnly only
//!   hides it from scripts);
//! - any subdomain can also set ("toss") a cookie of the same name for the parent
//!   domain, `__Secure-` prefix included, planting a session of its own in a visitor's
//!   browser; the Origin check still refuses its cross-subdomain posts unless it is
//!   listed in `sigra.trusted_origins`;
//! - switching the setting on renames secure cookies (`__Host-` to `__Secure-`), which
//!   signs every browser out once.
//!
//! Do not use it when any subdomain of the domain is not fully yours (user pages,
//! third-party hosted services, staging hosts with weaker controls): give each app its
//! own log-in instead.

use rocket::http::{Cookie, CookieJar, SameSite};
use rocket::time::Duration;
use sigra_core::SigraConfig;
use sigra_core::crypto::Token;

/// How Sigra names and marks its cookies.
#[derive(Debug, Clone)]
pub struct CookieSettings {
    /// Session cookie name.
    pub session: String,
    /// Remember-me cookie name.
    pub remember: String,
    /// Pre-session CSRF binding cookie name.
    pub csrf: String,
    /// Trusted-browser cookie name (skips the second factor while valid).
    pub trusted_browser: String,
    /// Passkey ceremony cookie name: the token of the WebAuthn ceremony this browser
    /// started (its state stays on the server), for 5 minutes.
    #[cfg(feature = "passkeys")]
    pub passkey: String,
    /// Social log-in binding cookie name: a random token whose hash binds provider flows
    /// (and identities waiting to be linked) to this browser, for 10 minutes.
    #[cfg(feature = "oauth")]
    pub oauth: String,
    /// The admin's own session cookie, kept aside while they impersonate an account
    /// (restored when the impersonation ends; no guard reads it).
    #[cfg(feature = "admin")]
    pub impersonator: String,
    /// Whether cookies are `Secure`.
    pub secure: bool,
    /// The `Domain` of the shared cookies (`sigra.cookie_domain`); `None`: host-only.
    domain: Option<String>,
    remember_max_age: Duration,
    trusted_browser_max_age: Duration,
}

/// Where a cookie goes: every host under `sigra.cookie_domain` when one is set, or only
/// the host that set it (see the module header for which cookie is which).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Scope {
    Shared,
    #[cfg_attr(not(feature = "passkeys"), allow(dead_code))]
    HostOnly,
}

impl CookieSettings {
    /// Settings for `config`; `secure` adds `Secure` and the `__Host-` prefix, or the
    /// `__Secure-` prefix for the cookies shared under `sigra.cookie_domain`.
    pub fn new(config: &SigraConfig, secure: bool) -> Self {
        let domain = config.cookie_domain().map(str::to_owned);
        let prefix = |scope: Scope| match (secure, scope, &domain) {
            (false, _, _) => "",
            (true, Scope::Shared, Some(_)) => "__Secure-",
            (true, _, _) => "__Host-",
        };
        let shared = prefix(Scope::Shared);
        Self {
            session: format!("{shared}{}", config.session.cookie_name),
            remember: format!("{shared}{}", config.session.remember_cookie_name),
            csrf: format!("{shared}sigra_csrf"),
            trusted_browser: format!("{shared}sigra_trusted_browser"),
            #[cfg(feature = "passkeys")]
            passkey: format!("{}sigra_passkey", prefix(Scope::HostOnly)),
            #[cfg(feature = "oauth")]
            oauth: format!("{shared}sigra_oauth"),
            #[cfg(feature = "admin")]
            impersonator: format!("{shared}sigra_impersonator"),
            secure,
            domain,
            remember_max_age: Duration::seconds(config.session.remember_me_secs),
            trusted_browser_max_age: Duration::days(config.mfa.trust_browser_days),
        }
    }

    /// A shared cookie (the session's and its companions').
    fn build(&self, name: &str, value: String) -> Cookie<'static> {
        self.build_in(Scope::Shared, name, value)
    }

    /// A cookie for `scope`. Setting and removing go through here alike, so a removal
    /// always carries the `Domain` and `Path` of the cookie it removes.
    fn build_in(&self, scope: Scope, name: &str, value: String) -> Cookie<'static> {
        let mut cookie = Cookie::build((name.to_owned(), value))
            .path("/")
            .http_only(true)
            .same_site(SameSite::Lax)
            .secure(self.secure)
            .build();
        if let (Scope::Shared, Some(domain)) = (scope, &self.domain) {
            cookie.set_domain(domain.clone());
        }
        cookie
    }

    /// The session cookie (ends with the browser session).
    pub(crate) fn session_cookie(&self, token: &Token) -> Cookie<'static> {
        self.build(&self.session, token.as_str().to_owned())
    }

    /// The remember-me cookie, kept by the browser for `max_age` (the rest of its
    /// family's lifetime; at most `sigra.session.remember_me_secs`).
    pub(crate) fn remember_cookie(
        &self,
        token: &Token,
        max_age: Option<Duration>,
    ) -> Cookie<'static> {
        let mut cookie = self.build(&self.remember, token.as_str().to_owned());
        let max_age = max_age.map_or(self.remember_max_age, |left| {
            left.clamp(Duration::ZERO, self.remember_max_age)
        });
        cookie.set_max_age(max_age);
        cookie
    }

    /// Sets the session cookie (ends with the browser session).
    pub fn set_session(&self, jar: &CookieJar<'_>, token: &Token) {
        jar.add(self.session_cookie(token));
    }

    /// Sets the remember-me cookie for `max_age` (default: `sigra.session.remember_me_secs`).
    pub fn set_remember(&self, jar: &CookieJar<'_>, token: &Token, max_age: Option<Duration>) {
        jar.add(self.remember_cookie(token, max_age));
    }

    /// Sets the trusted-browser cookie.
    pub fn set_trusted_browser(&self, jar: &CookieJar<'_>, value: &str) {
        let mut cookie = self.build(&self.trusted_browser, value.to_owned());
        cookie.set_max_age(self.trusted_browser_max_age);
        jar.add(cookie);
    }

    /// The trusted-browser cookie's value, if the browser sent one.
    pub fn trusted_browser(&self, jar: &CookieJar<'_>) -> Option<String> {
        jar.get(&self.trusted_browser).map(|c| c.value().to_owned())
    }

    /// Sets the pre-session CSRF binding cookie.
    pub fn set_csrf(&self, jar: &CookieJar<'_>, value: String) {
        jar.add(self.build(&self.csrf, value));
    }

    /// Removes the session and remember-me cookies.
    pub fn clear_auth(&self, jar: &CookieJar<'_>) {
        jar.remove(self.build(&self.session, String::new()));
        jar.remove(self.build(&self.remember, String::new()));
    }

    /// Removes the remember-me cookie.
    pub fn clear_remember(&self, jar: &CookieJar<'_>) {
        if jar.get(&self.remember).is_some() {
            jar.remove(self.build(&self.remember, String::new()));
        }
    }

    /// Removes the session cookie only.
    pub fn clear_session(&self, jar: &CookieJar<'_>) {
        jar.remove(self.build(&self.session, String::new()));
    }
}

/// The passkey ceremony cookie (the `passkeys` feature).
#[cfg(feature = "passkeys")]
impl CookieSettings {
    /// Sets the passkey ceremony cookie to `token` for
    /// [`CEREMONY_SECS`](sigra_core::features::passkeys::CEREMONY_SECS).
    pub fn set_passkey(&self, jar: &CookieJar<'_>, token: &Token) {
        let mut cookie = self.build_in(Scope::HostOnly, &self.passkey, token.as_str().to_owned());
        cookie.set_max_age(Duration::seconds(
            sigra_core::features::passkeys::CEREMONY_SECS,
        ));
        jar.add(cookie);
    }

    /// The passkey ceremony token the browser sent, if any.
    pub fn passkey(&self, jar: &CookieJar<'_>) -> Option<String> {
        jar.get(&self.passkey).map(|c| c.value().to_owned())
    }

    /// Removes the passkey ceremony cookie (its ceremony is used up).
    pub fn clear_passkey(&self, jar: &CookieJar<'_>) {
        if jar.get(&self.passkey).is_some() {
            jar.remove(self.build_in(Scope::HostOnly, &self.passkey, String::new()));
        }
    }
}

/// The social log-in binding cookie (the `oauth` feature).
#[cfg(feature = "oauth")]
impl CookieSettings {
    /// Sets the social log-in binding cookie to `token` for
    /// [`FLOW_SECS`](sigra_core::features::oauth::FLOW_SECS); with `None`, gives the
    /// browser's current one that long again. SameSite=Lax: the provider sends the
    /// browser back by a top-level navigation, which carries it.
    pub fn set_oauth(&self, jar: &CookieJar<'_>, token: Option<&Token>) {
        let value = match token {
            Some(token) => token.as_str().to_owned(),
            None => match jar.get(&self.oauth) {
                Some(cookie) => cookie.value().to_owned(),
                None => return,
            },
        };
        let mut cookie = self.build(&self.oauth, value);
        cookie.set_max_age(Duration::seconds(sigra_core::features::oauth::FLOW_SECS));
        jar.add(cookie);
    }

    /// The social log-in binding token the browser sent, if any.
    pub fn oauth(&self, jar: &CookieJar<'_>) -> Option<String> {
        jar.get(&self.oauth).map(|c| c.value().to_owned())
    }
}

/// The admin's own session cookie, kept aside while they impersonate (the `admin`
/// feature).
#[cfg(feature = "admin")]
impl CookieSettings {
    /// Keeps the admin's session cookie value aside while they impersonate (a browser
    /// session cookie, like the session cookie itself).
    pub fn set_impersonator(&self, jar: &CookieJar<'_>, admin_session: &str) {
        jar.add(self.build(&self.impersonator, admin_session.to_owned()));
    }

    /// Takes the admin's kept session cookie value out of the jar, if there is one.
    pub fn take_impersonator(&self, jar: &CookieJar<'_>) -> Option<String> {
        let value = jar.get(&self.impersonator).map(|c| c.value().to_owned())?;
        jar.remove(self.build(&self.impersonator, String::new()));
        Some(value)
    }
}
