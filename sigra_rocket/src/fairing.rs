//! The Sigra fairing: Rocket staging only. It reads the configuration from Rocket's
//! figment, settles the secret key for the profile, opens (or shares) the pool, hands
//! both to [`Auth::build`], and then mounts routes, registers catchers and pages, sets
//! security headers and runs the background worker.

use std::path::PathBuf;
use std::sync::Arc;

use rocket::fairing::{self, Fairing, Info, Kind};
use rocket::http::Header;
use rocket::{Build, Orbit, Request, Response, Rocket};
use sigra_core::SigraConfig;
use sigra_core::clock::{SharedClock, SystemClock};
use sigra_core::features::Auth;
use sigra_core::features::user_fields::{UserFields, check_declaration};
use sigra_core::jobs::WorkerHandle;
use sigra_core::mail::{Delivery, DevMailbox, SmtpMailer};
use sigra_core::rate_limit::RateLimiter;

use crate::cookies::CookieSettings;
use rocket_db_pools::Database;

use crate::pool::SigraDb;
use crate::state::SigraState;
use crate::templates::Pages;

/// The Sigra fairing. Attach it once:
///
/// ```no_run
/// # #[macro_use] extern crate rocket;
/// use sigra_rocket::Sigra;
///
/// #[launch]
/// fn rocket() -> _ {
///     rocket::build().attach(Sigra::fairing())
/// }
/// ```
///
/// A host that collects extra registration fields registers them on it
/// ([`Sigra::user_fields`]).
#[derive(Debug, Default)]
pub struct Sigra {
    clock: Option<SharedClock>,
    user_fields: Option<Arc<dyn UserFields>>,
}

impl Sigra {
    /// The fairing, reading its settings from the `sigra` section of the configuration.
    pub fn fairing() -> Sigra {
        Sigra::default()
    }

    /// The opt-in fairing that sends on the host's own pages the security headers Sigra's
    /// pages send (a Content-Security-Policy without inline script, `nosniff`, no
    /// framing): see [`SecurityHeaders`](crate::SecurityHeaders).
    pub fn security_headers() -> crate::SecurityHeaders {
        crate::SecurityHeaders::default()
    }

    /// The fairing with another clock (tests move time with a `FixedClock`).
    pub fn with_clock(clock: SharedClock) -> Sigra {
        Sigra {
            clock: Some(clock),
            ..Sigra::default()
        }
    }

    /// The fairing with the host's custom registration fields (`user_fields`): the
    /// registration page and its JSON mode collect them, Sigra checks them, and `fields`
    /// stores them in the host's table in the account's transaction (see
    /// [`sigra_core::features::user_fields`]). A declaration that cannot work fails the
    /// launch.
    ///
    /// ```no_run
    /// # #[macro_use] extern crate rocket;
    /// use sigra_rocket::Sigra;
    /// use sigra_rocket::user_fields::{FieldSpec, StoreFuture, UserFieldValues, UserFields};
    /// use sigra_rocket::sigra_core::store::Tx;
    ///
    /// #[derive(Debug)]
    /// struct Terms;
    ///
    /// impl UserFields for Terms {
    ///     fn fields(&self) -> Vec<FieldSpec> {
    ///         vec![FieldSpec::checkbox("accept_terms", "I accept the terms").required()]
    ///     }
    ///
    ///     fn store<'a>(&'a self, _: &'a Tx, _: uuid::Uuid, _: &'a UserFieldValues) -> StoreFuture<'a> {
    ///         Box::pin(async { Ok(()) })
    ///     }
    /// }
    ///
    /// #[launch]
    /// fn rocket() -> _ {
    ///     rocket::build().attach(Sigra::fairing().user_fields(Terms))
    /// }
    /// ```
    pub fn user_fields(mut self, fields: impl UserFields) -> Sigra {
        self.user_fields = Some(Arc::new(fields));
        self
    }
}

/// Sets the cookies of a remember-me restore again when the response lost them (see
/// [`crate::guards::RestoredCookies`]).
fn restore_lost_cookies(request: &Request<'_>, response: &mut Response<'_>) {
    let restored = request.local_cache(crate::guards::RestoredCookies::default);
    for cookie in restored.take() {
        let prefix = format!("{}=", cookie.name());
        let present = response
            .headers()
            .get("Set-Cookie")
            .any(|c| c.starts_with(&prefix));
        if !present {
            response.adjoin_header(cookie);
        }
    }
}

/// Whether `path` is `mount` or below it.
fn under(path: &str, mount: &str) -> bool {
    path == mount || path.starts_with(&format!("{mount}/"))
}

// `fairing::Result` is Rocket's type; its size is not ours to change.
#[allow(clippy::result_large_err)]
fn fail(rocket: Rocket<Build>, message: impl std::fmt::Display) -> fairing::Result {
    log::error!("Sigra cannot start: {message}");
    Err(rocket)
}

#[rocket::async_trait]
impl Fairing for Sigra {
    fn info(&self) -> Info {
        Info {
            name: "Sigra",
            kind: Kind::Ignite | Kind::Liftoff | Kind::Response | Kind::Shutdown | Kind::Singleton,
        }
    }

    async fn on_ignite(&self, rocket: Rocket<Build>) -> fairing::Result {
        // `rocket::Config::profile` is not read from the figment (serde skips it): the
        // selected profile is the figment's own. Every profile but `debug` is production.
        let production = rocket.figment().profile() != rocket::Config::DEBUG_PROFILE;
        let tls = rocket
            .figment()
            .extract::<rocket::Config>()
            .is_ok_and(|c| c.tls_enabled());
        let mut config = match SigraConfig::from_figment(rocket.figment()) {
            Ok(config) => config,
            Err(e) => return fail(rocket, e),
        };
        if config.secret_key.is_none() {
            if production {
                return fail(
                    rocket,
                    "`sigra.secret_key` (or SIGRA_SECRET_KEY, 32+ characters) is required in every \
                     profile but debug",
                );
            }
            log::warn!(
                "sigra.secret_key is not set: using a random one; sessions end when the process does"
            );
            match sigra_core::crypto::random_secret_key() {
                Ok(secret) => config.secret_key = Some(secret),
                Err(e) => return fail(rocket, e),
            }
        }

        // The pool: shared with the host when it attached `SigraDb::init()` itself.
        let rocket = if rocket.state::<SigraDb>().is_some() {
            rocket
        } else {
            match SigraDb::init().on_ignite(rocket).await {
                Ok(rocket) => rocket,
                Err(rocket) => {
                    return fail(
                        rocket,
                        "the `sigra` database (`[default.databases.sigra] url = …`) could not be opened",
                    );
                }
            }
        };
        let Some(db) = rocket.state::<SigraDb>().map(|d| d.db().clone()) else {
            return fail(rocket, "the `sigra` database is not configured");
        };

        let template_dir: Option<PathBuf> =
            Some(crate::templates::template_dir(rocket.figment(), &config))
                .filter(|dir| dir.is_dir());
        let pages = match Pages::load(template_dir.as_deref()) {
            Ok(p) => p,
            Err(e) => return fail(rocket, format!("templates: {e}")),
        };
        // Under `sigra_rocket::testing`, the test's fixed clock.
        #[cfg(feature = "testing")]
        let clock = self.clock.clone().or_else(|| {
            rocket
                .state::<crate::testing::TestClock>()
                .map(|c| c.0.clone())
        });
        #[cfg(not(feature = "testing"))]
        let clock = self.clock.clone();
        let clock = clock.unwrap_or_else(|| Arc::new(SystemClock));
        let dev_mailbox = match config.dev_mailbox_enabled(production) {
            Ok(on) => on.then(|| DevMailbox::new(clock.clone())),
            Err(e) => return fail(rocket, e),
        };
        if production && dev_mailbox.is_some() {
            log::warn!(
                "sigra.danger_dev_mailbox is on: every mail, reset links included, is readable at /dev/mailbox"
            );
        }
        let smtp = match config
            .mail
            .smtp_url
            .as_ref()
            .map(|url| SmtpMailer::from_url(url.expose(), &config.mail.from))
        {
            Some(Ok(smtp)) => Some(smtp),
            Some(Err(e)) => return fail(rocket, format!("sigra.mail.smtp_url: {e}")),
            None => None,
        };
        if smtp.is_none() && dev_mailbox.is_none() {
            log::warn!(
                "Sigra has no mail transport: set sigra.mail.smtp_url; mail waits in the outbox meanwhile"
            );
        }
        let delivery = Arc::new(Delivery::new(smtp, dev_mailbox.clone()));

        let secure = match config.secure_cookies_enabled(production, tls) {
            Ok(secure) => secure,
            Err(e) => return fail(rocket, e),
        };
        if production && !secure {
            log::warn!(
                "sigra.danger_insecure_cookies is on: session cookies are sent without Secure"
            );
        }
        if let Err(e) = config.check_trusted_origins(production) {
            return fail(rocket, e);
        }
        let cookies = CookieSettings::new(&config, secure);
        let base_path = config.base_path.clone();
        if let Some(Err(e)) = self
            .user_fields
            .as_ref()
            .map(|hook| check_declaration(&hook.fields()))
        {
            return fail(rocket, e);
        }
        let mut auth = match Auth::build(config, db, clock, template_dir.as_deref()).await {
            Ok(auth) => auth,
            Err(e) => return fail(rocket, e),
        };
        auth.user_fields = self.user_fields.clone();
        let with_mailbox = dev_mailbox.is_some();
        #[cfg(feature = "organizations")]
        let organizations = auth.config.organizations.enabled;
        #[cfg(feature = "admin")]
        let state_admin = auth.config.admin.clone();
        let rate_limiter = RateLimiter::new(
            &auth.config.rate_limit,
            auth.config.redis_url.as_ref(),
            auth.clock.clone(),
        )
        .await;
        // Registered and subscribed before the first request: the session cache answers
        // from the start, and no peer's revocation can be missed.
        auth.broadcast.start().await;
        let state = SigraState {
            auth,
            cookies,
            pages,
            dev_mailbox,
            rate_limiter,
            delivery,
        };

        let mut rocket = rocket
            .manage(state)
            .mount(base_path.as_str(), crate::routes::routes())
            .register("/", crate::catchers::root_catchers())
            .register(base_path.as_str(), crate::catchers::page_catchers())
            // Under the base path the default page catcher would win over the guard
            // catchers at "/": register those here too.
            .register(base_path.as_str(), crate::catchers::guard_catchers());
        if with_mailbox {
            rocket = rocket.mount("/dev", crate::routes::dev_mailbox::routes());
        }
        #[cfg(feature = "api")]
        {
            rocket = rocket.mount("/", crate::routes::root_routes());
        }
        #[cfg(feature = "admin")]
        let admin = &state_admin;
        #[cfg(feature = "admin")]
        if admin.enabled || admin.org_impersonation {
            let mount = crate::routes::admin::MOUNT;
            rocket = rocket
                .mount("/", crate::routes::admin_routes(admin.enabled))
                .register(mount, crate::catchers::page_catchers())
                .register(mount, crate::catchers::guard_catchers());
        }
        #[cfg(feature = "organizations")]
        if organizations {
            let mount = crate::routes::organizations::MOUNT;
            rocket = rocket
                .mount(mount, crate::routes::organization_routes())
                .register(mount, crate::catchers::page_catchers())
                .register(mount, crate::catchers::guard_catchers());
        }
        Ok(rocket)
    }

    async fn on_liftoff(&self, rocket: &Rocket<Orbit>) {
        let Some(state) = rocket.state::<SigraState>() else {
            return;
        };
        if !state.auth.config.mail.background_worker {
            return;
        }
        let handle: WorkerHandle = state.worker().spawn();
        handle.wake();
        let _ = state.auth.worker.set(handle);
    }

    async fn on_response<'r>(&self, request: &'r Request<'_>, response: &mut Response<'r>) {
        let Some(state) = request.rocket().state::<SigraState>() else {
            return;
        };
        restore_lost_cookies(request, response);
        if state.auth.config.session.no_store && crate::state::cached_session(request).is_some() {
            response.set_header(Header::new("Cache-Control", "no-store"));
        }
        let path = request.uri().path();
        let base = state.auth.config.base_path.as_str();
        let ours = path.as_str() == base
            || path.as_str().starts_with(&format!("{base}/"))
            || path.as_str().starts_with("/dev/mailbox")
            || (cfg!(feature = "organizations")
                && state.auth.config.organizations.enabled
                && under(path.as_str(), crate::routes::ORGANIZATIONS_MOUNT))
            || (cfg!(feature = "admin")
                && (state.auth.config.admin.enabled || state.auth.config.admin.org_impersonation)
                && under(path.as_str(), crate::routes::ADMIN_MOUNT))
            || crate::respond::answered_by_sigra(request);
        if !ours {
            return;
        }
        // Scripts only from Sigra's own origin (`assets/sigra.js`, `assets/sigra-webauthn.js`),
        // never inline, so an injected `<script>` in a page cannot run; they may call this
        // origin only (the passkey ceremonies' JSON requests).
        crate::security_headers::set_sigra_page_headers(state, response);
        let asset = [
            "/assets/sigra.css",
            "/assets/sigra.js",
            "/assets/sigra-webauthn.js",
        ]
        .iter()
        .any(|a| path.as_str() == format!("{base}{a}"));
        if !asset {
            response.set_header(Header::new("Cache-Control", "no-store"));
        }
    }

    async fn on_shutdown(&self, rocket: &Rocket<Orbit>) {
        if let Some(state) = rocket.state::<SigraState>() {
            // Deregistered first: peers stop waiting for this instance's acknowledgements.
            state.auth.broadcast.stop().await;
            if let Some(worker) = state.auth.worker.get() {
                worker.shutdown();
                worker.join().await;
            }
            state.auth.db.close().await;
        }
    }
}
