//! JSON mode's own endpoints (DESIGN §4a): `GET <base>/csrf`, the token a script sends in
//! `X-CSRF-Token`, and `GET <base>/openapi.json`, an OpenAPI 3.1 document of every
//! route Sigra mounted.
//!
//! The document is built from Rocket's route table at request time, so it cannot list a
//! route that is not mounted nor miss one that is: paths, methods, path and query
//! parameters come from the routes themselves. What a route cannot say about itself (a
//! summary, who may call it, the fields of its body) comes from [`OPERATIONS`]; a unit
//! test fails when a route has no entry there.
//!
//! Both are mounted in every build, not only with the `api` feature: every Sigra route
//! answers JSON, and the document describes them all. A capability that is off has no
//! routes, so its operations are left out of the document.

use rocket::http::{Method, Status};
use rocket::request::{FromRequest, Outcome};
use rocket::serde::json::Json;
use rocket::{Orbit, Request, Rocket, Route, State, get, routes};
use serde_json::{Map, Value, json};
use sigra_core::features::user_fields::{DEFAULT_MAX_CHARS, FieldKind, FieldSpec};

use crate::guards::CsrfToken;
use crate::state::SigraState;

/// Who may call an operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Access {
    /// Anyone (a form still needs its CSRF token).
    Public,
    /// A live session, both factors done.
    Session,
    /// A session whose password was confirmed within the sudo window.
    Sudo,
    /// Anyone, with a JSON body only, no cookie and no CSRF token (the API token routes).
    Token,
    /// `ApiCaller`: a Bearer credential or a session.
    Caller,
}

/// The type of a body field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Text,
    Email,
    Password,
    Flag,
    /// A whole number (JSON: a number or its text).
    Integer,
    /// A list of text values (a form repeats the field).
    List,
    /// A JSON object (a form sends its JSON text).
    Object,
}

/// One body field: name, type, required.
type Field = (&'static str, Kind, bool);

/// What the route table cannot tell about one of Sigra's routes.
#[derive(Debug)]
struct Operation {
    method: Method,
    /// The route's path as mounted under its base (`/confirm/<token>`).
    path: &'static str,
    summary: &'static str,
    access: Access,
    fields: &'static [Field],
    /// The status of a success: `"200"`, or `"201"` for a route that makes something.
    success: &'static str,
}

impl Operation {
    /// The same operation answering `201 Created` on success.
    const fn created(self) -> Operation {
        Operation {
            success: "201",
            ..self
        }
    }
}

const fn op(
    method: Method,
    path: &'static str,
    summary: &'static str,
    access: Access,
    fields: &'static [Field],
) -> Operation {
    Operation {
        method,
        path,
        summary,
        access,
        fields,
        success: "200",
    }
}

use Access::{Caller, Public, Session, Sudo, Token};
use Kind::{Email, Flag, Integer, List, Object, Password, Text};
use Method::{Delete, Get, Patch, Post};

const EMAIL: Field = ("email", Email, true);
const PASSWORD: Field = ("password", Password, true);
const CONFIRMATION: Field = ("password_confirmation", Password, true);
const CURRENT: Field = ("current_password", Password, true);
const CODE: Field = ("code", Text, true);
const RETURN_TO: Field = ("return_to", Text, false);

const REFRESH_TOKEN: Field = ("refresh_token", Password, true);
/// A WebAuthn answer: `PublicKeyCredential.toJSON()` (an object, or its JSON text).
const CREDENTIAL: Field = ("credential", Object, true);

/// Every Sigra route, described.
const OPERATIONS: &[Operation] = &[
    op(
        Post,
        "/api/token",
        "JSON log-in for API clients: `email`, `password`; after `mfa_required`, the answer's `mfa_token` and `code`. Answers `{access_token, token_type, expires_in, refresh_token}`. No CSRF token, no cookie.",
        Token,
        &[
            ("email", Email, false),
            ("password", Password, false),
            ("code", Text, false),
            ("mfa_token", Password, false),
            ("device_name", Text, false),
        ],
    ),
    op(
        Post,
        "/api/token/refresh",
        "Trade a refresh token for a new access token and refresh token (single use; a reused one ends its family). No CSRF token, no cookie.",
        Token,
        &[REFRESH_TOKEN],
    ),
    op(
        Post,
        "/api/token/revoke",
        "Revoke a refresh token's family and its session. No CSRF token, no cookie.",
        Token,
        &[REFRESH_TOKEN],
    ),
    op(
        Get,
        "/api/me",
        "The caller (`ApiCaller`: access token, API key or session): `{id, email, via, scopes}`.",
        Caller,
        &[],
    ),
    op(
        Get,
        "/.well-known/jwks.json",
        "The public keys (JWKS) that verify access tokens, current and previous.",
        Public,
        &[],
    ),
    op(
        Get,
        "/csrf",
        "The CSRF token for `X-CSRF-Token`.",
        Public,
        &[],
    ),
    op(Get, "/openapi.json", "This document.", Public, &[]),
    op(
        Get,
        "/assets/sigra.css",
        "The stylesheet of Sigra's pages.",
        Public,
        &[],
    ),
    op(Get, "/register", "The registration page.", Public, &[]),
    op(
        Post,
        "/register",
        "Create an account; a confirmation code and link are mailed.",
        Public,
        &[EMAIL, PASSWORD],
    ),
    op(Get, "/confirm", "The confirm-by-code page.", Public, &[]),
    op(
        Post,
        "/confirm",
        "Confirm the email address with the mailed code.",
        Public,
        &[EMAIL, CODE],
    ),
    op(
        Post,
        "/confirm/resend",
        "Mail a new confirmation code and link.",
        Public,
        &[EMAIL],
    ),
    op(
        Get,
        "/confirm/<token>",
        "Whether a confirmation link is valid.",
        Public,
        &[],
    ),
    op(
        Post,
        "/confirm/<token>",
        "Confirm the email address with the mailed link.",
        Public,
        &[],
    ),
    op(Get, "/log_in", "The log-in page.", Public, &[]),
    op(
        Post,
        "/log_in",
        "Log in; answers `mfa_required` when a second factor is owed.",
        Public,
        &[EMAIL, PASSWORD, ("remember_me", Flag, false), RETURN_TO],
    ),
    op(Delete, "/log_out", "Log out this session.", Public, &[]),
    op(
        Post,
        "/magic-link",
        "Mail a single-use log-in link.",
        Public,
        &[EMAIL],
    ),
    op(
        Get,
        "/magic-link/<token>",
        "Whether a log-in link is valid.",
        Public,
        &[],
    ),
    op(
        Post,
        "/magic-link/<token>",
        "Log in with a mailed link.",
        Public,
        &[],
    ),
    op(
        Get,
        "/reset-password",
        "The forgot-password page.",
        Public,
        &[],
    ),
    op(
        Post,
        "/reset-password",
        "Mail a password reset link.",
        Public,
        &[EMAIL],
    ),
    op(
        Get,
        "/reset-password/<token>",
        "Whether a reset link is valid.",
        Public,
        &[],
    ),
    op(
        Post,
        "/reset-password/<token>",
        "Set a new password with a reset link.",
        Public,
        &[PASSWORD, CONFIRMATION],
    ),
    op(
        Get,
        "/unlock/<token>",
        "Whether an unlock link is valid.",
        Public,
        &[],
    ),
    op(
        Post,
        "/unlock/<token>",
        "Unlock a locked account with the mailed link.",
        Public,
        &[],
    ),
    op(
        Get,
        "/mfa",
        "The second-factor challenge page.",
        Public,
        &[],
    ),
    op(
        Post,
        "/mfa",
        "Answer the second-factor challenge (authenticator or backup code).",
        Public,
        &[CODE, ("trust_browser", Flag, false), RETURN_TO],
    ),
    op(
        Get,
        "/sudo",
        "The password confirmation page.",
        Session,
        &[],
    ),
    op(
        Post,
        "/sudo",
        "Confirm the password to open the sudo window.",
        Session,
        &[PASSWORD],
    ),
    op(
        Get,
        "/settings",
        "The account: email, sessions, second factor.",
        Session,
        &[],
    ),
    op(
        Post,
        "/settings/email",
        "Ask to change the email address (a link goes to the new one).",
        Session,
        &[EMAIL, CURRENT],
    ),
    op(
        Post,
        "/settings/email/cancel",
        "Cancel a pending email change.",
        Session,
        &[],
    ),
    op(
        Get,
        "/settings/confirm-email/<token>",
        "Whether an email change link is valid.",
        Public,
        &[],
    ),
    op(
        Post,
        "/settings/confirm-email/<token>",
        "Confirm an email change with the mailed link.",
        Public,
        &[],
    ),
    op(
        Post,
        "/settings/password",
        "Change the password; other sessions end.",
        Session,
        &[CURRENT, PASSWORD, CONFIRMATION],
    ),
    op(
        Post,
        "/settings/set-password",
        "Set a first password on an account without one.",
        Sudo,
        &[PASSWORD, CONFIRMATION],
    ),
    op(
        Delete,
        "/settings/sessions/<id>",
        "End one session of this account.",
        Session,
        &[],
    ),
    op(
        Post,
        "/settings/sessions/others",
        "End every other session of this account.",
        Session,
        &[],
    ),
    op(
        Get,
        "/settings/export",
        "Everything stored about the account, as JSON.",
        Sudo,
        &[],
    ),
    op(
        Get,
        "/settings/delete",
        "The scheduled deletion of this account.",
        Session,
        &[],
    ),
    op(
        Post,
        "/settings/delete",
        "Schedule the deletion of this account; every session ends.",
        Sudo,
        &[],
    ),
    op(
        Post,
        "/settings/delete/cancel",
        "Cancel the scheduled deletion.",
        Session,
        &[],
    ),
    op(
        Get,
        "/settings/mfa",
        "The second factor: on or off, backup codes left.",
        Session,
        &[],
    ),
    op(
        Post,
        "/settings/mfa/totp/setup",
        "Start enrolling an authenticator app: a new secret.",
        Sudo,
        &[],
    ),
    op(
        Post,
        "/settings/mfa/totp",
        "Turn the second factor on with a code from the app.",
        Sudo,
        &[CODE],
    ),
    op(
        Delete,
        "/settings/mfa/totp",
        "Turn the second factor off.",
        Sudo,
        &[],
    ),
    op(
        Post,
        "/settings/mfa/backup-codes",
        "A new set of backup codes, shown once.",
        Sudo,
        &[],
    ),
    op(
        Get,
        "/assets/sigra.js",
        "The script of Sigra's pages (conveniences only).",
        Public,
        &[],
    ),
    op(
        Get,
        "/settings/api-keys",
        "The account's API keys (never the keys themselves).",
        Session,
        &[],
    ),
    op(
        Post,
        "/settings/api-keys",
        "Create an API key; the answer holds the key, shown only this once.",
        Sudo,
        &[
            ("name", Text, true),
            ("scopes", List, false),
            ("expires_in_days", Integer, false),
            ("organization", Text, false),
        ],
    )
    .created(),
    op(
        Get,
        "/assets/sigra-webauthn.js",
        "The script of Sigra's passkey ceremonies.",
        Public,
        &[],
    ),
    op(
        Get,
        "/settings/passkeys",
        "The account's passkeys: name, added, last used, synced or device-bound, authenticator.",
        Session,
        &[],
    ),
    op(
        Post,
        "/settings/passkeys/options",
        "Start adding a passkey: `{options}` for `navigator.credentials.create()`; sets the ceremony cookie.",
        Sudo,
        &[],
    ),
    op(
        Post,
        "/settings/passkeys",
        "Finish adding a passkey: its `name` and the browser's `credential` (`PublicKeyCredential.toJSON()`).",
        Session,
        &[("name", Text, true), CREDENTIAL],
    ),
    op(
        Patch,
        "/settings/passkeys/<id>",
        "Rename one of this account's passkeys.",
        Session,
        &[("name", Text, true)],
    ),
    op(
        Delete,
        "/settings/passkeys/<id>",
        "Remove one of this account's passkeys (refused for the last way to sign in).",
        Sudo,
        &[],
    ),
    op(
        Post,
        "/settings/passkeys/<id>/mfa",
        "Use this passkey as two-step verification (`enabled` true) or stop (false).",
        Sudo,
        &[("enabled", Flag, true)],
    ),
    op(
        Post,
        "/passkeys/options",
        "Start a passkey sign-in (usernameless): `{options}` for `navigator.credentials.get()`; sets the ceremony cookie.",
        Public,
        &[],
    ),
    op(
        Post,
        "/passkeys/log_in",
        "Finish a passkey sign-in with the browser's `credential`; answers `{next}` like the log-in.",
        Public,
        &[CREDENTIAL, ("remember_me", Flag, false), RETURN_TO],
    ),
    op(
        Post,
        "/mfa/passkey/options",
        "Start the second factor with a passkey (a session owing it).",
        Public,
        &[],
    ),
    op(
        Post,
        "/mfa/passkey",
        "Finish the second factor with the browser's `credential`.",
        Public,
        &[CREDENTIAL, RETURN_TO],
    ),
    op(
        Post,
        "/sudo/passkey/options",
        "Start confirming it's you (sudo) with a passkey.",
        Session,
        &[],
    ),
    op(
        Post,
        "/sudo/passkey",
        "Finish sudo with the browser's `credential`.",
        Session,
        &[CREDENTIAL, RETURN_TO],
    ),
    op(
        Post,
        "/auth/<provider>",
        "Start signing in with a provider (`intent` `sudo` to confirm it's you): `{next}` is the provider's authorization URL; sets the flow's binding cookie.",
        Public,
        &[RETURN_TO, ("intent", Text, false)],
    ),
    op(
        Get,
        "/auth/<provider>/callback",
        "Where the provider sends the browser back (`state`, `code` or `error`, `iss`): signs in, links or confirms sudo.",
        Public,
        &[],
    ),
    op(
        Post,
        "/auth/<provider>/callback",
        "The provider's `form_post` answer (a cross-site POST, no CSRF token): kept on the flow, then a redirect to the GET callback.",
        Public,
        &[
            ("state", Text, true),
            ("code", Text, false),
            ("error", Text, false),
            ("user", Text, false),
        ],
    ),
    op(
        Get,
        "/settings/connections",
        "The account's connected provider accounts, and one waiting in this browser to be linked.",
        Session,
        &[],
    ),
    op(
        Post,
        "/settings/connections/<provider>",
        "Connect a provider account: the one waiting in this browser, or a new flow (`{next}`: the provider).",
        Sudo,
        &[],
    ),
    op(
        Delete,
        "/settings/connections/<id>",
        "Unlink a connected account (refused for the last way to sign in).",
        Sudo,
        &[],
    ),
    op(
        Delete,
        "/settings/api-keys/<id>",
        "Revoke one of this account's API keys.",
        Session,
        &[],
    ),
    // Organizations, mounted at `/organizations` when `sigra.organizations.enabled`.
    op(
        Get,
        "/",
        "The organizations this account belongs to, with its role in each.",
        Session,
        &[],
    ),
    op(
        Post,
        "/",
        "Create an organization owned by this account (and switch to it).",
        Session,
        &[("name", Text, true), ("slug", Text, false)],
    )
    .created(),
    op(
        Get,
        "/<slug>",
        "An organization: its members, and to admins its pending invitations.",
        Session,
        &[],
    ),
    op(
        Get,
        "/<slug>/audit",
        "The organization's audit log, newest first (admins and owners): filters `actor`, `target`, `action`, `from`, `to`, cursor `page`.",
        Session,
        &[],
    ),
    op(
        Post,
        "/<slug>/switch",
        "Make this organization the session's active organization.",
        Session,
        &[("return_to", Text, false)],
    ),
    op(
        Delete,
        "/<slug>",
        "Delete an organization with its memberships and invitations (owners).",
        Sudo,
        &[],
    ),
    op(
        Patch,
        "/<slug>/members/<id>",
        "Change a member's role (admins; only owners make or unmake owners).",
        Session,
        &[("role", Text, true)],
    ),
    op(
        Delete,
        "/<slug>/members/<id>",
        "Remove a member (admins; only owners remove owners; never the last owner).",
        Session,
        &[],
    ),
    op(
        Post,
        "/<slug>/leave",
        "Leave an organization (never as its last owner).",
        Session,
        &[],
    ),
    op(
        Post,
        "/<slug>/invitations",
        "Invite an address with a role (admins; only owners invite owners).",
        Session,
        &[("email", Email, true), ("role", Text, false)],
    )
    .created(),
    op(
        Delete,
        "/<slug>/invitations/<id>",
        "Revoke a pending invitation (admins).",
        Session,
        &[],
    ),
    op(
        Get,
        "/invitations/<token>",
        "An invitation from its emailed link: the organization, role and invited address.",
        Public,
        &[],
    ),
    op(
        Post,
        "/invitations/<token>",
        "Accept an invitation: logged in with the invited address, or with a password to create that account.",
        Public,
        &[("password", Password, false)],
    ),
    // The admin console, at `/admin` when `sigra.admin.enabled` (platform admins; every
    // POST within the sudo window).
    op(
        Get,
        "/admin",
        "Admin dashboard: account counts and daily sign-ups and log-ins over 30 days (platform admins).",
        Session,
        &[],
    ),
    op(
        Get,
        "/admin/users",
        "Accounts by email prefix (`q`) and `filter` (locked, banned, unconfirmed, admin, mfa), 50 a page; `page` is the previous answer's `next` (platform admins).",
        Session,
        &[],
    ),
    op(
        Get,
        "/admin/users/<id>",
        "One account: profile, sessions, second factors, passkeys, connections, organizations, API keys, audit timeline (platform admins).",
        Session,
        &[],
    ),
    op(
        Post,
        "/admin/users/<id>/<action>",
        "Act on an account: lock, unlock, ban, unban, revoke-sessions, send-reset, confirm-email, reset-mfa, delete (platform admins, sudo).",
        Sudo,
        &[],
    ),
    op(
        Delete,
        "/admin/users/<id>/sessions/<session_id>",
        "End one session of an account (platform admins, sudo).",
        Sudo,
        &[],
    ),
    op(
        Post,
        "/admin/users/<id>/impersonate",
        "Act as an account for at most `sigra.admin.impersonation_minutes` (platform admins, sudo; never an admin).",
        Sudo,
        &[("reason", Text, true)],
    ),
    op(
        Get,
        "/admin/organizations",
        "Organizations by slug prefix (`q`), 50 a page; `page` is the previous answer's `next` (platform admins).",
        Session,
        &[],
    ),
    op(
        Get,
        "/admin/organizations/<slug>",
        "One organization with its members (platform admins).",
        Session,
        &[],
    ),
    op(
        Get,
        "/admin/audit",
        "The audit log, newest first, 50 a page: filters `actor`, `target` (ids or emails), `action`, `organization` (id or slug), `from`, `to` (RFC 3339 or YYYY-MM-DD), cursor `page` (platform admins).",
        Session,
        &[],
    ),
    op(
        Get,
        "/admin/audit/export.csv",
        "The audit log with the same filters as CSV (RFC 4180), streamed (platform admins).",
        Session,
        &[],
    ),
    op(
        Get,
        "/admin/audit/export.jsonl",
        "The audit log with the same filters as JSON Lines, streamed (platform admins).",
        Session,
        &[],
    ),
    op(
        Get,
        "/admin/audit/verify",
        "Verify the audit log's hash chain: the head, the events not sealed yet, the first broken link (platform admins).",
        Session,
        &[],
    ),
    op(
        Delete,
        "/admin/impersonation",
        "Stop impersonating: the admin's own session comes back.",
        Session,
        &[],
    ),
    op(
        Post,
        "/<slug>/members/<user_id>/impersonate",
        "Act as a member with a lower role (organization admins, sudo, when `sigra.admin.org_impersonation`).",
        Sudo,
        &[("reason", Text, true)],
    ),
    op(
        Get,
        "/mailbox",
        "The development mailbox page (debug profile only).",
        Public,
        &[],
    ),
    op(
        Get,
        "/mailbox/json",
        "The development mailbox, newest first (debug profile only).",
        Public,
        &[],
    ),
];

/// `{"token": "…"}`: the CSRF token of this session (or pre-session cookie).
#[get("/csrf")]
fn csrf(token: CsrfToken) -> Json<Value> {
    Json(json!({ "token": token.as_str() }))
}

/// The OpenAPI document of every Sigra route mounted on this Rocket.
#[get("/openapi.json")]
fn openapi(state: &State<SigraState>, table: RouteTable<'_>) -> (Status, Json<Value>) {
    let mounted = table.0.routes().filter(|r| is_sigra(r));
    (Status::Ok, Json(document(state, mounted)))
}

/// The running Rocket, whose route table the document describes.
struct RouteTable<'r>(&'r Rocket<Orbit>);

#[rocket::async_trait]
impl<'r> FromRequest<'r> for RouteTable<'r> {
    type Error = std::convert::Infallible;

    async fn from_request(request: &'r Request<'_>) -> Outcome<Self, Self::Error> {
        Outcome::Success(RouteTable(request.rocket()))
    }
}

/// Whether a mounted route is one of Sigra's (the same handler name, method and path as
/// a route Sigra mounts, under Sigra's base path or `/dev`).
fn is_sigra(route: &Route) -> bool {
    crate::routes::every_route().into_iter().any(|s| {
        s.name == route.name
            && s.method == route.method
            && s.uri.unmounted_origin.path().as_str() == route.uri.unmounted_origin.path().as_str()
    })
}

/// `/confirm/<token>` → `/confirm/{token}`, and the names of its path parameters.
fn openapi_path(path: &str) -> (String, Vec<String>) {
    let mut names = Vec::new();
    let segments: Vec<String> = path
        .split('/')
        .map(
            |segment| match segment.strip_prefix('<').and_then(|s| s.strip_suffix('>')) {
                Some(name) => {
                    let name = name.trim_end_matches("..");
                    names.push(name.to_owned());
                    format!("{{{name}}}")
                }
                None => segment.to_owned(),
            },
        )
        .collect();
    (segments.join("/"), names)
}

fn field_schema(kind: Kind) -> Value {
    match kind {
        Kind::Text => json!({ "type": "string" }),
        Kind::Email => json!({ "type": "string", "format": "email" }),
        Kind::Password => json!({ "type": "string", "format": "password" }),
        Kind::Flag => json!({ "type": "boolean" }),
        Kind::Integer => json!({ "type": "integer" }),
        Kind::List => json!({ "type": "array", "items": { "type": "string" } }),
        Kind::Object => json!({ "type": ["object", "string"] }),
    }
}

fn body_schema(fields: &[Field], form: bool) -> Value {
    let mut properties = Map::new();
    let mut required = Vec::new();
    for (name, kind, needed) in fields {
        let schema = match (form, kind) {
            // A form sends `true` as text; JSON a boolean (or the text).
            (true, Kind::Flag) => json!({ "type": "string", "enum": ["true", "false"] }),
            (true, Kind::Integer) => json!({ "type": "string", "pattern": "^[0-9]*$" }),
            (true, Kind::Object) => json!({ "type": "string" }),
            _ => field_schema(*kind),
        };
        properties.insert((*name).to_owned(), schema);
        if *needed {
            required.push(Value::from(*name));
        }
    }
    if form {
        properties.insert("_csrf".into(), json!({ "type": "string" }));
    }
    json!({ "type": "object", "properties": properties, "required": required })
}

/// Adds the host's custom registration fields (`user_fields`) to both bodies of
/// `POST <base>/register`.
fn add_user_fields(state: &SigraState, op: &mut Value) {
    let Some(hook) = &state.auth.user_fields else {
        return;
    };
    let Some(content) = op
        .pointer_mut("/requestBody/content")
        .and_then(Value::as_object_mut)
    else {
        return;
    };
    let fields = hook.fields();
    for (media, body) in content.iter_mut() {
        let form = media.as_str() != "application/json";
        for spec in &fields {
            if let Some(properties) = body
                .pointer_mut("/schema/properties")
                .and_then(Value::as_object_mut)
            {
                properties.insert(spec.name.clone(), user_field_schema(spec, form));
            }
            if spec.required
                && let Some(required) = body
                    .pointer_mut("/schema/required")
                    .and_then(Value::as_array_mut)
            {
                required.push(spec.name.clone().into());
            }
        }
    }
}

/// The schema of one custom field: its kind, length limit, label and help. JSON may
/// also send `null` (left empty), and a box ticked as `true`.
fn user_field_schema(spec: &FieldSpec, form: bool) -> Value {
    let mut schema = match &spec.kind {
        FieldKind::Checkbox if form => json!({ "type": "string", "enum": ["true", "false"] }),
        FieldKind::Checkbox => json!({ "type": ["boolean", "string", "null"] }),
        FieldKind::Select { options } => {
            let mut values: Vec<Value> = options.iter().map(|o| o.value.clone().into()).collect();
            let mut types = json!("string");
            if !form {
                values.push(Value::Null);
                types = json!(["string", "null"]);
            }
            json!({ "type": types, "enum": values })
        }
        FieldKind::Email if form => json!({ "type": "string", "format": "email" }),
        FieldKind::Email => json!({ "type": ["string", "null"], "format": "email" }),
        _ if form => json!({ "type": "string" }),
        _ => json!({ "type": ["string", "null"] }),
    };
    if matches!(spec.kind, FieldKind::Text | FieldKind::Email) {
        schema["maxLength"] = spec.max_chars.unwrap_or(DEFAULT_MAX_CHARS).into();
    }
    schema["title"] = spec.label.clone().into();
    if let Some(help) = &spec.help {
        schema["description"] = help.clone().into();
    }
    schema
}

fn operation(route: &Route, described: Option<&Operation>) -> Value {
    let (_, path_params) = openapi_path(route.uri.unmounted_origin.path().as_str());
    let mut parameters: Vec<Value> = path_params
        .iter()
        .map(|name| {
            json!({ "name": name, "in": "path", "required": true, "schema": { "type": "string" } })
        })
        .collect();
    if let Some(query) = route.uri.unmounted_origin.query() {
        for segment in query.as_str().split('&') {
            if let Some(name) = segment.strip_prefix('<').and_then(|s| s.strip_suffix('>')) {
                parameters.push(
                    json!({ "name": name, "in": "query", "required": false, "schema": { "type": "string" } }),
                );
            }
        }
    }
    let changes = !matches!(route.method, Method::Get | Method::Head);
    let mut op = Map::new();
    let summary = described.map_or("Undocumented.", |d| d.summary);
    op.insert("summary".into(), summary.into());
    op.insert(
        "operationId".into(),
        format!(
            "{}_{}",
            route.method.as_str().to_lowercase(),
            route
                .uri
                .as_str()
                .trim_start_matches('/')
                .replace(|c: char| !c.is_ascii_alphanumeric(), "_")
        )
        .into(),
    );
    if !parameters.is_empty() {
        op.insert("parameters".into(), parameters.into());
    }
    let access = described.map_or(Access::Public, |d| d.access);
    if changes {
        let fields = described.map_or(&[][..], |d| d.fields);
        let mut content = Map::new();
        content.insert(
            "application/json".into(),
            json!({ "schema": body_schema(fields, false) }),
        );
        if access != Access::Token {
            content.insert(
                "application/x-www-form-urlencoded".into(),
                json!({ "schema": body_schema(fields, true) }),
            );
        }
        op.insert(
            "requestBody".into(),
            json!({ "required": access == Access::Token, "content": content }),
        );
    }
    let security = match (access, changes) {
        (Access::Token, _) => json!([{}]),
        (Access::Caller, false) => json!([{ "bearer": [] }, { "session": [] }]),
        (Access::Caller, true) => json!([{ "bearer": [] }, { "session": [], "csrf": [] }]),
        (Access::Public, false) => json!([{}]),
        (Access::Public, true) => json!([{ "csrf": [] }]),
        (_, false) => json!([{ "session": [] }]),
        (_, true) => json!([{ "session": [], "csrf": [] }]),
    };
    op.insert("security".into(), security);
    let error = json!({ "$ref": "#/components/responses/Error" });
    let mut responses = Map::new();
    let success = described.map_or("200", |d| d.success);
    responses.insert(
        success.into(),
        json!({ "$ref": "#/components/responses/Ok" }),
    );
    for status in ["400", "401", "403", "404", "409", "422", "429", "503"] {
        responses.insert(status.into(), error.clone());
    }
    op.insert("responses".into(), responses.into());
    op.into()
}

/// The document for `routes`.
fn document<'a>(state: &SigraState, routes: impl Iterator<Item = &'a Route>) -> Value {
    let mut paths = Map::new();
    for route in routes {
        let (path, _) = openapi_path(route.uri.path());
        let unmounted = route.uri.unmounted_origin.path().as_str();
        let described = OPERATIONS
            .iter()
            .find(|o| o.method == route.method && o.path == unmounted);
        let item = paths
            .entry(path)
            .or_insert_with(|| Value::Object(Map::new()));
        if let Value::Object(item) = item {
            let mut op = operation(route, described);
            if route.method == Method::Post && unmounted == "/register" {
                add_user_fields(state, &mut op);
            }
            item.insert(route.method.as_str().to_lowercase(), op);
        }
    }
    let config = &state.auth.config;
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": format!("{} accounts (Sigra)", config.app_name),
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Every route answers JSON to `Accept: application/json` and reads JSON bodies with the same fields as its form. Failures answer `{\"error\": reason, \"message\": sentence, \"fields\": {…}}`; the reasons are stable.",
        },
        "servers": [{ "url": config.public_url }],
        "paths": paths,
        "components": {
            "securitySchemes": {
                "session": { "type": "apiKey", "in": "cookie", "name": state.cookies.session },
                "csrf": { "type": "apiKey", "in": "header", "name": crate::guards::CSRF_HEADER },
                "bearer": { "type": "http", "scheme": "bearer", "bearerFormat": "JWT" },
            },
            "schemas": {
                "Ok": {
                    "type": "object",
                    "properties": {
                        "ok": { "type": "boolean", "const": true },
                        "next": { "type": "string", "description": "Where a page would redirect." },
                    },
                    "required": ["ok"],
                },
                "Error": {
                    "type": "object",
                    "properties": {
                        "error": { "type": "string", "description": "A stable reason (docs/reasons.md)." },
                        "message": { "type": "string" },
                        "fields": {
                            "type": "object",
                            "additionalProperties": {
                                "type": "array",
                                "items": {
                                    "type": "object",
                                    "properties": {
                                        "reason": { "type": "string" },
                                        "message": { "type": "string" },
                                    },
                                    "required": ["reason", "message"],
                                },
                            },
                        },
                    },
                    "required": ["error", "message"],
                },
            },
            "responses": {
                "Ok": {
                    "description": "Done (JSON), or the page (HTML).",
                    "content": {
                        "application/json": { "schema": { "$ref": "#/components/schemas/Ok" } },
                        "text/html": { "schema": { "type": "string" } },
                    },
                },
                "Error": {
                    "description": "Refused; `error` says why.",
                    "content": {
                        "application/json": { "schema": { "$ref": "#/components/schemas/Error" } },
                        "text/html": { "schema": { "type": "string" } },
                    },
                },
            },
        },
    })
}

pub(crate) fn routes() -> Vec<Route> {
    routes![csrf, openapi]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_sigra_route_is_described_once() {
        let ours = crate::routes::every_route();
        for route in &ours {
            let path = route.uri.unmounted_origin.path().as_str();
            let found = OPERATIONS
                .iter()
                .filter(|o| o.method == route.method && o.path == path)
                .count();
            assert_eq!(found, 1, "{} {path} in OPERATIONS", route.method);
        }
    }

    /// With a capability off, its operations stay described (unused) but are not routes.
    #[test]
    #[cfg(all(
        feature = "passkeys",
        feature = "oauth",
        feature = "organizations",
        feature = "admin",
        feature = "api"
    ))]
    fn every_described_operation_is_a_route() {
        let ours = crate::routes::every_route();
        for o in OPERATIONS {
            assert!(
                ours.iter()
                    .any(|r| r.method == o.method
                        && r.uri.unmounted_origin.path().as_str() == o.path),
                "{} {} is described but not a route",
                o.method,
                o.path
            );
        }
    }

    #[test]
    fn paths_use_openapi_parameters() {
        assert_eq!(
            openapi_path("/users/confirm/<token>"),
            (
                "/users/confirm/{token}".to_owned(),
                vec!["token".to_owned()]
            )
        );
        assert_eq!(
            openapi_path("/users/log_in"),
            ("/users/log_in".to_owned(), vec![])
        );
    }
}
