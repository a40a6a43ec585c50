//! The admin's audit exports: every event of the explorer's filters as a CSV or JSON
//! Lines download (see the [parent module](super) for how they stream).

use rocket::futures::StreamExt as _;
use rocket::futures::stream::BoxStream;
use rocket::http::{ContentType, Header};
use rocket::response::stream::TextStream;
use rocket::response::{self, Responder};
use rocket::{Request, State, get};
use sigra_core::features::Auth;
use sigra_core::features::audit::{self, AuditCursor, AuditSearch, EXPORT_BATCH};
use sigra_core::store::AuditEvent;

use super::{Filters, MOUNT, explorer_page};
use crate::guards::Admin;
use crate::respond::Reply;
use crate::state::SigraState;

/// A download: `body` (a stream) with its type, an attachment name, and no caching.
#[derive(Debug)]
pub(crate) struct Download<S> {
    body: S,
    content_type: ContentType,
    filename: String,
}

impl<'r, 'o: 'r, S: Responder<'r, 'o>> Responder<'r, 'o> for Download<S> {
    fn respond_to(self, request: &'r Request<'_>) -> response::Result<'o> {
        let mut response = self.body.respond_to(request)?;
        response.set_header(self.content_type);
        response.set_header(Header::new(
            "Content-Disposition",
            format!("attachment; filename=\"{}\"", self.filename),
        ));
        response.set_header(Header::new("Cache-Control", "no-store"));
        Ok(response)
    }
}

/// An export's format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    Csv,
    Jsonl,
}

impl Format {
    fn record(self, event: &AuditEvent) -> String {
        match self {
            Format::Csv => audit::csv_record(event),
            Format::Jsonl => audit::jsonl_record(event),
        }
    }

    /// The last line of an export that a database failure cut short.
    fn failure_line(self) -> String {
        let message = "the export stopped early: the database failed; export again";
        match self {
            Format::Csv => format!("#error,{}\r\n", audit::csv_field(message)),
            Format::Jsonl => {
                let mut line =
                    serde_json::json!({ "error": "export_incomplete", "message": message })
                        .to_string();
                line.push('\n');
                line
            }
        }
    }
}

/// The next batch's cursor after `batch`, or `None` when `batch` was the last one.
fn next_cursor(batch: &[AuditEvent]) -> Option<AuditCursor> {
    if (batch.len() as u64) < EXPORT_BATCH {
        return None;
    }
    batch.last().map(AuditCursor::after)
}

/// An export's body: a stream of text chunks, one per batch.
pub(crate) type Export = TextStream<BoxStream<'static, String>>;

/// The export's text: the header (CSV), `first`, then one batch query at a time until
/// a short batch ends it.
fn export_stream(
    auth: Auth,
    search: AuditSearch,
    format: Format,
    first: Vec<AuditEvent>,
) -> Export {
    let chunks = rocket::async_stream::stream! {
        if format == Format::Csv {
            yield audit::csv_header();
        }
        let mut cursor = next_cursor(&first);
        yield first.iter().map(|e| format.record(e)).collect::<String>();
        drop(first);
        while let Some(after) = cursor {
            match audit::batch(&auth, &search, Some(after), EXPORT_BATCH).await {
                Ok(batch) => {
                    cursor = next_cursor(&batch);
                    yield batch.iter().map(|e| format.record(e)).collect::<String>();
                }
                Err(e) => {
                    log::error!("sigra audit export failed ({}): {e}", e.reason());
                    yield format.failure_line();
                    cursor = None;
                }
            }
        }
    };
    TextStream(chunks.boxed())
}

/// Checks the filters and fetches the first batch (a failure here still gets a proper
/// status), then answers the download.
async fn export(
    state: &SigraState,
    filters: Filters,
    format: Format,
) -> Result<Download<Export>, Reply> {
    let auth = &state.auth;
    let mut query = filters.into_query();
    query.page = None;
    let search = match audit::search_for(auth, &query).await {
        Ok(Ok(search)) => search,
        Ok(Err(invalid)) => return Err(explorer_page(MOUNT, None, &query, Err(invalid))),
        Err(e) => return Err(Reply::failed(e)),
    };
    let first = audit::batch(auth, &search, None, EXPORT_BATCH)
        .await
        .map_err(Reply::failed)?;
    let stamp = auth
        .clock
        .now()
        .format(time::macros::format_description!(
            "[year][month][day]T[hour][minute][second]Z"
        ))
        .unwrap_or_default();
    let (content_type, extension) = match format {
        Format::Csv => (
            ContentType::new("text", "csv").with_params(("charset", "utf-8")),
            "csv",
        ),
        Format::Jsonl => (ContentType::new("application", "x-ndjson"), "jsonl"),
    };
    Ok(Download {
        body: export_stream(auth.clone(), search, format, first),
        content_type,
        filename: format!("sigra-audit-{stamp}.{extension}"),
    })
}

#[get("/admin/audit/export.csv?<filters..>")]
pub(super) async fn export_csv(
    state: &State<SigraState>,
    _admin: Admin,
    filters: Filters,
) -> Result<Download<Export>, Reply> {
    export(state, filters, Format::Csv).await
}

#[get("/admin/audit/export.jsonl?<filters..>")]
pub(super) async fn export_jsonl(
    state: &State<SigraState>,
    _admin: Admin,
    filters: Filters,
) -> Result<Download<Export>, Reply> {
    export(state, filters, Format::Jsonl).await
}
