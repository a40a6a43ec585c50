//! CSRF protection: an HMAC token bound to the session (or, before log-in, to a random
//! pre-session cookie), checked on every state-changing form together with the `Origin`
//! and `Sec-Fetch-Site` headers.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rocket::data::{self, Data, FromData, ToByteUnit};
use rocket::form::name::NameView;
use rocket::form::{Form, FromForm, ValueField};
use rocket::http::{RawStr, Status};
use rocket::request::{FromRequest, Outcome};
use rocket::{Ignite, Request, Rocket, Sentinel};
use sigra_core::crypto::Purpose;

use super::failure::{GuardFailure, record_failure};
use super::session::current_session;
use crate::state::{SigraState, sentinel_abort, state};

/// The form field that carries the token.
pub const FIELD: &str = "_csrf";

/// What the token is bound to: the session, or the pre-session cookie (made if needed).
async fn binding(
    request: &Request<'_>,
    state: &SigraState,
    create: bool,
) -> Result<Option<String>, ()> {
    if let Some(found) = current_session(request).await? {
        return Ok(Some(format!("session:{}", found.session.id)));
    }
    let jar = request.cookies();
    if let Some(cookie) = jar.get(&state.cookies.csrf) {
        return Ok(Some(format!("pre:{}", cookie.value())));
    }
    // A cookie set earlier in this same request (a second form on the page).
    if let Some(cookie) = jar.get_pending(&state.cookies.csrf) {
        return Ok(Some(format!("pre:{}", cookie.value())));
    }
    if !create {
        return Ok(None);
    }
    let bytes = sigra_core::crypto::random_bytes::<32>().map_err(|_| ())?;
    let value = URL_SAFE_NO_PAD.encode(bytes);
    state.cookies.set_csrf(jar, value.clone());
    Ok(Some(format!("pre:{value}")))
}

/// The CSRF token for forms on the page being rendered. Put it in a hidden `_csrf` field.
///
/// ```no_run
/// # #[macro_use] extern crate rocket;
/// use sigra_rocket::{CsrfToken, CsrfForm};
///
/// #[get("/profile")]
/// fn form(csrf: CsrfToken) -> String {
///     format!(r#"<form method="post"><input type="hidden" name="_csrf" value="{}">…</form>"#, csrf.as_str())
/// }
///
/// #[derive(FromForm)]
/// struct Profile { name: String }
///
/// #[post("/profile", data = "<form>")]
/// fn save(form: CsrfForm<Profile>) -> String {
///     format!("saved {}", form.into_inner().name)
/// }
/// ```
#[derive(Debug, Clone)]
pub struct CsrfToken(String);

impl CsrfToken {
    /// The token.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[rocket::async_trait]
impl<'r> FromRequest<'r> for CsrfToken {
    type Error = GuardFailure;

    async fn from_request(request: &'r Request<'_>) -> Outcome<Self, Self::Error> {
        let Some(state) = state(request) else {
            return Outcome::Error((Status::ServiceUnavailable, GuardFailure::Unavailable));
        };
        match binding(request, state, true).await {
            Ok(Some(bound)) => Outcome::Success(CsrfToken(state.csrf_token(&bound))),
            _ => Outcome::Error((Status::ServiceUnavailable, GuardFailure::Unavailable)),
        }
    }
}

impl Sentinel for CsrfToken {
    fn abort(rocket: &Rocket<Ignite>) -> bool {
        sentinel_abort(rocket, "CsrfToken")
    }
}

/// Whether the request comes from this site according to the browser: `Sec-Fetch-Site`
/// (when sent) must be same-origin or none, and `Origin` (when sent) must be this host
/// or the configured public URL.
fn same_origin(request: &Request<'_>, state: &SigraState) -> bool {
    let headers = request.headers();
    if let Some(site) = headers.get_one("Sec-Fetch-Site")
        && !matches!(site, "same-origin" | "none")
    {
        return false;
    }
    match headers.get_one("Origin") {
        None => true,
        // Browsers send `Origin: null` under `Referrer-Policy: no-referrer`; the fetch
        // metadata then has to vouch for the request.
        Some("null") => headers.get_one("Sec-Fetch-Site") == Some("same-origin"),
        Some(origin) => {
            if origin == state.auth.config.public_url {
                return true;
            }
            let host = headers.get_one("Host").unwrap_or_default();
            let origin_host = origin
                .strip_prefix("https://")
                .or_else(|| origin.strip_prefix("http://"))
                .unwrap_or("");
            !host.is_empty() && origin_host == host
        }
    }
}

/// Checks the request's origin and the `_csrf` value against the request's binding.
pub(crate) async fn verify(request: &Request<'_>, submitted: Option<&str>) -> bool {
    let Some(state) = state(request) else {
        return false;
    };
    if !same_origin(request, state) {
        return false;
    }
    let Some(submitted) = submitted.and_then(|s| URL_SAFE_NO_PAD.decode(s).ok()) else {
        return false;
    };
    match binding(request, state, false).await {
        Ok(Some(bound)) => state
            .auth
            .keys
            .verify(Purpose::Csrf, bound.as_bytes(), &submitted),
        _ => false,
    }
}

/// A url-encoded form whose `_csrf` field and origin were checked. Fails with 403
/// otherwise (422 when the form itself does not parse).
#[derive(Debug)]
pub struct CsrfForm<T>(T);

impl<T> CsrfForm<T> {
    /// The form.
    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T> std::ops::Deref for CsrfForm<T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.0
    }
}

fn decode_fields(body: &str) -> Vec<(String, String)> {
    body.split('&')
        .filter(|s| !s.is_empty())
        .map(|pair| {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            (
                RawStr::new(name).url_decode_lossy().into_owned(),
                RawStr::new(value).url_decode_lossy().into_owned(),
            )
        })
        .collect()
}

#[rocket::async_trait]
impl<'r, T> FromData<'r> for CsrfForm<T>
where
    T: for<'a> FromForm<'a> + Send + 'static,
{
    type Error = GuardFailure;

    async fn from_data(request: &'r Request<'_>, data: Data<'r>) -> data::Outcome<'r, Self> {
        let is_form = request.content_type().is_some_and(|ct| ct.is_form());
        let limit = request.limits().get("form").unwrap_or(32.kibibytes());
        let body = match data.open(limit).into_string().await {
            Ok(body) if body.is_complete() => body.into_inner(),
            Ok(_) => return data::Outcome::Error((Status::PayloadTooLarge, GuardFailure::Csrf)),
            Err(_) => return data::Outcome::Error((Status::BadRequest, GuardFailure::Csrf)),
        };
        let fields = if is_form {
            decode_fields(&body)
        } else {
            Vec::new()
        };
        let submitted = fields
            .iter()
            .find(|(name, _)| name == FIELD)
            .map(|(_, v)| v.as_str());
        if !verify(request, submitted).await {
            record_failure(request, GuardFailure::Csrf);
            return data::Outcome::Error((Status::Forbidden, GuardFailure::Csrf));
        }
        let values = fields.iter().map(|(name, value)| ValueField {
            name: NameView::new(name),
            value,
        });
        match Form::<T>::parse_iter(values) {
            Ok(form) => data::Outcome::Success(CsrfForm(form)),
            Err(_) => data::Outcome::Error((Status::UnprocessableEntity, GuardFailure::None)),
        }
    }
}

impl<T> Sentinel for CsrfForm<T> {
    fn abort(rocket: &Rocket<Ignite>) -> bool {
        sentinel_abort(rocket, "CsrfForm")
    }
}

/// A form with nothing but the CSRF token (and perhaps `_method`): log-out, revoke.
#[derive(Debug, Default, FromForm)]
pub struct NoFields {
    #[field(name = "_method")]
    _method: Option<String>,
}
