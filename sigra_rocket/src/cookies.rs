//! Cookie names and attributes: HttpOnly, SameSite=Lax, and `Secure` with the `__Host-`
//! prefix whenever cookies are secure.

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
    remember_max_age: Duration,
    trusted_browser_max_age: Duration,
}

impl CookieSettings {
    /// Settings for `config`; `secure` adds `Secure` and the `__Host-` prefix.
    pub fn new(config: &SigraConfig, secure: bool) -> Self {
        let prefix = if secure { "__Host-" } else { "" };
        Self {
            session: format!("{prefix}{}", config.session.cookie_name),
            remember: format!("{prefix}{}", config.session.remember_cookie_name),
            csrf: format!("{prefix}sigra_csrf"),
            trusted_browser: format!("{prefix}sigra_trusted_browser"),
            #[cfg(feature = "passkeys")]
            passkey: format!("{prefix}sigra_passkey"),
            #[cfg(feature = "oauth")]
            oauth: format!("{prefix}sigra_oauth"),
            #[cfg(feature = "admin")]
            impersonator: format!("{prefix}sigra_impersonator"),
            secure,
            remember_max_age: Duration::seconds(config.session.remember_me_secs),
            trusted_browser_max_age: Duration::days(config.mfa.trust_browser_days),
        }
    }

    fn build(&self, name: &str, value: String) -> Cookie<'static> {
        Cookie::build((name.to_owned(), value))
            .path("/")
            .http_only(true)
            .same_site(SameSite::Lax)
            .secure(self.secure)
            .build()
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
        let mut cookie = self.build(&self.passkey, token.as_str().to_owned());
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
            jar.remove(self.build(&self.passkey, String::new()));
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
