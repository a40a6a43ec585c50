//! `/organizations`: the organizations an account belongs to. `GET /` lists them with a
//! create form, `POST /` creates one (`name`, `slug`), `GET /<slug>` shows its members
//! (and to admins its pending invitations), `POST /<slug>/switch` makes it the
//! session's active organization, `DELETE /<slug>` (owner, sudo) deletes it.
//!
//! Mounted at `/organizations`, outside the base path, when
//! `sigra.organizations.enabled` is on.

use rocket::http::Status;
use rocket::{FromForm, Route, State, delete, get, post, routes};
use sigra_core::features::organizations::{self, CreateErrors, CreateInput, OrganizationError};
use tera::Context;
use uuid::Uuid;

use crate::guards::{AuthenticatedUser, CsrfToken, NoFields, SigraForm, SudoUser};
use crate::respond::{Reply, organization_refusal, safe_return_to};
use crate::state::SigraState;

/// Where the organization pages are mounted.
pub const MOUNT: &str = super::ORGANIZATIONS_MOUNT;

/// The create form.
#[derive(Debug, FromForm)]
pub struct CreateForm {
    #[field(default = String::new())]
    name: String,
    #[field(default = String::new())]
    slug: String,
}

/// The switch form.
#[derive(Debug, FromForm)]
pub struct SwitchForm {
    return_to: Option<String>,
}

fn notice_text(code: Option<&str>) -> Option<&'static str> {
    match code? {
        "deleted" => Some("The organization was deleted."),
        "left" => Some("You left the organization."),
        "invited" => Some("The invitation is on its way."),
        "invitation_revoked" => Some("The invitation was revoked."),
        "role_changed" => Some("The role was changed."),
        "removed" => Some("The member was removed."),
        "joined" => Some("Welcome! You joined the organization."),
        "already_member" => Some("You are a member of this organization already."),
        "switched" => Some("You are now working in this organization."),
        _ => None,
    }
}

/// The path of an organization's page, with an optional notice.
pub(crate) fn org_path(slug: &str, notice: Option<&str>) -> String {
    match notice {
        Some(n) => format!("{MOUNT}/{slug}?notice={n}"),
        None => format!("{MOUNT}/{slug}"),
    }
}

/// The list page; `extra` carries the create form's values and errors.
async fn list_page(
    state: &SigraState,
    user: &AuthenticatedUser,
    status: Status,
    extra: Context,
) -> Reply {
    let auth = &state.auth;
    let list = match organizations::list(auth, user.id()).await {
        Ok(list) => list,
        Err(e) => return Reply::failed(e),
    };
    let active = match organizations::active(auth, user.authenticated()).await {
        Ok(active) => active.map(|m| m.org_id()),
        Err(e) => return Reply::failed(e),
    };
    let mut context = Context::new();
    context.insert("organizations", &list);
    context.insert("active_id", &active);
    context.insert("max_name_chars", &organizations::MAX_NAME_CHARS);
    context.extend(extra);
    Reply::page(status, "organizations", context)
        .with("organizations", &list)
        .with("active_id", active)
}

#[get("/?<notice>")]
async fn list(
    state: &State<SigraState>,
    user: AuthenticatedUser,
    _csrf: CsrfToken,
    notice: Option<String>,
) -> Reply {
    let mut extra = Context::new();
    extra.insert("notice", &notice_text(notice.as_deref()));
    list_page(state, &user, Status::Ok, extra).await
}

#[post("/", data = "<form>")]
async fn create(
    state: &State<SigraState>,
    user: AuthenticatedUser,
    form: SigraForm<CreateForm>,
) -> Reply {
    let (form, meta) = form.into_parts();
    let input = CreateInput {
        name: form.name,
        slug: form.slug,
    };
    match organizations::create(&state.auth, user.authenticated(), &input, &meta).await {
        Ok(Ok(view)) => Reply::see_other(org_path(&view.slug, None)).with("organization", &view),
        Ok(Err(errors)) => invalid_create(state, &user, &input, &errors).await,
        Err(e) => Reply::failed(e),
    }
}

async fn invalid_create(
    state: &SigraState,
    user: &AuthenticatedUser,
    input: &CreateInput,
    errors: &CreateErrors,
) -> Reply {
    let mut extra = Context::new();
    extra.insert("errors", errors);
    extra.insert(
        "form",
        &serde_json::json!({ "name": input.name, "slug": input.slug }),
    );
    list_page(state, user, Status::UnprocessableEntity, extra)
        .await
        .invalid_fields(errors)
}

/// The organization page as `user` sees it; `extra` carries what a form adds (errors,
/// a refusal's message).
pub(crate) async fn org_page(
    state: &SigraState,
    user: &AuthenticatedUser,
    slug: &str,
    status: Status,
    extra: Context,
) -> Reply {
    let auth = &state.auth;
    let page = match organizations::page(auth, user.id(), slug).await {
        Ok(Ok(page)) => page,
        Ok(Err(refusal)) => return refused(refusal),
        Err(e) => return Reply::failed(e),
    };
    let active = match organizations::active(auth, user.authenticated()).await {
        Ok(active) => active.map(|m| m.org_id()),
        Err(e) => return Reply::failed(e),
    };
    let mut context = Context::new();
    context.insert("organization", &page.organization);
    context.insert("members", &page.members);
    context.insert("invitations", &page.invitations);
    context.insert("me", &user.id());
    context.insert("active", &(active == Some(page.organization.id)));
    context.insert(
        "invitation_days",
        &auth.config.organizations.invitation_days,
    );
    context.extend(extra);
    Reply::page(status, "organization", context)
        .with("organization", &page.organization)
        .with("members", &page.members)
        .with("invitations", &page.invitations)
}

/// A refusal: the error page for an organization one cannot see, otherwise the
/// organization page with the refusal's message.
pub(crate) async fn refused_on_page(
    state: &SigraState,
    user: &AuthenticatedUser,
    slug: &str,
    refusal: OrganizationError,
) -> Reply {
    if refusal == OrganizationError::NotFound {
        return refused(refusal);
    }
    let mut extra = Context::new();
    extra.insert("error", refusal.message());
    org_page(state, user, slug, Status::Ok, extra)
        .await
        .refusing(organization_refusal(refusal))
}

/// The error page for `refusal`.
pub(crate) fn refused(refusal: OrganizationError) -> Reply {
    let mut context = Context::new();
    context.insert("title", "Not available");
    context.insert("message", refusal.message());
    let answer = organization_refusal(refusal);
    context.insert("status", &answer.status.code);
    Reply::refused(answer, "error", context)
}

#[get("/<slug>?<notice>", rank = 2)]
async fn show(
    state: &State<SigraState>,
    user: AuthenticatedUser,
    _csrf: CsrfToken,
    slug: &str,
    notice: Option<String>,
) -> Reply {
    let mut extra = Context::new();
    extra.insert("notice", &notice_text(notice.as_deref()));
    org_page(state, &user, slug, Status::Ok, extra).await
}

#[post("/<slug>/switch", data = "<form>", rank = 2)]
async fn switch(
    state: &State<SigraState>,
    user: AuthenticatedUser,
    slug: &str,
    form: SigraForm<SwitchForm>,
) -> Reply {
    let (form, meta) = form.into_parts();
    match organizations::switch(&state.auth, user.authenticated(), slug, &meta).await {
        Ok(Ok(view)) => {
            let fallback = org_path(&view.slug, Some("switched"));
            Reply::see_other(safe_return_to(form.return_to.as_deref(), &fallback))
                .with("organization", &view)
        }
        Ok(Err(refusal)) => refused(refusal),
        Err(e) => Reply::failed(e),
    }
}

#[delete("/<slug>", data = "<form>", rank = 2)]
async fn destroy(
    state: &State<SigraState>,
    user: SudoUser,
    slug: &str,
    form: SigraForm<NoFields>,
) -> Reply {
    match organizations::delete(&state.auth, user.authenticated(), slug, form.meta()).await {
        Ok(Ok(())) => Reply::see_other(format!("{MOUNT}?notice=deleted")),
        Ok(Err(refusal)) => refused_on_page(state, &user, slug, refusal).await,
        Err(e) => Reply::failed(e),
    }
}

/// A member's id from the URL (an unparsable one is nobody).
pub(crate) fn member_id(id: &str) -> Option<Uuid> {
    Uuid::parse_str(id).ok()
}

pub(crate) fn routes() -> Vec<Route> {
    routes![list, create, show, switch, destroy]
}
