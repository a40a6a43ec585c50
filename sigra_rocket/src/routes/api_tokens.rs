//! API tokens: `POST /users/api/token` (JSON log-in), `/api/token/refresh`,
//! `/api/token/revoke`, `GET /users/api/me` and `GET /.well-known/jwks.json`.
//!
//! These routes speak JSON only, read and set no cookie and take no CSRF token; they are
//! rate-limited per client like every Sigra POST (see [`ApiBody`]).

use rocket::http::{Header, Status};
use rocket::response::{self, Responder};
use rocket::serde::json::Json;
use rocket::{Request, Route, State, get, post, routes};
use serde::Deserialize;
use serde_json::{Value, json};
use sigra_core::features::api_tokens::{self, IssueInput, IssueOutcome, RefreshOutcome, Tokens};
use sigra_core::secret::SecretString;

use crate::guards::{ApiBody, ApiCaller, GuardFailure, Via};
use crate::respond::{
    INVALID_CREDENTIALS, INVALID_MFA_CODE, INVALID_MFA_TOKEN, INVALID_REFRESH_TOKEN, MFA_LOCKED,
    Refusal, Reply, UNCONFIRMED_LOGIN, json_error, retry_after_header,
};
use crate::state::SigraState;

/// What a token route answers.
enum Answer {
    /// A JSON body with its status (and `Retry-After`).
    Json(Status, Value, Option<u64>),
    /// A failure the catchers answer.
    Failed(Reply),
}

impl Answer {
    fn refusal(refusal: Refusal) -> Answer {
        let body = json_error(refusal.reason, refusal.message, None);
        Answer::Json(refusal.status, body, None)
    }

    fn tokens(tokens: &Tokens) -> Answer {
        let body = json!({
            "access_token": tokens.access_token.expose(),
            "token_type": "Bearer",
            "expires_in": tokens.expires_in,
            "refresh_token": tokens.refresh_token.as_str(),
        });
        Answer::Json(Status::Ok, body, None)
    }
}

impl<'r> Responder<'r, 'static> for Answer {
    fn respond_to(self, request: &'r Request<'_>) -> response::Result<'static> {
        match self {
            Answer::Json(status, body, retry_after) => {
                let mut response = (status, Json(body)).respond_to(request)?;
                if let Some(secs) = retry_after {
                    response.set_header(retry_after_header(secs));
                }
                response.set_header(Header::new("Cache-Control", "no-store"));
                Ok(response)
            }
            Answer::Failed(reply) => reply.respond_to(request),
        }
    }
}

/// The body of `POST /users/api/token`: email and password, then (when the answer was
/// `mfa_required`) `mfa_token` and `code`.
#[derive(Debug, Deserialize)]
struct TokenRequest {
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: Option<SecretString>,
    #[serde(default)]
    code: Option<String>,
    #[serde(default)]
    mfa_token: Option<SecretString>,
    #[serde(default)]
    device_name: Option<String>,
}

#[post("/api/token", data = "<body>")]
async fn token(state: &State<SigraState>, body: ApiBody<TokenRequest>) -> Answer {
    let (body, meta) = body.into_parts();
    let input = IssueInput {
        email: body.email,
        password: body
            .password
            .unwrap_or_else(|| SecretString::new(String::new())),
        code: body.code,
        mfa_token: body.mfa_token,
        device_name: body.device_name,
    };
    match api_tokens::issue(&state.auth, &input, &meta).await {
        Ok(IssueOutcome::Issued(tokens)) => Answer::tokens(&tokens),
        Ok(IssueOutcome::MfaRequired { mfa_token }) => {
            let failure = GuardFailure::MfaRequired;
            let mut body = json_error(failure.reason(), failure.message(), None);
            body["mfa_token"] = mfa_token.as_str().into();
            Answer::Json(failure.status(), body, None)
        }
        Ok(IssueOutcome::InvalidCredentials) => Answer::refusal(INVALID_CREDENTIALS),
        Ok(IssueOutcome::Unconfirmed) => Answer::refusal(UNCONFIRMED_LOGIN),
        Ok(IssueOutcome::DeletionScheduled) => {
            let failure = GuardFailure::DeletionScheduled;
            let body = json_error(failure.reason(), failure.message(), None);
            Answer::Json(failure.status(), body, None)
        }
        Ok(IssueOutcome::InvalidMfaToken) => Answer::refusal(INVALID_MFA_TOKEN),
        Ok(IssueOutcome::InvalidMfaCode) => Answer::refusal(INVALID_MFA_CODE),
        Ok(IssueOutcome::MfaLocked { until }) => {
            let secs = (until - state.auth.clock.now()).whole_seconds().max(1);
            let body = json_error(MFA_LOCKED.reason, MFA_LOCKED.message, None);
            Answer::Json(MFA_LOCKED.status, body, u64::try_from(secs).ok())
        }
        Ok(_) => Answer::Failed(Reply::Error(Status::InternalServerError)),
        Err(e) => Answer::Failed(Reply::failed(e)),
    }
}

/// The body of the refresh and revoke routes.
#[derive(Debug, Deserialize)]
struct RefreshRequest {
    refresh_token: SecretString,
}

#[post("/api/token/refresh", data = "<body>")]
async fn refresh(state: &State<SigraState>, body: ApiBody<RefreshRequest>) -> Answer {
    let (body, meta) = body.into_parts();
    let token = body.refresh_token.expose();
    match api_tokens::refresh(&state.auth, token, &meta).await {
        Ok(RefreshOutcome::Refreshed(tokens)) => Answer::tokens(&tokens),
        Ok(_) => Answer::refusal(INVALID_REFRESH_TOKEN),
        Err(e) => Answer::Failed(Reply::failed(e)),
    }
}

#[post("/api/token/revoke", data = "<body>")]
async fn revoke(state: &State<SigraState>, body: ApiBody<RefreshRequest>) -> Answer {
    let (body, meta) = body.into_parts();
    // RFC 7009: an unknown token answers the same as a revoked one.
    match api_tokens::revoke(&state.auth, body.refresh_token.expose(), &meta).await {
        Ok(_) => Answer::Json(Status::Ok, json!({ "ok": true }), None),
        Err(e) => Answer::Failed(Reply::failed(e)),
    }
}

#[get("/api/me")]
async fn me(state: &State<SigraState>, caller: ApiCaller) -> Answer {
    let email = match caller.email() {
        Some(email) => Some(email.to_owned()),
        None => match api_tokens::email_of(&state.auth, caller.user_id()).await {
            Ok(email) => email,
            Err(e) => return Answer::Failed(Reply::failed(e)),
        },
    };
    let scopes = match caller.via() {
        Via::ApiKey { scopes, .. } => scopes.clone(),
        _ => caller.scopes().to_vec(),
    };
    let body = json!({
        "id": caller.user_id(),
        "email": email,
        "via": caller.via().name(),
        "scopes": scopes,
    });
    Answer::Json(Status::Ok, body, None)
}

#[get("/.well-known/jwks.json")]
fn jwks(state: &State<SigraState>) -> Json<Value> {
    Json(state.auth.jwt.jwks())
}

pub(crate) fn routes() -> Vec<Route> {
    routes![token, refresh, revoke, me]
}

/// The routes mounted at `/`, outside the base path.
pub(crate) fn root_routes() -> Vec<Route> {
    routes![jwks]
}
