//! Passkeys (`sigra_core::features::passkeys`):
//!
//! - `<base>/settings/passkeys`: `GET` lists the account's passkeys; `POST …/options`
//!   (sudo) starts adding one and `POST` (`name`, `credential`) finishes; `PATCH /<id>`
//!   renames (`name`), `DELETE /<id>` removes (sudo), `POST /<id>/mfa` (`enabled`, sudo)
//!   makes it the account's second factor or stops that.
//! - `<base>/passkeys/options` and `<base>/passkeys/log_in`: usernameless sign-in (the
//!   log-in page's button and the browser's autofill).
//! - `<base>/mfa/passkey/options`, `<base>/mfa/passkey`: the second factor with a passkey;
//!   `<base>/sudo/passkey/options`, `<base>/sudo/passkey`: sudo with a passkey.
//!
//! Every ceremony has two POSTs, both JSON from `assets/sigra-webauthn.js`: the first
//! answers `{"ok": true, "options": …}` for `navigator.credentials.create()`/`get()` and
//! sets the HttpOnly ceremony cookie (the state stays on the server); the second sends
//! `credential` (`PublicKeyCredential.toJSON()`) and answers `{"ok": true, "next": …}`
//! or a refusal. Both pass the rate limit and the CSRF check like every Sigra POST.

use rocket::http::{CookieJar, Status};
use rocket::{FromForm, Route, State, delete, get, patch, post, routes};
use sigra_core::features::FlowError;
use sigra_core::features::passkeys::{
    self, Ceremony, PasskeyError, PasskeyView, RegisterInput, SignInOptions, SignInOutcome, StepUp,
    StepUpOutcome,
};
use sigra_core::features::sessions::Authenticated;
use tera::Context;
use uuid::Uuid;

use super::login::{set_login_cookies, unconfirmed_page};
use super::mfa::{challenge_page, past_challenge};
use super::sudo::form_page;
use crate::guards::{AuthenticatedUser, CsrfToken, LiveSession, NoFields, SigraForm, SudoUser};
use crate::respond::{
    Refusal, Reply, clean_return_to, passkey_refusal, safe_return_to, with_return_to,
};
use crate::state::SigraState;

/// The second half of adding a passkey: its `name` and the browser's `credential`.
#[derive(Debug, FromForm)]
pub struct AddForm {
    #[field(default = String::new())]
    name: String,
    #[field(default = String::new())]
    credential: String,
}

/// The second half of a sign-in or step-up: the browser's `credential`, and for a
/// sign-in `remember_me` and where to go next.
#[derive(Debug, FromForm)]
pub struct CredentialForm {
    #[field(default = String::new())]
    credential: String,
    #[field(default = false)]
    remember_me: bool,
    return_to: Option<String>,
}

/// A new name.
#[derive(Debug, FromForm)]
pub struct RenameForm {
    #[field(default = String::new())]
    name: String,
}

/// "Use as two-step verification": on or off.
#[derive(Debug, FromForm)]
pub struct MfaForm {
    #[field(default = false)]
    enabled: bool,
}

/// The browser's credential as JSON (an unreadable one fails verification like a forged
/// one).
fn credential(text: &str) -> serde_json::Value {
    serde_json::from_str(text).unwrap_or(serde_json::Value::Null)
}

fn notice_text(code: Option<&str>) -> Option<&'static str> {
    match code? {
        "added" => Some("The passkey was added. You can sign in with it now."),
        "renamed" => Some("The passkey was renamed."),
        "removed" => Some("The passkey was removed. It can no longer sign in to your account."),
        "mfa_on" => Some("The passkey is now your two-step verification."),
        "mfa_off" => Some("The passkey is no longer used for two-step verification."),
        _ => None,
    }
}

/// A passkey as the page shows it (times in words).
fn page_view(passkey: &PasskeyView) -> serde_json::Value {
    serde_json::json!({
        "id": passkey.id,
        "name": passkey.name,
        "created_at": super::human_time(passkey.created_at),
        "last_used_at": passkey.last_used_at.map(super::human_time),
        "synced": passkey.synced,
        "authenticator": passkey.authenticator,
        "used_for_mfa": passkey.used_for_mfa,
    })
}

/// The passkeys page with `extra` (a notice, a refusal) merged in.
async fn passkeys_page(
    state: &SigraState,
    current: &Authenticated,
    status: Status,
    extra: Context,
) -> Reply {
    let list = match passkeys::list(&state.auth, current).await {
        Ok(list) => list,
        Err(e) => return Reply::failed(e),
    };
    let mut context = Context::new();
    context.insert("passkeys", &list.iter().map(page_view).collect::<Vec<_>>());
    context.insert("max_name_chars", &passkeys::MAX_NAME_CHARS);
    context.extend(extra);
    Reply::page(status, "passkeys", context).with("passkeys", &list)
}

/// The passkeys page refusing with `error`.
async fn refused_on_page(
    state: &SigraState,
    current: &Authenticated,
    error: PasskeyError,
) -> Reply {
    let refusal = passkey_refusal(error);
    let mut extra = Context::new();
    extra.insert("error", refusal.message);
    let page = passkeys_page(state, current, refusal.status, extra).await;
    if error == PasskeyError::NameInvalid {
        page.invalid_fields(&serde_json::json!({ "name": [error.field_error()] }))
    } else {
        page.refusing(refusal)
    }
}

/// A flow's failure; with passkeys off (`sigra.public_url` without a domain) these routes
/// answer as if they did not exist.
fn failed(error: FlowError) -> Reply {
    match error {
        FlowError::PasskeysUnavailable => Reply::Error(Status::NotFound),
        other => Reply::failed(other),
    }
}

/// Whether `current`'s account has a passkey (the second-factor and sudo pages then offer
/// it). A failed lookup offers none: the other ways stay.
pub(in crate::routes) async fn has_passkeys(state: &SigraState, current: &Authenticated) -> bool {
    state.auth.webauthn.is_some()
        && passkeys::list(&state.auth, current)
            .await
            .is_ok_and(|list| !list.is_empty())
}

/// The answer to a ceremony's first half: the options, and the ceremony cookie.
fn started(
    state: &SigraState,
    jar: &CookieJar<'_>,
    ceremony: Result<Ceremony, FlowError>,
) -> Reply {
    match ceremony {
        Ok(ceremony) => {
            state.cookies.set_passkey(jar, &ceremony.token);
            Reply::data().with("options", ceremony.options)
        }
        Err(e) => failed(e),
    }
}

/// The answer to a change on the settings page: back to it with `notice`, or the page
/// saying why not.
async fn changed(
    state: &SigraState,
    current: &Authenticated,
    outcome: Result<Result<(), PasskeyError>, FlowError>,
    notice: &str,
) -> Reply {
    match outcome {
        Ok(Ok(())) => done(state, notice),
        Ok(Err(error)) => refused_on_page(state, current, error).await,
        Err(e) => failed(e),
    }
}

/// The ceremony token this browser holds, used up by the second half (empty: none).
fn take_ceremony(state: &SigraState, jar: &CookieJar<'_>) -> String {
    let token = state.cookies.passkey(jar).unwrap_or_default();
    state.cookies.clear_passkey(jar);
    token
}

#[get("/settings/passkeys?<notice>")]
async fn page(
    state: &State<SigraState>,
    user: AuthenticatedUser,
    _csrf: CsrfToken,
    notice: Option<String>,
) -> Reply {
    let mut extra = Context::new();
    extra.insert("notice", &notice_text(notice.as_deref()));
    passkeys_page(state, user.authenticated(), Status::Ok, extra).await
}

#[post("/settings/passkeys/options", data = "<form>")]
async fn add_options(
    state: &State<SigraState>,
    jar: &CookieJar<'_>,
    user: SudoUser,
    form: SigraForm<NoFields>,
) -> Reply {
    let ceremony =
        passkeys::start_registration(&state.auth, user.authenticated(), form.meta()).await;
    started(state, jar, ceremony)
}

#[post("/settings/passkeys", data = "<form>")]
async fn add(
    state: &State<SigraState>,
    jar: &CookieJar<'_>,
    user: AuthenticatedUser,
    form: SigraForm<AddForm>,
) -> Reply {
    let (form, meta) = form.into_parts();
    let input = RegisterInput {
        name: form.name,
        credential: credential(&form.credential),
    };
    // A bad name keeps the ceremony (and its cookie) for another try.
    let ceremony = state.cookies.passkey(jar).unwrap_or_default();
    let current = user.authenticated();
    match passkeys::finish_registration(&state.auth, current, &ceremony, &input, &meta).await {
        Ok(Ok(view)) => {
            state.cookies.clear_passkey(jar);
            let base = &state.auth.config.base_path;
            Reply::see_other(format!("{base}/settings/passkeys?notice=added"))
                .with("passkey", &view)
        }
        Ok(Err(error)) => {
            if error != PasskeyError::NameInvalid {
                state.cookies.clear_passkey(jar);
            }
            refused_on_page(state, current, error).await
        }
        Err(e) => failed(e),
    }
}

#[patch("/settings/passkeys/<id>", data = "<form>")]
async fn rename(
    state: &State<SigraState>,
    user: AuthenticatedUser,
    id: &str,
    form: SigraForm<RenameForm>,
) -> Reply {
    let Ok(id) = Uuid::parse_str(id) else {
        return Reply::Error(Status::NotFound);
    };
    let (form, meta) = form.into_parts();
    let current = user.authenticated();
    let outcome = passkeys::rename(&state.auth, current, id, &form.name, &meta).await;
    changed(state, current, outcome, "renamed").await
}

#[delete("/settings/passkeys/<id>", data = "<form>")]
async fn remove(
    state: &State<SigraState>,
    user: SudoUser,
    id: &str,
    form: SigraForm<NoFields>,
) -> Reply {
    let Ok(id) = Uuid::parse_str(id) else {
        return Reply::Error(Status::NotFound);
    };
    let current = user.authenticated();
    let outcome = passkeys::remove(&state.auth, current, id, form.meta()).await;
    changed(state, current, outcome, "removed").await
}

#[post("/settings/passkeys/<id>/mfa", data = "<form>")]
async fn use_for_mfa(
    state: &State<SigraState>,
    user: SudoUser,
    id: &str,
    form: SigraForm<MfaForm>,
) -> Reply {
    let Ok(id) = Uuid::parse_str(id) else {
        return Reply::Error(Status::NotFound);
    };
    let (form, meta) = form.into_parts();
    let current = user.authenticated();
    let outcome = passkeys::set_mfa(&state.auth, current, id, form.enabled, &meta).await;
    let notice = if form.enabled { "mfa_on" } else { "mfa_off" };
    changed(state, current, outcome, notice).await
}

/// Back to the passkeys page with `notice`.
fn done(state: &SigraState, notice: &str) -> Reply {
    let base = &state.auth.config.base_path;
    Reply::see_other(format!("{base}/settings/passkeys?notice={notice}"))
}

#[post("/passkeys/options", data = "<form>")]
async fn sign_in_options(
    state: &State<SigraState>,
    jar: &CookieJar<'_>,
    form: SigraForm<NoFields>,
) -> Reply {
    let ceremony = passkeys::start_sign_in(&state.auth, form.meta()).await;
    started(state, jar, ceremony)
}

#[post("/passkeys/log_in", data = "<form>")]
async fn sign_in(
    state: &State<SigraState>,
    jar: &CookieJar<'_>,
    session: LiveSession,
    form: SigraForm<CredentialForm>,
) -> Reply {
    let (form, meta) = form.into_parts();
    let ceremony = take_ceremony(state, jar);
    let options = SignInOptions {
        remember_me: form.remember_me,
        previous: session.0.as_ref(),
    };
    let answer = credential(&form.credential);
    let outcome =
        passkeys::finish_sign_in_with(&state.auth, &ceremony, &answer, &options, &meta).await;
    let config = &state.auth.config;
    let base = &config.base_path;
    let next = safe_return_to(form.return_to.as_deref(), &config.after_login_path);
    match outcome {
        Ok(SignInOutcome::Success(issued)) => {
            set_login_cookies(state, jar, &issued);
            Reply::see_other(next)
        }
        Ok(SignInOutcome::MfaRequired(issued)) => {
            set_login_cookies(state, jar, &issued);
            Reply::see_other(with_return_to(base, "mfa", Some(&next))).with("mfa_required", true)
        }
        Ok(SignInOutcome::DeletionScheduled { issued, .. }) => {
            set_login_cookies(state, jar, &issued);
            Reply::see_other(format!("{base}/settings/delete")).with("deletion_scheduled", true)
        }
        Ok(SignInOutcome::Unconfirmed { email }) => unconfirmed_page(&email),
        Ok(SignInOutcome::Refused(error)) => {
            let refusal = passkey_refusal(error);
            let mut context = Context::new();
            context.insert(
                "form",
                &serde_json::json!({ "email": "", "remember_me": form.remember_me }),
            );
            context.insert("error", refusal.message);
            context.insert("return_to", &clean_return_to(form.return_to));
            Reply::refused(refusal, "login", context)
        }
        Ok(_) => Reply::Error(Status::InternalServerError),
        Err(e) => failed(e),
    }
}

#[post("/mfa/passkey/options", data = "<form>")]
async fn mfa_options(
    state: &State<SigraState>,
    jar: &CookieJar<'_>,
    session: LiveSession,
    form: SigraForm<NoFields>,
) -> Reply {
    let Some(current) = session.0.as_ref().filter(|s| s.mfa_pending()) else {
        return past_challenge(state, session.0.as_ref(), None);
    };
    let ceremony = passkeys::start_step_up(&state.auth, current, StepUp::Mfa, form.meta()).await;
    started(state, jar, ceremony)
}

/// A step-up's second half: uses up this browser's ceremony and judges the answer; on
/// success sets the session's rotated cookie. `Ok(Err(..))` is a refusal for the page.
async fn step_up(
    state: &SigraState,
    jar: &CookieJar<'_>,
    current: &Authenticated,
    step: StepUp,
    form: &CredentialForm,
    meta: &sigra_core::features::RequestMeta,
) -> Result<Result<(), Refusal>, Reply> {
    let ceremony = take_ceremony(state, jar);
    let answer = credential(&form.credential);
    match passkeys::finish_step_up(&state.auth, current, step, &ceremony, &answer, meta).await {
        Ok(StepUpOutcome::Verified(issued)) => {
            if let Some(issued) = issued {
                state.cookies.set_session(jar, &issued.token);
            }
            Ok(Ok(()))
        }
        Ok(StepUpOutcome::Refused(error)) => Ok(Err(passkey_refusal(error))),
        Ok(_) => Err(Reply::Error(Status::InternalServerError)),
        Err(e) => Err(failed(e)),
    }
}

#[post("/mfa/passkey", data = "<form>")]
async fn mfa(
    state: &State<SigraState>,
    jar: &CookieJar<'_>,
    session: LiveSession,
    form: SigraForm<CredentialForm>,
) -> Reply {
    let (form, meta) = form.into_parts();
    let Some(current) = session.0.as_ref().filter(|s| s.mfa_pending()) else {
        return past_challenge(state, session.0.as_ref(), form.return_to.as_deref());
    };
    match step_up(state, jar, current, StepUp::Mfa, &form, &meta).await {
        Ok(Ok(())) => past_challenge(state, Some(current), form.return_to.as_deref()),
        Ok(Err(refusal)) => {
            let refused = Some((refusal, refusal.message.to_owned()));
            challenge_page(state, current, refused, form.return_to).await
        }
        Err(reply) => reply,
    }
}

#[post("/sudo/passkey/options", data = "<form>")]
async fn sudo_options(
    state: &State<SigraState>,
    jar: &CookieJar<'_>,
    user: AuthenticatedUser,
    form: SigraForm<NoFields>,
) -> Reply {
    let current = user.authenticated();
    let ceremony = passkeys::start_step_up(&state.auth, current, StepUp::Sudo, form.meta()).await;
    started(state, jar, ceremony)
}

#[post("/sudo/passkey", data = "<form>")]
async fn sudo(
    state: &State<SigraState>,
    jar: &CookieJar<'_>,
    user: AuthenticatedUser,
    form: SigraForm<CredentialForm>,
) -> Reply {
    let (form, meta) = form.into_parts();
    let current = user.authenticated();
    match step_up(state, jar, current, StepUp::Sudo, &form, &meta).await {
        Ok(Ok(())) => {
            let settings = format!("{}/settings", state.auth.config.base_path);
            Reply::see_other(safe_return_to(form.return_to.as_deref(), &settings))
        }
        Ok(Err(refusal)) => form_page(state, &user, Some(refusal), form.return_to).await,
        Err(reply) => reply,
    }
}

pub(crate) fn routes() -> Vec<Route> {
    routes![
        page,
        add_options,
        add,
        rename,
        remove,
        use_for_mfa,
        sign_in_options,
        sign_in,
        mfa_options,
        mfa,
        sudo_options,
        sudo
    ]
}
