//! CSRF protection: an HMAC token bound to the session (or, before log-in, to a random
//! pre-session cookie), checked on every state-changing request together with the
//! `Origin` and `Sec-Fetch-Site` headers. The token travels in the `_csrf` field of a
//! form or the `X-CSRF-Token` header (JSON clients read it from `GET <base>/csrf`).
//!
//! Bodies are url-encoded forms or JSON objects with the same field names (DESIGN §4a):
//! both are read into the same `FromForm` type, so a JSON client and a page can never
//! drift apart. A JSON body cannot be sent cross-site without a CORS preflight, and the
//! token is checked for it all the same.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rocket::data::{self, Data, FromData, ToByteUnit};
use rocket::form::name::NameView;
use rocket::form::{Form, FromForm, ValueField};
use rocket::http::{RawStr, Status};
use rocket::request::{FromRequest, Outcome};
use rocket::{Ignite, Request, Rocket, Sentinel};
use sigra_core::crypto::Purpose;

use sigra_core::features::RequestMeta;
use sigra_core::form::FieldError;

use super::client::{meta, rate_limited};
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
/// or the configured public URL. An `Origin` listed in `sigra.trusted_origins` (another
/// subdomain of the site, see the `subdomains` section of the README) is accepted too,
/// and with it `Sec-Fetch-Site: same-site`, which browsers send between subdomains; a
/// same-site request from any unlisted origin (a sibling subdomain you do not control)
/// is still refused.
fn same_origin(request: &Request<'_>, state: &SigraState) -> bool {
    let headers = request.headers();
    let origin = headers.get_one("Origin");
    let config = &state.auth.config;
    let trusted = origin.is_some_and(|origin| config.trusted_origins.iter().any(|t| t == origin));
    if let Some(site) = headers.get_one("Sec-Fetch-Site") {
        let vouched = match site {
            "same-origin" | "none" => true,
            "same-site" => trusted,
            _ => false,
        };
        if !vouched {
            return false;
        }
    }
    match origin {
        None => true,
        // Browsers send `Origin: null` under `Referrer-Policy: no-referrer`; the fetch
        // metadata then has to vouch for the request.
        Some("null") => headers.get_one("Sec-Fetch-Site") == Some("same-origin"),
        Some(_) if trusted => true,
        Some(origin) => {
            if origin == config.public_url {
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
/// `Err` when the binding could not be read (the session store failed): the request is
/// then neither accepted nor blamed on its token.
pub(crate) async fn verify(request: &Request<'_>, submitted: Option<&str>) -> Result<bool, ()> {
    let Some(state) = state(request) else {
        return Ok(false);
    };
    if !same_origin(request, state) {
        return Ok(false);
    }
    let Some(submitted) = submitted.and_then(|s| URL_SAFE_NO_PAD.decode(s).ok()) else {
        return Ok(false);
    };
    Ok(match binding(request, state, false).await? {
        Some(bound) => state
            .auth
            .keys
            .verify(Purpose::Csrf, bound.as_bytes(), &submitted),
        None => false,
    })
}

/// A submitted form whose CSRF token and origin were checked: a url-encoded body with
/// the token in `_csrf`, or a JSON object (DESIGN §4a) with the token in the
/// `X-CSRF-Token` header (which a url-encoded form may send too). Fails with 403
/// `form_expired` otherwise, and 422 `invalid_form` (with the fields at fault) when the
/// body does not fit `T`.
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

/// The header that carries the CSRF token of a JSON (or script-sent) request.
pub(crate) const HEADER: &str = "X-CSRF-Token";

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

/// A JSON object as form fields: strings as they are, numbers and booleans as their
/// text, `null` as absent, an array as the same field repeated. A nested object, or a
/// body that is not an object, is refused (`None`).
fn json_fields(body: &str) -> Option<Vec<(String, String)>> {
    use serde_json::Value;
    fn scalar(value: &Value) -> Option<Option<String>> {
        match value {
            Value::Null => Some(None),
            Value::String(s) => Some(Some(s.clone())),
            Value::Bool(b) => Some(Some(b.to_string())),
            Value::Number(n) => Some(Some(n.to_string())),
            // An object is one field holding its JSON text (a WebAuthn `credential`).
            Value::Object(_) => Some(Some(value.to_string())),
            Value::Array(_) => None,
        }
    }
    if body.trim().is_empty() {
        return Some(Vec::new());
    }
    let Ok(Value::Object(object)) = serde_json::from_str::<Value>(body) else {
        return None;
    };
    let mut fields = Vec::new();
    for (name, value) in object {
        let items = match &value {
            Value::Array(items) => items.iter().collect(),
            other => vec![other],
        };
        for item in items {
            if let Some(text) = scalar(item)? {
                fields.push((name.clone(), text));
            }
        }
    }
    Some(fields)
}

/// Why a submitted form did not fit its type, field by field, for the 422 answer.
#[derive(Debug, Clone, Default)]
pub(crate) struct FormProblems(pub Vec<(String, FieldError)>);

/// A stable reason and a sentence for one of Rocket's form errors.
fn field_error(error: &rocket::form::Error<'_>) -> (String, FieldError) {
    use rocket::form::error::ErrorKind;
    let name = error
        .name
        .as_ref()
        .map(|n| n.to_string())
        .unwrap_or_default();
    let reason = match &error.kind {
        ErrorKind::Missing => "missing",
        ErrorKind::InvalidLength { .. } => "invalid_length",
        ErrorKind::Duplicate => "duplicate",
        ErrorKind::Unexpected => "unexpected",
        _ => "invalid",
    };
    (name, FieldError::new(reason, error.kind.to_string()))
}

/// The body as text, within Rocket's `limit` (`"form"` or `"json"`; 32 KiB when unset):
/// 413 when longer, 400 when unreadable.
async fn read_body(request: &Request<'_>, data: Data<'_>, limit: &str) -> Result<String, Status> {
    let limit = request.limits().get(limit).unwrap_or(32.kibibytes());
    match data.open(limit).into_string().await {
        Ok(body) if body.is_complete() => Ok(body.into_inner()),
        Ok(_) => Err(Status::PayloadTooLarge),
        Err(_) => Err(Status::BadRequest),
    }
}

/// Reads the body's fields (url-encoded or JSON), checks the CSRF token and the origin,
/// and parses the fields as `T`; on failure records why for the catchers.
async fn checked_form<'r, T>(
    request: &'r Request<'_>,
    data: Data<'r>,
) -> Result<T, (Status, GuardFailure)>
where
    T: for<'a> FromForm<'a> + Send + 'static,
{
    let content_type = request.content_type();
    let is_form = content_type.is_some_and(|ct| ct.is_form());
    let is_json = content_type.is_some_and(|ct| ct.is_json());
    let limit = if is_json { "json" } else { "form" };
    let body = read_body(request, data, limit)
        .await
        .map_err(|status| (status, GuardFailure::Csrf))?;
    let fields = if is_form {
        decode_fields(&body)
    } else if is_json {
        match json_fields(&body) {
            Some(fields) => fields,
            None => return Err((Status::BadRequest, GuardFailure::None)),
        }
    } else {
        Vec::new()
    };
    let submitted = request.headers().get_one(HEADER).or_else(|| {
        fields
            .iter()
            .find(|(name, _)| name == FIELD)
            .map(|(_, v)| v.as_str())
    });
    match verify(request, submitted).await {
        Ok(true) => {}
        Ok(false) => {
            record_failure(request, GuardFailure::Csrf);
            return Err((Status::Forbidden, GuardFailure::Csrf));
        }
        Err(()) => {
            record_failure(request, GuardFailure::Unavailable);
            return Err((Status::ServiceUnavailable, GuardFailure::Unavailable));
        }
    }
    let values = fields.iter().map(|(name, value)| ValueField {
        name: NameView::new(name),
        value,
    });
    Form::<T>::parse_iter(values).map_err(|errors| {
        let problems = errors.iter().map(field_error).collect();
        request.local_cache(|| FormProblems(problems));
        (Status::UnprocessableEntity, GuardFailure::None)
    })
}

#[rocket::async_trait]
impl<'r, T> FromData<'r> for CsrfForm<T>
where
    T: for<'a> FromForm<'a> + Send + 'static,
{
    type Error = GuardFailure;

    async fn from_data(request: &'r Request<'_>, data: Data<'r>) -> data::Outcome<'r, Self> {
        match checked_form(request, data).await {
            Ok(form) => data::Outcome::Success(CsrfForm(form)),
            Err(failed) => data::Outcome::Error(failed),
        }
    }
}

impl<T> Sentinel for CsrfForm<T> {
    fn abort(rocket: &Rocket<Ignite>) -> bool {
        sentinel_abort(rocket, "CsrfForm")
    }
}

/// The data guard of every Sigra route that changes state: the per-client rate limit
/// first (429 with `Retry-After`, before any other work, so floods of forged or
/// malformed requests are counted too), then everything [`CsrfForm`] checks, and who is
/// asking. One guard, so no Sigra POST can forget a check and no host route pays for
/// one by taking [`ClientMeta`](super::ClientMeta).
#[derive(Debug)]
pub(crate) struct SigraForm<T> {
    form: T,
    meta: RequestMeta,
}

impl<T> SigraForm<T> {
    /// Who sent the form.
    pub(crate) fn meta(&self) -> &RequestMeta {
        &self.meta
    }

    /// The form and who sent it.
    pub(crate) fn into_parts(self) -> (T, RequestMeta) {
        (self.form, self.meta)
    }
}

impl<T> std::ops::Deref for SigraForm<T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.form
    }
}

#[rocket::async_trait]
impl<'r, T> FromData<'r> for SigraForm<T>
where
    T: for<'a> FromForm<'a> + Send + 'static,
{
    type Error = GuardFailure;

    async fn from_data(request: &'r Request<'_>, data: Data<'r>) -> data::Outcome<'r, Self> {
        if rate_limited(request).await.is_some() {
            return data::Outcome::Error((Status::TooManyRequests, GuardFailure::RateLimited));
        }
        match checked_form(request, data).await {
            Ok(form) => data::Outcome::Success(SigraForm {
                form,
                meta: meta(request),
            }),
            Err(failed) => data::Outcome::Error(failed),
        }
    }
}

impl<T> Sentinel for SigraForm<T> {
    fn abort(rocket: &Rocket<Ignite>) -> bool {
        sentinel_abort(rocket, "SigraForm")
    }
}

/// The body of a POST that a third party's page sends the browser with: an OpenID
/// provider's `form_post` answer (Sign in with Apple). Rate-limited like every Sigra
/// POST, but it carries no CSRF token and comes cross-site by design; the route checks
/// the `state` it carries instead and changes nothing but the flow that `state` names.
/// URL-encoded forms only. The `oauth` feature's.
#[cfg(feature = "oauth")]
#[derive(Debug)]
pub(crate) struct CrossSiteForm<T> {
    form: T,
}

#[cfg(feature = "oauth")]
impl<T> CrossSiteForm<T> {
    /// The form.
    pub(crate) fn into_inner(self) -> T {
        self.form
    }
}

#[cfg(feature = "oauth")]
#[rocket::async_trait]
impl<'r, T> FromData<'r> for CrossSiteForm<T>
where
    T: for<'a> FromForm<'a> + Send + 'static,
{
    type Error = GuardFailure;

    async fn from_data(request: &'r Request<'_>, data: Data<'r>) -> data::Outcome<'r, Self> {
        if rate_limited(request).await.is_some() {
            return data::Outcome::Error((Status::TooManyRequests, GuardFailure::RateLimited));
        }
        let is_form = request.content_type().is_some_and(|ct| ct.is_form());
        let body = match read_body(request, data, "form").await {
            Ok(body) => body,
            Err(status) => return data::Outcome::Error((status, GuardFailure::None)),
        };
        let fields = if is_form {
            decode_fields(&body)
        } else {
            Vec::new()
        };
        let values = fields.iter().map(|(name, value)| ValueField {
            name: NameView::new(name),
            value,
        });
        match Form::<T>::parse_iter(values) {
            Ok(form) => data::Outcome::Success(CrossSiteForm { form }),
            Err(_) => data::Outcome::Error((Status::UnprocessableEntity, GuardFailure::None)),
        }
    }
}

#[cfg(feature = "oauth")]
impl<T> Sentinel for CrossSiteForm<T> {
    fn abort(rocket: &Rocket<Ignite>) -> bool {
        sentinel_abort(rocket, "CrossSiteForm")
    }
}

/// A form with nothing but the CSRF token (and perhaps `_method`): log-out, revoke.
#[derive(Debug, Default, FromForm)]
pub struct NoFields {
    #[field(name = "_method")]
    _method: Option<String>,
}
