//! Social log-in (`sigra_core::features::oauth`):
//!
//! - `POST <base>/auth/<provider>`: the provider buttons of the log-in, register and
//!   sudo pages (`intent=sudo` on the last); starts a flow and redirects to the provider
//!   (JSON: `{"ok": true, "next": "<authorization URL>"}`).
//! - `GET <base>/auth/<provider>/callback`: where the provider sends the browser back.
//!   `POST` is the same for providers that answer with a cross-site form (`form_post`,
//!   Apple): it keeps the answer on the flow and redirects to the `GET`, which brings the
//!   browser's SameSite cookies.
//! - `GET <base>/settings/connections`: the linked provider accounts; `POST
//!   …/connections/<provider>` links one (sudo), `DELETE …/connections/<id>` unlinks one
//!   (sudo).
//!
//! A refused callback lands on the log-in page (on the connections page for a signed-in
//! browser) with the reason's sentence.

use rocket::http::{CookieJar, Status};
use rocket::{FromForm, Route, State, delete, get, post, routes};
use sigra_core::features::RequestMeta;
use sigra_core::features::oauth::{
    self, Browser, CallbackInput, CallbackOutcome, ConnectionView, Intent, OauthError,
};
use sigra_core::features::sessions::Authenticated;
use sigra_core::secret::SecretString;
use tera::Context;
use uuid::Uuid;

use super::login::{logged_in, unconfirmed_page};
use super::sudo::form_page;
use crate::guards::{
    AuthenticatedUser, CrossSiteForm, CsrfToken, LiveSession, NoFields, SigraForm, SudoUser,
};
use crate::respond::{
    OAUTH_ACCOUNT_EXISTS, Refusal, Reply, clean_return_to, oauth_refusal, safe_return_to,
};
use crate::state::SigraState;

/// A provider button: where to go afterwards, and `intent=sudo` on the sudo page.
#[derive(Debug, FromForm)]
pub struct StartForm {
    return_to: Option<String>,
    #[field(default = String::new())]
    intent: String,
}

/// What the provider sends back (query or `form_post` body).
#[derive(Debug, Default, FromForm)]
pub struct CallbackForm {
    state: Option<String>,
    code: Option<String>,
    error: Option<String>,
    error_description: Option<String>,
    iss: Option<String>,
    /// Apple, first sign-in only: the user's name as JSON.
    user: Option<String>,
}

impl CallbackForm {
    fn into_input(self) -> CallbackInput {
        CallbackInput {
            state: self.state.unwrap_or_default(),
            code: self.code.map(SecretString::new),
            error: self.error,
            error_description: self.error_description,
            iss: self.iss,
            user: self.user,
        }
    }
}

fn notice_text(code: Option<&str>) -> Option<&'static str> {
    match code? {
        "linked" => Some("The account was linked. You can sign in with it now."),
        "unlinked" => Some("The account was unlinked. It can no longer sign in to your account."),
        _ => None,
    }
}

/// The log-in page refusing with `refusal`; `email` fills the form.
fn login_page(refusal: Refusal, email: &str, extra: Context) -> Reply {
    let mut context = Context::new();
    context.insert(
        "form",
        &serde_json::json!({ "email": email, "remember_me": false }),
    );
    context.insert("error", refusal.message);
    context.extend(extra);
    Reply::refused(refusal, "login", context)
}

/// A connection as the page shows it (times in words).
fn page_view(connection: &ConnectionView) -> serde_json::Value {
    serde_json::json!({
        "id": connection.id,
        "provider": connection.provider,
        "display_name": connection.display_name,
        "label": connection.label,
        "name": connection.name,
        "created_at": super::human_time(connection.created_at),
        "last_used_at": connection.last_used_at.map(super::human_time),
    })
}

/// The connections page with `extra` (a notice, a refusal) merged in.
async fn connections_page(
    state: &SigraState,
    jar: &CookieJar<'_>,
    current: &Authenticated,
    status: Status,
    extra: Context,
) -> Reply {
    let list = match oauth::connections(&state.auth, current).await {
        Ok(list) => list,
        Err(e) => return Reply::failed(e),
    };
    let binding = state.cookies.oauth(jar);
    let pending = match oauth::pending(&state.auth, current, binding.as_deref()).await {
        Ok(pending) => pending,
        Err(e) => return Reply::failed(e),
    };
    let linked: Vec<&str> = list.iter().map(|c| c.provider.as_str()).collect();
    let available: Vec<_> = state
        .auth
        .oauth
        .list()
        .into_iter()
        .filter(|p| !linked.contains(&p.name.as_str()))
        .collect();
    let mut context = Context::new();
    context.insert(
        "connections",
        &list.iter().map(page_view).collect::<Vec<_>>(),
    );
    context.insert("available", &available);
    context.insert("pending", &pending);
    context.extend(extra);
    Reply::page(status, "oauth", context)
        .with("connections", &list)
        .with("pending", &pending)
}

/// The connections page refusing with `error`.
async fn refused_on_page(
    state: &SigraState,
    jar: &CookieJar<'_>,
    current: &Authenticated,
    error: OauthError,
) -> Reply {
    let refusal = oauth_refusal(error);
    let mut extra = Context::new();
    extra.insert("error", refusal.message);
    extra.insert("last_method", &(error == OauthError::LastMethod));
    connections_page(state, jar, current, refusal.status, extra)
        .await
        .refusing(refusal)
}

/// Starts a flow and sends the browser to the provider.
async fn begin(
    state: &SigraState,
    jar: &CookieJar<'_>,
    provider: &str,
    intent: Intent<'_>,
    meta: &RequestMeta,
) -> Result<Reply, OauthError> {
    let binding = state.cookies.oauth(jar);
    match oauth::start(&state.auth, provider, intent, binding.as_deref(), meta).await {
        Ok(Ok(started)) => {
            state.cookies.set_oauth(jar, started.browser.as_ref());
            Ok(Reply::see_other(started.authorization_url))
        }
        Ok(Err(error)) => Err(error),
        Err(e) => Ok(Reply::failed(e)),
    }
}

#[post("/auth/<provider>", data = "<form>")]
async fn start(
    state: &State<SigraState>,
    jar: &CookieJar<'_>,
    session: LiveSession,
    provider: &str,
    form: SigraForm<StartForm>,
) -> Reply {
    let (form, meta) = form.into_parts();
    let return_to = clean_return_to(form.return_to);
    let full = session.0.as_ref().filter(|s| !s.mfa_pending());
    let intent = match (form.intent.as_str(), full) {
        ("sudo", Some(current)) => Intent::Sudo {
            current,
            return_to: return_to.as_deref(),
        },
        ("sudo", None) => {
            return Reply::see_other(format!("{}/log_in", state.auth.config.base_path));
        }
        _ => Intent::SignIn {
            return_to: return_to.as_deref(),
        },
    };
    match begin(state, jar, provider, intent, &meta).await {
        Ok(reply) => reply,
        Err(OauthError::UnknownProvider) => Reply::Error(Status::NotFound),
        Err(error) => login_page(oauth_refusal(error), "", Context::new()),
    }
}

#[get("/auth/<provider>/callback?<answer..>")]
async fn callback(
    state: &State<SigraState>,
    jar: &CookieJar<'_>,
    session: LiveSession,
    client: crate::guards::ClientMeta,
    provider: &str,
    answer: CallbackForm,
) -> Reply {
    let binding = state.cookies.oauth(jar);
    let trusted = state.cookies.trusted_browser(jar);
    let browser = Browser {
        binding: binding.as_deref(),
        current: session.0.as_ref(),
        trusted_browser: trusted.as_deref(),
    };
    let outcome = oauth::callback(
        &state.auth,
        provider,
        answer.into_input(),
        browser,
        &client.0,
    )
    .await;
    let config = &state.auth.config;
    let base = &config.base_path;
    match outcome {
        Ok(CallbackOutcome::SignedIn {
            outcome, return_to, ..
        }) => {
            let next = safe_return_to(return_to.as_deref(), &config.after_login_path);
            match logged_in(state, jar, &outcome, next) {
                Some(reply) => reply,
                None => match outcome {
                    sigra_core::features::login::LoginOutcome::Unconfirmed { email } => {
                        unconfirmed_page(&email)
                    }
                    _ => Reply::Error(Status::InternalServerError),
                },
            }
        }
        Ok(CallbackOutcome::AccountExists { provider, email }) => {
            // The identity waits on this browser's binding: keep the cookie that long.
            state.cookies.set_oauth(jar, None);
            let mut extra = Context::new();
            extra.insert(
                "oauth_link",
                &serde_json::json!({ "provider": provider, "email": email }),
            );
            extra.insert("return_to", &format!("{base}/settings/connections"));
            login_page(OAUTH_ACCOUNT_EXISTS, &email, extra)
        }
        Ok(CallbackOutcome::Linked { .. }) => {
            Reply::see_other(format!("{base}/settings/connections?notice=linked"))
        }
        Ok(CallbackOutcome::SudoConfirmed { token, return_to }) => {
            state.cookies.set_session(jar, &token);
            let settings = format!("{base}/settings");
            Reply::see_other(safe_return_to(return_to.as_deref(), &settings))
        }
        Ok(CallbackOutcome::Refused(OauthError::UnknownProvider)) => Reply::Error(Status::NotFound),
        Ok(CallbackOutcome::Refused(error)) => match session.0.as_ref() {
            Some(current) if !current.mfa_pending() => {
                if error == OauthError::IdentityMismatch {
                    let user = AuthenticatedUser(current.clone());
                    return form_page(state, &user, Some(oauth_refusal(error)), None).await;
                }
                refused_on_page(state, jar, current, error).await
            }
            _ => login_page(oauth_refusal(error), "", Context::new()),
        },
        Ok(_) => Reply::Error(Status::InternalServerError),
        Err(e) => Reply::failed(e),
    }
}

#[post("/auth/<provider>/callback", data = "<form>")]
async fn form_post(
    state: &State<SigraState>,
    provider: &str,
    form: CrossSiteForm<CallbackForm>,
) -> Reply {
    let input = form.into_inner().into_input();
    if let Err(e) = oauth::stash(&state.auth, provider, &input).await {
        return Reply::failed(e);
    }
    // The GET callback brings the browser's cookies and decides; `state` names the flow
    // (and the answer kept on it), nothing else travels in the URL.
    let base = &state.auth.config.base_path;
    let state_param: String = url_encode(&input.state);
    Reply::see_other(format!(
        "{base}/auth/{provider}/callback?state={state_param}"
    ))
}

/// Percent-encodes a query value (the `state` Sigra made is URL-safe already; anything
/// else a forged form sends is escaped).
fn url_encode(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[get("/settings/connections?<notice>")]
async fn page(
    state: &State<SigraState>,
    jar: &CookieJar<'_>,
    user: AuthenticatedUser,
    _csrf: CsrfToken,
    notice: Option<String>,
) -> Reply {
    let mut extra = Context::new();
    extra.insert("notice", &notice_text(notice.as_deref()));
    connections_page(state, jar, user.authenticated(), Status::Ok, extra).await
}

#[post("/settings/connections/<provider>", data = "<form>")]
async fn link(
    state: &State<SigraState>,
    jar: &CookieJar<'_>,
    user: SudoUser,
    provider: &str,
    form: SigraForm<NoFields>,
) -> Reply {
    let current = user.authenticated();
    let binding = state.cookies.oauth(jar);
    let meta = form.meta();
    let base = &state.auth.config.base_path;
    // The identity that waits in this browser since the owner was told the account
    // exists, or a new flow at the provider.
    match oauth::link_pending(&state.auth, current, provider, binding.as_deref(), meta).await {
        Ok(Ok(Some(_))) => Reply::see_other(format!("{base}/settings/connections?notice=linked")),
        Ok(Ok(None)) => match begin(state, jar, provider, Intent::Link(current), meta).await {
            Ok(reply) => reply,
            Err(OauthError::UnknownProvider) => Reply::Error(Status::NotFound),
            Err(error) => refused_on_page(state, jar, current, error).await,
        },
        Ok(Err(OauthError::UnknownProvider)) => Reply::Error(Status::NotFound),
        Ok(Err(error)) => refused_on_page(state, jar, current, error).await,
        Err(e) => Reply::failed(e),
    }
}

#[delete("/settings/connections/<id>", data = "<form>")]
async fn unlink(
    state: &State<SigraState>,
    jar: &CookieJar<'_>,
    user: SudoUser,
    id: &str,
    form: SigraForm<NoFields>,
) -> Reply {
    let Ok(id) = Uuid::parse_str(id) else {
        return Reply::Error(Status::NotFound);
    };
    let current = user.authenticated();
    match oauth::unlink(&state.auth, current, id, form.meta()).await {
        Ok(Ok(())) => {
            let base = &state.auth.config.base_path;
            Reply::see_other(format!("{base}/settings/connections?notice=unlinked"))
        }
        Ok(Err(error)) => refused_on_page(state, jar, current, error).await,
        Err(e) => Reply::failed(e),
    }
}

pub(crate) fn routes() -> Vec<Route> {
    routes![start, callback, form_post, page, link, unlink]
}
