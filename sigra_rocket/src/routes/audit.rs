//! The audit explorer (the `admin` feature's, and the `organizations` feature's page of
//! one organization). Admin console, mounted at `/admin/audit` ([`admin_routes`], every
//! route takes [`Admin`]): `GET /?actor=&target=&action=&organization=&from=&to=&page=`
//! one page of events, newest first; `GET /export.csv` and `GET /export.jsonl` every
//! event of the same filters as a download; `GET /verify` the hash chain's check. For an
//! organization's admins and owners, mounted at `/organizations` ([`organization_routes`]):
//! `GET /<slug>/audit` the same page, always narrowed to that organization.
//!
//! # Algorithm
//!
//! Pages and exports read through `features::audit`: the typed filters become one
//! indexed query per page (keyset on `(occurred_at, id)`, newest first). An export
//! fetches its first batch of [`EXPORT_BATCH`] events before answering, then streams:
//! an async generator runs the next batch's query only when the previous batch has
//! been handed to the connection, so the server holds one batch at a time whatever the
//! log's size.
//!
//! # Trade-off
//!
//! An export is not one snapshot: it reads batch after batch while the log grows. It
//! starts at the newest event when it begins and walks back, so events recorded during
//! the export are left out, and an event whose transaction committed late (after the
//! export passed its time) can be missing. The chain's verification, not the export,
//! is what proves completeness.
//!
//! # Failure mode
//!
//! A filter that cannot be used answers 422 `invalid_fields` naming the field
//! (`invalid_filter`, `filter_not_found`), never a 500. A database failure before the
//! download begins answers 500; one after (the status is sent) ends the file with a
//! last line that says so (CSV: a record whose `id` is `#error`; JSON Lines: an object
//! with `error`), so a truncated export never passes for a complete one.

use std::collections::BTreeMap;

use rocket::http::Status;
use rocket::http::uri::fmt::{Query, UriDisplay};
use rocket::{FromForm, Route, State, get, routes};
use sigra_core::features::audit::{self, AuditPage, AuditQuery, InvalidFilter};
#[cfg(feature = "organizations")]
use sigra_core::features::organizations::{Membership, OrganizationError, Role};
use sigra_core::store::AuditEvent;
use tera::Context;

#[cfg(feature = "organizations")]
use super::organizations::refused;
#[cfg(feature = "admin")]
use crate::guards::Admin;
#[cfg(feature = "organizations")]
use crate::guards::AuthenticatedUser;
use crate::guards::CsrfToken;
use crate::respond::Reply;
use crate::state::SigraState;

/// The exports (the `admin` feature's).
#[cfg(feature = "admin")]
mod export;

/// Where the admin's explorer is mounted.
pub const MOUNT: &str = "/admin/audit";

/// The explorer's query string.
#[derive(Debug, Default, FromForm)]
pub struct Filters {
    actor: Option<String>,
    target: Option<String>,
    action: Option<String>,
    organization: Option<String>,
    from: Option<String>,
    to: Option<String>,
    page: Option<String>,
}

impl Filters {
    fn into_query(self) -> AuditQuery {
        let mut query = AuditQuery::default();
        query.actor = self.actor;
        query.target = self.target;
        query.action = self.action;
        query.organization = self.organization;
        query.from = self.from;
        query.to = self.to;
        query.page = self.page;
        query
    }
}

fn encode(value: &str) -> String {
    format!("{}", &value as &dyn UriDisplay<Query>)
}

/// `path` with the query's non-empty filters (and `page` when given) as its query string.
fn with_filters(path: &str, query: &AuditQuery, page: Option<&str>) -> String {
    let pairs = [
        ("actor", query.actor.as_deref()),
        ("target", query.target.as_deref()),
        ("action", query.action.as_deref()),
        ("organization", query.organization.as_deref()),
        ("from", query.from.as_deref()),
        ("to", query.to.as_deref()),
        ("page", page),
    ];
    let qs: Vec<String> = pairs
        .iter()
        .filter_map(|(k, v)| {
            let v = v.map(str::trim).filter(|v| !v.is_empty())?;
            Some(format!("{k}={}", encode(v)))
        })
        .collect();
    if qs.is_empty() {
        path.to_owned()
    } else {
        format!("{path}?{}", qs.join("&"))
    }
}

/// The explorer's page at `path`: the filter form with what was typed, and the events or
/// what is wrong with a filter. Whose explorer it is: the admin's (at [`MOUNT`],
/// `organization` is `None`), or one organization's (as its page shows it).
fn explorer_page(
    path: &str,
    organization: Option<serde_json::Value>,
    query: &AuditQuery,
    found: Result<AuditPage, InvalidFilter>,
) -> Reply {
    let admin = organization.is_none();
    let mut context = Context::new();
    context.insert("path", path);
    context.insert("query", query);
    context.insert("admin", &admin);
    if let Some(organization) = organization {
        context.insert("organization", &organization);
    }
    let first = query.first_page();
    context.insert("clear_url", path);
    context.insert(
        "paged",
        &query.page.as_deref().is_some_and(|p| !p.trim().is_empty()),
    );
    context.insert("first_url", &with_filters(path, &first, None));
    if admin {
        context.insert(
            "csv_url",
            &with_filters(&format!("{MOUNT}/export.csv"), &first, None),
        );
        context.insert(
            "jsonl_url",
            &with_filters(&format!("{MOUNT}/export.jsonl"), &first, None),
        );
    }
    match found {
        Ok(page) => {
            context.insert("events", &page.events);
            let next_url = page
                .next
                .as_deref()
                .map(|next| with_filters(path, &first, Some(next)));
            context.insert("next_url", &next_url);
            Reply::page(Status::Ok, "audit", context)
                .with("events", &page.events)
                .with("next", &page.next)
        }
        Err(invalid) => {
            let mut errors = BTreeMap::new();
            errors.insert(invalid.field, vec![invalid.field_error()]);
            context.insert("events", &Vec::<AuditEvent>::new());
            context.insert("errors", &errors);
            Reply::invalid("audit", context, &errors)
        }
    }
}

#[cfg(feature = "admin")]
#[get("/admin/audit?<filters..>")]
async fn explore(
    state: &State<SigraState>,
    _admin: Admin,
    _csrf: CsrfToken,
    filters: Filters,
) -> Reply {
    let query = filters.into_query();
    match audit::explore(&state.auth, &query).await {
        Ok(found) => explorer_page(MOUNT, None, &query, found),
        Err(e) => Reply::failed(e),
    }
}

#[cfg(feature = "organizations")]
#[get("/<slug>/audit?<filters..>", rank = 2)]
async fn organization_explore(
    state: &State<SigraState>,
    user: AuthenticatedUser,
    _csrf: CsrfToken,
    slug: &str,
    filters: Filters,
) -> Reply {
    let membership = match Membership::of(&state.auth, user.id(), slug).await {
        Ok(Some(m)) => m,
        Ok(None) => return refused(OrganizationError::NotFound),
        Err(e) => return Reply::failed(e),
    };
    if membership.role() < Role::Admin {
        return refused(OrganizationError::Forbidden);
    }
    let mut query = filters.into_query();
    // The lens names the organization; a typed one is not a filter here.
    query.organization = None;
    match audit::explore_organization(&state.auth, membership.org_id(), &query).await {
        Ok(found) => {
            let path = format!("{}/{slug}/audit", super::organizations::MOUNT);
            let organization = serde_json::json!(membership.organization());
            explorer_page(&path, Some(organization), &query, found)
        }
        Err(e) => Reply::failed(e),
    }
}

/// The chain's check: what [`audit::verify`] found, as a page or as JSON.
#[cfg(feature = "admin")]
#[get("/admin/audit/verify")]
async fn verify(state: &State<SigraState>, _admin: Admin, _csrf: CsrfToken) -> Reply {
    let report = match audit::verify(&state.auth).await {
        Ok(report) => report,
        Err(e) => return Reply::failed(e),
    };
    let mut context = Context::new();
    context.insert("report", &report);
    context.insert("intact", &report.is_intact());
    Reply::page(Status::Ok, "audit_verify", context)
        .with_fields_of(&report)
        .with("intact", report.is_intact())
}

/// The admin's explorer (full paths under [`MOUNT`], mounted at `/`).
#[cfg(feature = "admin")]
pub(crate) fn admin_routes() -> Vec<Route> {
    routes![explore, export::export_csv, export::export_jsonl, verify]
}

/// An organization's explorer, to mount at `/organizations`.
#[cfg(feature = "organizations")]
pub(crate) fn organization_routes() -> Vec<Route> {
    routes![organization_explore]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_carry_the_typed_filters_encoded() {
        let mut query = AuditQuery::default();
        query.actor = Some("a+b@example.com".into());
        query.action = Some(" ".into());
        query.from = Some("2026-06-01T09:00:00+02:00".into());
        assert_eq!(
            with_filters("/admin/audit/export.csv", &query, None),
            "/admin/audit/export.csv?actor=a%2Bb@example.com&from=2026-06-01T09:00:00%2B02:00"
        );
        assert_eq!(
            with_filters("/admin/audit", &AuditQuery::default(), Some("abc")),
            "/admin/audit?page=abc"
        );
    }
}
