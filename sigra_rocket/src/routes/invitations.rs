//! Invitations to an organization. `POST /organizations/<slug>/invitations` (`email`,
//! `role`; admins and owners) sends one, `DELETE /organizations/<slug>/invitations/<id>`
//! revokes it. The emailed link opens `GET /organizations/invitations/<token>`, whose
//! button posts to the same path: a visitor logged in with the invited address joins; one
//! logged in with another address is told so; one without an account creates it there
//! (`password`), confirmed by the link, and joins.

use rocket::http::{CookieJar, Status};
use rocket::{FromForm, Route, State, delete, get, post, routes};
use sigra_core::features::invitations::{self, Accepted, InviteInput, NewAccountRefusal};
use sigra_core::features::organizations::OrganizationError;
use tera::Context;

use super::organizations::{member_id, org_page, org_path, refused_on_page};
use crate::SecretField;
use crate::guards::{AuthenticatedUser, CsrfToken, NoFields, OptionalUser, SigraForm};
use crate::respond::{Reply, organization_refusal};
use crate::state::SigraState;

/// The invite form.
#[derive(Debug, FromForm)]
pub struct InviteForm {
    #[field(default = String::new())]
    email: String,
    #[field(default = String::new())]
    role: String,
}

/// The accept form: empty for a logged-in invitee, `password` for a new account.
#[derive(Debug, FromForm)]
pub struct AcceptForm {
    password: Option<SecretField>,
}

#[post("/<slug>/invitations", data = "<form>", rank = 2)]
async fn invite(
    state: &State<SigraState>,
    user: AuthenticatedUser,
    slug: &str,
    form: SigraForm<InviteForm>,
) -> Reply {
    let (form, meta) = form.into_parts();
    let input = InviteInput {
        email: form.email,
        role: form.role,
    };
    match invitations::invite(&state.auth, user.authenticated(), slug, &input, &meta).await {
        Ok(Ok(Ok(view))) => {
            Reply::see_other(org_path(slug, Some("invited"))).with("invitation", &view)
        }
        Ok(Ok(Err(errors))) => {
            let mut extra = Context::new();
            extra.insert("invite_errors", &errors);
            extra.insert(
                "invite_form",
                &serde_json::json!({ "email": input.email, "role": input.role }),
            );
            org_page(state, &user, slug, Status::UnprocessableEntity, extra)
                .await
                .invalid_fields(&errors)
        }
        Ok(Err(refusal)) => {
            let reply = refused_on_page(state, &user, slug, refusal).await;
            if refusal == OrganizationError::InvitationLimit {
                reply.retry_after(3600)
            } else {
                reply
            }
        }
        Err(e) => Reply::failed(e),
    }
}

#[delete("/<slug>/invitations/<id>", data = "<form>")]
async fn revoke(
    state: &State<SigraState>,
    user: AuthenticatedUser,
    slug: &str,
    id: &str,
    form: SigraForm<NoFields>,
) -> Reply {
    let Some(id) = member_id(id) else {
        return refused_on_page(state, &user, slug, OrganizationError::InvitationNotFound).await;
    };
    match invitations::revoke(&state.auth, user.authenticated(), slug, id, form.meta()).await {
        Ok(Ok(())) => Reply::see_other(org_path(slug, Some("invitation_revoked"))),
        Ok(Err(refusal)) => refused_on_page(state, &user, slug, refusal).await,
        Err(e) => Reply::failed(e),
    }
}

/// The invitation page for `token`: what it offers depends on who is looking.
async fn invitation_page(
    state: &SigraState,
    user: Option<&AuthenticatedUser>,
    token: &str,
    status: Status,
    extra: Context,
) -> Reply {
    let details = match invitations::show(&state.auth, token).await {
        Ok(Ok(details)) => details,
        Ok(Err(refusal)) => {
            let mut context = Context::new();
            context.insert("invalid", &true);
            context.insert("referrer_policy", "no-referrer");
            return Reply::refused(organization_refusal(refusal), "invitation", context);
        }
        Err(e) => return Reply::failed(e),
    };
    let mut context = Context::new();
    context.insert("invitation", &details);
    context.insert("token", token);
    context.insert("path", &invitations::link_path(token));
    context.insert("referrer_policy", "no-referrer");
    let signed_in_as = user.map(|u| u.email().to_owned());
    let wrong_account = signed_in_as.as_ref().is_some_and(|e| *e != details.email);
    context.insert("signed_in_as", &signed_in_as);
    context.insert("wrong_account", &wrong_account);
    context.insert("password_min", &state.auth.config.password.min_length);
    context.insert("password_max", &state.auth.config.password.max_length);
    context.extend(extra);
    let reply = Reply::page(status, "invitation", context).with("invitation", &details);
    if wrong_account {
        reply.refusing(organization_refusal(OrganizationError::WrongAccount))
    } else {
        reply
    }
}

#[get("/invitations/<token>", rank = 1)]
async fn page(
    state: &State<SigraState>,
    user: OptionalUser,
    _csrf: CsrfToken,
    token: &str,
) -> Reply {
    invitation_page(state, user.user(), token, Status::Ok, Context::new()).await
}

#[post("/invitations/<token>", data = "<form>", rank = 1)]
async fn accept(
    state: &State<SigraState>,
    jar: &CookieJar<'_>,
    user: OptionalUser,
    token: &str,
    form: SigraForm<AcceptForm>,
) -> Reply {
    let (form, meta) = form.into_parts();
    let auth = &state.auth;
    if let Some(user) = user.user() {
        return match invitations::accept(auth, user.authenticated(), token, &meta).await {
            Ok(Ok(Accepted::Joined(view))) => {
                Reply::see_other(org_path(&view.slug, Some("joined"))).with("organization", &view)
            }
            Ok(Ok(Accepted::AlreadyMember(view))) => {
                Reply::see_other(org_path(&view.slug, Some("already_member")))
                    .with("organization", &view)
                    .with("already_member", true)
            }
            Ok(Ok(_)) => Reply::Error(Status::InternalServerError),
            Ok(Err(refusal)) => {
                let mut extra = Context::new();
                extra.insert("error", refusal.message());
                invitation_page(state, Some(user), token, Status::Ok, extra)
                    .await
                    .refusing(organization_refusal(refusal))
            }
            Err(e) => Reply::failed(e),
        };
    }
    let Some(password) = form.password.filter(|p| !p.expose().is_empty()) else {
        // Not logged in and no password: the log-in page brings them back here, unless
        // the link is dead already.
        match invitations::show(auth, token).await {
            Ok(Ok(_)) => {}
            Ok(Err(_)) => {
                return invitation_page(state, None, token, Status::Ok, Context::new()).await;
            }
            Err(e) => return Reply::failed(e),
        }
        let back = invitations::link_path(token);
        let to = crate::respond::with_return_to(&auth.config.base_path, "log_in", Some(&back));
        return Reply::see_other(to);
    };
    let password = password.into();
    match invitations::accept_with_new_account(auth, token, &password, &meta).await {
        Ok(Ok((view, issued))) => {
            super::login::set_login_cookies(state, jar, &issued);
            Reply::see_other(org_path(&view.slug, Some("joined"))).with("organization", &view)
        }
        Ok(Err(NewAccountRefusal::Password(problems))) => {
            let errors = serde_json::json!({ "password": problems });
            let mut extra = Context::new();
            extra.insert("errors", &errors);
            invitation_page(state, None, token, Status::UnprocessableEntity, extra)
                .await
                .invalid_fields(&errors)
        }
        Ok(Err(NewAccountRefusal::Refused(refusal))) => {
            let mut extra = Context::new();
            extra.insert("error", refusal.message());
            invitation_page(state, None, token, Status::Ok, extra)
                .await
                .refusing(organization_refusal(refusal))
        }
        Ok(Err(_)) => Reply::Error(Status::InternalServerError),
        Err(e) => Reply::failed(e),
    }
}

pub(crate) fn routes() -> Vec<Route> {
    routes![invite, revoke, page, accept]
}
