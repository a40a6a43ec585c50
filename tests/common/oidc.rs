//! A real OpenID provider for the social log-in tests: `tests/oidc/provider.mjs`
//! (npm `oidc-provider`) in a node process of its own, one per test process, plus a
//! browser stand-in that signs a test account in at it.
//!
//! The provider issues RS256 ID tokens carrying `email`, `email_verified` and `name`,
//! requires PKCE (S256), answers with `query` or `form_post`, and knows the accounts the
//! tests give it ([`OidcProvider::add_account`]). Its default client is
//! [`OidcProvider::CLIENT_ID`] / [`OidcProvider::CLIENT_SECRET`] (`client_secret_basic`),
//! with the redirect URIs `http://localhost:8000/users/auth/{idp,idp2,formpost,trusted}/callback`.

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use reqwest::Url;
use reqwest::redirect::Policy;
use serde_json::{Value, json};

/// How long the node process may take to print its `LISTENING` line.
const STARTUP_TIMEOUT: Duration = Duration::from_secs(30);
/// Redirects [`sign_in_at_provider`] follows before giving up.
const MAX_HOPS: usize = 10;

/// The running provider: a node process that lives as long as this test process (it exits
/// when its stdin, held here, closes).
#[derive(Debug)]
pub struct OidcProvider {
    issuer: String,
    _child: Child,
    _stdin: ChildStdin,
}

/// An account at the provider; its `id` is the ID token's `sub`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    pub id: String,
    pub email: String,
    pub email_verified: bool,
    pub name: String,
}

/// What the provider sends the browser back to the client with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProviderAnswer {
    /// A redirect to the client: the absolute redirect URI with its query
    /// (`code`, `state`, `iss`, or `error`, `error_description`, `state`, `iss`).
    Redirect(String),
    /// `response_mode=form_post`: the auto-submitting page's form, its `action` (the
    /// redirect URI) and its hidden fields, values unescaped.
    FormPost {
        action: String,
        fields: Vec<(String, String)>,
    },
}

impl ProviderAnswer {
    /// The parameters the answer carries: the redirect's query or the form's fields.
    #[allow(dead_code)] // not every test reads every helper
    pub fn params(&self) -> Vec<(String, String)> {
        match self {
            ProviderAnswer::Redirect(url) => Url::parse(url)
                .unwrap()
                .query_pairs()
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect(),
            ProviderAnswer::FormPost { fields, .. } => fields.clone(),
        }
    }

    /// One parameter of [`ProviderAnswer::params`].
    #[allow(dead_code)] // not every test reads every helper
    pub fn param(&self, name: &str) -> Option<String> {
        self.params()
            .into_iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v)
    }
}

/// The shared provider of this test process: started on first use (installing
/// `tests/oidc/node_modules` with `npm ci` if missing), then reused by every test.
pub fn provider() -> &'static OidcProvider {
    static PROVIDER: OnceLock<OidcProvider> = OnceLock::new();
    PROVIDER.get_or_init(OidcProvider::start)
}

fn oidc_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("oidc")
}

/// `npm ci` in `tests/oidc` unless `oidc-provider` is installed already; serialised by
/// the caller's `OnceLock`.
fn install_node_modules(dir: &Path) {
    if dir.join("node_modules/oidc-provider/package.json").exists() {
        return;
    }
    let output = Command::new("npm")
        .args(["ci", "--prefix"])
        .arg(dir)
        .args(["--no-audit", "--no-fund"])
        .output()
        .unwrap_or_else(|e| {
            panic!("running `npm ci` for the OpenID provider (is npm on PATH?): {e}")
        });
    assert!(
        output.status.success(),
        "`npm ci --prefix {}` failed: {}\n{}\n{}",
        dir.display(),
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

impl OidcProvider {
    /// The default client's id.
    pub const CLIENT_ID: &'static str = "sigra-test";
    /// The default client's secret.
    pub const CLIENT_SECRET: &'static str = "sigra-test-secret";

    fn start() -> OidcProvider {
        let dir = oidc_dir();
        install_node_modules(&dir);

        let mut child = Command::new("node")
            .arg(dir.join("provider.mjs"))
            .current_dir(&dir)
            .env_remove("OIDC_CLIENTS")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("starting the OpenID provider (is node on PATH?): {e}"));
        let stdin = child.stdin.take().unwrap();
        let stdout = child.stdout.take().unwrap();
        let mut stderr = child.stderr.take().unwrap();

        // Both pipes are drained for the process's whole life, so it never blocks writing.
        let errors = Arc::new(Mutex::new(String::new()));
        let sink = Arc::clone(&errors);
        let stderr_reader = std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n @ 1..) = stderr.read(&mut buf) {
                let mut all = sink.lock().unwrap();
                if all.len() < 64 * 1024 {
                    all.push_str(&String::from_utf8_lossy(&buf[..n]));
                }
            }
        });
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if let Some(issuer) = line.strip_prefix("LISTENING ") {
                    let _ = tx.send(issuer.trim().to_owned());
                }
            }
        });

        match rx.recv_timeout(STARTUP_TIMEOUT) {
            Ok(issuer) => OidcProvider {
                issuer,
                _child: child,
                _stdin: stdin,
            },
            Err(_) => {
                let _ = child.kill();
                let _ = child.wait();
                // The pipe is closed now: the reader ends once it has the last words.
                let _ = stderr_reader.join();
                panic!(
                    "the OpenID provider did not start within {STARTUP_TIMEOUT:?}; its stderr:\n{}",
                    errors.lock().unwrap()
                );
            }
        }
    }

    /// The issuer, `http://127.0.0.1:<port>`; discovery is at
    /// `<issuer>/.well-known/openid-configuration`.
    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    /// Stores `account` at the provider (replacing one with the same id).
    pub async fn add_account(&self, account: &Account) {
        self.post(
            "/test/accounts",
            json!({
                "id": account.id,
                "email": account.email,
                "email_verified": account.email_verified,
                "name": account.name,
            }),
        )
        .await;
    }

    /// Changes the next ID token the provider issues for `account_id`, once: each key of
    /// `claims` (an object) set to `null` is removed, any other value replaces the claim;
    /// the token is then signed again with the provider's key, or with `badsig` its
    /// signature is corrupted.
    pub async fn tamper_next_id_token(&self, account_id: &str, claims: Value, badsig: bool) {
        self.post(
            "/test/tamper",
            json!({ "account": account_id, "claims": claims, "badsig": badsig }),
        )
        .await;
    }

    async fn post(&self, path: &str, body: Value) {
        // A client per call: a reqwest client's connections belong to the tokio runtime
        // that opened them, and every test has a runtime of its own.
        let response = reqwest::Client::new()
            .post(format!("{}{path}", self.issuer))
            .json(&body)
            .send()
            .await
            .unwrap();
        let status = response.status();
        assert!(
            status.is_success(),
            "POST {path} at the OpenID provider: {status}: {}",
            response.text().await.unwrap_or_default()
        );
    }
}

impl Account {
    /// A fresh account: a unique id, the email `<id>@idp.test`, a name.
    pub fn random(email_verified: bool) -> Account {
        let mut bytes = [0u8; 8];
        getrandom::fill(&mut bytes).unwrap();
        let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        let id = format!("idp-{hex}");
        Account {
            email: format!("{id}@idp.test"),
            name: format!("Test User {hex}"),
            email_verified,
            id,
        }
    }
}

/// Plays the user at the provider: from the authorization URL Sigra redirected to, follows
/// the provider's redirects (in a fresh cookie jar, at most 10 hops), signs `account` in at
/// the interaction page (or, with `deny`, refuses), and returns the provider's answer to
/// the client: a redirect leaving the issuer, or a `form_post` page. With neither an
/// `account` nor `deny` there is nothing to choose, and it panics at the account page.
/// Panics on anything else the provider answers (such as its error page for a bad request).
pub async fn sign_in_at_provider(
    authorization_url: &str,
    account: Option<&str>,
    deny: bool,
) -> ProviderAnswer {
    let issuer = Url::parse(provider().issuer()).unwrap();
    let client = reqwest::Client::builder()
        .cookie_store(true)
        .redirect(Policy::none())
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();

    let mut url = Url::parse(authorization_url).unwrap();
    assert_eq!(
        url.origin(),
        issuer.origin(),
        "{authorization_url} is not at the test provider {issuer}"
    );
    for _ in 0..MAX_HOPS {
        if url.origin() != issuer.origin() {
            return ProviderAnswer::Redirect(url.to_string());
        }
        if url.path().starts_with("/interaction/") && url.query().is_none() {
            if deny {
                url.query_pairs_mut().append_pair("deny", "1");
            } else if let Some(account) = account {
                url.query_pairs_mut().append_pair("account", account);
            }
        }

        let response = client.get(url.clone()).send().await.unwrap();
        let status = response.status();
        if status.is_redirection() {
            let location = response
                .headers()
                .get(reqwest::header::LOCATION)
                .unwrap_or_else(|| panic!("{status} without a Location from {url}"))
                .to_str()
                .unwrap()
                .to_owned();
            url = url.join(&location).unwrap();
            continue;
        }
        let body = response.text().await.unwrap_or_default();
        // form_post answers 200, or 400 when it carries an error.
        if let Some(answer) = parse_form_post(&body) {
            return answer;
        }
        panic!("the OpenID provider answered {status} at {url}:\n{body}");
    }
    panic!("more than {MAX_HOPS} redirects at the OpenID provider, last {url}");
}

/// The `<form method="post" action="...">` of a form_post page and its inputs.
fn parse_form_post(html: &str) -> Option<ProviderAnswer> {
    let start = html.find("<form ")?;
    let form_tag_end = start + html[start..].find('>')?;
    let form_tag = &html[start..=form_tag_end];
    if !attribute(form_tag, "method")?.eq_ignore_ascii_case("post") {
        return None;
    }
    let action = attribute(form_tag, "action")?;
    let form_end = html[form_tag_end..]
        .find("</form>")
        .map_or(html.len(), |i| form_tag_end + i);

    let mut fields = Vec::new();
    let mut rest = &html[form_tag_end..form_end];
    while let Some(i) = rest.find("<input") {
        let tag_end = i + rest[i..].find('>')?;
        let tag = &rest[i..=tag_end];
        if let Some(name) = attribute(tag, "name") {
            fields.push((name, attribute(tag, "value").unwrap_or_default()));
        }
        rest = &rest[tag_end..];
    }
    Some(ProviderAnswer::FormPost { action, fields })
}

/// The unescaped value of `name="..."` in one tag.
fn attribute(tag: &str, name: &str) -> Option<String> {
    let needle = format!(" {name}=\"");
    let start = tag.find(&needle)? + needle.len();
    let len = tag[start..].find('"')?;
    Some(html_unescape(&tag[start..start + len]))
}

fn html_unescape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find('&') {
        out.push_str(&rest[..i]);
        rest = &rest[i..];
        let Some(end) = rest.find(';') else { break };
        let entity = &rest[1..end];
        let decoded = match entity {
            "amp" => Some('&'),
            "lt" => Some('<'),
            "gt" => Some('>'),
            "quot" => Some('"'),
            "apos" => Some('\''),
            _ => entity
                .strip_prefix("#x")
                .or_else(|| entity.strip_prefix("#X"))
                .and_then(|hex| u32::from_str_radix(hex, 16).ok())
                .or_else(|| entity.strip_prefix('#').and_then(|d| d.parse().ok()))
                .and_then(char::from_u32),
        };
        match decoded {
            Some(c) => {
                out.push(c);
                rest = &rest[end + 1..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}
