//! Security headers for the host's own pages: the ones Sigra's pages always send, offered
//! as an opt-in fairing (`rocket.attach(Sigra::security_headers())`).
//!
//! What each answer gets, unless the route already set the header itself:
//! - `Content-Security-Policy`: scripts, styles, images, fonts and fetches from this
//!   origin only (images also as `data:`), no plugins, no `<base>`, forms posted to this
//!   origin (and to the social log-in providers' authorization endpoints, which a log-in
//!   button's form redirects to), and no framing. No `unsafe-inline`: an injected
//!   `<script>` or `onclick=` does not run, which is the point of the header.
//! - `X-Content-Type-Options: nosniff`: a file served as text is never run as a script.
//! - `X-Frame-Options: DENY`: no framing in browsers older than `frame-ancestors`
//!   (click-jacking).
//! - `Referrer-Policy: strict-origin-when-cross-origin`: other sites see the origin, never
//!   the path or query (which may carry a token on a page the host adds).
//!
//! Sigra's own pages (under the base path, the organization and admin areas) keep their
//! stricter policy (`default-src 'none'`, `Referrer-Policy: no-referrer`), set by the Sigra
//! fairing whether or not this one is attached.
//!
//! Trade-off: a page that needs inline script, a CDN or an embedded frame must say so,
//! either by a policy passed to [`SecurityHeaders::content_security_policy`] or by setting
//! the header on that route's response, which this fairing then leaves alone. Failure
//! mode: a policy too strict for a page breaks that page visibly in the browser (the
//! console names the refused source); it never weakens another page.

use rocket::fairing::{Fairing, Info, Kind};
use rocket::http::Header;
use rocket::{Request, Response};

use crate::state::SigraState;

/// The policy for the host's pages when none is given: this origin only, no inline
/// script or style, no framing.
pub const DEFAULT_POLICY: &str = "default-src 'self'; script-src 'self'; style-src 'self'; \
     img-src 'self' data:; font-src 'self'; connect-src 'self'; object-src 'none'; \
     frame-ancestors 'none'; base-uri 'none'";

/// Sets `name: value` unless the response already carries that header.
fn set_default(response: &mut Response<'_>, name: &'static str, value: String) {
    if !response.headers().contains(name) {
        response.set_header(Header::new(name, value));
    }
}

/// The fairing that sends security headers on the host's own pages. Attach it beside
/// Sigra's fairing:
///
/// ```no_run
/// # #[macro_use] extern crate rocket;
/// use sigra_rocket::Sigra;
///
/// #[launch]
/// fn rocket() -> _ {
///     rocket::build()
///         .attach(Sigra::fairing())
///         .attach(Sigra::security_headers())
/// }
/// ```
#[derive(Debug, Clone)]
pub struct SecurityHeaders {
    policy: String,
}

impl Default for SecurityHeaders {
    fn default() -> Self {
        SecurityHeaders {
            policy: DEFAULT_POLICY.to_owned(),
        }
    }
}

impl SecurityHeaders {
    /// Replaces the `Content-Security-Policy` sent on the host's pages. `form-action` is
    /// added when the policy has none: `'self'` and the social log-in providers.
    #[must_use]
    pub fn content_security_policy(mut self, policy: impl Into<String>) -> Self {
        self.policy = policy.into();
        self
    }

    /// The policy with its `form-action`: this origin and `extra` origins.
    fn policy_with_form_action(&self, extra: &[String]) -> String {
        if self.policy.contains("form-action") {
            return self.policy.clone();
        }
        let mut policy = self.policy.trim_end().trim_end_matches(';').to_owned();
        policy.push_str("; form-action 'self'");
        for origin in extra {
            policy.push(' ');
            policy.push_str(origin);
        }
        policy
    }
}

/// The origins a form may post to besides this one: the social log-in providers'
/// authorization endpoints.
pub(crate) fn form_action_origins(state: &SigraState) -> Vec<String> {
    #[cfg(feature = "oauth")]
    {
        state.auth.oauth.form_action_origins()
    }
    #[cfg(not(feature = "oauth"))]
    {
        let _ = state;
        Vec::new()
    }
}

/// Sets the headers of Sigra's own pages (see the module header).
pub(crate) fn set_sigra_page_headers(state: &SigraState, response: &mut Response<'_>) {
    let mut form_action = String::from("'self'");
    for origin in form_action_origins(state) {
        form_action.push(' ');
        form_action.push_str(&origin);
    }
    response.set_header(Header::new(
        "Content-Security-Policy",
        format!(
            "default-src 'none'; script-src 'self'; connect-src 'self'; style-src 'self'; img-src 'self' data:; \
             form-action {form_action}; frame-ancestors 'none'; base-uri 'none'"
        ),
    ));
    response.set_header(Header::new("X-Content-Type-Options", "nosniff"));
    response.set_header(Header::new("Referrer-Policy", "no-referrer"));
    response.set_header(Header::new("X-Frame-Options", "DENY"));
}

#[rocket::async_trait]
impl Fairing for SecurityHeaders {
    fn info(&self) -> Info {
        Info {
            name: "Sigra security headers",
            kind: Kind::Response,
        }
    }

    async fn on_response<'r>(&self, request: &'r Request<'_>, response: &mut Response<'r>) {
        let extra = request
            .rocket()
            .state::<SigraState>()
            .map(form_action_origins)
            .unwrap_or_default();
        let own_policy = response.headers().contains("Content-Security-Policy");
        set_default(
            response,
            "Content-Security-Policy",
            self.policy_with_form_action(&extra),
        );
        // Rocket's Shield answers `X-Frame-Options: SAMEORIGIN` on every response; framing
        // is denied unless the route chose its own policy (its `frame-ancestors` decides).
        if !own_policy {
            response.set_header(Header::new("X-Frame-Options", "DENY"));
        }
        set_default(response, "X-Content-Type-Options", "nosniff".to_owned());
        set_default(
            response,
            "Referrer-Policy",
            "strict-origin-when-cross-origin".to_owned(),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_policy_without_form_action_gets_this_origin_and_the_providers() {
        let headers = SecurityHeaders::default();
        let policy = headers.policy_with_form_action(&["https://accounts.example".into()]);
        assert!(policy.ends_with("; form-action 'self' https://accounts.example"));
        assert!(!policy.contains("unsafe-inline"));
        let own = SecurityHeaders::default()
            .content_security_policy("default-src 'self'; form-action 'none'");
        assert_eq!(
            own.policy_with_form_action(&[]),
            "default-src 'self'; form-action 'none'"
        );
    }
}
