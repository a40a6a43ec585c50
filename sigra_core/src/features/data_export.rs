//! Personal data export: everything Sigra keeps about an account, as JSON. The web
//! layer asks for sudo first.

use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::sessions::Authenticated;
use super::{Auth, FlowError, RequestMeta, Revocation, audit};
use crate::store::{audit as audit_store, sessions};

fn rfc3339(t: Option<OffsetDateTime>) -> Value {
    t.and_then(|t| t.format(&Rfc3339).ok())
        .map_or(Value::Null, Value::String)
}

/// The account's own data: profile, sessions, API keys (their display prefixes), linked
/// provider accounts, organizations and the audit events about it. Never includes secrets
/// (password hash, token or key hashes). A build without the `api` or `organizations`
/// feature leaves out `api_keys` or `organizations`.
///
/// ```no_run
/// # async fn demo(auth: &sigra_core::features::Auth, me: &sigra_core::features::sessions::Authenticated) {
/// let json = sigra_core::features::data_export::export(auth, me, &Default::default()).await;
/// # }
/// ```
pub async fn export(
    auth: &Auth,
    current: &Authenticated,
    meta: &RequestMeta,
) -> Result<Value, FlowError> {
    let user = &current.user;
    let now = auth.clock.now();
    let sessions: Vec<Value> = sessions::list_for_user(&auth.db, user.id, now)
        .await?
        .into_iter()
        .map(|s| {
            json!({
                "id": s.id,
                "created_at": rfc3339(Some(s.created_at)),
                "last_seen_at": rfc3339(Some(s.last_seen_at)),
                "expires_at": rfc3339(Some(s.expires_at)),
                "remember_me": s.remember_me,
                "ip": s.ip,
                "user_agent": s.user_agent,
            })
        })
        .collect();
    // Linked provider accounts, without their (sealed) tokens.
    let connections: Vec<Value> = crate::store::oauth::list_for_user(&auth.db, user.id)
        .await?
        .into_iter()
        .map(|c| {
            json!({
                "provider": c.provider,
                "label": c.label,
                "email": c.email,
                "name": c.name,
                "created_at": rfc3339(Some(c.created_at)),
                "last_used_at": rfc3339(c.last_used_at),
            })
        })
        .collect();
    let mut filter = audit_store::AuditFilter::for_user(user.id);
    filter.limit = Some(1000);
    let events = audit_store::list(&auth.db, &filter).await?;
    // Without the `api` and `organizations` features nothing is added below.
    #[allow(unused_mut)]
    let mut export = json!({
        "exported_at": rfc3339(Some(now)),
        "account": {
            "id": user.id,
            "email": user.email,
            "has_password": user.has_password(),
            "confirmed_at": rfc3339(user.confirmed_at),
            "created_at": rfc3339(Some(user.created_at)),
            "updated_at": rfc3339(Some(user.updated_at)),
            "locked_until": rfc3339(user.locked_until),
            "deletion_scheduled_at": rfc3339(user.deletion_scheduled_at),
        },
        "sessions": sessions,
        "connections": connections,
        "audit_events": events,
    });
    #[cfg(feature = "api")]
    {
        export["api_keys"] = json!(super::api_keys::list(auth, user.id).await?);
    }
    // The organizations the account belongs to, with its role.
    #[cfg(feature = "organizations")]
    {
        export["organizations"] = json!(super::organizations::list(auth, user.id).await?);
    }
    let change = auth.change(meta).await?;
    change.audit(audit::DATA_EXPORT, user.id, json!({})).await?;
    change.commit(Revocation::None).await?;
    Ok(export)
}
