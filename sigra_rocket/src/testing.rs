//! Test helpers for host apps (Cargo feature `testing`): the host's own Rocket app with
//! Sigra, on a throwaway SQLite file (or a database URL the test gives), driven by Rocket's
//! local client, with a fixed clock that only the test moves, mail read from the dev
//! mailbox, and accounts made ready in one call.
//!
//! ```no_run
//! # #[macro_use] extern crate rocket;
//! use rocket::http::Status;
//! use sigra_rocket::testing::TestApp;
//! use sigra_rocket::{AuthenticatedUser, Sigra};
//!
//! #[get("/dashboard")]
//! fn dashboard(user: AuthenticatedUser) -> String {
//!     format!("Hello {}", user.email())
//! }
//!
//! fn app() -> rocket::Rocket<rocket::Build> {
//!     rocket::build().attach(Sigra::fairing()).mount("/", routes![dashboard])
//! }
//!
//! # async fn demo() -> Result<(), sigra_rocket::testing::TestingError> {
//! let app = TestApp::new(app()).await?;
//! let ada = app.user("ada@example.com").create().await?;
//! app.log_in(&ada).await?;
//! let page = app.client().get("/dashboard").dispatch().await;
//! assert_eq!(page.status(), Status::Ok);
//! app.advance(time::Duration::days(2)); // past the idle timeout
//! let page = app.client().get("/dashboard").dispatch().await;
//! assert_eq!(page.status(), Status::SeeOther);
//! # Ok(()) }
//! ```
//!
//! What it changes in the app's configuration, for tests only: the database (a new SQLite
//! file in the system's temporary folder, removed when the [`TestApp`] is dropped, unless
//! [`TestApp::with_database`] names one), the dev mailbox on and the background worker
//! off (mail is delivered when the test reads it), the rate limiter off (every request
//! comes from one address), and Argon2id at its cheapest parameters (a log-in costs
//! microseconds instead of 15 ms). Everything else is the app's own.

use std::path::PathBuf;
use std::sync::Arc;

use rocket::http::{ContentType, Status};
use rocket::local::asynchronous::Client;
use rocket::{Build, Rocket};
use sigra_core::FixedClock;
use sigra_core::clock::SharedClock;
use sigra_core::features::{Auth, RequestMeta, sessions};
use sigra_core::mail::StoredMail;
use time::OffsetDateTime;

use crate::state::SigraState;

/// The password [`UserBuilder`] gives an account unless told otherwise.
pub const PASSWORD: &str = "correct horse battery staple";

/// Why a test helper could not do its part.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TestingError {
    /// The app did not launch (its configuration, Sigra's or a fairing failed).
    #[error("the app did not launch: {0}")]
    Launch(String),
    /// A Sigra flow failed.
    #[error("a Sigra flow failed: {0}")]
    Flow(#[from] sigra_core::features::FlowError),
    /// The dev mailbox holds no mail to `to` with a link containing `marker`.
    #[error("no mail to {to} with a {marker} link")]
    NoMail {
        /// The recipient.
        to: String,
        /// What the link was to contain.
        marker: String,
    },
    /// A step answered otherwise than the helper expected.
    #[error("{step}: {found}")]
    Unexpected {
        /// The helper's step.
        step: &'static str,
        /// What happened instead.
        found: String,
    },
}

impl TestingError {
    /// A stable machine-readable reason.
    pub fn reason(&self) -> &'static str {
        match self {
            TestingError::Launch(_) => "launch_failed",
            TestingError::Flow(_) => "flow_failed",
            TestingError::NoMail { .. } => "no_mail",
            TestingError::Unexpected { .. } => "unexpected_answer",
        }
    }
}

fn unexpected(step: &'static str, found: impl std::fmt::Display) -> TestingError {
    TestingError::Unexpected {
        step,
        found: found.to_string(),
    }
}

/// The fixed clock the fairing uses instead of the system clock when the app carries it.
#[derive(Debug, Clone)]
pub(crate) struct TestClock(pub(crate) SharedClock);

/// Deletes the throwaway SQLite file (and its journal files) when the app is dropped.
#[derive(Debug)]
struct Throwaway(PathBuf);

impl Drop for Throwaway {
    fn drop(&mut self) {
        for suffix in ["", "-wal", "-shm"] {
            let mut path = self.0.clone().into_os_string();
            path.push(suffix);
            let _ = std::fs::remove_file(PathBuf::from(path));
        }
    }
}

/// The host's app with Sigra, under test: one browser (a cookie-tracking local client),
/// a fixed clock and the dev mailbox.
#[derive(Debug)]
pub struct TestApp {
    client: Client,
    clock: FixedClock,
    _file: Option<Throwaway>,
}

/// A test app that goes out of scope stops like an app shut down cleanly: its instance
/// row is deleted, so another app on the same database does not wait for its
/// acknowledgements when it revokes a session (it would, up to `cache_ms`, for an instance
/// that crashed). On a single-threaded runtime the row is removed by a spawned task.
impl Drop for TestApp {
    fn drop(&mut self) {
        let Some(state) = self.client.rocket().state::<SigraState>() else {
            return;
        };
        let broadcast = state.auth.broadcast.clone();
        let Ok(handle) = tokio::runtime::Handle::try_current() else {
            return;
        };
        if handle.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread {
            tokio::task::block_in_place(|| handle.block_on(broadcast.stop()));
        } else {
            handle.spawn(async move { broadcast.stop().await });
        }
    }
}

/// The moment a test app's clock starts at.
pub fn start_time() -> OffsetDateTime {
    time::macros::datetime!(2026-06-01 09:00 UTC)
}

impl TestApp {
    /// The app (with `Sigra::fairing()` attached) on a new SQLite file of its own.
    pub async fn new(rocket: Rocket<Build>) -> Result<TestApp, TestingError> {
        let name = format!("sigra-test-{}.sqlite3", uuid::Uuid::now_v7());
        let path = std::env::temp_dir().join(name);
        let url = format!("sqlite://{}?mode=rwc", path.display());
        let mut app = TestApp::with_database(rocket, &url).await?;
        app._file = Some(Throwaway(path));
        Ok(app)
    }

    /// The app on the database at `url` (`sqlite:`, `postgres:` or `mysql:`), which it
    /// migrates. The test owns the database: nothing is removed afterwards.
    pub async fn with_database(rocket: Rocket<Build>, url: &str) -> Result<TestApp, TestingError> {
        let clock = FixedClock::new(start_time());
        let figment = rocket
            .figment()
            .clone()
            .merge(("databases.sigra.url", url))
            .merge(("sigra.dev_mailbox", true))
            .merge(("sigra.mail.background_worker", false))
            .merge(("sigra.rate_limit.enabled", false))
            .merge(("sigra.password.argon2_memory_kib", 64))
            .merge(("sigra.password.argon2_iterations", 1));
        let rocket = rocket
            .configure(figment)
            .manage(TestClock(Arc::new(clock.clone())));
        let client = Client::tracked(rocket)
            .await
            .map_err(|e| TestingError::Launch(e.to_string()))?;
        if client.rocket().state::<SigraState>().is_none() {
            return Err(TestingError::Launch(
                "Sigra's fairing is not attached".into(),
            ));
        }
        Ok(TestApp {
            client,
            clock,
            _file: None,
        })
    }

    /// The browser: Rocket's local client, keeping cookies between requests.
    pub fn client(&self) -> &Client {
        &self.client
    }

    fn state(&self) -> Result<&SigraState, TestingError> {
        self.client
            .rocket()
            .state::<SigraState>()
            .ok_or_else(|| TestingError::Launch("Sigra's fairing is not attached".into()))
    }

    /// Sigra's flows and store, to check what a request left behind.
    pub fn auth(&self) -> Result<&Auth, TestingError> {
        Ok(&self.state()?.auth)
    }

    /// The app's clock.
    pub fn clock(&self) -> &FixedClock {
        &self.clock
    }

    /// Moves the app's clock forward (sessions expire, links lapse, codes change).
    pub fn advance(&self, by: time::Duration) {
        self.clock.advance(by);
    }

    /// Delivers the mail due and answers every mail the dev mailbox holds, oldest first.
    pub async fn mailbox(&self) -> Result<Vec<StoredMail>, TestingError> {
        let state = self.state()?;
        state
            .run_due_jobs()
            .await
            .map_err(|e| TestingError::Flow(e.into()))?;
        // The dev mailbox lists the newest first (its page's order).
        let mut mails = state
            .dev_mailbox
            .as_ref()
            .map(|m| m.list())
            .unwrap_or_default();
        mails.reverse();
        Ok(mails)
    }

    /// The mail sent to `to`, oldest first.
    pub async fn mails_to(&self, to: &str) -> Result<Vec<StoredMail>, TestingError> {
        let mut mails = self.mailbox().await?;
        mails.retain(|m| m.to.iter().any(|t| t.eq_ignore_ascii_case(to)));
        Ok(mails)
    }

    /// The path of the newest link mailed to `to` that contains `marker`
    /// (`"/users/reset-password/"`, say).
    pub async fn link_for(&self, to: &str, marker: &str) -> Result<String, TestingError> {
        let mails = self.mails_to(to).await?;
        mails
            .iter()
            .rev()
            .find_map(|m| link_in(&m.text, marker))
            .ok_or_else(|| TestingError::NoMail {
                to: to.to_owned(),
                marker: marker.to_owned(),
            })
    }

    /// Starts an account for `email`: confirmed, with [`PASSWORD`], no second factor, not
    /// an admin, unless the builder says otherwise.
    pub fn user(&self, email: &str) -> UserBuilder<'_> {
        UserBuilder {
            app: self,
            email: email.to_owned(),
            password: PASSWORD.to_owned(),
            confirmed: true,
            mfa: false,
            admin: false,
            fields: Vec::new(),
        }
    }

    /// The CSRF token of the form on the page at `path`.
    pub async fn csrf_token(&self, path: &str) -> Result<String, TestingError> {
        let page = self.client.get(path.to_owned()).dispatch().await;
        let html = page.into_string().await.unwrap_or_default();
        csrf_in(&html).ok_or_else(|| unexpected("csrf_token", format!("no form token on {path}")))
    }

    /// Posts a form to `action` with the CSRF token of the form on `form_page`, and
    /// answers the status and the `Location`.
    pub async fn submit(
        &self,
        form_page: &str,
        action: &str,
        fields: &[(&str, &str)],
    ) -> Result<(Status, Option<String>), TestingError> {
        let (status, location, _) = self.submit_read(form_page, action, fields).await?;
        Ok((status, location))
    }

    /// [`submit`](Self::submit), with the body of the answer.
    async fn submit_read(
        &self,
        form_page: &str,
        action: &str,
        fields: &[(&str, &str)],
    ) -> Result<(Status, Option<String>, String), TestingError> {
        let token = self.csrf_token(form_page).await?;
        let mut all = vec![("_csrf", token.as_str())];
        all.extend_from_slice(fields);
        let response = self
            .client
            .post(action.to_owned())
            .header(ContentType::Form)
            .body(encode_form(&all))
            .dispatch()
            .await;
        let location = response.headers().get_one("Location").map(str::to_owned);
        let status = response.status();
        let body = response.into_string().await.unwrap_or_default();
        Ok((status, location, body))
    }

    /// Logs this browser in as `user` through the log-in form (and the second-factor form
    /// with a current code when the account has one).
    pub async fn log_in(&self, user: &TestUser) -> Result<(), TestingError> {
        let base = self.auth()?.config.base_path.clone();
        let log_in = format!("{base}/log_in");
        let fields = [
            ("email", user.email.as_str()),
            ("password", user.password.as_str()),
        ];
        let (status, location) = self.submit(&log_in, &log_in, &fields).await?;
        if status != Status::SeeOther {
            return Err(unexpected("log_in", format!("answered {status}")));
        }
        if let Some(secret) = &user.totp_secret
            && location
                .as_deref()
                .is_some_and(|l| l.starts_with(&format!("{base}/mfa")))
        {
            let code = totp_code(secret, sigra_core::clock::Clock::now(&self.clock))?;
            let mfa = format!("{base}/mfa");
            let (status, _) = self.submit(&mfa, &mfa, &[("code", code.as_str())]).await?;
            if status != Status::SeeOther {
                return Err(unexpected("second factor", format!("answered {status}")));
            }
        }
        Ok(())
    }

    /// Logs this browser out (`DELETE <base>/log_out`, with the session's CSRF token).
    pub async fn log_out(&self) -> Result<(), TestingError> {
        let state = self.state()?;
        let Some(current) = self.session().await? else {
            return Err(unexpected("log_out", "not logged in"));
        };
        let token = state.csrf_token(&format!("session:{}", current.session.id));
        let action = format!("{}/log_out", state.auth.config.base_path);
        let response = self
            .client
            .post(action)
            .header(ContentType::Form)
            // `_method` counts only as the first field of the form.
            .body(encode_form(&[("_method", "DELETE"), ("_csrf", &token)]))
            .dispatch()
            .await;
        if response.status() != Status::SeeOther {
            return Err(unexpected(
                "log_out",
                format!("answered {}", response.status()),
            ));
        }
        Ok(())
    }

    /// The session this browser holds, as Sigra sees it.
    pub async fn session(&self) -> Result<Option<sessions::Authenticated>, TestingError> {
        let state = self.state()?;
        let Some(cookie) = self
            .client
            .cookies()
            .get(&state.cookies.session)
            .map(|c| c.value().to_owned())
        else {
            return Ok(None);
        };
        Ok(sessions::authenticate(&state.auth, &cookie).await?)
    }
}

/// An account to create: see [`TestApp::user`].
#[derive(Debug)]
#[must_use = "call create() to make the account"]
pub struct UserBuilder<'a> {
    app: &'a TestApp,
    email: String,
    password: String,
    confirmed: bool,
    mfa: bool,
    #[cfg_attr(not(feature = "admin"), allow(dead_code))]
    admin: bool,
    fields: Vec<(String, String)>,
}

impl UserBuilder<'_> {
    /// A value for one of the app's own registration fields (see `user_fields`): a
    /// checkbox is checked with `"true"`.
    pub fn field(mut self, name: &str, value: &str) -> Self {
        self.fields.push((name.to_owned(), value.to_owned()));
        self
    }

    /// Another password.
    pub fn password(mut self, password: &str) -> Self {
        self.password = password.to_owned();
        self
    }

    /// Leaves the address unconfirmed.
    pub fn unconfirmed(mut self) -> Self {
        self.confirmed = false;
        self
    }

    /// Turns on the second factor (an authenticator app; its secret is in
    /// [`TestUser::totp_secret`]). Enrolling spends the current 30-second code, so
    /// [`create`](Self::create) then moves the app's clock 30 seconds on.
    pub fn with_mfa(mut self) -> Self {
        self.mfa = true;
        self
    }

    /// Makes the account a platform admin (the `admin` feature).
    #[cfg(feature = "admin")]
    pub fn admin(mut self) -> Self {
        self.admin = true;
        self
    }

    /// Registers the account through Sigra's registration flow, confirms it with the
    /// mailed link, and applies the rest. The browser is left logged out.
    pub async fn create(self) -> Result<TestUser, TestingError> {
        let app = self.app;
        let auth = app.auth()?;
        let base = auth.config.base_path.clone();
        let register = format!("{base}/register");
        let mut fields = vec![
            ("email", self.email.as_str()),
            ("password", self.password.as_str()),
        ];
        fields.extend(self.fields.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        let (status, _, body) = app.submit_read(&register, &register, &fields).await?;
        if status != Status::Ok {
            // The form's messages say which field was refused.
            let problems: Vec<&str> = body
                .split("<span class=\"visually-hidden\">Error: </span>")
                .skip(1)
                .filter_map(|s| s.split('<').next())
                .collect();
            return Err(unexpected(
                "register",
                format!("answered {status}: {}", problems.join("; ")),
            ));
        }
        let meta = RequestMeta::default();
        if self.confirmed {
            let link = app
                .link_for(&self.email, &format!("{base}/confirm/"))
                .await?;
            let token = link.rsplit('/').next().unwrap_or_default();
            if sigra_core::features::confirmation::confirm_by_link(auth, token, None, &meta)
                .await?
                .is_none()
            {
                return Err(unexpected("confirm", "the confirmation link was refused"));
            }
        }
        #[cfg(feature = "admin")]
        if self.admin
            && sigra_core::features::admin::set_admin(auth, &self.email, true, &meta)
                .await?
                .is_none()
        {
            return Err(unexpected("admin", "no such account"));
        }
        let mut user = TestUser {
            email: self.email,
            password: self.password,
            totp_secret: None,
        };
        if self.mfa {
            app.log_in(&user).await?;
            let current = app
                .session()
                .await?
                .ok_or_else(|| unexpected("second factor", "not logged in"))?;
            let enrollment = sigra_core::features::mfa_totp::start_enrollment(auth, &current)
                .await?
                .ok_or_else(|| unexpected("second factor", "already on"))?;
            let secret = enrollment.secret.expose().to_owned();
            let code = totp_code(&secret, sigra_core::clock::Clock::now(&app.clock))?;
            sigra_core::features::mfa_totp::confirm_enrollment(auth, &current, &code, &meta)
                .await?;
            // Each 30-second code is accepted once: the clock moves to the next step so
            // the next log-in has a fresh code.
            app.advance(time::Duration::seconds(30));
            // Turning the factor on may have ended this session already.
            if app.session().await?.is_some() {
                app.log_out().await?;
            }
            user.totp_secret = Some(secret);
        }
        Ok(user)
    }
}

/// An account made by [`UserBuilder::create`].
#[derive(Clone)]
pub struct TestUser {
    /// Its address.
    pub email: String,
    /// Its password.
    pub password: String,
    /// The base32 secret of its authenticator app, when it has a second factor.
    pub totp_secret: Option<String>,
}

impl std::fmt::Debug for TestUser {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestUser")
            .field("email", &self.email)
            .field("mfa", &self.totp_secret.is_some())
            .finish_non_exhaustive()
    }
}

impl TestUser {
    /// The authenticator app's code at `now` (the app's clock: `app.clock().now()`).
    pub fn totp_code(&self, now: OffsetDateTime) -> Result<Option<String>, TestingError> {
        self.totp_secret
            .as_deref()
            .map(|s| totp_code(s, now))
            .transpose()
    }
}

fn totp_code(base32_secret: &str, now: OffsetDateTime) -> Result<String, TestingError> {
    let secret = totp_rs::Secret::try_from_base32(base32_secret)
        .map_err(|_| unexpected("second factor", "the secret is not base32"))?;
    let totp = totp_rs::Builder::new()
        .with_secret(secret)
        .build()
        .map_err(|e| unexpected("second factor", e))?;
    Ok(totp
        .generate(u64::try_from(now.unix_timestamp()).unwrap_or(0))
        .to_string())
}

/// The value of the first `_csrf` field in a page.
fn csrf_in(html: &str) -> Option<String> {
    let at = html.find("name=\"_csrf\"")?;
    let rest = &html[at..];
    let value = rest.find("value=\"")? + "value=\"".len();
    let end = rest[value..].find('"')?;
    Some(rest[value..value + end].to_owned())
}

/// The path of the first link in `text` containing `marker`.
fn link_in(text: &str, marker: &str) -> Option<String> {
    let at = text.find(marker)?;
    let end = text[at..]
        .find(|c: char| c.is_whitespace() || c == '"' || c == '<')
        .map_or(text.len(), |e| at + e);
    Some(text[at..end].to_owned())
}

fn encode_form(fields: &[(&str, &str)]) -> String {
    fn enc(s: &str) -> String {
        s.bytes()
            .map(|b| match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                    char::from(b).to_string()
                }
                b' ' => "+".to_owned(),
                _ => format!("%{b:02X}"),
            })
            .collect()
    }
    fields
        .iter()
        .map(|(k, v)| format!("{}={}", enc(k), enc(v)))
        .collect::<Vec<_>>()
        .join("&")
}
