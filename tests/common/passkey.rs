//! A software passkey authenticator for the passkey tests: webauthn-authenticator-rs's
//! `SoftPasskey` (ECDSA P-256, user verification asserted) behind the client half of the
//! WebAuthn API (`WebauthnAuthenticator`: client data with the origin, the origin and
//! relying-party id checks a browser does), answering the JSON options Sigra's core hands
//! out with the JSON a browser's `PublicKeyCredential.toJSON()` would send.
//!
//! `SoftPasskey` keeps every key it makes, but it does not speak the two parts of CTAP a
//! discoverable credential needs, so this wrapper plays them, as a platform authenticator
//! does: it remembers each credential's user handle (making a resident key), honours
//! `excludeCredentials` (an authenticator refuses to register twice for one account),
//! and for a discoverable `get()` (empty `allowCredentials`) picks one of its credentials
//! and returns its user handle. Neither is covered by a signature, so the server verifies
//! the same bytes a real authenticator would produce.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};
use webauthn_authenticator_rs::WebauthnAuthenticator;
use webauthn_authenticator_rs::prelude::{
    CreationChallengeResponse, RequestChallengeResponse, Url, WebauthnCError,
};
use webauthn_authenticator_rs::softpasskey::SoftPasskey;

/// The origin the test app's `sigra.public_url` names (WebAuthn needs a domain, and
/// `localhost` is one browsers accept over plain HTTP).
pub const ORIGIN: &str = "http://localhost:8000";

/// One passkey the authenticator holds.
#[derive(Debug, Clone)]
pub struct Held {
    pub credential_id: Vec<u8>,
    pub user_handle: Vec<u8>,
}

/// A software authenticator with user verification and resident keys.
pub struct SoftAuthenticator {
    inner: SoftPasskey,
    held: Vec<Held>,
    origin: Url,
}

impl SoftAuthenticator {
    /// An empty authenticator in a browser on [`ORIGIN`].
    pub fn new() -> SoftAuthenticator {
        SoftAuthenticator {
            // `true`: it sets the user-verified flag (a passkey's PIN or biometric check).
            inner: SoftPasskey::new(true),
            held: Vec::new(),
            origin: Url::parse(ORIGIN).unwrap(),
        }
    }

    /// The browser the authenticator answers from moves to `origin` (same relying party,
    /// another site: what a phishing page on another port would be).
    pub fn answer_from(&mut self, origin: &str) -> &mut SoftAuthenticator {
        self.origin = Url::parse(origin).unwrap();
        self
    }

    /// The credentials it holds, oldest first.
    pub fn held(&self) -> &[Held] {
        &self.held
    }

    /// Answers registration options (`navigator.credentials.create()`): the new
    /// credential as JSON, or the authenticator's refusal.
    pub fn register(&mut self, options: &Value) -> Result<Value, WebauthnCError> {
        let mut options = options.clone();
        let public_key = &mut options["publicKey"];
        let excluded: Vec<Vec<u8>> = public_key["excludeCredentials"]
            .as_array()
            .map(|list| list.iter().map(|c| decode(&c["id"])).collect())
            .unwrap_or_default();
        if self
            .held
            .iter()
            .any(|h| excluded.contains(&h.credential_id))
        {
            // The browser's InvalidStateError: this authenticator is registered already.
            return Err(WebauthnCError::InvalidRegistration);
        }
        let selection = &mut public_key["authenticatorSelection"];
        assert_eq!(
            selection["residentKey"], "required",
            "discoverable credential"
        );
        assert_eq!(selection["userVerification"], "required");
        // The wrapper keeps the credential resident itself (see the module header).
        selection["requireResidentKey"] = json!(false);
        let user_handle = decode(&public_key["user"]["id"]);
        let options: CreationChallengeResponse = serde_json::from_value(options).unwrap();
        let credential = self.inner.do_registration(self.origin.clone(), options)?;
        self.held.push(Held {
            credential_id: credential.raw_id.clone(),
            user_handle,
        });
        Ok(serde_json::to_value(&credential).unwrap())
    }

    /// Answers request options (`navigator.credentials.get()`) with `credential`, or
    /// for a discoverable request without one, with the newest credential held. The
    /// answer carries the credential's user handle, as a resident key's does.
    pub fn assert(&mut self, options: &Value, credential: Option<&[u8]>) -> Value {
        self.try_assert(options, credential).unwrap()
    }

    /// [`assert`](Self::assert), or the authenticator's refusal.
    pub fn try_assert(
        &mut self,
        options: &Value,
        credential: Option<&[u8]>,
    ) -> Result<Value, WebauthnCError> {
        let mut options = options.clone();
        let public_key = &mut options["publicKey"];
        assert_eq!(public_key["userVerification"], "required");
        let chosen = match credential {
            Some(id) => id.to_vec(),
            None => {
                let allowed: Vec<Vec<u8>> = public_key["allowCredentials"]
                    .as_array()
                    .map(|list| list.iter().map(|c| decode(&c["id"])).collect())
                    .unwrap_or_default();
                self.held
                    .iter()
                    .rev()
                    .find(|h| allowed.is_empty() || allowed.contains(&h.credential_id))
                    .map(|h| h.credential_id.clone())
                    .ok_or(WebauthnCError::NoSelectedToken)?
            }
        };
        // SoftPasskey signs with a credential the request allows: name the chosen one.
        public_key["allowCredentials"] =
            json!([{ "type": "public-key", "id": URL_SAFE_NO_PAD.encode(&chosen) }]);
        let options: RequestChallengeResponse = serde_json::from_value(options).unwrap();
        let answer = self.inner.do_authentication(self.origin.clone(), options)?;
        let mut answer = serde_json::to_value(&answer).unwrap();
        if let Some(held) = self.held.iter().find(|h| h.credential_id == chosen) {
            answer["response"]["userHandle"] = json!(URL_SAFE_NO_PAD.encode(&held.user_handle));
        }
        Ok(answer)
    }
}

fn decode(value: &Value) -> Vec<u8> {
    URL_SAFE_NO_PAD
        .decode(value.as_str().expect("a base64url string"))
        .expect("base64url")
}
