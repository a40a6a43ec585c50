//! A JSON client of Sigra (DESIGN §4a): `Accept` and `Content-Type: application/json`,
//! the CSRF token from `GET /users/csrf` in `X-CSRF-Token`, answers read as JSON.

use rocket::http::{ContentType, Header, Method, Status};
use serde_json::Value;
use sigra_core::Clock;

use super::app::{CLIENT, TestApp};

/// A JSON answer, read to the end.
#[allow(dead_code)] // not every test reads every field
#[derive(Debug)]
pub struct JsonAnswer {
    pub status: Status,
    pub body: Value,
    /// `Retry-After`, when sent.
    pub retry_after: Option<String>,
    /// `Content-Type`.
    pub content_type: Option<String>,
    /// `WWW-Authenticate`, when sent.
    pub challenge: Option<String>,
    /// Every `Set-Cookie` header.
    pub cookies: Vec<String>,
    /// The body as sent (`body` is `null` when it is not JSON).
    pub text: String,
}

impl JsonAnswer {
    /// The failure's reason (`error`), after checking the §4a shape.
    pub fn reason(&self) -> &str {
        assert!(
            self.body["message"].as_str().is_some_and(|m| !m.is_empty()),
            "a failure has a message: {self:?}"
        );
        self.body["error"]
            .as_str()
            .unwrap_or_else(|| panic!("not a failure: {self:?}"))
    }

    /// Asserts a success (`{"ok": true}`) with `status`.
    pub fn assert_ok(&self, status: Status) -> &Value {
        assert_eq!(self.status, status, "{self:?}");
        assert_eq!(self.body["ok"], true, "{self:?}");
        &self.body
    }

    /// Asserts a failure with `status` and `reason`.
    pub fn assert_refused(&self, status: Status, reason: &str) {
        assert_eq!(self.status, status, "{self:?}");
        assert_eq!(self.reason(), reason, "{self:?}");
    }

    /// The first reason given for `field`.
    pub fn field_reason(&self, field: &str) -> &str {
        self.body["fields"][field][0]["reason"]
            .as_str()
            .unwrap_or_else(|| panic!("no reason for {field}: {self:?}"))
    }
}

/// The code an authenticator app shows for `secret` (base32) at the app's clock.
pub fn totp_code(app: &TestApp, secret: &str) -> String {
    let totp = totp_rs::Builder::new()
        .with_secret(totp_rs::Secret::try_from_base32(secret).unwrap())
        .build()
        .unwrap();
    totp.generate(app.clock.now().unix_timestamp() as u64)
        .to_string()
}

impl TestApp {
    /// `GET /users/csrf` as a script does it.
    pub async fn json_csrf(&self) -> String {
        let answer = self.json_get("/users/csrf").await;
        assert_eq!(answer.status, Status::Ok, "{answer:?}");
        answer.body["token"].as_str().unwrap().to_owned()
    }

    /// A JSON `GET`.
    pub async fn json_get(&self, path: &str) -> JsonAnswer {
        let r = self
            .client
            .get(path.to_owned())
            .remote(CLIENT)
            .header(Header::new("Accept", "application/json"))
            .dispatch()
            .await;
        read(r).await
    }

    /// A JSON request with a fresh token in `X-CSRF-Token`.
    pub async fn json(&self, method: Method, path: &str, body: Value) -> JsonAnswer {
        let token = self.json_csrf().await;
        self.json_with(method, path, body, Some(&token)).await
    }

    /// A JSON request with `token` (or none) in `X-CSRF-Token`.
    pub async fn json_with(
        &self,
        method: Method,
        path: &str,
        body: Value,
        token: Option<&str>,
    ) -> JsonAnswer {
        let mut req = self
            .client
            .req(method, path.to_owned())
            .remote(CLIENT)
            .header(ContentType::JSON)
            .header(Header::new("Accept", "application/json"))
            .body(body.to_string());
        if let Some(token) = token {
            req = req.header(Header::new("X-CSRF-Token", token.to_owned()));
        }
        read(req.dispatch().await).await
    }

    /// A request from an API client: a fresh client (no cookie), `body` as JSON, `bearer`
    /// in `Authorization: Bearer`.
    pub async fn api(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
        bearer: Option<&str>,
    ) -> JsonAnswer {
        let client = self.other_browser().await;
        let mut req = client
            .client
            .req(method, path.to_owned())
            .remote(CLIENT)
            .header(Header::new("Accept", "application/json"));
        if let Some(body) = body {
            req = req.header(ContentType::JSON).body(body.to_string());
        }
        if let Some(token) = bearer {
            req = req.header(Header::new("Authorization", format!("Bearer {token}")));
        }
        read(req.dispatch().await).await
    }
}

async fn read(r: rocket::local::asynchronous::LocalResponse<'_>) -> JsonAnswer {
    let status = r.status();
    let retry_after = r.headers().get_one("Retry-After").map(str::to_owned);
    let challenge = r.headers().get_one("WWW-Authenticate").map(str::to_owned);
    let cookies = r.headers().get("Set-Cookie").map(str::to_owned).collect();
    let content_type = r.content_type().map(|c| c.to_string());
    let text = r.into_string().await.unwrap_or_default();
    // A host route may answer text; its JSON-shaped assertions then fail, showing `text`.
    let body = serde_json::from_str(&text).unwrap_or(Value::Null);
    JsonAnswer {
        status,
        body,
        retry_after,
        content_type,
        challenge,
        cookies,
        text,
    }
}
