//! [`LayoutContext`]: what Sigra's layout needs to render a host page that extends it.

use rocket::Request;
use rocket::http::Status;
use rocket::request::{FromRequest, Outcome};
use serde::Serialize;

use super::failure::GuardFailure;
use super::{CsrfToken, current_session};

/// The `sigra` value of Sigra's layout (`sigra/layout.html`): the app name, the base path,
/// the CSRF token for the page's forms, the signed-in user (if any), the impersonation
/// banner and the features on. A host page that extends the layout passes it as `sigra`:
///
/// ```no_run
/// # #[macro_use] extern crate rocket;
/// use rocket_dyn_templates::{Template, context};
/// use sigra_rocket::LayoutContext;
///
/// #[get("/")]
/// fn home(sigra: LayoutContext) -> Template {
///     Template::render("home", context! { sigra })
/// }
/// ```
///
/// It never fails for want of a session: a visitor gets the log-in and register links. It
/// answers 503 when Sigra's state is missing or the session store is out of reach.
#[derive(Debug, Clone, Serialize)]
#[serde(transparent)]
pub struct LayoutContext(serde_json::Value);

impl LayoutContext {
    /// The value, as the layout reads it.
    pub fn value(&self) -> &serde_json::Value {
        &self.0
    }
}

#[rocket::async_trait]
impl<'r> FromRequest<'r> for LayoutContext {
    type Error = GuardFailure;

    async fn from_request(request: &'r Request<'_>) -> Outcome<Self, Self::Error> {
        // The session first (the token binds to it), then the token, which sets the
        // pre-session cookie for a visitor's forms.
        if current_session(request).await.is_err() {
            return Outcome::Error((Status::ServiceUnavailable, GuardFailure::Unavailable));
        }
        if let Outcome::Error(e) = request.guard::<CsrfToken>().await {
            return Outcome::Error(e);
        }
        let mut context = crate::respond::base_context(request);
        let value = context.remove("sigra").unwrap_or(serde_json::Value::Null);
        Outcome::Success(LayoutContext(value))
    }
}
