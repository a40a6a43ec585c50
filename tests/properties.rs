//! Property tests of the security invariants that are cheap to state, each over random
//! inputs against the real app (its routes, or the crate's API where no route exposes the
//! value).
//!
//! !!!!! SQLITE ONLY, ON PURPOSE: these properties run on SQLite alone, not once per
//! backend. What they check (token parsing and MACs, the CSRF guard, what a flow answers)
//! is decided in sigra_core and sigra_rocket above the store; the store only finds rows by
//! exact hash or address, and that is covered on PostgreSQL and MySQL by the `conformance!`
//! tests of every feature. Running the same random cases three times would triple the
//! time for no new evidence. !!!!!
//!
//! Invariants:
//! 1. A credential with any byte changed is refused. For each value Sigra hands out (the
//!    session, remember-me and trusted-browser cookies, a CSRF token, the emailed reset,
//!    confirmation and magic-link tokens, an API key, a JWT access token, a sealed field),
//!    a real one is issued by the app's routes; every case changes it and presents it
//!    (the sealed field, the TOTP secret enrollment stored, to the crate's `decrypt`):
//!    the answer is the refusal (401 from `/users/api/me`, 403 from a CSRF-checked route,
//!    404 from a link, the challenge instead of a log-in, a decryption error), while the
//!    original is accepted after the cases (and, where using it does not spend it, before
//!    them too): the cases met a live value.
//! 2. No state-changing route answers 2xx, or redirects to a success page, without a
//!    valid CSRF token; in fact each answers 403 (`form_expired` in JSON). Every route of
//!    `security::state_changing_routes` gets, per case, the same random body (field names
//!    and values, a form or a JSON object, `_csrf` missing, random, a changed valid token
//!    or another browser's valid token) from a logged-in platform admin who owns the
//!    organization the paths name and is in sudo, so the token is the only thing
//!    missing; the account's sessions, password, email, API keys and second factor are
//!    unchanged after every case.
//! 3. No route tells whether an account exists: for random pairs of a registered and an
//!    unregistered address (same length, random local parts, the same random case changes
//!    and surrounding whitespace), register, forgot password, magic link, resend
//!    confirmation, the JSON token endpoint (wrong passwords, repeated into the lockout)
//!    and an invitation sent by an organization owner answer alike: status, headers
//!    (except `Set-Cookie`) and body with the one address put in place of the other (and,
//!    for invitations, the new invitation's id, which is fresh either way).
//!
//! Generators: a change is one replaced byte at a random position (by any other byte the
//! carrier can hold), the last base64url character with other padding bits (the spelling
//! a lenient decoder maps to the same bytes: the crate's decoders must refuse it, and
//! these properties check that they do, so nothing is excluded), a letter in the other
//! case (what a case-insensitive parser would not notice), a truncation (keeping at
//! least one byte; an empty or missing value is covered by the features' own tests) or 1
//! to 4 bytes appended. What a carrier can hold: a path segment or a form field any byte
//! (percent-encoded); a cookie RFC 6265's cookie-octets; a header the visible ASCII
//! characters (HTTP trims surrounding whitespace from a header value, so a space there is
//! not a byte of the token); a `&str` API ASCII.
//!
//! Out of scope: timing (DESIGN §4 promises alike timing too; no timing assertions here),
//! the login form (not one of the enumeration routes the issue names), a known account
//! given its right password (answering `unconfirmed` then is by design), passkey and
//! social log-in ceremonies (their values are checked by webauthn-rs and the provider
//! flow's own tests), the rate limiter (off in tests; it has its own).
//!
//! Runs: case counts are set explicitly (no seed is fixed, so each run draws new cases;
//! shrinking is bounded and failures are not persisted to files); one app per property,
//! reused across its cases.

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use proptest::prelude::*;
use proptest::sample::Index;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use rocket::http::{ContentType, Cookie, Header, Method, Status};
use rocket::local::asynchronous::{Client, LocalResponse};
use serde_json::{Value, json};
use sigra_core::Clock;
use sigra_core::store::{Backend, api_keys as key_store, mfa, sessions, users};
use sigra_rocket::{Sigra, SigraState};

use crate::common::TestDb;
use crate::common::app::{
    ADMIN_EMAIL, CLIENT, PASSWORD, TestApp, app, app_with, csrf_in, figment, form, location,
};

/// Cases of the cheap properties (one request or two per case).
const CASES: u32 = 32;
/// Cases of the costlier ones (several requests, or an account, per case).
const FEW_CASES: u32 = 24;

/// Runs `property` on `cases` random values of `strategy`, on the test's runtime.
fn check<S, F, Fut>(cases: u32, strategy: S, property: F)
where
    S: Strategy,
    F: Fn(S::Value) -> Fut,
    Fut: Future<Output = Result<(), TestCaseError>>,
{
    let config = Config {
        cases,
        max_shrink_iters: 64,
        failure_persistence: None,
        ..Config::default()
    };
    let handle = tokio::runtime::Handle::current();
    tokio::task::block_in_place(|| {
        let mut runner = TestRunner::new(config);
        if let Err(failure) = runner.run(&strategy, |value| handle.block_on(property(value))) {
            panic!("{failure}");
        }
    });
}

/// A fresh migrated SQLite database (see the header: one backend suffices).
async fn sqlite() -> TestDb {
    TestDb::migrated(Backend::Sqlite)
        .await
        .expect("SQLite is always available")
}

// ---------------------------------------------------------------------------------------
// Changing a value
// ---------------------------------------------------------------------------------------

/// The bytes a carrier can hold.
#[derive(Clone, Copy, Debug)]
enum Alphabet {
    /// A path segment or a form field: any byte, percent-encoded.
    Any,
    /// A `&str` API.
    Ascii,
    /// A cookie value: RFC 6265 cookie-octets.
    CookieOctet,
    /// A header value: visible ASCII.
    Visible,
}

impl Alphabet {
    fn bytes(self) -> Vec<u8> {
        match self {
            Alphabet::Any => (0..=255).collect(),
            Alphabet::Ascii => (0..=127).collect(),
            Alphabet::CookieOctet => (0x21..=0x7e)
                .filter(|b| !matches!(b, b'"' | b',' | b';' | b'\\'))
                .collect(),
            Alphabet::Visible => (0x21..=0x7e).collect(),
        }
    }
}

const BASE64URL: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/// One change to a value.
#[derive(Clone, Debug)]
enum Change {
    /// The byte at `at` replaced by another byte of the carrier's alphabet.
    Replace { at: Index, by: Index },
    /// The last base64url character with other padding bits (`flip` picks which).
    PaddingBits { flip: u8 },
    /// A letter in the other case (the change a case-insensitive parser misses), at the
    /// `at`-th letter; a value without letters gets its first byte replaced instead.
    Case { at: Index },
    /// Cut short, keeping at least one byte.
    Truncate { keep: Index },
    /// Bytes appended.
    Extend { suffix: Vec<Index> },
}

fn changes() -> impl Strategy<Value = Change> {
    prop_oneof![
        6 => (any::<Index>(), any::<Index>()).prop_map(|(at, by)| Change::Replace { at, by }),
        1 => (1u8..16).prop_map(|flip| Change::PaddingBits { flip }),
        1 => any::<Index>().prop_map(|at| Change::Case { at }),
        1 => any::<Index>().prop_map(|keep| Change::Truncate { keep }),
        1 => prop::collection::vec(any::<Index>(), 1..=4)
            .prop_map(|suffix| Change::Extend { suffix }),
    ]
}

impl Change {
    /// `value` changed within `alphabet`. `tail` is the length of the base64url encoding
    /// `value` ends with (the part whose last character has padding bits).
    fn apply(&self, value: &str, tail: usize, alphabet: Alphabet) -> Vec<u8> {
        let bytes = value.as_bytes();
        let letters = alphabet.bytes();
        let mut out = bytes.to_vec();
        match self {
            Change::Replace { at, by } => {
                let i = at.index(bytes.len());
                let others: Vec<u8> = letters.into_iter().filter(|b| *b != bytes[i]).collect();
                out[i] = *by.get(&others);
            }
            Change::PaddingBits { flip } => {
                // `tail` characters carry `tail * 6` bits, of which the whole bytes are
                // data: the rest, the low bits of the last character, are padding (zero
                // in the canonical spelling). Flipping them keeps the decoded bytes of a
                // lenient decoder the same; with no padding bits it flips a data bit.
                let padding = (tail * 6) % 8;
                let mask = (1u8 << padding) - 1;
                let flip = if mask == 0 { 1 } else { 1 + (flip - 1) % mask };
                let last = out.len() - 1;
                let value = BASE64URL
                    .iter()
                    .position(|c| *c == out[last])
                    .expect("the value ends in base64url");
                out[last] = BASE64URL[(value as u8 ^ flip) as usize];
            }
            Change::Case { at } => {
                let letters: Vec<usize> = (0..out.len())
                    .filter(|i| out[*i].is_ascii_alphabetic())
                    .collect();
                if letters.is_empty() {
                    out[0] = if out[0] == b'0' { b'1' } else { b'0' };
                } else {
                    out[*at.get(&letters)] ^= 0x20;
                }
            }
            Change::Truncate { keep } => out.truncate(1 + keep.index(bytes.len() - 1)),
            Change::Extend { suffix } => out.extend(suffix.iter().map(|i| *i.get(&letters))),
        }
        assert_ne!(out, bytes, "a change changes");
        out
    }

    /// [`Change::apply`] for a text carrier (its alphabet is ASCII).
    fn apply_text(&self, value: &str, tail: usize, alphabet: Alphabet) -> String {
        String::from_utf8(self.apply(value, tail, alphabet)).expect("an ASCII alphabet")
    }
}

/// Percent-encodes every byte but the unreserved ones (for a path segment or a form).
fn pct(bytes: &[u8]) -> String {
    bytes
        .iter()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                char::from(*b).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// A browser that keeps no cookies: each request carries exactly what the test gives it.
struct Bare {
    client: Client,
}

impl Bare {
    /// The app `app` was (same figment, database and clock), launched again once `app` has
    /// stopped. Alone on its database, the instance answers validated sessions and API
    /// keys from memory (two instances on SQLite without Redis turn that cache off): the
    /// changed values meet the cached path too, which is waited for here.
    async fn instead_of(app: TestApp) -> Bare {
        let figment = app.client.rocket().figment().clone();
        let clock = app.clock.clone();
        drop(app);
        let rocket = rocket::custom(figment).attach(Sigra::with_clock(Arc::new(clock)));
        let bare = Bare {
            client: Client::untracked(rocket).await.expect("app launches"),
        };
        let mut serving = bare.state().auth.broadcast.watch_serving();
        let opened = tokio::time::timeout(
            std::time::Duration::from_secs(30),
            serving.wait_for(|open| *open),
        )
        .await;
        assert!(opened.is_ok_and(|r| r.is_ok()), "the session cache opens");
        bare
    }

    fn state(&self) -> &SigraState {
        self.client.rocket().state::<SigraState>().unwrap()
    }

    /// `GET /users/api/me` as an API client with `cookie` and/or `bearer`.
    async fn me(&self, cookie: Option<(&str, &str)>, bearer: Option<&str>) -> (Status, Value) {
        let mut req = self
            .client
            .get("/users/api/me")
            .remote(CLIENT)
            .header(Header::new("Accept", "application/json"));
        if let Some((name, value)) = cookie {
            req = req.cookie(Cookie::new(name.to_owned(), value.to_owned()));
        }
        if let Some(token) = bearer {
            req = req.header(Header::new("Authorization", format!("Bearer {token}")));
        }
        let r = req.dispatch().await;
        let status = r.status();
        let body = r.into_json().await.unwrap_or(Value::Null);
        (status, body)
    }
}

/// Stops like [`TestApp`] does, so no other instance waits for this one's acknowledgements.
impl Drop for Bare {
    fn drop(&mut self) {
        let Some(state) = self.client.rocket().state::<SigraState>() else {
            return;
        };
        let broadcast = state.auth.broadcast.clone();
        if let Ok(handle) = tokio::runtime::Handle::try_current() {
            tokio::task::block_in_place(|| handle.block_on(broadcast.stop()));
        }
    }
}

// ---------------------------------------------------------------------------------------
// 1. A changed credential is refused
// ---------------------------------------------------------------------------------------

/// Session and remember-me cookies: `GET /users/api/me` with only `name` = a changed copy
/// of `value` answers 401; with `value` itself 200 (the session cookie first, so the
/// session cache holds it while the changed copies come in; the remember-me cookie last,
/// as using it spends it).
async fn cookie_property(app: TestApp, name: &str, value: &str, original_first: bool) {
    let bare = Bare::instead_of(app).await;
    if original_first {
        assert_eq!(bare.me(Some((name, value)), None).await.0, Status::Ok);
    }
    check(CASES, changes(), |change| {
        let changed = change.apply_text(value, 43, Alphabet::CookieOctet);
        let bare = &bare;
        async move {
            let (status, body) = bare.me(Some((name, &changed)), None).await;
            prop_assert_eq!(
                status,
                Status::Unauthorized,
                "{} = {:?}: {}",
                name,
                changed,
                body
            );
            Ok(())
        }
    });
    let (status, body) = bare.me(Some((name, value)), None).await;
    assert_eq!(status, Status::Ok, "the original still works: {body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_cookie_with_any_byte_changed_is_refused() {
    let t = sqlite().await;
    let app = app(&t).await;
    app.signed_up("cookie@example.com").await;
    let session = app.cookie("sigra_session").expect("a session cookie");
    cookie_property(app, "sigra_session", &session, true).await;
    t.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_remember_me_cookie_with_any_byte_changed_is_refused() {
    let t = sqlite().await;
    let app = app(&t).await;
    app.register("remember@example.com", PASSWORD).await;
    app.confirm_email("remember@example.com").await;
    assert_eq!(
        app.log_in("remember@example.com", PASSWORD, true)
            .await
            .status(),
        Status::SeeOther
    );
    let remember = app
        .cookie("sigra_remember_me")
        .expect("a remember-me cookie");
    cookie_property(app, "sigra_remember_me", &remember, false).await;
    t.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_trusted_browser_cookie_with_any_byte_changed_does_not_skip_the_second_factor() {
    let t = sqlite().await;
    let app = app(&t).await;
    let email = "trust@example.com";
    let (secret, _) = crate::mfa_totp::enrolled(&app, email).await;
    crate::mfa::partial(&app, email).await;
    let r = app
        .submit(
            "/users/mfa",
            &[
                ("code", &crate::mfa_totp::code(&app, &secret, 0)),
                ("trust_browser", "true"),
            ],
        )
        .await;
    assert_eq!(r.status(), Status::SeeOther);
    drop(r);
    let trust = app
        .cookie("sigra_trusted_browser")
        .expect("a trusted-browser cookie");
    // `<account id>.<expiry>.<tag>`: the tag, an HMAC-SHA-256, is the base64url tail.
    let tail = trust.rsplit('.').next().unwrap().len();

    // A log-in with the right password from a browser holding only a pre-session CSRF
    // cookie and the given trust cookie: where it is sent next.
    let bare = Bare::instead_of(app).await;
    let page = bare
        .client
        .get("/users/log_in")
        .remote(CLIENT)
        .dispatch()
        .await;
    let pre = page
        .cookies()
        .get("sigra_csrf")
        .expect("a pre-session cookie")
        .value()
        .to_owned();
    let token = csrf_in(&page.into_string().await.unwrap());
    let log_in = |trust: String| {
        let (bare, pre, token) = (&bare, pre.clone(), token.clone());
        async move {
            let r = bare
                .client
                .post("/users/log_in")
                .remote(CLIENT)
                .header(ContentType::Form)
                .cookie(Cookie::new("sigra_csrf", pre))
                .cookie(Cookie::new("sigra_trusted_browser", trust))
                .body(form(&[
                    ("_csrf", &token),
                    ("email", email),
                    ("password", PASSWORD),
                ]))
                .dispatch()
                .await;
            (r.status(), location(&r))
        }
    };
    check(CASES, changes(), |change| {
        let changed = change.apply_text(&trust, tail, Alphabet::CookieOctet);
        let log_in = &log_in;
        async move {
            let (status, to) = log_in(changed.clone()).await;
            prop_assert_eq!(status, Status::SeeOther, "{:?}", changed);
            prop_assert!(
                to.starts_with("/users/mfa"),
                "{:?} skipped the challenge: {}",
                changed,
                to
            );
            Ok(())
        }
    });
    // Every letter in the other case, one at a time: this property found the account id
    // parsed case-insensitively (an upper-case id skipped the challenge), so that change
    // is swept in full, not left to a draw.
    for (i, letter) in trust
        .char_indices()
        .filter(|(_, c)| c.is_ascii_alphabetic())
    {
        let mut changed = trust.clone();
        let other = if letter.is_ascii_lowercase() {
            letter.to_ascii_uppercase()
        } else {
            letter.to_ascii_lowercase()
        };
        changed.replace_range(i..=i, &other.to_string());
        let (_, to) = log_in(changed.clone()).await;
        assert!(to.starts_with("/users/mfa"), "{changed:?} skipped it: {to}");
    }
    let (status, to) = log_in(trust.clone()).await;
    assert_eq!(
        (status, to.as_str()),
        (Status::SeeOther, "/"),
        "the original skips it"
    );
    drop(bare);
    t.cleanup().await;
}

/// Where a changed CSRF token travels.
#[derive(Clone, Copy, Debug)]
enum Carrier {
    /// The `_csrf` field of a url-encoded form.
    FormField,
    /// `X-CSRF-Token` beside a url-encoded form.
    HeaderWithForm,
    /// `X-CSRF-Token` beside a JSON body.
    HeaderWithJson,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_csrf_token_with_any_byte_changed_is_refused() {
    let t = sqlite().await;
    let app = app(&t).await;
    app.signed_up("csrf-token@example.com").await;
    let token = app.csrf().await;
    // `POST /danger` (a host route taking `CsrfForm`, behind `SudoUser`: the fresh
    // log-in is sudo) answers 200 with a good token, 403 without one.
    let post = |carrier: Carrier, token: Vec<u8>| {
        let app = &app;
        async move {
            let req = app.client.post("/danger").remote(CLIENT);
            let as_text = || String::from_utf8(token.clone()).expect("visible ASCII");
            let req = match carrier {
                Carrier::FormField => req
                    .header(ContentType::Form)
                    .body(format!("_csrf={}&note=x", pct(&token))),
                Carrier::HeaderWithForm => req
                    .header(ContentType::Form)
                    .header(Header::new("X-CSRF-Token", as_text()))
                    .body("note=x"),
                Carrier::HeaderWithJson => req
                    .header(ContentType::JSON)
                    .header(Header::new("Accept", "application/json"))
                    .header(Header::new("X-CSRF-Token", as_text()))
                    .body(json!({ "note": "x" }).to_string()),
            };
            let r = req.dispatch().await;
            (r.status(), r.into_string().await.unwrap_or_default())
        }
    };
    let carriers = prop_oneof![
        Just(Carrier::FormField),
        Just(Carrier::HeaderWithForm),
        Just(Carrier::HeaderWithJson),
    ];
    let original = post(Carrier::FormField, token.clone().into_bytes()).await;
    assert_eq!(original.0, Status::Ok, "{}", original.1);
    check(CASES, (carriers, changes()), |(carrier, change)| {
        let alphabet = match carrier {
            Carrier::FormField => Alphabet::Any,
            _ => Alphabet::Visible,
        };
        let changed = change.apply(&token, 43, alphabet);
        let post = &post;
        async move {
            let (status, body) = post(carrier, changed.clone()).await;
            prop_assert_eq!(
                status,
                Status::Forbidden,
                "{:?} {:?}: {}",
                carrier,
                changed,
                body
            );
            Ok(())
        }
    });
    for carrier in [
        Carrier::FormField,
        Carrier::HeaderWithForm,
        Carrier::HeaderWithJson,
    ] {
        let (status, body) = post(carrier, token.clone().into_bytes()).await;
        assert_eq!(
            status,
            Status::Ok,
            "the original still works: {carrier:?} {body}"
        );
    }
    drop(app);
    t.cleanup().await;
}

/// An emailed link of each kind.
#[derive(Clone, Copy, Debug)]
enum Mailed {
    Confirm,
    MagicLink,
    ResetPassword,
}

const NEW_PASSWORD: &str = "a brand new passphrase 77";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_emailed_token_with_any_byte_changed_is_refused() {
    let t = sqlite().await;
    let app = app(&t).await;
    let email = "links@example.com";
    app.register(email, PASSWORD).await;
    let confirm = app.link_for(email, "/users/confirm/").await;
    app.submit("/users/magic-link", &[("email", email)]).await;
    let magic = app.link_for(email, "/users/magic-link/").await;
    app.submit("/users/reset-password", &[("email", email)])
        .await;
    let reset = app.link_for(email, "/users/reset-password/").await;
    let link_of = |kind: Mailed| match kind {
        Mailed::Confirm => &confirm,
        Mailed::MagicLink => &magic,
        Mailed::ResetPassword => &reset,
    };
    let use_link = |kind: Mailed, token: &[u8]| {
        let link = link_of(kind);
        let (base, _) = link.rsplit_once('/').unwrap();
        let path = format!("{base}/{}", pct(token));
        let app = &app;
        async move {
            let fields: &[(&str, &str)] = match kind {
                Mailed::ResetPassword => &[
                    ("password", NEW_PASSWORD),
                    ("password_confirmation", NEW_PASSWORD),
                ],
                _ => &[],
            };
            let r = app.submit_owned(&path, fields).await;
            (path, r)
        }
    };
    let before = users::find_by_email(&t.db, email).await.unwrap().unwrap();
    let kinds = prop_oneof![
        Just(Mailed::Confirm),
        Just(Mailed::MagicLink),
        Just(Mailed::ResetPassword)
    ];
    check(CASES, (kinds, changes()), |(kind, change)| {
        let token = link_of(kind).rsplit('/').next().unwrap();
        let changed = change.apply(token, 43, Alphabet::Any);
        let use_link = &use_link;
        async move {
            let (path, r) = use_link(kind, &changed).await;
            // A dead link answers 404 (`invalid_link`), like an unknown one.
            prop_assert_eq!(r.status, Status::NotFound, "{:?} {}: {:?}", kind, path, r);
            Ok(())
        }
    });
    let after = users::find_by_email(&t.db, email).await.unwrap().unwrap();
    assert_eq!(after.confirmed_at, before.confirmed_at, "not confirmed");
    assert_eq!(
        after.hashed_password(),
        before.hashed_password(),
        "password kept"
    );
    assert!(app.cookie("sigra_session").is_none(), "not logged in");

    // The originals work (in this order: a reset ends the other links).
    for (kind, to) in [
        (Mailed::Confirm, "/users/log_in?notice=confirmed"),
        (Mailed::MagicLink, "/"),
        (Mailed::ResetPassword, "/users/log_in?notice=password_reset"),
    ] {
        let token = link_of(kind).rsplit('/').next().unwrap().to_owned();
        let (path, r) = use_link(kind, token.as_bytes()).await;
        assert_eq!(
            (r.status, r.location.as_str()),
            (Status::SeeOther, to),
            "{path}: {r:?}"
        );
    }
    drop(app);
    t.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_api_key_with_any_byte_changed_is_refused() {
    let t = sqlite().await;
    let app = app(&t).await;
    app.signed_up("keys@example.com").await;
    let r = app
        .json(
            Method::Post,
            "/users/settings/api-keys",
            json!({ "name": "probe", "expires_in_days": 0 }),
        )
        .await;
    let key = r.assert_ok(Status::Created)["key"]
        .as_str()
        .unwrap()
        .to_owned();
    let tail = key.len() - "sigra_sk_".len();
    bearer_property(app, &key, tail).await;
    t.cleanup().await;
}

/// `GET /users/api/me` with `Authorization: Bearer` a changed copy of `credential` answers
/// 401; with `credential` itself (first, so a verified token is remembered) 200.
async fn bearer_property(app: TestApp, credential: &str, tail: usize) {
    let bare = Bare::instead_of(app).await;
    let (status, body) = bare.me(None, Some(credential)).await;
    assert_eq!(status, Status::Ok, "{body}");
    check(CASES, changes(), |change| {
        let changed = change.apply_text(credential, tail, Alphabet::Visible);
        let bare = &bare;
        async move {
            let (status, body) = bare.me(None, Some(&changed)).await;
            prop_assert_eq!(status, Status::Unauthorized, "{:?}: {}", changed, body);
            Ok(())
        }
    });
    assert_eq!(bare.me(None, Some(credential)).await.0, Status::Ok);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_jwt_access_token_with_any_byte_changed_is_refused() {
    let t = sqlite().await;
    let app = app(&t).await;
    app.signed_up("jwt@example.com").await;
    let r = app
        .client
        .post("/users/api/token")
        .remote(CLIENT)
        .header(ContentType::JSON)
        .body(json!({ "email": "jwt@example.com", "password": PASSWORD }).to_string())
        .dispatch()
        .await;
    assert_eq!(r.status(), Status::Ok);
    let body: Value = r.into_json().await.unwrap();
    let access = body["access_token"].as_str().unwrap().to_owned();
    // `<header>.<claims>.<signature>`: the Ed25519 signature is the base64url tail.
    let tail = access.rsplit('.').next().unwrap().len();
    bearer_property(app, &access, tail).await;
    t.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sealed_field_with_any_byte_changed_does_not_decrypt() {
    let t = sqlite().await;
    let app = app(&t).await;
    let email = "sealed@example.com";
    let (secret, _) = crate::mfa_totp::enrolled(&app, email).await;
    let user = users::find_by_email(&t.db, email).await.unwrap().unwrap();
    // The TOTP secret as enrollment sealed it, and the associated data that binds it to
    // its row (sigra_core::features::mfa_totp::aad).
    let sealed = mfa::find_totp(&t.db, user.id)
        .await
        .unwrap()
        .unwrap()
        .secret;
    let aad = [b"sigra/mfa_totp\0".as_slice(), user.id.as_bytes()].concat();
    let cipher = &app.state().auth.cipher;
    let plain = cipher
        .decrypt(&sealed, &aad)
        .expect("the original decrypts");
    assert_eq!(
        totp_rs::Secret::try_from_base32(&secret)
            .unwrap()
            .as_bytes(),
        plain.as_slice(),
        "it is the secret the page showed"
    );
    let (_, payload) = sealed.split_once(':').unwrap();
    let tail = payload.len();
    check(CASES, changes(), |change| {
        let changed = change.apply_text(&sealed, tail, Alphabet::Ascii);
        let (aad, cipher) = (&aad, cipher);
        async move {
            let result = cipher.decrypt(&changed, aad);
            prop_assert!(result.is_err(), "{:?} decrypted", changed);
            Ok(())
        }
    });
    drop(app);
    t.cleanup().await;
}

// ---------------------------------------------------------------------------------------
// 2. No state change without a valid CSRF token
// ---------------------------------------------------------------------------------------

/// What a case sends as `_csrf` (or `X-CSRF-Token`).
#[derive(Clone, Debug)]
enum CsrfValue {
    Missing,
    /// Random visible characters.
    Random(String),
    /// The session's valid token, changed.
    Changed(Change),
    /// A valid token of another browser (bound to its pre-session cookie).
    Foreign,
}

/// How the body is sent.
#[derive(Clone, Copy, Debug)]
enum Encoding {
    /// A url-encoded form, `_csrf` among its fields (after `_method` when the route's
    /// method is not POST).
    Form,
    /// A JSON object sent with the route's own method; the token in `X-CSRF-Token` or in
    /// the object's `_csrf`.
    Json { token_in_header: bool },
}

/// Field names the routes read, and a few more.
const FIELD_NAMES: &[&str] = &[
    "email",
    "password",
    "password_confirmation",
    "current_password",
    "name",
    "slug",
    "role",
    "code",
    "reason",
    "remember_me",
    "trust_browser",
    "scopes",
    "expires_in_days",
    "return_to",
    "refresh_token",
    "credential",
    "note",
];

fn field_values() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(PASSWORD.to_owned()),
        Just(ADMIN_EMAIL.to_owned()),
        Just("acme".to_owned()),
        Just("member".to_owned()),
        Just("true".to_owned()),
        ".{0,24}",
    ]
}

fn attempts() -> impl Strategy<Value = (Vec<(String, String)>, CsrfValue, Encoding)> {
    let name = prop_oneof![
        prop::sample::select(FIELD_NAMES).prop_map(str::to_owned),
        "[a-z][a-z0-9_]{0,11}",
    ];
    let fields = prop::collection::vec((name, field_values()), 0..6);
    let csrf = prop_oneof![
        Just(CsrfValue::Missing),
        "[!-~]{1,64}".prop_map(CsrfValue::Random),
        changes().prop_map(CsrfValue::Changed),
        Just(CsrfValue::Foreign),
    ];
    let encoding = prop_oneof![
        Just(Encoding::Form),
        any::<bool>().prop_map(|token_in_header| Encoding::Json { token_in_header }),
    ];
    (fields, csrf, encoding)
}

/// What the account looks like in the store, for the fields a forged request could change.
#[derive(Debug, PartialEq)]
struct Snapshot {
    sessions: usize,
    password: Option<String>,
    email: String,
    api_keys: usize,
    mfa: bool,
}

async fn snapshot(app: &TestApp, t: &TestDb, id: uuid::Uuid) -> Snapshot {
    let user = users::find_by_id(&t.db, id).await.unwrap().unwrap();
    Snapshot {
        sessions: sessions::list_for_user(&t.db, id, app.clock.now())
            .await
            .unwrap()
            .len(),
        password: user.hashed_password().map(str::to_owned),
        email: user.email.clone(),
        api_keys: key_store::list_for_user(&t.db, id).await.unwrap().len(),
        mfa: user.mfa_enabled_at.is_some(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_state_changing_route_succeeds_without_a_valid_csrf_token() {
    let t = sqlite().await;
    let app = app(&t).await;
    // A confirmed platform admin, owner of `acme` (the slug the swept paths name), just
    // logged in (so in sudo): every guard but the CSRF check would let a request through.
    app.register(ADMIN_EMAIL, PASSWORD).await;
    app.confirm_email(ADMIN_EMAIL).await;
    assert_eq!(
        app.log_in(ADMIN_EMAIL, PASSWORD, false).await.status(),
        Status::SeeOther
    );
    crate::organizations::create_org(&app, "Acme", "acme").await;
    let id = users::find_by_email(&t.db, ADMIN_EMAIL)
        .await
        .unwrap()
        .unwrap()
        .id;
    let valid = app.csrf().await;
    let foreign = app.other_browser().await.csrf().await;
    assert_ne!(valid, foreign);
    let routes = crate::security::state_changing_routes(&app);
    let before = snapshot(&app, &t, id).await;

    check(FEW_CASES, attempts(), |(fields, csrf, encoding)| {
        let (app, t, routes, before) = (&app, &t, &routes, &before);
        let (valid, foreign) = (&valid, &foreign);
        async move {
            let token: Option<Vec<u8>> = match &csrf {
                CsrfValue::Missing => None,
                CsrfValue::Random(s) => Some(s.clone().into_bytes()),
                CsrfValue::Changed(change) => {
                    let alphabet = match encoding {
                        Encoding::Form => Alphabet::Any,
                        Encoding::Json { .. } => Alphabet::Visible,
                    };
                    Some(change.apply(valid, 43, alphabet))
                }
                CsrfValue::Foreign => Some(foreign.clone().into_bytes()),
            };
            for (method, path) in routes {
                let req = match encoding {
                    Encoding::Form => {
                        let mut body = Vec::new();
                        if *method != Method::Post {
                            body.push(format!("_method={}", method.as_str()));
                        }
                        if let Some(token) = &token {
                            body.push(format!("_csrf={}", pct(token)));
                        }
                        for (name, value) in &fields {
                            body.push(form(&[(name.as_str(), value.as_str())]));
                        }
                        app.client
                            .post(path.clone())
                            .header(ContentType::Form)
                            .body(body.join("&"))
                    }
                    Encoding::Json { token_in_header } => {
                        let mut object = serde_json::Map::new();
                        for (name, value) in &fields {
                            object.insert(name.clone(), Value::String(value.clone()));
                        }
                        let text = token
                            .as_ref()
                            .map(|t| String::from_utf8_lossy(t).into_owned());
                        if let (Some(text), false) = (&text, token_in_header) {
                            object.insert("_csrf".into(), Value::String(text.clone()));
                        }
                        let mut req = app
                            .client
                            .req(*method, path.clone())
                            .header(ContentType::JSON)
                            .header(Header::new("Accept", "application/json"))
                            .body(Value::Object(object).to_string());
                        if let (Some(text), true) = (text, token_in_header) {
                            req = req.header(Header::new("X-CSRF-Token", text));
                        }
                        req
                    }
                };
                let r = req.remote(CLIENT).dispatch().await;
                let (status, to) = (r.status(), location(&r));
                let body = r.into_string().await.unwrap_or_default();
                // Every request guard lets this account through, so the CSRF check is
                // what answers: 403, `form_expired` in JSON. (Stricter than "no 2xx and no
                // redirect to a success page": a route that forgot the check and refused
                // the random body for another reason, 422 say, fails here too.)
                let reason = serde_json::from_str::<Value>(&body)
                    .ok()
                    .and_then(|v| v["error"].as_str().map(str::to_owned));
                let expected_reason = match encoding {
                    Encoding::Form => None,
                    Encoding::Json { .. } => Some("form_expired".to_owned()),
                };
                prop_assert!(
                    status == Status::Forbidden && reason == expected_reason,
                    "{} {} answered {} {}: {}",
                    method,
                    path,
                    status,
                    to,
                    body
                );
            }
            prop_assert_eq!(&snapshot(app, t, id).await, before);
            Ok(())
        }
    });
    // Still logged in, and the valid token still passes.
    assert_eq!(app.body("/dashboard").await.0, Status::Ok);
    assert_eq!(
        app.post("/danger", &[("_csrf", &valid)]).await.status(),
        Status::Ok
    );
    drop(app);
    t.cleanup().await;
}

// ---------------------------------------------------------------------------------------
// 3. No route tells whether an account exists
// ---------------------------------------------------------------------------------------

/// A registered and an unregistered address, spelled alike.
#[derive(Clone, Debug)]
struct Pair {
    known: String,
    unknown: String,
    /// Which characters are sent upper-case.
    upper: Vec<bool>,
    before: &'static str,
    after: &'static str,
    /// Whether the known one is asked about first.
    known_first: bool,
    json: bool,
}

static SERIAL: AtomicUsize = AtomicUsize::new(0);

fn pairs() -> impl Strategy<Value = Pair> {
    let local = |n| {
        prop::collection::vec(
            prop::sample::select(b"abcdefghijklmnopqrstuvwxyz0123456789_-".as_slice()),
            n,
        )
    };
    let space = prop::sample::select(&["", " ", "\t", "  "][..]);
    (1usize..=10)
        .prop_flat_map(move |n| {
            (
                local(n),
                local(n),
                prop::collection::vec(any::<bool>(), 40),
                space.clone(),
                space.clone(),
                any::<bool>(),
                any::<bool>(),
            )
        })
        .prop_filter("two addresses", |(a, b, ..)| a != b)
        .prop_map(|(a, b, upper, before, after, known_first, json)| {
            // A serial number after an `x` keeps every case's addresses new (the last
            // `x` of an address is always this one, so two cases never share one).
            let serial = SERIAL.fetch_add(1, Ordering::Relaxed);
            let address =
                |l: Vec<u8>| format!("{}x{serial}@example.com", String::from_utf8(l).unwrap());
            Pair {
                known: address(a),
                unknown: address(b),
                upper,
                before,
                after,
                known_first,
                json,
            }
        })
}

impl Pair {
    /// `address` as this case types it.
    fn typed(&self, address: &str) -> String {
        let cased: String = address
            .chars()
            .zip(self.upper.iter().chain(std::iter::repeat(&false)))
            .map(|(c, up)| if *up { c.to_ascii_uppercase() } else { c })
            .collect();
        format!("{}{cased}{}", self.before, self.after)
    }

    /// Every spelling of the unknown address an answer may carry, with the known one's.
    fn spellings(&self) -> Vec<(String, String)> {
        let mut pairs = Vec::new();
        for (u, k) in [
            (self.typed(&self.unknown), self.typed(&self.known)),
            (
                self.typed(&self.unknown).trim().to_owned(),
                self.typed(&self.known).trim().to_owned(),
            ),
            (self.unknown.clone(), self.known.clone()),
        ] {
            // As a form encodes it, and as a template's strict URL encoding does (every
            // byte but letters and digits).
            let enc = |s: &str| form(&[("", s)]).trim_start_matches('=').to_owned();
            let strict = |s: &str| {
                s.bytes()
                    .map(|b| match b {
                        b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' => char::from(b).to_string(),
                        _ => format!("%{b:02X}"),
                    })
                    .collect::<String>()
            };
            pairs.push((enc(&u), enc(&k)));
            pairs.push((strict(&u), strict(&k)));
            pairs.push((u, k));
        }
        pairs
    }
}

/// What a client sees of an answer (`Set-Cookie` and `Date` aside).
#[derive(Debug, PartialEq)]
struct Seen {
    status: Status,
    headers: BTreeMap<String, Vec<String>>,
    body: String,
}

async fn seen(r: LocalResponse<'_>) -> Seen {
    let status = r.status();
    let mut headers: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for h in r.headers().iter() {
        let name = h.name().as_str().to_ascii_lowercase();
        if name != "set-cookie" && name != "date" {
            headers.entry(name).or_default().push(h.value().to_owned());
        }
    }
    let body = r.into_string().await.unwrap_or_default();
    Seen {
        status,
        headers,
        body,
    }
}

impl Seen {
    /// With `from` replaced by `to` everywhere.
    fn replace(mut self, from: &str, to: &str) -> Seen {
        self.body = self.body.replace(from, to);
        for values in self.headers.values_mut() {
            for v in values {
                *v = v.replace(from, to);
            }
        }
        self
    }
}

/// Posts `fields` to `path` from `app`'s browser, as a form (with a fresh CSRF token) or
/// as JSON (token in `X-CSRF-Token`), and reads what the browser sees.
async fn ask(app: &TestApp, path: &str, fields: &[(&str, &str)], json: bool) -> Seen {
    if !json {
        return seen(app.submit(path, fields).await).await;
    }
    let token = app.json_csrf().await;
    let object: serde_json::Map<String, Value> = fields
        .iter()
        .map(|(k, v)| ((*k).to_owned(), Value::String((*v).to_owned())))
        .collect();
    let r = app
        .client
        .post(path.to_owned())
        .remote(CLIENT)
        .header(ContentType::JSON)
        .header(Header::new("Accept", "application/json"))
        .header(Header::new("X-CSRF-Token", token))
        .body(Value::Object(object).to_string())
        .dispatch()
        .await;
    seen(r).await
}

/// Asserts that `known` and `unknown` (the answers about the two addresses of `pair`)
/// are the same once the addresses are swapped.
fn alike(pair: &Pair, known: Seen, unknown: Seen) -> Result<(), TestCaseError> {
    let mut unknown = unknown;
    for (u, k) in pair.spellings() {
        unknown = unknown.replace(&u, &k);
    }
    prop_assert_eq!(known, unknown, "{:?}", pair);
    Ok(())
}

/// Asks about both addresses of `pair`, in the pair's order: answers (known, unknown).
async fn both<F, Fut>(pair: &Pair, ask: F) -> (Seen, Seen)
where
    F: Fn(&str) -> Fut,
    Fut: Future<Output = Seen>,
{
    if pair.known_first {
        let known = ask(&pair.known).await;
        (known, ask(&pair.unknown).await)
    } else {
        let unknown = ask(&pair.unknown).await;
        (ask(&pair.known).await, unknown)
    }
}

/// Registers `email` from `browser` (logged out), confirmed when `confirm`.
async fn known_account(browser: &TestApp, email: &str, confirm: bool) {
    assert_eq!(browser.register(email, PASSWORD).await.status(), Status::Ok);
    if confirm {
        // The outbox hands out 20 mails a run, and the cases before left theirs there:
        // deliver them all, so the confirmation mail is in the mailbox.
        loop {
            let report = browser.state().run_due_jobs().await.unwrap();
            if report.sent + report.retried + report.given_up == 0 {
                break;
            }
        }
        browser.confirm_email(email).await;
    }
}

/// For each case: makes the known account (confirmed or not), then asks `path` about
/// both addresses with `fields` built around the typed address; the answers are alike.
async fn enumeration_property(path: &'static str, extra: &'static [(&'static str, &'static str)]) {
    let t = sqlite().await;
    let app = app(&t).await;
    check(FEW_CASES, (pairs(), any::<bool>()), |(pair, confirmed)| {
        let app = &app;
        async move {
            known_account(app, &pair.known, confirmed).await;
            let (known, unknown) = both(&pair, |address| {
                let typed = pair.typed(address);
                let pair = &pair;
                async move {
                    let mut fields = vec![("email", typed.as_str())];
                    fields.extend_from_slice(extra);
                    ask(app, path, &fields, pair.json).await
                }
            })
            .await;
            alike(&pair, known, unknown)
        }
    });
    drop(app);
    t.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn registering_answers_alike_for_known_and_unknown_addresses() {
    enumeration_property("/users/register", &[("password", PASSWORD)]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forgot_password_answers_alike_for_known_and_unknown_addresses() {
    enumeration_property("/users/reset-password", &[]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_magic_link_request_answers_alike_for_known_and_unknown_addresses() {
    enumeration_property("/users/magic-link", &[]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resending_the_confirmation_answers_alike_for_known_and_unknown_addresses() {
    enumeration_property("/users/confirm/resend", &[]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_json_token_endpoint_answers_alike_for_known_and_unknown_addresses_into_the_lockout() {
    let t = sqlite().await;
    let app = app(&t).await;
    let strategy = (pairs(), any::<bool>(), 1usize..=6, "[ -~]{0,20}");
    check(FEW_CASES, strategy, |(pair, confirmed, tries, password)| {
        let app = &app;
        async move {
            known_account(app, &pair.known, confirmed).await;
            // Never the right one: with it a known account is no secret.
            let password = format!("wrong {password}");
            for _ in 0..tries {
                let (known, unknown) = both(&pair, |address| {
                    let body = json!({ "email": pair.typed(address), "password": password });
                    async move {
                        let r = app
                            .client
                            .post("/users/api/token")
                            .remote(CLIENT)
                            .header(ContentType::JSON)
                            .body(body.to_string())
                            .dispatch()
                            .await;
                        seen(r).await
                    }
                })
                .await;
                alike(&pair, known, unknown)?;
            }
            Ok(())
        }
    });
    drop(app);
    t.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_invitation_looks_alike_to_the_inviter_for_known_and_unknown_addresses() {
    let t = sqlite().await;
    // Each case sends two invitations: more than the default 20 an hour.
    let app = app_with(figment(&t).merge(("sigra.organizations.invitations_per_hour", 1000))).await;
    app.signed_up("owner@example.com").await;
    crate::organizations::create_org(&app, "Acme", "acme").await;
    let others = app.other_browser().await;
    let roles = prop::sample::select(&["member", "admin"][..]);
    check(
        FEW_CASES,
        (pairs(), any::<bool>(), roles),
        |(pair, confirmed, role)| {
            let (app, others) = (&app, &others);
            async move {
                known_account(others, &pair.known, confirmed).await;
                let (known, unknown) = both(&pair, |address| {
                    let typed = pair.typed(address);
                    let json = pair.json;
                    async move {
                        let fields = [("email", typed.as_str()), ("role", role)];
                        let path = "/organizations/acme/invitations";
                        let answer = ask(app, path, &fields, json).await;
                        // The new invitation's id is fresh for either address.
                        let body: Value = serde_json::from_str(&answer.body).unwrap_or_default();
                        match body["invitation"]["id"].as_str() {
                            Some(id) => answer.replace(id, "<invitation id>"),
                            None => answer,
                        }
                    }
                })
                .await;
                alike(&pair, known, unknown)
            }
        },
    );
    drop(others);
    drop(app);
    t.cleanup().await;
}
