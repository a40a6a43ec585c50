//! `/admin`: the admin console. `GET /` the dashboard, `GET /users` the user search,
//! `GET /organizations` and `GET /organizations/<slug>` the organizations (with the
//! `organizations` feature),
//! `GET /users/<id>` one account, `POST /users/<id>/<action>` (sudo) an action of
//! [`UserAction`], `DELETE /users/<id>/sessions/<session_id>` (sudo) one session.
//! Impersonation lives in `routes::impersonation`, the audit explorer
//! in `routes::audit`.
//!
//! Mounted (with their full paths, at `/`) under [`MOUNT`], outside the base path, when
//! `sigra.admin.enabled` is on. Every route takes [`Admin`] (GET) or [`SudoAdmin`]
//! (POST).

use rocket::http::Status;
use rocket::{Route, State, delete, get, post, routes};
use sigra_core::features::admin::{self, DASHBOARD_DAYS, Day, UserAction, UserQuery};
use sigra_core::features::sessions::{self, RevokeOutcome};
use tera::Context;
use uuid::Uuid;

use crate::guards::{Admin, CsrfToken, NoFields, SigraForm, SudoAdmin};
use crate::respond::{Reply, admin_refusal};
use crate::state::SigraState;

/// Where the admin console is mounted.
pub const MOUNT: &str = super::ADMIN_MOUNT;

/// The geometry of a dashboard chart: `viewBox` width and height, and the bar pitch.
const CHART_W: i64 = 300;
const CHART_H: i64 = 100;

/// One bar of a chart, as the template draws it.
#[derive(Debug, serde::Serialize)]
struct Bar {
    x: i64,
    y: i64,
    w: i64,
    h: i64,
    date: String,
    count: i64,
}

/// A series as bars scaled to the chart's height (the tallest day fills it).
fn bars(series: &[Day]) -> Vec<Bar> {
    let max = series.iter().map(|d| d.count).max().unwrap_or(0).max(1);
    let pitch = CHART_W / DASHBOARD_DAYS;
    series
        .iter()
        .enumerate()
        .map(|(i, d)| {
            let h = d.count * (CHART_H - 4) / max;
            let h = if d.count > 0 { h.max(1) } else { 0 };
            Bar {
                x: i64::try_from(i).unwrap_or(0) * pitch + 1,
                y: CHART_H - h,
                w: pitch - 2,
                h,
                date: d.date.clone(),
                count: d.count,
            }
        })
        .collect()
}

#[get("/admin")]
async fn dashboard(state: &State<SigraState>, _admin: Admin) -> Reply {
    let figures = match admin::dashboard(&state.auth).await {
        Ok(f) => f,
        Err(e) => return Reply::failed(e),
    };
    let total = |s: &[Day]| s.iter().map(|d| d.count).sum::<i64>();
    let mut context = Context::new();
    context.insert("d", &figures);
    context.insert("days", &DASHBOARD_DAYS);
    context.insert("chart_w", &CHART_W);
    context.insert("chart_h", &CHART_H);
    context.insert("signup_bars", &bars(&figures.signups));
    context.insert("success_bars", &bars(&figures.login_successes));
    context.insert("failure_bars", &bars(&figures.login_failures));
    context.insert("signups_total", &total(&figures.signups));
    context.insert("successes_total", &total(&figures.login_successes));
    context.insert("failures_total", &total(&figures.login_failures));
    Reply::page(Status::Ok, "admin", context).with_fields_of(&figures)
}

#[get("/admin/users?<q>&<filter>&<page>")]
async fn users(
    state: &State<SigraState>,
    _admin: Admin,
    q: Option<String>,
    filter: Option<String>,
    page: Option<String>,
) -> Reply {
    let query = UserQuery {
        q: q.unwrap_or_default(),
        filter: filter.filter(|f| !f.is_empty()),
        page,
    };
    let found = match admin::search(&state.auth, &query).await {
        Ok(found) => found,
        Err(e) => return Reply::failed(e),
    };
    let mut context = Context::new();
    context.insert("q", &query.q);
    context.insert("filter", &query.filter);
    context.insert("users", &found.users);
    context.insert("next", &found.next);
    Reply::page(Status::Ok, "admin_users", context)
        .with("users", &found.users)
        .with("next", &found.next)
}

fn notice_text(code: Option<&str>) -> Option<&'static str> {
    UserAction::ALL
        .into_iter()
        .find(|a| Some(a.slug()) == code)
        .map(UserAction::done)
        .or(match code? {
            "unchanged" => Some("Nothing changed: the account already was so."),
            "session_revoked" => Some("The session ended."),
            _ => None,
        })
}

/// The admin's page of account `id`; `extra` carries a refusal's message.
pub(crate) async fn user_page(
    state: &SigraState,
    id: &str,
    status: Status,
    extra: Context,
) -> Reply {
    let detail = match Uuid::parse_str(id).ok() {
        Some(id) => admin::user(&state.auth, id).await,
        None => Ok(None),
    };
    let detail = match detail {
        Ok(Some(detail)) => detail,
        Ok(None) => return not_found(),
        Err(e) => return Reply::failed(e),
    };
    let mut context = Context::new();
    context.insert("u", &detail);
    context.insert("actions", &UserAction::ALL.map(|a| a.slug()).to_vec());
    context.insert(
        "impersonation_minutes",
        &state.auth.config.admin.impersonation_minutes,
    );
    context.extend(extra);
    Reply::page(status, "admin_user", context).with_fields_of(&detail)
}

fn not_found() -> Reply {
    let refusal = admin_refusal(admin::AdminError::NotFound);
    let mut context = Context::new();
    context.insert("title", "Not found");
    context.insert("message", refusal.message);
    context.insert("status", &refusal.status.code);
    Reply::refused(refusal, "error", context)
}

#[get("/admin/users/<id>?<notice>")]
async fn user(
    state: &State<SigraState>,
    _admin: Admin,
    _csrf: CsrfToken,
    id: &str,
    notice: Option<String>,
) -> Reply {
    let mut extra = Context::new();
    extra.insert("notice", &notice_text(notice.as_deref()));
    user_page(state, id, Status::Ok, extra).await
}

#[post("/admin/users/<id>/<action>", data = "<form>", rank = 2)]
async fn act(
    state: &State<SigraState>,
    admin: SudoAdmin,
    id: &str,
    action: &str,
    form: SigraForm<NoFields>,
) -> Reply {
    let (Some(target), Some(action)) = (Uuid::parse_str(id).ok(), UserAction::from_slug(action))
    else {
        return not_found();
    };
    let auth = &state.auth;
    match admin::act(auth, admin.authenticated(), target, action, form.meta()).await {
        Ok(Ok(changed)) => {
            let notice = if changed { action.slug() } else { "unchanged" };
            Reply::see_other(format!("{MOUNT}/users/{target}?notice={notice}"))
                .with("changed", changed)
        }
        Ok(Err(refusal)) => {
            let mut extra = Context::new();
            extra.insert("error_message", refusal.message());
            user_page(state, id, Status::Ok, extra)
                .await
                .refusing(admin_refusal(refusal))
        }
        Err(e) => Reply::failed(e),
    }
}

#[delete("/admin/users/<id>/sessions/<session_id>", data = "<form>")]
async fn revoke_session(
    state: &State<SigraState>,
    admin: SudoAdmin,
    id: &str,
    session_id: &str,
    form: SigraForm<NoFields>,
) -> Reply {
    let (Ok(target), Ok(session)) = (Uuid::parse_str(id), Uuid::parse_str(session_id)) else {
        return not_found();
    };
    let auth = &state.auth;
    match sessions::revoke_by(auth, target, admin.id(), session, form.meta()).await {
        Ok(RevokeOutcome::Revoked) => {
            Reply::see_other(format!("{MOUNT}/users/{target}?notice=session_revoked"))
        }
        // Ended already, or not this account's.
        Ok(_) => Reply::Error(Status::NotFound),
        Err(e) => Reply::failed(e),
    }
}

#[cfg(feature = "organizations")]
#[get("/admin/organizations?<q>&<page>")]
async fn organizations(
    state: &State<SigraState>,
    _admin: Admin,
    q: Option<String>,
    page: Option<String>,
) -> Reply {
    let q = q.unwrap_or_default();
    let found = match admin::organizations(&state.auth, &q, page.as_deref()).await {
        Ok(found) => found,
        Err(e) => return Reply::failed(e),
    };
    let mut context = Context::new();
    context.insert("q", &q);
    context.insert("organizations", &found.organizations);
    context.insert("next", &found.next);
    Reply::page(Status::Ok, "admin_organizations", context).with_fields_of(&found)
}

#[cfg(feature = "organizations")]
#[get("/admin/organizations/<slug>")]
async fn organization(state: &State<SigraState>, _admin: Admin, slug: &str) -> Reply {
    let detail = match admin::organization(&state.auth, slug).await {
        Ok(Some(detail)) => detail,
        Ok(None) => return Reply::Error(Status::NotFound),
        Err(e) => return Reply::failed(e),
    };
    let mut context = Context::new();
    context.insert("o", &detail);
    Reply::page(Status::Ok, "admin_organization", context).with_fields_of(&detail)
}

pub(crate) fn routes() -> Vec<Route> {
    routes![dashboard, users, user, act, revoke_session]
}

/// The organization pages (with the `organizations` feature).
#[cfg(feature = "organizations")]
pub(crate) fn organization_routes() -> Vec<Route> {
    routes![organizations, organization]
}
