//! `sigra users lock|unlock|ban EMAIL`: the admin console's actions on an account
//! ([`sigra_core::features::admin::act_from_cli`]): the same effects (sessions end, API
//! keys and access tokens are refused, a ban deletes the keys and emailed links), the
//! same refusals (not an admin), audited with no actor and `"via": "cli"`.
//!
//! # Algorithm
//!
//! The account is found by its normalized address, then the console's flow runs in one
//! transaction and commits with its revocation. This process never starts the session
//! cache's broadcast (it does not serve), so the commit waits `sigra.session.cache_ms`
//! for every running instance's cached sessions to expire before the command answers
//! (see `sigra_core::session_cache::broadcast`).
//!
//! # Trade-off
//!
//! Waiting out the cache's lifetime (5 s by default) rather than collecting the
//! instances' acknowledgements keeps the command out of the broadcast protocol (no
//! heartbeat row, no subscription) at the price of a fixed wait after a lock or ban.
//!
//! # Failure mode
//!
//! A failure before the commit changes nothing. A command killed during the wait has
//! committed: the account is locked or banned, and an instance may still answer from its
//! cache for at most the rest of `cache_ms`.

use sigra_core::features::admin::{UserAction, act_from_cli};
use sigra_core::store::normalize_email;

use crate::settings::{Settings, meta};
use crate::{CliError, Status};

/// Does `action` to the account with `email`.
pub async fn act(settings: &Settings, action: UserAction, email: &str) -> Result<Status, CliError> {
    let email = normalize_email(email);
    let auth = settings.auth(false).await?;
    let cache_ms = auth.config.session.cache_ms;
    if matches!(action, UserAction::Lock | UserAction::Ban) && cache_ms > 0 {
        eprintln!(
            "sigra: once committed, waiting {cache_ms} ms (sigra.session.cache_ms) for the app's \
             cached sessions to expire…"
        );
    }
    let meta = meta();
    let outcome = act_from_cli(&auth, &email, action, &meta).await?;
    auth.db.close().await;
    match outcome {
        Ok((user, true)) => {
            println!("{} ({}): {}", user.email, user.id, action.done());
            Ok(Status::Done)
        }
        Ok((user, false)) => {
            println!(
                "{} ({}): nothing to do, it already was so ({}).",
                user.email,
                user.id,
                action.slug()
            );
            Ok(Status::Done)
        }
        Err(refused) => {
            eprintln!(
                "sigra: refused ({}): {} {email}",
                refused.reason(),
                refused.message()
            );
            Ok(Status::Failed)
        }
    }
}
