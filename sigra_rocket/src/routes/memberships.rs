//! `/organizations/<slug>/members/<user_id>`: `PATCH` (a form's `_method=PATCH`, field
//! `role`) changes a member's role, `DELETE` removes them; `POST
//! /organizations/<slug>/leave` ends the caller's own membership. The roles table is in
//! `sigra_core::features::organizations`; the last owner always stays.

use rocket::{FromForm, Route, State, delete, patch, post, routes};
use sigra_core::features::memberships;
use sigra_core::features::organizations::{OrganizationError, Role};

use rocket::http::Status;
use sigra_core::form::FieldError;
use tera::Context;

use super::organizations::{MOUNT, member_id, org_page, org_path, refused, refused_on_page};
use crate::guards::{AuthenticatedUser, NoFields, SigraForm};
use crate::respond::Reply;
use crate::state::SigraState;

/// The role form.
#[derive(Debug, FromForm)]
pub struct RoleForm {
    #[field(default = String::new())]
    role: String,
}

#[patch("/<slug>/members/<id>", data = "<form>")]
async fn change_role(
    state: &State<SigraState>,
    user: AuthenticatedUser,
    slug: &str,
    id: &str,
    form: SigraForm<RoleForm>,
) -> Reply {
    let (form, meta) = form.into_parts();
    let Some(member) = member_id(id) else {
        return refused_on_page(state, &user, slug, OrganizationError::MemberNotFound).await;
    };
    let Some(role) = Role::parse(&form.role) else {
        let errors = serde_json::json!({ "role": [FieldError::new("role_invalid", "Choose member, admin or owner.")] });
        let mut extra = Context::new();
        extra.insert("role_errors", &errors);
        return org_page(state, &user, slug, Status::UnprocessableEntity, extra)
            .await
            .invalid_fields(&errors);
    };
    let auth = &state.auth;
    match memberships::change_role(auth, user.authenticated(), slug, member, role, &meta).await {
        Ok(Ok(())) => Reply::see_other(org_path(slug, Some("role_changed"))).with("role", role),
        Ok(Err(refusal)) => refused_on_page(state, &user, slug, refusal).await,
        Err(e) => Reply::failed(e),
    }
}

#[delete("/<slug>/members/<id>", data = "<form>")]
async fn remove(
    state: &State<SigraState>,
    user: AuthenticatedUser,
    slug: &str,
    id: &str,
    form: SigraForm<NoFields>,
) -> Reply {
    let Some(member) = member_id(id) else {
        return refused_on_page(state, &user, slug, OrganizationError::MemberNotFound).await;
    };
    let auth = &state.auth;
    let meta = form.meta();
    match memberships::remove(auth, user.authenticated(), slug, member, meta).await {
        Ok(Ok(())) if member == user.id() => Reply::see_other(format!("{MOUNT}?notice=left")),
        Ok(Ok(())) => Reply::see_other(org_path(slug, Some("removed"))),
        Ok(Err(refusal)) => refused_on_page(state, &user, slug, refusal).await,
        Err(e) => Reply::failed(e),
    }
}

#[post("/<slug>/leave", data = "<form>", rank = 2)]
async fn leave(
    state: &State<SigraState>,
    user: AuthenticatedUser,
    slug: &str,
    form: SigraForm<NoFields>,
) -> Reply {
    match memberships::leave(&state.auth, user.authenticated(), slug, form.meta()).await {
        Ok(Ok(())) => Reply::see_other(format!("{MOUNT}?notice=left")),
        Ok(Err(OrganizationError::NotFound)) => refused(OrganizationError::NotFound),
        Ok(Err(refusal)) => refused_on_page(state, &user, slug, refusal).await,
        Err(e) => Reply::failed(e),
    }
}

pub(crate) fn routes() -> Vec<Route> {
    routes![change_role, remove, leave]
}
