//! Impersonation: `POST /admin/users/<id>/impersonate` (a platform admin, sudo,
//! `reason`), `POST /organizations/<slug>/members/<user_id>/impersonate` (an
//! organization admin, sudo, `reason`, when `sigra.admin.org_impersonation` is on; the
//! `organizations` feature), and
//! `DELETE /admin/impersonation` (stop; log-out stops too).
//!
//! Starting keeps the admin's session cookie aside (the impersonator cookie) and sets
//! the impersonation session's; stopping ends the impersonation and gives the admin's
//! session a new token from the kept cookie (see
//! `sigra_core::features::impersonation`).

use rocket::http::{CookieJar, Status};
use rocket::{FromForm, Route, State, delete, post, routes};
use sigra_core::features::RequestMeta;
use sigra_core::features::impersonation::{self, ImpersonationError};
#[cfg(feature = "organizations")]
use sigra_core::features::organizations::{Membership, Role};
use sigra_core::features::sessions::{Authenticated, IssuedSession};
use tera::Context;
use uuid::Uuid;

#[cfg(feature = "organizations")]
use crate::guards::SudoUser;
use crate::guards::{LiveSession, NoFields, SigraForm, SudoAdmin};
use crate::respond::{Reply, impersonation_refusal};
use crate::state::SigraState;

/// The impersonation form.
#[derive(Debug, FromForm)]
pub struct ImpersonateForm {
    #[field(default = String::new())]
    reason: String,
}

/// Swaps the browser's cookies to the impersonation session.
fn begin(state: &SigraState, jar: &CookieJar<'_>, issued: &IssuedSession) -> Reply {
    if let Some(own) = jar
        .get(&state.cookies.session)
        .map(|c| c.value().to_owned())
    {
        state.cookies.set_impersonator(jar, &own);
    }
    state.cookies.set_session(jar, &issued.token);
    Reply::see_other(state.auth.config.after_login_path.clone())
        .with("session_id", issued.session.id)
        .with("expires_at", issued.session.expires_at.unix_timestamp())
}

#[post("/admin/users/<id>/impersonate", data = "<form>")]
async fn impersonate(
    state: &State<SigraState>,
    jar: &CookieJar<'_>,
    admin: SudoAdmin,
    id: &str,
    form: SigraForm<ImpersonateForm>,
) -> Reply {
    let (form, meta) = form.into_parts();
    let Ok(target) = Uuid::parse_str(id) else {
        return refused(state, id, ImpersonationError::NotFound).await;
    };
    let auth = &state.auth;
    match impersonation::start(auth, admin.authenticated(), target, &form.reason, &meta).await {
        Ok(Ok(issued)) => begin(state, jar, &issued),
        Ok(Err(refusal)) => refused(state, id, refusal).await,
        Err(e) => Reply::failed(e),
    }
}

/// A refused impersonation: the user page with the refusal's message.
async fn refused(state: &SigraState, id: &str, refusal: ImpersonationError) -> Reply {
    let mut extra = Context::new();
    extra.insert("error_message", refusal.message());
    super::admin::user_page(state, id, Status::Ok, extra)
        .await
        .refusing(impersonation_refusal(refusal))
}

#[cfg(feature = "organizations")]
#[post("/<slug>/members/<user_id>/impersonate", data = "<form>", rank = 2)]
async fn impersonate_member(
    state: &State<SigraState>,
    jar: &CookieJar<'_>,
    user: SudoUser,
    slug: &str,
    user_id: &str,
    form: SigraForm<ImpersonateForm>,
) -> Reply {
    let (form, meta) = form.into_parts();
    let auth = &state.auth;
    let refuse = |refusal: ImpersonationError| {
        let mut extra = Context::new();
        extra.insert("error", refusal.message());
        (extra, impersonation_refusal(refusal))
    };
    let membership = match Membership::of(auth, user.id(), slug).await {
        Ok(Some(m)) if m.role() >= Role::Admin && auth.config.admin.org_impersonation => m,
        Ok(_) => {
            let (extra, refusal) = refuse(ImpersonationError::NotYourMember);
            return super::organizations::org_page(state, &user, slug, Status::Ok, extra)
                .await
                .refusing(refusal);
        }
        Err(e) => return Reply::failed(e),
    };
    let target = super::organizations::member_id(user_id).unwrap_or_else(Uuid::nil);
    let found = user.authenticated();
    let reason = &form.reason;
    match impersonation::start_through(auth, found, target, reason, &membership, &meta).await {
        Ok(Ok(issued)) => begin(state, jar, &issued),
        Ok(Err(refusal)) => {
            let (extra, refusal) = refuse(refusal);
            super::organizations::org_page(state, &user, slug, Status::Ok, extra)
                .await
                .refusing(refusal)
        }
        Err(e) => Reply::failed(e),
    }
}

/// Ends the impersonation `current` is and brings the admin's own session back (when
/// it is still live; otherwise the browser is logged out).
pub(crate) async fn end(
    state: &SigraState,
    jar: &CookieJar<'_>,
    current: &Authenticated,
    meta: &RequestMeta,
) -> Reply {
    let auth = &state.auth;
    if let Err(e) = impersonation::stop(auth, current, meta).await {
        return Reply::failed(e);
    }
    let own = state.cookies.take_impersonator(jar);
    let resumed = match own {
        Some(cookie) => match impersonation::resume(auth, &cookie, meta).await {
            Ok(token) => token,
            Err(e) => return Reply::failed(e),
        },
        None => None,
    };
    match resumed {
        Some(token) => {
            state.cookies.set_session(jar, &token);
            let back = match current.session.impersonation_organization_id {
                Some(_) => super::ORGANIZATIONS_MOUNT.to_owned(),
                None => format!("{}/users/{}", super::admin::MOUNT, current.user.id),
            };
            Reply::see_other(back)
        }
        None => {
            state.cookies.clear_auth(jar);
            Reply::see_other(state.auth.config.after_logout_path.clone())
        }
    }
}

#[delete("/admin/impersonation", data = "<form>")]
async fn stop(
    state: &State<SigraState>,
    jar: &CookieJar<'_>,
    session: LiveSession,
    form: SigraForm<NoFields>,
) -> Reply {
    match &session.0 {
        Some(current) if current.session.impersonator_id.is_some() => {
            end(state, jar, current, form.meta()).await
        }
        _ => Reply::see_other(state.auth.config.after_login_path.clone()).with("stopped", false),
    }
}

/// Mounted at `/` (full paths under `/admin`).
pub(crate) fn admin_routes() -> Vec<Route> {
    routes![impersonate, stop]
}

/// Mounted at `/organizations` (with the `organizations` feature).
#[cfg(feature = "organizations")]
pub(crate) fn organization_routes() -> Vec<Route> {
    routes![impersonate_member]
}
