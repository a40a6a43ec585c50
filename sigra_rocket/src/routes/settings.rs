//! `GET <base>/settings`: the account's settings overview. Settings forms that answer
//! with the page again (their errors) render it through `settings_page`.

use rocket::http::Status;
use rocket::{Route, State, get, routes};
use sigra_core::features::settings;

use tera::Context;

use crate::guards::{AuthenticatedUser, CsrfToken};
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
    let overview = match settings::overview(&state.auth, user.authenticated()).await {
        Ok(overview) => overview,
        Err(e) => return Reply::failed(e),
    };
    let views: Vec<_> = overview
        .sessions
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
                "device_name": s.device_name,
            })
        })
        .collect();
    let mut context = Context::new();
    context.insert("email", &overview.email);
    context.insert("pending_email", &overview.pending_email);
    context.insert("has_password", &overview.has_password);
    context.insert("sessions", &views);
    context.insert("notice", &notice_text(notice));
    context.insert("password_min", &state.auth.config.password.min_length);
    context.insert("password_max", &state.auth.config.password.max_length);
    context.insert(
        "deletion_grace_days",
        &state.auth.config.deletion.grace_days,
    );
    context.insert("mfa_enabled", &overview.mfa_enabled);
    if let Some(left) = overview.backup_codes_left {
        context.insert("backup_codes_left", &left);
    }
    context.extend(extra);
    Reply::page(status, "settings", context).with_fields_of(&overview)
}

#[get("/settings?<notice>")]
async fn page(
    state: &State<SigraState>,
    user: AuthenticatedUser,
    _csrf: CsrfToken,
    notice: Option<String>,
) -> Reply {
    settings_page(state, &user, Status::Ok, notice.as_deref(), Context::new()).await
}

pub(crate) fn routes() -> Vec<Route> {
    routes![page]
}
