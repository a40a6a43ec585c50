//! Log-out: ends the session and its remember-me cookie.

use serde_json::json;

use super::sessions::{self, Authenticated};
use super::{Auth, FlowError, RequestMeta, Revocation, audit};
use crate::crypto::TokenHash;
use crate::store::tokens;

/// Ends `current`. A remember-me cookie sent along (`remember_cookie`) is revoked too,
/// even if it belonged to another session of the same browser.
pub async fn log_out(
    auth: &Auth,
    current: &Authenticated,
    remember_cookie: Option<&str>,
    meta: &RequestMeta,
) -> Result<(), FlowError> {
    let user_id = current.user.id;
    let change = auth.change(meta).await?;
    sessions::end(change.tx(), current).await?;
    if let Some(hash) = remember_cookie.and_then(|c| TokenHash::of_encoded(c).ok()) {
        tokens::delete_by_hash(change.tx(), &hash).await?;
    }
    let details = json!({ "session_id": current.session.id });
    change.audit(audit::LOGOUT, user_id, details).await?;
    change.commit(Revocation::EndSessions).await
}

/// Revokes a stray remember-me cookie from a browser that has no live session.
pub async fn forget(auth: &Auth, remember_cookie: &str) -> Result<(), FlowError> {
    if let Ok(hash) = TokenHash::of_encoded(remember_cookie) {
        tokens::delete_by_hash(&auth.db, &hash).await?;
    }
    Ok(())
}
