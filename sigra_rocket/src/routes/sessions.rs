//! `GET <base>/settings` with the sessions list; revoke one, or all but this one.

use rocket::http::{CookieJar, Status};
use rocket::{Route, State, delete, get, post, routes};
use sigra_core::features::sessions::{self, RevokeOutcome};
use uuid::Uuid;

use tera::Context;

use crate::guards::{AuthenticatedUser, ClientMeta, CsrfForm, CsrfToken, NoFields};
use crate::respond::Reply;
use crate::state::SigraState;

fn notice_text(code: Option<&str>) -> Option<&'static str> {
    match code? {
        "revoked" => Some("That session was signed out."),
        "others_revoked" => Some("You were signed out everywhere else."),
        "password_set" => Some("Your password is set. You can now log in with it."),
        "email_pending" => {
            Some("Check the new address: the change happens when you open the link we sent there.")
        }
        "email_change_cancelled" => Some("The email change was cancelled."),
        "confirmed" => Some("Your email is confirmed."),
        "deletion_cancelled" => Some("Welcome back: your account will not be deleted."),
        "password_changed" => {
            Some("Your password was changed. Every other session was signed out.")
        }
        _ => None,
    }
}

/// The settings page; `extra` carries what a settings form adds (its errors).
pub(crate) async fn settings_page(
    state: &SigraState,
    user: &AuthenticatedUser,
    status: Status,
    notice: Option<&str>,
    extra: Context,
) -> Reply {
    let list = match sessions::list(&state.auth, user.authenticated()).await {
        Ok(list) => list,
        Err(e) => return Reply::failed(e),
    };
    let views: Vec<_> = list
        .iter()
        .map(|s| {
            serde_json::json!({
                "id": s.id,
                "browser": s.browser,
                "os": s.os,
                "ip": s.ip,
                "created_at": super::human_time(s.created_at),
                "last_seen_at": super::human_time(s.last_seen_at),
                "current": s.current,
                "remember_me": s.remember_me,
            })
        })
        .collect();
    let pending = match sigra_core::features::change_email::pending(&state.auth, user.id()).await {
        Ok(pending) => pending,
        Err(e) => return Reply::failed(e),
    };
    let mut context = Context::new();
    context.insert("email", user.email());
    context.insert("pending_email", &pending);
    context.insert("has_password", &user.authenticated().user.has_password());
    context.insert("sessions", &views);
    context.insert("notice", &notice_text(notice));
    context.insert("password_min", &state.auth.config.password.min_length);
    context.insert("password_max", &state.auth.config.password.max_length);
    context.insert(
        "deletion_grace_days",
        &state.auth.config.deletion.grace_days,
    );
    context.insert(
        "mfa_enabled",
        &user.authenticated().user.mfa_enabled_at.is_some(),
    );
    if user.authenticated().user.mfa_enabled_at.is_some() {
        match sigra_core::features::backup_codes::remaining(&state.auth, user.id()).await {
            Ok(left) => context.insert("backup_codes_left", &left),
            Err(e) => return Reply::failed(e),
        }
    }
    context.extend(extra);
    Reply::page(status, "settings", context)
}

#[get("/settings?<notice>")]
async fn settings(
    state: &State<SigraState>,
    user: AuthenticatedUser,
    _csrf: CsrfToken,
    notice: Option<String>,
) -> Reply {
    settings_page(state, &user, Status::Ok, notice.as_deref(), Context::new()).await
}

#[delete("/settings/sessions/<id>", data = "<_form>")]
async fn revoke(
    state: &State<SigraState>,
    jar: &CookieJar<'_>,
    user: AuthenticatedUser,
    id: &str,
    _form: CsrfForm<NoFields>,
    meta: ClientMeta,
) -> Reply {
    let Ok(id) = Uuid::parse_str(id) else {
        return Reply::Error(Status::NotFound);
    };
    match sessions::revoke(&state.auth, user.authenticated(), id, &meta.0).await {
        Ok(_) if id == user.session_id() => {
            state.cookies.clear_auth(jar);
            Reply::see_other(state.auth.config.after_logout_path.clone())
        }
        Ok(RevokeOutcome::Revoked) => Reply::see_other(format!(
            "{}/settings?notice=revoked",
            state.auth.config.base_path
        )),
        Ok(_) => Reply::Error(Status::NotFound),
        Err(e) => Reply::failed(e),
    }
}

#[post("/settings/sessions/others", data = "<_form>")]
async fn revoke_others(
    state: &State<SigraState>,
    user: AuthenticatedUser,
    _form: CsrfForm<NoFields>,
    meta: ClientMeta,
) -> Reply {
    match sessions::revoke_others(&state.auth, user.authenticated(), &meta.0).await {
        Ok(_) => Reply::see_other(format!(
            "{}/settings?notice=others_revoked",
            state.auth.config.base_path
        )),
        Err(e) => Reply::failed(e),
    }
}

pub(crate) fn routes() -> Vec<Route> {
    routes![settings, revoke, revoke_others]
}
