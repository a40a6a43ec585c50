//! Log-out: ends the session and its remember-me cookie.

use serde_json::json;

use super::sessions::{self, Authenticated};
use super::{Auth, FlowError, RequestMeta, audit};
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
    let tx = auth.db.begin().await?;
    sessions::end(&tx, current).await?;
    if let Some(hash) = remember_cookie.and_then(|c| TokenHash::of_encoded(c).ok()) {
        tokens::delete_by_hash(&tx, &hash).await?;
    }
    auth.audit(
        &tx,
        audit::LOGOUT,
        Some(user_id),
        Some(user_id),
        json!({ "session_id": current.session.id }),
        meta,
    )
    .await?;
    tx.commit().await?;
    auth.sessions_revoked().await;
    Ok(())
}

/// Revokes a stray remember-me cookie from a browser that has no live session.
pub async fn forget(auth: &Auth, remember_cookie: &str) -> Result<(), FlowError> {
    if let Ok(hash) = TokenHash::of_encoded(remember_cookie) {
        tokens::delete_by_hash(&auth.db, &hash).await?;
    }
    Ok(())
}
