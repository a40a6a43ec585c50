//! A Rocket app with Sigra attached, on a test database, driven by a local client and a
//! fixed clock.

use std::sync::Arc;

use rocket::figment::Figment;
use rocket::http::{ContentType, Cookie, Header, Status};
use rocket::local::asynchronous::{Client, LocalResponse};
use rocket::{get, post, routes};
use sigra_core::FixedClock;
use sigra_core::mail::StoredMail;
use sigra_core::store::Executor;
use sigra_rocket::sea_query::{Alias, Order, Query};
use sigra_rocket::{
    ActiveOrganization, ApiCaller, AuthenticatedUser, ConfirmedUser, CsrfForm, Membership, MfaUser,
    OptionalUser, OrgAdmin, OrgOwner, Scope, Scoped, Sigra, SigraState, SudoUser,
};
use time::macros::datetime;

use super::TestDb;

/// The Redis server of the tests (`redis://…`), for MySQL deployments and rate limits.
pub const REDIS_ENV: &str = "SIGRA_TEST_REDIS_URL";

/// The address test requests come from.
pub const CLIENT: std::net::SocketAddr = std::net::SocketAddr::new(
    std::net::IpAddr::V4(std::net::Ipv4Addr::new(203, 0, 113, 7)),
    50123,
);

/// Every state-changing (non-GET) route Sigra mounts under `/users`, `/organizations`
/// and `/admin`, exactly. A new route must be added here on purpose, so the CSRF and rate-limit sweeps
/// cover it.
pub const SIGRA_STATE_CHANGING_ROUTES: &[(&str, &str)] = &[
    ("POST", "/admin/users/<id>/<action>"),
    ("POST", "/admin/users/<id>/impersonate"),
    ("DELETE", "/admin/users/<id>/sessions/<session_id>"),
    ("DELETE", "/admin/impersonation"),
    (
        "POST",
        "/organizations/<slug>/members/<user_id>/impersonate",
    ),
    ("POST", "/organizations"),
    ("POST", "/organizations/<slug>/switch"),
    ("DELETE", "/organizations/<slug>"),
    ("PATCH", "/organizations/<slug>/members/<id>"),
    ("DELETE", "/organizations/<slug>/members/<id>"),
    ("POST", "/organizations/<slug>/leave"),
    ("POST", "/organizations/<slug>/invitations"),
    ("DELETE", "/organizations/<slug>/invitations/<id>"),
    ("POST", "/organizations/invitations/<token>"),
    ("DELETE", "/users/log_out"),
    ("DELETE", "/users/settings/api-keys/<id>"),
    ("DELETE", "/users/settings/mfa/totp"),
    ("DELETE", "/users/settings/connections/<id>"),
    ("DELETE", "/users/settings/passkeys/<id>"),
    ("DELETE", "/users/settings/sessions/<id>"),
    ("POST", "/users/api/token"),
    ("POST", "/users/api/token/refresh"),
    ("POST", "/users/api/token/revoke"),
    ("POST", "/users/auth/<provider>"),
    ("POST", "/users/auth/<provider>/callback"),
    ("POST", "/users/confirm"),
    ("POST", "/users/confirm/<token>"),
    ("POST", "/users/confirm/resend"),
    ("POST", "/users/log_in"),
    ("POST", "/users/magic-link"),
    ("POST", "/users/magic-link/<token>"),
    ("POST", "/users/mfa"),
    ("POST", "/users/mfa/passkey"),
    ("POST", "/users/mfa/passkey/options"),
    ("PATCH", "/users/settings/passkeys/<id>"),
    ("POST", "/users/passkeys/log_in"),
    ("POST", "/users/passkeys/options"),
    ("POST", "/users/register"),
    ("POST", "/users/reset-password"),
    ("POST", "/users/reset-password/<token>"),
    ("POST", "/users/settings/api-keys"),
    ("POST", "/users/settings/confirm-email/<token>"),
    ("POST", "/users/settings/connections/<provider>"),
    ("POST", "/users/settings/delete"),
    ("POST", "/users/settings/delete/cancel"),
    ("POST", "/users/settings/email"),
    ("POST", "/users/settings/email/cancel"),
    ("POST", "/users/settings/mfa/backup-codes"),
    ("POST", "/users/settings/mfa/totp"),
    ("POST", "/users/settings/mfa/totp/setup"),
    ("POST", "/users/settings/passkeys"),
    ("POST", "/users/settings/passkeys/<id>/mfa"),
    ("POST", "/users/settings/passkeys/options"),
    ("POST", "/users/settings/password"),
    ("POST", "/users/settings/sessions/others"),
    ("POST", "/users/settings/set-password"),
    ("POST", "/users/sudo"),
    ("POST", "/users/sudo/passkey"),
    ("POST", "/users/sudo/passkey/options"),
    ("POST", "/users/unlock/<token>"),
];

/// The state-changing routes that take no CSRF token by design: API token routes read
/// no cookie, so a cross-site page gains nothing by calling them (tests/api_tokens.rs
/// shows they work without one; the rate-limit sweep still covers them).
pub const CSRF_EXEMPT_ROUTES: &[(&str, &str)] = &[
    ("POST", "/users/api/token"),
    ("POST", "/users/api/token/refresh"),
    ("POST", "/users/api/token/revoke"),
    // An OpenID provider's `form_post` answer: a cross-site POST by design; the `state`
    // it carries is checked instead (tests/oauth.rs).
    ("POST", "/users/auth/<provider>/callback"),
];

/// Asserts that the mounted `(method, path)` pairs are exactly `expected`, printing both
/// sets (and their difference) when they are not.
pub fn assert_exact_routes<'a>(
    actual: impl IntoIterator<Item = (String, String)>,
    expected: impl IntoIterator<Item = &'a (&'a str, &'a str)>,
) {
    use std::collections::BTreeSet;
    let actual: BTreeSet<(String, String)> = actual.into_iter().collect();
    let expected: BTreeSet<(String, String)> = expected
        .into_iter()
        .map(|(m, p)| (m.to_string(), p.to_string()))
        .collect();
    assert_eq!(
        actual,
        expected,
        "mounted routes differ from the expected set\nunexpected: {:?}\nmissing: {:?}",
        actual.difference(&expected).collect::<Vec<_>>(),
        expected.difference(&actual).collect::<Vec<_>>()
    );
}

pub const PASSWORD: &str = "correct horse battery staple";
pub const SECRET: &str = "test-secret-test-secret-test-secret-0123456789";

#[get("/dashboard")]
fn dashboard(user: AuthenticatedUser) -> String {
    format!("dashboard of {}", user.email())
}

#[get("/confirmed")]
fn confirmed(user: ConfirmedUser) -> String {
    format!("confirmed {}", user.email())
}

#[get("/mfa-only")]
fn mfa_only(user: MfaUser) -> String {
    format!("second factor passed for {}", user.email())
}

#[get("/maybe")]
fn maybe(user: OptionalUser) -> String {
    match user.into_inner() {
        Some(u) => format!("hello {}", u.email()),
        None => "hello stranger".into(),
    }
}

#[derive(rocket::FromForm)]
struct Nothing {
    #[field(default = String::new())]
    note: String,
}

#[post("/danger", data = "<form>")]
fn danger(user: SudoUser, form: CsrfForm<Nothing>) -> String {
    format!("sudo ok for {} {}", user.email(), form.into_inner().note)
}

#[get("/danger")]
fn danger_page(user: SudoUser) -> String {
    format!("sudo page for {}", user.email())
}

/// A host's scope, for the `Scoped` tests.
#[derive(Debug)]
pub struct ReadInvoices;

impl Scope for ReadInvoices {
    const NAME: &'static str = "invoices:read";
}

#[get("/api/invoices")]
fn invoices(caller: Scoped<ReadInvoices>) -> String {
    format!("invoices of {}", caller.caller().user_id())
}

#[post("/api/invoices")]
fn new_invoice(caller: ApiCaller) -> String {
    format!(
        "invoice by {} via {}",
        caller.user_id(),
        caller.via().name()
    )
}

#[get("/org")]
fn org(org: ActiveOrganization) -> String {
    format!("org {} {}", org.slug(), org.role().as_str())
}

#[get("/org/admin")]
fn org_admin(org: OrgAdmin) -> String {
    format!("admin of {}", org.slug())
}

#[get("/org/owner")]
fn org_owner(org: OrgOwner) -> String {
    format!("owner of {}", org.slug())
}

/// A host route naming the organization itself: `Membership::of`.
#[get("/org/by-slug/<slug>")]
async fn org_by_slug(
    state: &rocket::State<SigraState>,
    user: AuthenticatedUser,
    slug: &str,
) -> Result<String, Status> {
    match Membership::of(&state.auth, user.id(), slug).await {
        Ok(Some(m)) => Ok(format!("member of {} as {}", m.slug(), m.role().as_str())),
        Ok(None) => Err(Status::NotFound),
        Err(_) => Err(Status::ServiceUnavailable),
    }
}

/// A host table of organization-owned rows (created by the scoping test).
pub const HOST_NOTES: &str = "host_notes";

#[derive(sqlx::FromRow)]
struct HostNote {
    body: String,
}

/// The active organization's rows of the host's own table, scoped with
/// `Membership::scope`.
#[get("/org/notes")]
async fn org_notes(
    state: &rocket::State<SigraState>,
    org: ActiveOrganization,
) -> Result<String, Status> {
    let stmt = Query::select()
        .column(Alias::new("body"))
        .from(Alias::new(HOST_NOTES))
        .cond_where(org.scope(Alias::new("organization_id")))
        .order_by(Alias::new("body"), Order::Asc)
        .to_owned();
    let rows: Vec<HostNote> = state
        .auth
        .db
        .fetch_all(&stmt)
        .await
        .map_err(|_| Status::InternalServerError)?;
    Ok(rows
        .into_iter()
        .map(|r| r.body)
        .collect::<Vec<_>>()
        .join(","))
}

pub struct TestApp {
    pub client: Client,
    pub clock: FixedClock,
    figment: Figment,
    fairing: Option<FairingSetup>,
}

/// A test app that goes out of scope stops like an app shut down cleanly: its instance
/// row is deleted, so the next app on the same database does not count it as a live peer
/// (which would make that app's revocations wait for an acknowledgement that never comes,
/// up to `cache_ms`). A crashed instance is simulated explicitly (`session_cache.rs`).
impl Drop for TestApp {
    fn drop(&mut self) {
        let Some(state) = self.client.rocket().state::<SigraState>() else {
            return;
        };
        let broadcast = state.auth.broadcast.clone();
        match tokio::runtime::Handle::try_current() {
            Ok(handle) if handle.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread => {
                tokio::task::block_in_place(|| handle.block_on(broadcast.stop()));
            }
            Ok(handle) => {
                handle.spawn(async move { broadcast.stop().await });
            }
            Err(_) => {}
        }
    }
}

/// What a test adds to Sigra's fairing before launch (a host's `user_fields`); kept, so
/// [`TestApp::other_browser`] launches the same app.
pub type FairingSetup = Arc<dyn Fn(Sigra) -> Sigra + Send + Sync>;

/// The figment every test app starts from: fast Argon2 parameters, a fixed secret, no
/// background worker (tests deliver mail explicitly), quiet logs.
pub fn figment(t: &TestDb) -> Figment {
    base_figment(rocket::Config::debug_default(), t).merge(("sigra.secret_key", SECRET))
}

/// The same app in Rocket's `release` profile (what a deployment runs), without a
/// secret key: tests add one when they need it.
pub fn release_figment(t: &TestDb) -> Figment {
    base_figment(rocket::Config::release_default(), t)
}

fn base_figment(profile: rocket::Config, t: &TestDb) -> Figment {
    // MySQL deployments push session-cache revocations through Redis: the MySQL suite runs
    // that way when a Redis is given (without one, the cache is off there, as documented).
    let redis = match (t.backend, std::env::var(REDIS_ENV)) {
        (sigra_core::store::Backend::MySql, Ok(url)) => Some(url),
        _ => None,
    };
    Figment::from(profile)
        .merge(("sigra.redis_url", redis))
        .merge(("log_level", "off"))
        .merge(("databases.sigra.url", t.url.as_str()))
        .merge(("databases.sigra.max_connections", 5))
        .merge(("sigra.password.argon2_memory_kib", 64))
        .merge(("sigra.password.argon2_iterations", 1))
        .merge(("sigra.mail.background_worker", false))
        // Tests post far more than ten forms a minute from one address; the limiter has
        // its own tests (rate_limit.rs) with it switched on.
        .merge(("sigra.rate_limit.enabled", false))
        .merge(("template_dir", "/nonexistent-sigra-templates"))
        .merge(("sigra.organizations.enabled", true))
        .merge(("sigra.admin.enabled", true))
        .merge(("sigra.admin.emails", vec![ADMIN_EMAIL]))
}

/// The address `sigra.admin.emails` lists in tests: made a platform admin when confirmed.
pub const ADMIN_EMAIL: &str = "boss@example.com";

pub async fn app(t: &TestDb) -> TestApp {
    app_with(figment(t)).await
}

pub async fn app_with(figment: Figment) -> TestApp {
    launch(figment, start(), None).await
}

/// [`app`], with `setup` applied to Sigra's fairing.
pub async fn app_with_fairing(t: &TestDb, setup: FairingSetup) -> TestApp {
    launch(figment(t), start(), Some(setup)).await
}

/// The clock every test app starts at.
fn start() -> FixedClock {
    FixedClock::new(datetime!(2026-06-01 09:00 UTC))
}

async fn launch(figment: Figment, clock: FixedClock, setup: Option<FairingSetup>) -> TestApp {
    let sigra = Sigra::with_clock(Arc::new(clock.clone()));
    let sigra = match &setup {
        Some(setup) => setup(sigra),
        None => sigra,
    };
    let rocket = rocket::custom(figment.clone()).attach(sigra).mount(
        "/",
        routes![
            dashboard,
            confirmed,
            maybe,
            danger,
            danger_page,
            mfa_only,
            invoices,
            new_invoice,
            org,
            org_admin,
            org_owner,
            org_by_slug,
            org_notes
        ],
    );
    let client = Client::tracked(rocket).await.expect("app launches");
    TestApp {
        client,
        clock,
        figment,
        fairing: setup,
    }
}

/// Percent-encodes a form body.
pub fn form(fields: &[(&str, &str)]) -> String {
    fn enc(s: &str) -> String {
        s.bytes()
            .map(|b| match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                    (b as char).to_string()
                }
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

/// The `_csrf` value of the first form on a page.
pub fn csrf_in(html: &str) -> String {
    let marker = "name=\"_csrf\" value=\"";
    let start = html
        .find(marker)
        .map(|i| i + marker.len())
        .expect("page has a _csrf field");
    html[start..].split('"').next().unwrap().to_owned()
}

impl TestApp {
    /// Another browser (its own cookie jar) on another instance of the same app: same
    /// database, same clock.
    pub async fn other_browser(&self) -> TestApp {
        launch(
            self.figment.clone(),
            self.clock.clone(),
            self.fairing.clone(),
        )
        .await
    }

    pub fn state(&self) -> &SigraState {
        self.client.rocket().state::<SigraState>().unwrap()
    }

    /// After a write behind Sigra's back (a store call, not a flow): empties this
    /// instance's session and API-key caches, as that flow's commit would.
    pub fn forget_cached(&self) {
        self.state().auth.broadcast.gate().invalidate();
    }

    pub async fn body(&self, path: &str) -> (Status, String) {
        let r = self
            .client
            .get(path.to_owned())
            .remote(CLIENT)
            .dispatch()
            .await;
        (r.status(), r.into_string().await.unwrap_or_default())
    }

    /// A CSRF token valid for this client right now (from the settings page when logged
    /// in, the log-in page otherwise).
    pub async fn csrf(&self) -> String {
        let (status, html) = self.body("/users/settings").await;
        if status == Status::Ok {
            return csrf_in(&html);
        }
        let (_, html) = self.body("/users/log_in").await;
        csrf_in(&html)
    }

    pub async fn post(&self, path: &str, fields: &[(&str, &str)]) -> LocalResponse<'_> {
        self.client
            .post(path.to_owned())
            .remote(CLIENT)
            .header(ContentType::Form)
            .body(form(fields))
            .dispatch()
            .await
    }

    /// Posts a form with a fresh CSRF token.
    pub async fn submit(&self, path: &str, fields: &[(&str, &str)]) -> LocalResponse<'_> {
        let token = self.csrf().await;
        let mut all: Vec<(&str, &str)> = fields.to_vec();
        let method_first = all.first().is_some_and(|(k, _)| *k == "_method");
        all.insert(usize::from(method_first), ("_csrf", token.as_str()));
        self.post(path, &all).await
    }

    /// [`TestApp::post`], read to the end.
    pub async fn post_owned(&self, path: &str, fields: &[(&str, &str)]) -> Answer {
        Answer::read(self.post(path, fields).await).await
    }

    /// [`TestApp::log_in`], read to the end.
    pub async fn log_in_owned(&self, email: &str, password: &str, remember: bool) -> Answer {
        Answer::read(self.log_in(email, password, remember).await).await
    }

    /// [`TestApp::submit`], read to the end.
    pub async fn submit_owned(&self, path: &str, fields: &[(&str, &str)]) -> Answer {
        Answer::read(self.submit(path, fields).await).await
    }

    pub async fn register(&self, email: &str, password: &str) -> LocalResponse<'_> {
        self.submit(
            "/users/register",
            &[("email", email), ("password", password)],
        )
        .await
    }

    pub async fn log_in(&self, email: &str, password: &str, remember: bool) -> LocalResponse<'_> {
        let mut fields = vec![("email", email), ("password", password)];
        if remember {
            fields.push(("remember_me", "true"));
        }
        self.submit("/users/log_in", &fields).await
    }

    /// Registers and logs in `email` with [`PASSWORD`].
    pub async fn signed_up(&self, email: &str) {
        assert_eq!(self.register(email, PASSWORD).await.status(), Status::Ok);
        assert_eq!(
            self.log_in(email, PASSWORD, false).await.status(),
            Status::SeeOther
        );
    }

    pub async fn log_out(&self) -> LocalResponse<'_> {
        self.submit("/users/log_out", &[("_method", "DELETE")])
            .await
    }

    /// The newest link containing `marker` mailed to `to`.
    pub async fn link_for(&self, to: &str, marker: &str) -> String {
        let mails = self.mails_to(to).await;
        let mail = mails
            .iter()
            .find(|m| m.text.contains(marker))
            .unwrap_or_else(|| panic!("no mail to {to} with {marker}"));
        link_in(&mail.text, marker)
    }

    pub fn cookie(&self, name: &str) -> Option<String> {
        self.client
            .cookies()
            .get(name)
            .map(|c| c.value().to_owned())
    }

    /// Delivers queued mail and answers what the dev mailbox holds for `to`.
    pub async fn mails_to(&self, to: &str) -> Vec<StoredMail> {
        self.state().run_due_jobs().await.unwrap();
        let mailbox = self
            .state()
            .dev_mailbox
            .as_ref()
            .expect("dev mailbox on in tests");
        mailbox
            .list()
            .into_iter()
            .filter(|m| m.to.iter().any(|t| t == to))
            .collect()
    }
}

/// The path of the first link in `text` that contains `marker` (`/users/reset-password/…`).
pub fn link_in(text: &str, marker: &str) -> String {
    let start = text
        .find(marker)
        .unwrap_or_else(|| panic!("no {marker} link in {text}"));
    text[start..]
        .split_whitespace()
        .next()
        .unwrap()
        .trim_end_matches(['.', ',', ')'])
        .to_owned()
}

/// The 6-digit code in a confirmation mail.
pub fn code_in(text: &str) -> String {
    let after = text
        .split("code")
        .nth(1)
        .unwrap_or_else(|| panic!("no code in {text}"));
    after
        .split(|c: char| !c.is_ascii_digit())
        .find(|w| w.len() == 6)
        .unwrap_or_else(|| panic!("no code in {text}"))
        .to_owned()
}

pub fn location(r: &LocalResponse<'_>) -> String {
    r.headers()
        .get_one("Location")
        .unwrap_or_default()
        .to_owned()
}

/// A response read to the end: owns everything, so it borrows nothing from the client and
/// needs no `drop` before the next request.
#[allow(dead_code)] // not every test reads every field
#[derive(Debug)]
pub struct Answer {
    pub status: Status,
    /// The `Location` header, empty when there is none.
    pub location: String,
    pub body: String,
    /// The cookies the response set.
    pub cookies: Vec<Cookie<'static>>,
}

impl Answer {
    /// Reads `r` to the end.
    pub async fn read(r: LocalResponse<'_>) -> Answer {
        let status = r.status();
        let location = location(&r);
        let cookies = r.cookies().iter().map(|c| c.clone().into_owned()).collect();
        let body = r.into_string().await.unwrap_or_default();
        Answer {
            status,
            location,
            body,
            cookies,
        }
    }
}

pub fn json_accept() -> Header<'static> {
    Header::new("Accept", "application/json")
}

pub fn cookie(name: &str, value: &str) -> Cookie<'static> {
    Cookie::new(name.to_owned(), value.to_owned())
}

impl TestApp {
    /// A form post from another device: `ip` as the client address and `user_agent` as
    /// its `User-Agent`, with a fresh CSRF token; add cookies before dispatching.
    pub async fn form_from(
        &self,
        ip: &str,
        user_agent: &str,
        path: &str,
        fields: &[(&str, &str)],
    ) -> rocket::local::asynchronous::LocalRequest<'_> {
        let token = self.csrf().await;
        let mut all: Vec<(&str, &str)> = fields.to_vec();
        all.insert(0, ("_csrf", token.as_str()));
        let remote = std::net::SocketAddr::new(ip.parse().expect("an IP address"), 50123);
        self.client
            .post(path.to_owned())
            .remote(remote)
            .header(Header::new("User-Agent", user_agent.to_owned()))
            .header(ContentType::Form)
            .body(form(&all))
    }

    /// Confirms `email` with the link of its confirmation mail.
    pub async fn confirm_email(&self, email: &str) {
        let link = self.link_for(email, "/users/confirm/").await;
        assert_eq!(self.submit(&link, &[]).await.status(), Status::SeeOther);
    }
}
