//! `<base>/settings/api-keys`: the account's personal API keys. `GET` lists them;
//! `POST` (sudo) makes one and shows it once; `DELETE /<id>` (a form's
//! `_method=DELETE`) revokes one. With organizations on (and built in), a key may be
//! owned by an organization the user administers (field `organization`, its slug): it
//! then acts only there.

use rocket::http::Status;
use rocket::{FromForm, Route, State, delete, get, post, routes};
use sigra_core::features::api_keys::{self, ApiKeyView, CreateInput, RevokeOutcome};
#[cfg(feature = "organizations")]
use sigra_core::features::organizations::{self, Role};
use tera::Context;
use uuid::Uuid;

use crate::guards::{AuthenticatedUser, CsrfToken, NoFields, SigraForm, SudoUser};
use crate::respond::Reply;
use crate::state::SigraState;

/// The create form: `name`, `scopes` (repeated), `expires_in_days` (empty or 0: never).
#[derive(Debug, FromForm)]
pub struct CreateForm {
    #[field(default = String::new())]
    name: String,
    scopes: Vec<String>,
    expires_in_days: Option<String>,
    organization: Option<String>,
}

fn notice_text(code: Option<&str>) -> Option<&'static str> {
    match code? {
        "revoked" => Some("The key was revoked. Programs using it can no longer sign in."),
        _ => None,
    }
}

/// A key as the page shows it (times in words).
fn page_view(key: &ApiKeyView) -> serde_json::Value {
    serde_json::json!({
        "id": key.id,
        "name": key.name,
        "prefix": key.prefix,
        "scopes": key.scopes,
        "created_at": super::human_time(key.created_at),
        "last_used_at": key.last_used_at.map(super::human_time),
        "expires_at": key.expires_at.map(super::human_time),
        "expired": key.expired,
        "organization_id": key.organization_id,
    })
}

/// The API keys page; `extra` carries what the create form adds (the new key, errors).
async fn keys_page(state: &SigraState, user_id: Uuid, status: Status, extra: Context) -> Reply {
    let keys = match api_keys::list(&state.auth, user_id).await {
        Ok(keys) => keys,
        Err(e) => return Reply::failed(e),
    };
    // Organizations the user administers may own keys.
    #[cfg(feature = "organizations")]
    let organizations = if state.auth.config.organizations.enabled {
        match organizations::list(&state.auth, user_id).await {
            Ok(list) => list.into_iter().filter(|o| o.role >= Role::Admin).collect(),
            Err(e) => return Reply::failed(e),
        }
    } else {
        Vec::new()
    };
    #[cfg(not(feature = "organizations"))]
    let organizations: Vec<serde_json::Value> = Vec::new();
    let config = &state.auth.config.api_keys;
    let mut context = Context::new();
    context.insert("organizations", &organizations);
    context.insert("api_keys", &keys.iter().map(page_view).collect::<Vec<_>>());
    context.insert("available_scopes", &config.scopes);
    context.insert("max_per_user", &config.max_per_user);
    context.insert("max_expires_in_days", &api_keys::MAX_EXPIRES_IN_DAYS);
    context.insert("max_name_chars", &api_keys::MAX_NAME_CHARS);
    context.extend(extra);
    Reply::page(status, "api_keys", context).with("api_keys", &keys)
}

#[get("/settings/api-keys?<notice>")]
async fn page(
    state: &State<SigraState>,
    user: AuthenticatedUser,
    _csrf: CsrfToken,
    notice: Option<String>,
) -> Reply {
    let mut extra = Context::new();
    extra.insert("notice", &notice_text(notice.as_deref()));
    keys_page(state, user.id(), Status::Ok, extra).await
}

#[post("/settings/api-keys", data = "<form>")]
async fn create(state: &State<SigraState>, user: SudoUser, form: SigraForm<CreateForm>) -> Reply {
    let (form, meta) = form.into_parts();
    let input = CreateInput {
        name: form.name,
        scopes: form.scopes,
        expires_in_days: form.expires_in_days,
        organization: form.organization,
    };
    match api_keys::create(&state.auth, user.authenticated(), &input, &meta).await {
        Ok(Ok(created)) => {
            let mut extra = Context::new();
            extra.insert("new_key", created.key.expose());
            extra.insert("new_key_name", &created.view.name);
            keys_page(state, user.id(), Status::Created, extra)
                .await
                .with("key", created.key.expose())
                .with("api_key", &created.view)
        }
        Ok(Err(errors)) => {
            let mut extra = Context::new();
            extra.insert("errors", &errors);
            extra.insert(
                "form",
                &serde_json::json!({
                    "name": input.name,
                    "scopes": input.scopes,
                    "expires_in_days": input.expires_in_days,
                    "organization": input.organization,
                }),
            );
            keys_page(state, user.id(), Status::UnprocessableEntity, extra)
                .await
                .invalid_fields(&errors)
        }
        Err(e) => Reply::failed(e),
    }
}

#[delete("/settings/api-keys/<id>", data = "<form>")]
async fn revoke(
    state: &State<SigraState>,
    user: AuthenticatedUser,
    id: &str,
    form: SigraForm<NoFields>,
) -> Reply {
    let Ok(id) = Uuid::parse_str(id) else {
        return Reply::Error(Status::NotFound);
    };
    match api_keys::revoke(&state.auth, user.authenticated(), id, form.meta()).await {
        Ok(RevokeOutcome::Revoked) => Reply::see_other(format!(
            "{}/settings/api-keys?notice=revoked",
            state.auth.config.base_path
        )),
        Ok(_) => Reply::Error(Status::NotFound),
        Err(e) => Reply::failed(e),
    }
}

pub(crate) fn routes() -> Vec<Route> {
    routes![page, create, revoke]
}
