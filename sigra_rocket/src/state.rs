//! Sigra's managed state and how guards, routes and catchers reach it from a request: the
//! state itself, the session the request's guards already looked up, and the CSRF token
//! of the page being rendered. A leaf: it depends on nothing else in this crate but the
//! cookie settings and the page templates the state holds.

use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rocket::{Ignite, Request, Rocket};
use sigra_core::crypto::Purpose;
use sigra_core::features::Auth;
use sigra_core::features::sessions::Authenticated;
use sigra_core::jobs::{RunReport, Worker, WorkerConfig};
use sigra_core::mail::{Delivery, DevMailbox};
use sigra_core::rate_limit::RateLimiter;
use sigra_core::store::StoreError;

use crate::cookies::CookieSettings;
use crate::templates::Pages;

/// Everything Sigra keeps in Rocket's managed state.
#[derive(Debug)]
pub struct SigraState {
    /// The core: store, clock, config, keys, hasher, mail.
    pub auth: Auth,
    /// Cookie names and attributes.
    pub(crate) cookies: CookieSettings,
    /// Sigra's pages.
    pub(crate) pages: Pages,
    /// The dev mailbox, when enabled.
    pub dev_mailbox: Option<DevMailbox>,
    /// Per-client-IP limits on auth POSTs.
    pub(crate) rate_limiter: RateLimiter,
    /// Where the worker delivers mail (SMTP and/or the dev mailbox).
    pub(crate) delivery: Arc<Delivery>,
}

impl SigraState {
    /// Runs the background work that is due now (deletions whose grace period ended,
    /// then mail), without waiting for the background worker (tests, and hosts that
    /// drive their own job schedule).
    pub async fn run_due_jobs(&self) -> Result<RunReport, StoreError> {
        self.worker().run_once().await
    }

    /// The background worker over this state's store, mail and sweeps.
    pub(crate) fn worker(&self) -> Worker {
        let auth = &self.auth;
        let deletion = Arc::new(sigra_core::features::deletion::DeletionSweep(auth.clone()));
        let worker = Worker::new(
            auth.db.clone(),
            self.delivery.clone(),
            auth.cipher.clone(),
            auth.clock.clone(),
            WorkerConfig {
                max_attempts: auth.config.mail.max_attempts,
                ..WorkerConfig::default()
            },
        )
        .with_sweep(deletion);
        #[cfg(feature = "admin")]
        let worker = worker.with_sweep(Arc::new(
            sigra_core::features::impersonation::ImpersonationSweep(auth.clone()),
        ));
        worker
            .with_sweep(Arc::new(sigra_core::features::audit::AuditSealSweep(
                auth.clone(),
            )))
            .with_sweep(Arc::new(sigra_core::jobs::RetentionSweep::new(
                auth.db.clone(),
                auth.clock.clone(),
                &auth.config,
            )))
    }
}

/// Sigra's state, when the fairing is attached.
pub(crate) fn state<'r>(request: &'r Request<'_>) -> Option<&'r SigraState> {
    request.rocket().state::<SigraState>()
}

/// Whether a guard must abort launch because the Sigra fairing is not attached (the
/// guards' `Sentinel`), logging why.
pub(crate) fn sentinel_abort(rocket: &Rocket<Ignite>, guard: &str) -> bool {
    if rocket.state::<SigraState>().is_none() {
        log::error!(
            "`{guard}` is used, but the Sigra fairing is not attached: add `.attach(Sigra::fairing())`"
        );
        return true;
    }
    false
}

/// The request's session lookup as the guards cache it: `Err` when the store failed.
pub(crate) type Lookup = Result<Option<Authenticated>, ()>;

/// The session cached for this request, without a lookup (catchers run after guards).
pub(crate) fn cached_session(request: &Request<'_>) -> Option<Authenticated> {
    request
        .local_cache(|| -> Lookup { Ok(None) })
        .clone()
        .ok()
        .flatten()
}

impl SigraState {
    /// The CSRF token for a binding (`session:<id>` or `pre:<cookie value>`).
    pub(crate) fn csrf_token(&self, bound: &str) -> String {
        let tag = self.auth.keys.sign(Purpose::Csrf, bound.as_bytes());
        URL_SAFE_NO_PAD.encode(tag)
    }
}

/// The token for a page rendered where no lookup can run (a catcher): bound to the
/// cached session or the existing pre-session cookie; `None` when there is neither.
pub(crate) fn csrf_token_for_cached(request: &Request<'_>, state: &SigraState) -> Option<String> {
    let jar = request.cookies();
    let bound = match cached_session(request) {
        Some(found) => format!("session:{}", found.session.id),
        None => {
            let name = &state.cookies.csrf;
            let value = jar
                .get(name)
                .map(|c| c.value().to_owned())
                .or_else(|| jar.get_pending(name).map(|c| c.value().to_owned()))?;
            format!("pre:{value}")
        }
    };
    Some(state.csrf_token(&bound))
}
