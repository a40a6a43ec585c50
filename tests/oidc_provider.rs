//! The test OpenID provider itself (tests/oidc, driven through `common::oidc`), with no
//! Sigra in between: its discovery document, the authorization code flow with PKCE as a
//! client does it by hand (query and form_post answers, refusal), one-time codes, and the
//! ID token changes the social log-in tests ask it for.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use reqwest::Url;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::common::oidc::{Account, OidcProvider, ProviderAnswer, provider, sign_in_at_provider};

const REDIRECT_URI: &str = "http://localhost:8000/users/auth/idp/callback";

fn random_b64(len: usize) -> String {
    let mut bytes = vec![0u8; len];
    getrandom::fill(&mut bytes).unwrap();
    URL_SAFE_NO_PAD.encode(bytes)
}

/// One authorization request's secrets and its URL at the provider.
struct Request {
    url: String,
    state: String,
    nonce: String,
    verifier: String,
}

fn authorization_request(response_mode: Option<&str>) -> Request {
    let state = random_b64(16);
    let nonce = random_b64(16);
    let verifier = random_b64(32);
    let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
    let mut url = Url::parse(&format!("{}/auth", provider().issuer())).unwrap();
    url.query_pairs_mut()
        .append_pair("response_type", "code")
        .append_pair("client_id", OidcProvider::CLIENT_ID)
        .append_pair("redirect_uri", REDIRECT_URI)
        .append_pair("scope", "openid email profile")
        .append_pair("state", &state)
        .append_pair("nonce", &nonce)
        .append_pair("code_challenge", &challenge)
        .append_pair("code_challenge_method", "S256");
    if let Some(mode) = response_mode {
        url.query_pairs_mut().append_pair("response_mode", mode);
    }
    Request {
        url: url.into(),
        state,
        nonce,
        verifier,
    }
}

async fn discovery() -> Value {
    reqwest::get(format!(
        "{}/.well-known/openid-configuration",
        provider().issuer()
    ))
    .await
    .unwrap()
    .json()
    .await
    .unwrap()
}

/// Redeems `code` at the token endpoint (client_secret_basic): the status and JSON body.
async fn redeem(code: &str, verifier: &str) -> (u16, Value) {
    let token_endpoint = discovery().await["token_endpoint"]
        .as_str()
        .unwrap()
        .to_owned();
    let response = reqwest::Client::new()
        .post(token_endpoint)
        .basic_auth(OidcProvider::CLIENT_ID, Some(OidcProvider::CLIENT_SECRET))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", REDIRECT_URI),
            ("code_verifier", verifier),
        ])
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap())
}

/// The (unverified) payload of a compact JWT.
fn jwt_payload(jwt: &str) -> Value {
    let payload = jwt.split('.').nth(1).unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap()
}

/// Whether the provider's published keys verify `jwt`'s signature (checked by `jose`, in
/// node, so the test owes nothing to Sigra's own verifier).
fn signature_valid(jwt: &str) -> bool {
    const SCRIPT: &str = "import * as jose from 'jose';
        const [jwks, token] = process.argv.slice(1);
        try { await jose.compactVerify(token, jose.createRemoteJWKSet(new URL(jwks))); console.log('valid'); }
        catch (e) { console.log('invalid', e.code); }";
    let output = std::process::Command::new("node")
        .current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/oidc"))
        .args(["--input-type=module", "-e", SCRIPT])
        .arg(format!("{}/jwks", provider().issuer()))
        .arg(jwt)
        .output()
        .unwrap();
    let out = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success() && out.trim_start().starts_with(['v', 'i']),
        "checking a signature in node: {}{}",
        out,
        String::from_utf8_lossy(&output.stderr)
    );
    out.trim() == "valid"
}

/// Signs a fresh account in and returns it with the code and the request it answers.
async fn signed_in_code() -> (Account, Request, String) {
    let account = Account::random(true);
    provider().add_account(&account).await;
    let request = authorization_request(None);
    let answer = sign_in_at_provider(&request.url, Some(&account.id), false).await;
    let ProviderAnswer::Redirect(ref url) = answer else {
        panic!("expected a redirect, got {answer:?}");
    };
    assert!(url.starts_with(&format!("{REDIRECT_URI}?")), "{url}");
    assert_eq!(answer.param("state").as_deref(), Some(&*request.state));
    assert_eq!(answer.param("iss").as_deref(), Some(provider().issuer()));
    let code = answer.param("code").unwrap();
    (account, request, code)
}

#[tokio::test]
async fn discovery_names_the_issuer_and_s256() {
    let doc = discovery().await;
    assert_eq!(doc["issuer"], provider().issuer());
    let methods = doc["code_challenge_methods_supported"].as_array().unwrap();
    assert!(methods.contains(&json!("S256")), "{doc}");
    assert!(
        doc["response_modes_supported"]
            .as_array()
            .unwrap()
            .contains(&json!("form_post")),
        "{doc}"
    );
}

#[tokio::test]
async fn code_flow_with_pkce_yields_an_id_token_with_the_account_claims() {
    let (account, request, code) = signed_in_code().await;

    let (status, body) = redeem(&code, &request.verifier).await;
    assert_eq!(status, 200, "{body}");
    let id_token = body["id_token"].as_str().unwrap();
    assert!(signature_valid(id_token));
    let claims = jwt_payload(id_token);
    assert_eq!(claims["iss"], provider().issuer());
    assert_eq!(claims["sub"], json!(account.id));
    assert_eq!(claims["aud"], json!(OidcProvider::CLIENT_ID));
    assert_eq!(claims["nonce"], json!(request.nonce));
    assert_eq!(claims["email"], json!(account.email));
    assert_eq!(claims["email_verified"], json!(true));
    assert_eq!(claims["name"], json!(account.name));
}

#[tokio::test]
async fn an_unverified_email_is_said_so() {
    let account = Account::random(false);
    provider().add_account(&account).await;
    let request = authorization_request(None);
    let answer = sign_in_at_provider(&request.url, Some(&account.id), false).await;
    let (status, body) = redeem(&answer.param("code").unwrap(), &request.verifier).await;
    assert_eq!(status, 200, "{body}");
    let claims = jwt_payload(body["id_token"].as_str().unwrap());
    assert_eq!(claims["email_verified"], json!(false));
}

#[tokio::test]
async fn denying_redirects_with_access_denied() {
    let request = authorization_request(None);
    let answer = sign_in_at_provider(&request.url, None, true).await;
    let ProviderAnswer::Redirect(ref url) = answer else {
        panic!("expected a redirect, got {answer:?}");
    };
    assert!(url.starts_with(&format!("{REDIRECT_URI}?")), "{url}");
    assert_eq!(answer.param("error").as_deref(), Some("access_denied"));
    assert_eq!(answer.param("state").as_deref(), Some(&*request.state));
    assert_eq!(answer.param("code"), None);
}

#[tokio::test]
async fn form_post_answers_with_a_form_of_code_and_state() {
    let account = Account::random(true);
    provider().add_account(&account).await;
    let request = authorization_request(Some("form_post"));
    let answer = sign_in_at_provider(&request.url, Some(&account.id), false).await;
    let ProviderAnswer::FormPost { ref action, .. } = answer else {
        panic!("expected a form_post page, got {answer:?}");
    };
    assert_eq!(action, REDIRECT_URI);
    assert_eq!(answer.param("state").as_deref(), Some(&*request.state));
    assert_eq!(answer.param("iss").as_deref(), Some(provider().issuer()));
    let (status, body) = redeem(&answer.param("code").unwrap(), &request.verifier).await;
    assert_eq!(status, 200, "{body}");

    // A refusal in form_post mode is a form too.
    let request = authorization_request(Some("form_post"));
    let answer = sign_in_at_provider(&request.url, None, true).await;
    assert!(
        matches!(answer, ProviderAnswer::FormPost { .. }),
        "{answer:?}"
    );
    assert_eq!(answer.param("error").as_deref(), Some("access_denied"));
    assert_eq!(answer.param("state").as_deref(), Some(&*request.state));
}

#[tokio::test]
async fn tampering_changes_the_next_id_token_only() {
    let (account, request, code) = signed_in_code().await;
    provider()
        .tamper_next_id_token(
            &account.id,
            json!({ "aud": "someone-else", "email": null }),
            false,
        )
        .await;
    let (status, body) = redeem(&code, &request.verifier).await;
    assert_eq!(status, 200, "{body}");
    let id_token = body["id_token"].as_str().unwrap();
    assert!(
        signature_valid(id_token),
        "signed again with the provider's key"
    );
    let claims = jwt_payload(id_token);
    assert_eq!(claims["aud"], json!("someone-else"));
    assert!(claims.get("email").is_none(), "{claims}");
    assert_eq!(claims["nonce"], json!(request.nonce));

    // Once only: the next sign-in's token is as issued.
    let request = authorization_request(None);
    let answer = sign_in_at_provider(&request.url, Some(&account.id), false).await;
    let code = answer.param("code").unwrap();
    let (status, body) = redeem(&code, &request.verifier).await;
    assert_eq!(status, 200, "{body}");
    let claims = jwt_payload(body["id_token"].as_str().unwrap());
    assert_eq!(claims["aud"], json!(OidcProvider::CLIENT_ID));
    assert_eq!(claims["email"], json!(account.email));
}

#[tokio::test]
async fn a_bad_signature_keeps_header_and_payload() {
    let (account, request, code) = signed_in_code().await;
    provider()
        .tamper_next_id_token(&account.id, json!({}), true)
        .await;
    let (status, body) = redeem(&code, &request.verifier).await;
    assert_eq!(status, 200, "{body}");
    let token = body["id_token"].as_str().unwrap();
    let claims = jwt_payload(token);
    assert_eq!(claims["sub"], json!(account.id));
    let header: Value = serde_json::from_slice(
        &URL_SAFE_NO_PAD
            .decode(token.split('.').next().unwrap())
            .unwrap(),
    )
    .unwrap();
    assert_eq!(header["alg"], json!("RS256"));
    assert!(header["kid"].is_string(), "{header}");
    assert!(!signature_valid(token));
}

#[tokio::test]
async fn a_code_is_redeemed_once() {
    let (_, request, code) = signed_in_code().await;
    let (status, body) = redeem(&code, &request.verifier).await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = redeem(&code, &request.verifier).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["error"], json!("invalid_grant"));
}

#[tokio::test]
async fn a_wrong_verifier_is_refused() {
    let (_, _, code) = signed_in_code().await;
    let (status, body) = redeem(&code, &random_b64(32)).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["error"], json!("invalid_grant"));
}
