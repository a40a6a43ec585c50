//! Passkeys (WebAuthn): registered from the settings page, used to sign in without a
//! password or an email address (usernameless, browser autofill included), as the second
//! factor and for sudo. Config section `sigra.passkeys`.
//!
//! # Algorithm
//!
//! Every ceremony has two halves. `start_*` asks webauthn-rs for the options the browser
//! passes to `navigator.credentials.create()`/`get()` and for the state that checks the
//! answer (the challenge, the credentials allowed). The state never leaves the server: it
//! is serialised, sealed with the field cipher (AES-256-GCM under a key derived from the
//! master secret, the ceremony's purpose and id as associated data) and stored in
//! `sigra_webauthn_ceremonies` under the SHA-256 of a random 256-bit ceremony token;
//! the browser holds the token (the web layer puts it in an HttpOnly cookie). A ceremony
//! lives [`CEREMONY_SECS`] (5 minutes) and is bound to its purpose (`register`,
//! `sign_in`, `mfa`, `sudo`) and, except for sign-in, to the session that started it.
//! `finish_*` uses the ceremony up first, by a conditional update (`used_at IS NULL AND
//! expires_at > now`, right purpose and session) committed on its own: of concurrent
//! finishes exactly one gets the state, and a replayed or failed answer cannot be tried
//! again. webauthn-rs then verifies the answer: the challenge, the origin
//! (`sigra.public_url`, exactly), the relying-party id hash, user presence and user
//! verification (required for every ceremony), the signature with the stored public key.
//!
//! Registration asks for a discoverable credential (resident key required, so sign-in
//! needs no email address), excludes the account's credentials (an authenticator already
//! registered refuses), and stores the credential unless its id is registered to any
//! account (a unique index decides). The AAGUID in the authenticator data names the
//! authenticator model on the settings page (a small built-in table).
//!
//! Sign-in is discoverable: the options allow any credential; the answer names its
//! credential id and user handle (the account id), which must match a stored passkey of
//! that account. It then finishes like a password log-in (`login::complete`: the
//! confirmation requirement, the new-device alert, the session, the audit event), with
//! `sudo_at` set (an interactive authentication) and, with
//! `sigra.passkeys.satisfies_mfa` (default), `mfa_at` set too: a verified passkey is
//! something held and something known or been, two factors in one gesture.
//!
//! Step-up (second factor, sudo) allows the account's own passkeys only, and rotates the
//! session token on success like the code and password paths do.
//!
//! Counters. Every use stores the signature counter, the backup state and the time, by a
//! conditional update: a non-zero counter must be above the stored one. A counter at or
//! below the stored one (webauthn-rs checks it against the stored credential, the update
//! against concurrent uses) means two copies of the key may exist: the use is refused and
//! `passkey.counter_regression` audited. Synced passkeys keep the counter at 0, which is
//! always accepted.
//!
//! "Use as two-step verification". An account owes a second factor when
//! `sigra_users.mfa_enabled_at` is set: by enrolling an authenticator app, or by
//! [`set_mfa`] marking one of its passkeys. Every reader of that column (the log-in's
//! decision, `Authenticated::mfa_pending`, the guards, trusted browsers) therefore treats
//! a passkey second factor like an authenticator app, with no other change. Turning the
//! last such passkey off (or removing it) while no authenticator app is confirmed turns
//! the column off again.
//!
//! # Trade-off
//!
//! State on the server costs a row and a write per ceremony, where a sealed cookie would
//! cost none, but makes every ceremony single-use across instances. Discoverable
//! credentials use a slot on hardware keys (which hold a few dozen) in exchange for
//! sign-in without typing anything. A passkey sign-in passes the second factor by default:
//! an account that also has an authenticator app is not asked for its code after a
//! passkey; set `satisfies_mfa = false` to ask anyway. A counter regression refuses the
//! use but keeps the passkey: the owner (or an administrator) decides whether to remove it.
//!
//! # Failure mode
//!
//! A ceremony is used up before its answer is judged, so a failing database, a wrong
//! origin or a bad signature costs the user a new ceremony (one click), never a second
//! try of the same one. A sealed state that cannot be opened (a master secret dropped
//! from `old_secret_keys` within 5 minutes of a start) fails the flow. With an IP address
//! as `sigra.public_url`'s host WebAuthn cannot work at all: every flow answers
//! [`FlowError::PasskeysUnavailable`].

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::json;
use time::OffsetDateTime;
use uuid::Uuid;
use webauthn_rs::prelude::{
    AuthenticationResult, DiscoverableAuthentication, Passkey, PasskeyAuthentication,
    PasskeyRegistration, PublicKeyCredential, RegisterPublicKeyCredential, Url, Webauthn,
    WebauthnBuilder, WebauthnError,
};

use super::login::{self, LoginOutcome};
use super::sessions::{Authenticated, IssuedSession, rotate_token};
use super::{Auth, Change, FlowError, RequestMeta, Revocation, audit, human_time};
use crate::config::{ConfigError, SigraConfig};
use crate::crypto::{Token, TokenHash};
use crate::form::FieldError;
use crate::store::passkeys::{self as store, NewCeremony, NewPasskey, PasskeyUse};
use crate::store::{Executor, PasskeyRow, StoreError, User, mfa, new_id, users};

/// How long a started ceremony can be finished, in seconds (also the timeout the browser
/// is given).
pub const CEREMONY_SECS: i64 = 300;
/// The longest name a passkey may have, in characters.
pub const MAX_NAME_CHARS: usize = 100;
/// Domain separation of a ceremony state's associated data.
const CEREMONY_AAD: &[u8] = b"sigra/webauthn-ceremony\0";

/// A started ceremony: the token the browser keeps (in an HttpOnly cookie) and the options
/// it passes to the browser's WebAuthn call.
#[derive(Debug)]
#[non_exhaustive]
pub struct Ceremony {
    /// The ceremony token, handed back to the matching `finish_*`. `Debug` redacts it.
    pub token: Token,
    /// The JSON the browser passes to `navigator.credentials.create()` (registration:
    /// `{"publicKey": …}`, webauthn-rs's `CreationChallengeResponse`) or `get()` (sign-in
    /// and step-up: `RequestChallengeResponse`). Binary fields are base64url, as
    /// `PublicKeyCredential.parseCreationOptionsFromJSON` / `parseRequestOptionsFromJSON`
    /// read them. Sign-in options carry `"mediation": "conditional"` for autofill; a
    /// "Sign in with a passkey" button calls `get()` without it.
    pub options: serde_json::Value,
}

/// Which step a passkey takes a signed-in session through.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StepUp {
    /// The second factor, for a session that owes it (`/users/mfa`).
    Mfa,
    /// Re-authentication for sudo mode (`/users/sudo`).
    Sudo,
}

/// What the browser sends to finish a registration.
#[derive(Debug, Clone, Default)]
pub struct RegisterInput {
    /// The owner's label for the passkey (1..=100 characters after trimming).
    pub name: String,
    /// `PublicKeyCredential.toJSON()` of the created credential.
    pub credential: serde_json::Value,
}

/// A passkey as its owner sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct PasskeyView {
    /// Passkey id (for rename, remove and "use as two-step verification").
    pub id: Uuid,
    /// The owner's label.
    pub name: String,
    /// Creation time.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// Last successful use.
    #[serde(with = "time::serde::rfc3339::option")]
    pub last_used_at: Option<OffsetDateTime>,
    /// Whether it may sync between devices (backup eligible); otherwise it is bound to one
    /// device.
    pub synced: bool,
    /// The authenticator's name, when its AAGUID is a well-known one.
    pub authenticator: Option<String>,
    /// Whether it is used as the account's second factor.
    pub used_for_mfa: bool,
}

impl PasskeyView {
    fn of(row: &PasskeyRow) -> PasskeyView {
        PasskeyView {
            id: row.id,
            name: row.name.clone(),
            created_at: row.created_at,
            last_used_at: row.last_used_at,
            synced: row.backup_eligible,
            authenticator: row.aaguid.and_then(authenticator_name).map(str::to_owned),
            used_for_mfa: row.used_for_mfa,
        }
    }
}

/// Why a passkey flow refused. Each has a stable [`reason`](PasskeyError::reason) and a
/// sentence a person reads (`Display`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("{}", self.message())]
#[non_exhaustive]
pub enum PasskeyError {
    /// The answer did not verify: a bad signature, another origin or relying party, no
    /// user verification, an unknown credential, or another account's.
    Invalid,
    /// The ceremony is unknown, used, expired, or belongs to another session.
    CeremonyExpired,
    /// The signature counter did not go up: a copy of the key may be in use.
    CounterRegression,
    /// The credential is registered already (to this account or another).
    Duplicate,
    /// Removing it would leave the account without a way to sign in.
    LastMethod,
    /// The account has no passkey with that id.
    NotFound,
    /// The name is empty, too long or holds control characters.
    NameInvalid,
}

impl PasskeyError {
    /// A stable machine-readable reason.
    pub const fn reason(&self) -> &'static str {
        match self {
            PasskeyError::Invalid => "passkey_invalid",
            PasskeyError::CeremonyExpired => "passkey_ceremony_expired",
            PasskeyError::CounterRegression => "passkey_counter_regression",
            PasskeyError::Duplicate => "passkey_duplicate",
            PasskeyError::LastMethod => "passkey_last_method",
            PasskeyError::NotFound => "passkey_not_found",
            PasskeyError::NameInvalid => "name_invalid",
        }
    }

    /// The sentence a person reads (the same as `Display`, borrowed for as long as the
    /// program runs).
    pub const fn message(&self) -> &'static str {
        match self {
            PasskeyError::Invalid => {
                "That passkey could not be verified. Try again, or use another way in."
            }
            PasskeyError::CeremonyExpired => {
                "The passkey request expired or was already used. Start again."
            }
            PasskeyError::CounterRegression => {
                "This passkey's signature counter went backwards, which can mean it was copied. It was refused; use another way in and review your passkeys."
            }
            PasskeyError::Duplicate => "This passkey is already registered.",
            PasskeyError::LastMethod => {
                "This is the last way to sign in to your account. Set a password or add another passkey before removing it."
            }
            PasskeyError::NotFound => "There is no such passkey on your account.",
            PasskeyError::NameInvalid => "Give the passkey a name of 1 to 100 characters.",
        }
    }

    /// The refusal as a form field's problem (its reason and sentence).
    pub fn field_error(&self) -> FieldError {
        FieldError::new(self.reason(), self.to_string())
    }
}

/// How a passkey sign-in ended.
#[derive(Debug)]
#[non_exhaustive]
pub enum SignInOutcome {
    /// Signed in: set these cookies. `sudo_at` is set; `mfa_at` too with
    /// `sigra.passkeys.satisfies_mfa`.
    Success(Box<IssuedSession>),
    /// Signed in, but `satisfies_mfa` is off and the account has a second factor: the
    /// session is partial until the challenge at `/users/mfa` is passed.
    MfaRequired(Box<IssuedSession>),
    /// Signed in to an account whose deletion is pending: the session may only cancel it
    /// or log out.
    DeletionScheduled {
        /// The new session.
        issued: Box<IssuedSession>,
        /// When the account will be deleted unless cancelled.
        delete_at: OffsetDateTime,
    },
    /// `require_confirmation` is on and the account's email is unconfirmed.
    Unconfirmed {
        /// The address to confirm.
        email: String,
    },
    /// Refused, and audited (`login.passkey_failure` or `passkey.counter_regression`).
    Refused(PasskeyError),
}

/// What a passkey sign-in carries besides the credential.
#[derive(Debug, Clone, Copy, Default)]
pub struct SignInOptions<'a> {
    /// Keep the user signed in on this device (a remember-me cookie; only for a confirmed
    /// email, as with a password).
    pub remember_me: bool,
    /// The session the browser had before, ended by the sign-in.
    pub previous: Option<&'a Authenticated>,
}

/// How a passkey step-up ended.
#[derive(Debug)]
#[non_exhaustive]
pub enum StepUpOutcome {
    /// Passed. `Some`: the session's token was rotated (set `token` as the session cookie;
    /// `remember_token` is `None`: leave the remember-me cookie as it is). `None`: a
    /// second-factor step for a session that owed none; nothing changed.
    Verified(Option<Box<IssuedSession>>),
    /// Refused, and audited.
    Refused(PasskeyError),
}

/// The purposes a ceremony can serve; stored, and part of the sealed state's associated
/// data, so a state cannot be replayed for another purpose.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Purpose {
    Register,
    SignIn,
    Mfa,
    Sudo,
}

impl Purpose {
    fn as_str(self) -> &'static str {
        match self {
            Purpose::Register => "register",
            Purpose::SignIn => "sign_in",
            Purpose::Mfa => "mfa",
            Purpose::Sudo => "sudo",
        }
    }
}

impl From<StepUp> for Purpose {
    fn from(step: StepUp) -> Purpose {
        match step {
            StepUp::Mfa => Purpose::Mfa,
            StepUp::Sudo => Purpose::Sudo,
        }
    }
}

/// The relying party for `config`: id `sigra.passkeys.rp_id` (default: the host of
/// `sigra.public_url`), name `rp_name` (default `app_name`), the one allowed origin
/// `sigra.public_url`, a browser timeout of [`CEREMONY_SECS`]. `None` when the public
/// URL's host is an IP address (WebAuthn needs a domain).
pub(crate) fn relying_party(config: &SigraConfig) -> Result<Option<Webauthn>, ConfigError> {
    let invalid = |key: &str, expected: &str, found: &str| ConfigError::Invalid {
        key: key.to_owned(),
        expected: expected.to_owned(),
        found: found.to_owned(),
    };
    let origin = Url::parse(&config.public_url)
        .map_err(|_| invalid("sigra.public_url", "an origin URL", &config.public_url))?;
    if origin.domain().is_none() {
        log::warn!(
            "passkeys are off: sigra.public_url ({}) has no domain, and WebAuthn accepts none but a domain (localhost counts)",
            config.public_url
        );
        return Ok(None);
    }
    let rp_id = config.passkeys.rp_id(&config.public_url);
    let rp_name = config
        .passkeys
        .rp_name
        .clone()
        .unwrap_or_else(|| config.app_name.clone());
    let timeout = std::time::Duration::from_secs(CEREMONY_SECS.unsigned_abs());
    let webauthn = WebauthnBuilder::new(&rp_id, &origin)
        .map(|b| b.rp_name(&rp_name).timeout(timeout))
        .and_then(WebauthnBuilder::build)
        .map_err(|_| {
            invalid(
                "sigra.passkeys.rp_id",
                "the host of sigra.public_url or a parent domain of it",
                &rp_id,
            )
        })?;
    Ok(Some(webauthn))
}

fn relying(auth: &Auth) -> Result<&Webauthn, FlowError> {
    auth.webauthn
        .as_deref()
        .ok_or(FlowError::PasskeysUnavailable)
}

fn failed(what: &str, error: impl std::fmt::Display) -> FlowError {
    FlowError::Webauthn(format!("{what}: {error}"))
}

fn ceremony_aad(purpose: Purpose, id: Uuid) -> Vec<u8> {
    [
        CEREMONY_AAD,
        purpose.as_str().as_bytes(),
        b"\0",
        id.as_bytes().as_slice(),
    ]
    .concat()
}

/// Seals `state` and stores it as a ceremony of `purpose`; answers the token for the
/// browser. Ceremonies that expired are deleted on the way.
async fn store_ceremony<S: Serialize>(
    auth: &Auth,
    ex: &impl Executor,
    purpose: Purpose,
    current: Option<&Authenticated>,
    state: &S,
) -> Result<Token, FlowError> {
    let now = auth.clock.now();
    store::delete_expired_ceremonies(ex, now).await?;
    let plain = zeroize::Zeroizing::new(
        serde_json::to_vec(state).map_err(|e| failed("ceremony state", e))?,
    );
    let id = new_id(auth.clock.as_ref());
    let sealed = auth.cipher.encrypt(&plain, &ceremony_aad(purpose, id))?;
    let token = Token::generate()?;
    let hash = token.hash();
    store::insert_ceremony(
        ex,
        &NewCeremony {
            id,
            token_hash: hash.as_bytes(),
            purpose: purpose.as_str(),
            user_id: current.map(|c| c.user.id),
            session_id: current.map(|c| c.session.id),
            state: &sealed,
            created_at: now,
            expires_at: now + time::Duration::seconds(CEREMONY_SECS),
        },
    )
    .await?;
    Ok(token)
}

/// Uses up the ceremony `token` stands for, if it serves `purpose`, belongs to the
/// session of `current` (`None`: to none), is unused and live; answers its opened state.
/// The use is committed at once, whatever the caller does next.
async fn take_ceremony<S: DeserializeOwned>(
    auth: &Auth,
    token: &str,
    purpose: Purpose,
    current: Option<&Authenticated>,
) -> Result<Option<S>, FlowError> {
    let Ok(hash) = TokenHash::of_encoded(token) else {
        return Ok(None);
    };
    let now = auth.clock.now();
    let session = current.map(|c| c.session.id);
    let found =
        store::consume_ceremony(&auth.db, hash.as_bytes(), purpose.as_str(), session, now).await?;
    let Some(row) = found else {
        return Ok(None);
    };
    if row.user_id != current.map(|c| c.user.id) {
        return Ok(None);
    }
    let plain = zeroize::Zeroizing::new(
        auth.cipher
            .decrypt(&row.state, &ceremony_aad(purpose, row.id))?,
    );
    let state = serde_json::from_slice(&plain).map_err(|e| failed("ceremony state", e))?;
    Ok(Some(state))
}

/// The trimmed name if it is acceptable.
fn clean_name(name: &str) -> Option<String> {
    crate::form::clean_label(name, MAX_NAME_CHARS).map(str::to_owned)
}

/// Asks for a discoverable credential (a passkey that signs in without a user name).
/// webauthn-rs's `start_passkey_registration` leaves it to the authenticator; its
/// resident-key registration requires attestation from a CA list, which synced passkeys
/// never give. The server cannot verify the request was honoured (the answer does not
/// say), so the options ask for it: browsers and platform authenticators comply.
fn require_resident_key(options: &mut serde_json::Value) {
    if let Some(selection) = options
        .get_mut("publicKey")
        .and_then(|p| p.get_mut("authenticatorSelection"))
        .and_then(serde_json::Value::as_object_mut)
    {
        selection.insert("residentKey".into(), "required".into());
        selection.insert("requireResidentKey".into(), true.into());
        selection.insert("userVerification".into(), "required".into());
    }
}

/// What the authenticator data of a registration tells besides the key.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Facts {
    aaguid: Option<Uuid>,
    backup_eligible: bool,
    backup_state: bool,
    sign_count: u32,
}

/// Reads the authenticator data (WebAuthn §6.1): the flags at byte 32 (BE 0x08, BS 0x10,
/// AT 0x40), the counter at 33..37, the AAGUID at 37..53 when attested credential data is
/// present. An all-zero AAGUID (no model given) is `None`.
fn authenticator_facts(auth_data: &[u8]) -> Option<Facts> {
    let flags = *auth_data.get(32)?;
    let counter: [u8; 4] = auth_data.get(33..37)?.try_into().ok()?;
    let aaguid = if flags & 0x40 != 0 {
        Uuid::from_slice(auth_data.get(37..53)?)
            .ok()
            .filter(|u| !u.is_nil())
    } else {
        None
    };
    Some(Facts {
        aaguid,
        backup_eligible: flags & 0x08 != 0,
        backup_state: flags & 0x10 != 0,
        sign_count: u32::from_be_bytes(counter),
    })
}

/// The authenticator data inside a registration's attestation object (CBOR map, key
/// `authData`).
fn registration_facts(attestation_object: &[u8]) -> Facts {
    use serde_cbor_2::Value;
    let Ok(Value::Map(map)) = serde_cbor_2::from_slice::<Value>(attestation_object) else {
        return Facts::default();
    };
    match map.get(&Value::Text("authData".into())) {
        Some(Value::Bytes(auth_data)) => authenticator_facts(auth_data).unwrap_or_default(),
        _ => Facts::default(),
    }
}

/// Well-known authenticator models by AAGUID (from the community list of passkey
/// providers), to name passkeys on the settings page. Nothing is decided on it: an
/// AAGUID is not attested for synced passkeys.
const AUTHENTICATORS: &[(&str, &str)] = &[
    ("fbfc3007-154e-4ecc-8c0b-6e020557d7bd", "iCloud Keychain"),
    ("dd4ec289-e01d-41c9-bb89-70fa845d4bf2", "iCloud Keychain"),
    (
        "ea9b8d66-4d01-1d21-3ce4-b6b48cb575d4",
        "Google Password Manager",
    ),
    ("adce0002-35bc-c60a-648b-0b25f1f05503", "Chrome on Mac"),
    ("08987058-cadc-4b81-b6e1-30de50dcbe96", "Windows Hello"),
    ("9ddd1817-af5a-4672-a2b9-3e3dd95000a9", "Windows Hello"),
    ("6028b017-b1d4-4c02-b4b3-afcdafc96bb2", "Windows Hello"),
    ("bada5566-a7aa-401f-bd96-45619a55120d", "1Password"),
    ("d548826e-79b4-db40-a3d8-11116f7e8349", "Bitwarden"),
    ("531126d6-e717-415c-9320-3d9aa6981239", "Dashlane"),
    ("53414d53-554e-4700-0000-000000000000", "Samsung Pass"),
    ("cb69481e-8ff7-4039-93ec-0a2729a154a8", "YubiKey 5"),
    ("ee882879-721c-4913-9775-3dfcce97072a", "YubiKey 5"),
    ("fa2b99dc-9e39-4257-8f92-4a30d23c4118", "YubiKey 5"),
    ("2fc0579f-8113-47ea-b116-bb5a8db9202a", "YubiKey 5"),
    ("c5ef55ff-ad9a-4b9f-b580-adebafe026d0", "YubiKey 5"),
    ("73bb0cd4-e502-49b8-9c6f-b59445bf720b", "YubiKey 5"),
];

/// The name of a well-known authenticator model.
///
/// ```
/// use sigra_core::features::passkeys::authenticator_name;
/// let icloud = uuid::uuid!("fbfc3007-154e-4ecc-8c0b-6e020557d7bd");
/// assert_eq!(authenticator_name(icloud), Some("iCloud Keychain"));
/// assert_eq!(authenticator_name(uuid::Uuid::nil()), None);
/// ```
pub fn authenticator_name(aaguid: Uuid) -> Option<&'static str> {
    AUTHENTICATORS
        .iter()
        .find(|(id, _)| Uuid::parse_str(id).is_ok_and(|id| id == aaguid))
        .map(|(_, name)| *name)
}

fn passkey_of(row: &PasskeyRow) -> Result<Passkey, FlowError> {
    serde_json::from_value(row.passkey.0.clone()).map_err(|e| failed("stored passkey", e))
}

/// Starts adding a passkey to the current user's account (the web layer asks for sudo
/// first). The options exclude the account's passkeys, ask for a discoverable credential
/// and user verification.
///
/// ```no_run
/// # async fn demo(auth: &sigra_core::features::Auth, me: &sigra_core::features::sessions::Authenticated) -> Result<(), sigra_core::features::FlowError> {
/// use sigra_core::features::{RequestMeta, passkeys};
/// let ceremony = passkeys::start_registration(auth, me, &RequestMeta::default()).await?;
/// // Set ceremony.token as an HttpOnly cookie; answer ceremony.options to the script.
/// # Ok(()) }
/// ```
pub async fn start_registration(
    auth: &Auth,
    current: &Authenticated,
    meta: &RequestMeta,
) -> Result<Ceremony, FlowError> {
    let webauthn = relying(auth)?;
    let user = &current.user;
    let existing = store::list_for_user(&auth.db, user.id).await?;
    let exclude = existing.into_iter().map(|p| p.credential_id).collect();
    let (ccr, state) = webauthn
        .start_passkey_registration(user.id, &user.email, &user.email, Some(exclude))
        .map_err(|e| failed("start registration", e))?;
    let mut options = serde_json::to_value(&ccr).map_err(|e| failed("options", e))?;
    require_resident_key(&mut options);
    let change = auth.change(meta).await?;
    let token = store_ceremony(auth, change.tx(), Purpose::Register, Some(current), &state).await?;
    change.commit(Revocation::None).await?;
    Ok(Ceremony { token, options })
}

/// Finishes adding a passkey: verifies the browser's answer to the ceremony `ceremony`
/// of this session, stores the passkey named `input.name`, mails the owner
/// (`passkey_added`) and audits `passkey.added`.
pub async fn finish_registration(
    auth: &Auth,
    current: &Authenticated,
    ceremony: &str,
    input: &RegisterInput,
    meta: &RequestMeta,
) -> Result<Result<PasskeyView, PasskeyError>, FlowError> {
    let webauthn = relying(auth)?;
    let user = &current.user;
    // Judged before the ceremony is used up, so a bad name costs no new ceremony.
    let Some(name) = clean_name(&input.name) else {
        return Ok(Err(PasskeyError::NameInvalid));
    };
    let Some(state) =
        take_ceremony::<PasskeyRegistration>(auth, ceremony, Purpose::Register, Some(current))
            .await?
    else {
        return Ok(Err(PasskeyError::CeremonyExpired));
    };
    let Ok(credential) =
        serde_json::from_value::<RegisterPublicKeyCredential>(input.credential.clone())
    else {
        return Ok(Err(PasskeyError::Invalid));
    };
    let passkey = match webauthn.finish_passkey_registration(&credential, &state) {
        Ok(passkey) => passkey,
        Err(WebauthnError::CredentialAlreadyExists) => return Ok(Err(PasskeyError::Duplicate)),
        Err(e) => {
            log::info!("passkey registration of account {} refused: {e}", user.id);
            return Ok(Err(PasskeyError::Invalid));
        }
    };
    let facts = registration_facts(&credential.response.attestation_object);
    let now = auth.clock.now();
    let id = new_id(auth.clock.as_ref());
    let stored = serde_json::to_value(&passkey).map_err(|e| failed("passkey", e))?;
    let mut change = auth.change(meta).await?;
    let inserted = store::insert(
        change.tx(),
        &NewPasskey {
            id,
            user_id: user.id,
            credential_id: passkey.cred_id(),
            name: &name,
            passkey: &stored,
            aaguid: facts.aaguid,
            backup_eligible: facts.backup_eligible,
            backup_state: facts.backup_state,
            sign_count: i64::from(facts.sign_count),
            created_at: now,
        },
    )
    .await;
    match inserted {
        Err(StoreError::Conflict) => {
            change.rollback().await?;
            return Ok(Err(PasskeyError::Duplicate));
        }
        other => other?,
    }
    let authenticator = facts.aaguid.and_then(authenticator_name);
    let context = json!({
        "name": name,
        "authenticator": authenticator,
        "synced": facts.backup_eligible,
        "time": human_time(now),
        "settings_url": auth.route_url("/settings/passkeys"),
    });
    change.mail("passkey_added", &user.email, context).await?;
    let details = json!({
        "passkey_id": id,
        "name": name,
        "aaguid": facts.aaguid,
        "backup_eligible": facts.backup_eligible,
    });
    change.audit(audit::PASSKEY_ADDED, user.id, details).await?;
    change.commit(Revocation::None).await?;
    Ok(Ok(PasskeyView {
        id,
        name,
        created_at: now,
        last_used_at: None,
        synced: facts.backup_eligible,
        authenticator: authenticator.map(str::to_owned),
        used_for_mfa: false,
    }))
}

/// The current user's passkeys, newest first.
pub async fn list(auth: &Auth, current: &Authenticated) -> Result<Vec<PasskeyView>, FlowError> {
    views(auth, current.user.id).await
}

/// The passkeys of `user_id` as [`list`] shows them.
pub(crate) async fn views(auth: &Auth, user_id: Uuid) -> Result<Vec<PasskeyView>, FlowError> {
    let rows = store::list_for_user(&auth.db, user_id).await?;
    Ok(rows.iter().map(PasskeyView::of).collect())
}

/// Renames the current user's passkey `id` (audited `passkey.renamed`).
pub async fn rename(
    auth: &Auth,
    current: &Authenticated,
    id: Uuid,
    name: &str,
    meta: &RequestMeta,
) -> Result<Result<(), PasskeyError>, FlowError> {
    let user_id = current.user.id;
    let Some(name) = clean_name(name) else {
        return Ok(Err(PasskeyError::NameInvalid));
    };
    let change = auth.change(meta).await?;
    let Some(row) = store::find_for_user(change.tx(), user_id, id).await? else {
        change.rollback().await?;
        return Ok(Err(PasskeyError::NotFound));
    };
    store::rename(change.tx(), user_id, id, &name).await?;
    let details = json!({ "passkey_id": id, "from": row.name, "to": name });
    change
        .audit(audit::PASSKEY_RENAMED, user_id, details)
        .await?;
    change.commit(Revocation::None).await?;
    Ok(Ok(()))
}

/// Whether the account still has a second factor: a confirmed authenticator app or a
/// passkey used as one. Read in the caller's transaction.
pub(crate) async fn has_second_factor(
    ex: &impl Executor,
    user_id: Uuid,
) -> Result<bool, FlowError> {
    if store::count_used_for_mfa(ex, user_id).await? > 0 {
        return Ok(true);
    }
    let totp = mfa::find_totp(ex, user_id).await?;
    Ok(totp.is_some_and(|t| t.confirmed_at.is_some()))
}

/// Turns the current user's passkey `id` on or off as a second factor ("use as two-step
/// verification"). The first one turned on gives the account a second factor
/// (`sigra_users.mfa_enabled_at`): every log-in then owes it, by any passkey, an
/// authenticator code or a backup code, and other sessions owe it again (this one counts
/// as having passed it). Turning the last one off, with no authenticator app confirmed,
/// takes the second factor away. Either way trusted browsers are forgotten. The web layer
/// should ask for sudo before turning it off. Audited `passkey.mfa_changed` (and
/// `mfa.enabled` / `mfa.disabled` when the account's second factor changes).
pub async fn set_mfa(
    auth: &Auth,
    current: &Authenticated,
    id: Uuid,
    on: bool,
    meta: &RequestMeta,
) -> Result<Result<(), PasskeyError>, FlowError> {
    let user_id = current.user.id;
    let now = auth.clock.now();
    let mut change = auth.change(meta).await?;
    let tx = change.tx();
    // One change of the account's second factor at a time: the decisions below read what
    // concurrent ones committed.
    users::lock_row(tx, user_id).await?;
    let Some(row) = store::find_for_user(tx, user_id, id).await? else {
        change.rollback().await?;
        return Ok(Err(PasskeyError::NotFound));
    };
    if row.used_for_mfa == on {
        change.rollback().await?;
        return Ok(Ok(()));
    }
    store::set_used_for_mfa(tx, user_id, id, on).await?;
    let Some(user) = users::find_by_id(tx, user_id).await? else {
        change.rollback().await?;
        return Ok(Err(PasskeyError::NotFound));
    };
    let enabled = user.mfa_enabled_at.is_some();
    let (account_mfa, revocation) = if on && !enabled {
        mfa::set_enabled(tx, user_id, Some(now), now).await?;
        crate::store::sessions::mark_mfa_passed(tx, current.session.id, now).await?;
        let details = json!({ "method": "passkey", "passkey_id": id });
        change.audit(audit::MFA_ENABLED, user_id, details).await?;
        // Other sessions now owe the second factor: no instance may keep accepting them.
        (true, Revocation::EndSessions)
    } else if !on && enabled && !has_second_factor(tx, user_id).await? {
        mfa::set_enabled(tx, user_id, None, now).await?;
        let details = json!({ "method": "passkey", "passkey_id": id });
        change.audit(audit::MFA_DISABLED, user_id, details).await?;
        (false, Revocation::EndSessions)
    } else {
        mfa::bump_epoch(tx, user_id).await?;
        (enabled, Revocation::RefreshCache)
    };
    let context = json!({
        "name": row.name,
        "used_for_mfa": on,
        "account_mfa": account_mfa,
        "time": human_time(now),
        "settings_url": auth.route_url("/settings/passkeys"),
    });
    change
        .mail("passkey_mfa_changed", &user.email, context)
        .await?;
    let details = json!({ "passkey_id": id, "used_for_mfa": on, "account_mfa": account_mfa });
    change
        .audit(audit::PASSKEY_MFA_CHANGED, user_id, details)
        .await?;
    change.commit(revocation).await?;
    Ok(Ok(()))
}

/// Removes the current user's passkey `id` (the web layer asks for sudo first), unless it
/// is the account's last way to sign in: no password, no other passkey and no linked
/// provider account. When it was the account's
/// only second factor, the second factor goes with it. Mails the owner
/// (`passkey_removed`) and audits `passkey.removed`.
pub async fn remove(
    auth: &Auth,
    current: &Authenticated,
    id: Uuid,
    meta: &RequestMeta,
) -> Result<Result<(), PasskeyError>, FlowError> {
    let user_id = current.user.id;
    let now = auth.clock.now();
    let mut change = auth.change(meta).await?;
    // Removals are judged on the account's set of ways in: one at a time, so that two
    // concurrent removals of the last two passkeys cannot both pass.
    users::lock_row(change.tx(), user_id).await?;
    let Some(row) = store::find_for_user(change.tx(), user_id, id).await? else {
        change.rollback().await?;
        return Ok(Err(PasskeyError::NotFound));
    };
    let Some(user) = users::find_by_id(change.tx(), user_id).await? else {
        change.rollback().await?;
        return Ok(Err(PasskeyError::NotFound));
    };
    if !super::other_way_in(change.tx(), &user, super::WayIn::Passkey(id)).await? {
        change.rollback().await?;
        return Ok(Err(PasskeyError::LastMethod));
    }
    store::delete(change.tx(), user_id, id).await?;
    let mfa_off = row.used_for_mfa
        && user.mfa_enabled_at.is_some()
        && !has_second_factor(change.tx(), user_id).await?;
    if mfa_off {
        mfa::set_enabled(change.tx(), user_id, None, now).await?;
        let details = json!({ "method": "passkey", "passkey_id": id });
        change.audit(audit::MFA_DISABLED, user_id, details).await?;
    }
    let context = json!({
        "name": row.name,
        "mfa_disabled": mfa_off,
        "time": human_time(now),
        "settings_url": auth.route_url("/settings/passkeys"),
    });
    change.mail("passkey_removed", &user.email, context).await?;
    let details = json!({ "passkey_id": id, "name": row.name, "mfa_disabled": mfa_off });
    change
        .audit(audit::PASSKEY_REMOVED, user_id, details)
        .await?;
    let revocation = if mfa_off {
        Revocation::EndSessions
    } else {
        Revocation::None
    };
    change.commit(revocation).await?;
    Ok(Ok(()))
}

/// Starts a passkey sign-in: discoverable (the browser offers the passkeys it holds for
/// this site; no email address), user verification required. Bound to no session.
pub async fn start_sign_in(auth: &Auth, meta: &RequestMeta) -> Result<Ceremony, FlowError> {
    let webauthn = relying(auth)?;
    let (rcr, state) = webauthn
        .start_discoverable_authentication()
        .map_err(|e| failed("start sign-in", e))?;
    let options = serde_json::to_value(&rcr).map_err(|e| failed("options", e))?;
    let change = auth.change(meta).await?;
    let token = store_ceremony(auth, change.tx(), Purpose::SignIn, None, &state).await?;
    change.commit(Revocation::None).await?;
    Ok(Ceremony { token, options })
}

/// Finishes a passkey sign-in with the browser's answer (`PublicKeyCredential.toJSON()`)
/// to ceremony `ceremony`. Same as [`finish_sign_in_with`] without remember-me and
/// without a previous session to end.
pub async fn finish_sign_in(
    auth: &Auth,
    ceremony: &str,
    credential: &serde_json::Value,
    meta: &RequestMeta,
) -> Result<SignInOutcome, FlowError> {
    let options = SignInOptions::default();
    finish_sign_in_with(auth, ceremony, credential, &options, meta).await
}

/// A use that verified: the passkey, its row and what webauthn-rs answered.
struct Verified {
    row: PasskeyRow,
    passkey: Passkey,
    result: AuthenticationResult,
}

/// How judging an answer ended, before anything is written.
enum Judged {
    Verified(Box<Verified>),
    /// Refused; `target` is the account concerned, when known, `details` what to audit.
    Refused {
        error: PasskeyError,
        target: Option<Uuid>,
        details: serde_json::Value,
    },
}

fn refused(error: PasskeyError, target: Option<Uuid>, why: &str) -> Judged {
    Judged::Refused {
        error,
        target,
        details: json!({ "reason": error.reason(), "why": why }),
    }
}

/// The signature counter an answer presents (authenticator data bytes 33..37).
fn presented_counter(credential: &PublicKeyCredential) -> Option<u32> {
    authenticator_facts(&credential.response.authenticator_data).map(|f| f.sign_count)
}

fn counter_regression(row: &PasskeyRow, presented: Option<u32>) -> Judged {
    Judged::Refused {
        error: PasskeyError::CounterRegression,
        target: Some(row.user_id),
        details: json!({
            "passkey_id": row.id,
            "stored": row.sign_count,
            "presented": presented,
        }),
    }
}

/// Verifies an answer against `verify` (webauthn-rs with the ceremony's state), for the
/// stored passkey the answer names, which must belong to `owner` (when the ceremony knew
/// the account) or to the account of the answer's user handle.
async fn judge(
    auth: &Auth,
    credential: &serde_json::Value,
    owner: Option<Uuid>,
    verify: impl FnOnce(&PublicKeyCredential, &Passkey) -> Result<AuthenticationResult, WebauthnError>,
) -> Result<Judged, FlowError> {
    let Ok(credential) = serde_json::from_value::<PublicKeyCredential>(credential.clone()) else {
        return Ok(refused(PasskeyError::Invalid, owner, "malformed"));
    };
    let Some(row) = store::find_by_credential_id(&auth.db, credential.get_credential_id()).await?
    else {
        return Ok(refused(PasskeyError::Invalid, owner, "unknown credential"));
    };
    let expected = match owner {
        Some(owner) => owner,
        None => match credential.get_user_unique_id().map(Uuid::from_slice) {
            Some(Ok(handle)) => handle,
            _ => return Ok(refused(PasskeyError::Invalid, None, "no user handle")),
        },
    };
    if row.user_id != expected {
        return Ok(refused(
            PasskeyError::Invalid,
            owner,
            "credential of another account",
        ));
    }
    let passkey = passkey_of(&row)?;
    match verify(&credential, &passkey) {
        Ok(result) if result.user_verified() => Ok(Judged::Verified(Box::new(Verified {
            row,
            passkey,
            result,
        }))),
        Ok(_) => Ok(refused(
            PasskeyError::Invalid,
            Some(row.user_id),
            "no user verification",
        )),
        Err(WebauthnError::CredentialPossibleCompromise) => {
            Ok(counter_regression(&row, presented_counter(&credential)))
        }
        Err(e) => {
            let why = e.to_string();
            Ok(refused(PasskeyError::Invalid, Some(row.user_id), &why))
        }
    }
}

/// Records a verified use in `change`: the counter (conditionally: see the module header),
/// the backup state (audited when it changed), the time. Answers the refusal when the
/// counter lost to a concurrent use.
async fn record_use(
    auth: &Auth,
    change: &Change<'_>,
    verified: &mut Verified,
) -> Result<Option<Judged>, FlowError> {
    let Verified {
        row,
        passkey,
        result,
    } = verified;
    passkey.update_credential(result);
    let stored = serde_json::to_value(&*passkey).map_err(|e| failed("passkey", e))?;
    let used = PasskeyUse {
        passkey: &stored,
        sign_count: i64::from(result.counter()),
        backup_eligible: row.backup_eligible || result.backup_eligible(),
        backup_state: result.backup_state(),
        at: auth.clock.now(),
    };
    if store::record_use(change.tx(), row.id, &used).await? != 1 {
        return Ok(Some(counter_regression(row, Some(result.counter()))));
    }
    if result.backup_state() != row.backup_state {
        let details = json!({ "passkey_id": row.id, "backup_state": result.backup_state() });
        change
            .audit(audit::PASSKEY_BACKUP_STATE_CHANGED, row.user_id, details)
            .await?;
    }
    Ok(None)
}

/// Audits a refusal in `change` and commits it.
async fn audit_refusal(
    change: Change<'_>,
    judged: Judged,
    failure: &str,
    actor_is_target: bool,
) -> Result<PasskeyError, FlowError> {
    let Judged::Refused {
        error,
        target,
        details,
    } = judged
    else {
        change.rollback().await?;
        return Ok(PasskeyError::Invalid);
    };
    let action = if error == PasskeyError::CounterRegression {
        audit::PASSKEY_COUNTER_REGRESSION
    } else {
        failure
    };
    let actor = if actor_is_target { target } else { None };
    change.audit_by(action, actor, target, details).await?;
    change.commit(Revocation::None).await?;
    Ok(error)
}

/// Finishes a passkey sign-in: verifies the answer to ceremony `ceremony` (a sign-in
/// ceremony, bound to no session), then starts a session like a password log-in does
/// (confirmation requirement, new-device alert, `options.previous` ended) with `sudo_at`
/// set and, with `sigra.passkeys.satisfies_mfa`, `mfa_at` set. A locked account (too many
/// wrong passwords) is unlocked by it, as by a magic link: the lock guards the password.
/// Audited `login.passkey` (refusals `login.passkey_failure`, counter regressions
/// `passkey.counter_regression`).
pub async fn finish_sign_in_with(
    auth: &Auth,
    ceremony: &str,
    credential: &serde_json::Value,
    options: &SignInOptions<'_>,
    meta: &RequestMeta,
) -> Result<SignInOutcome, FlowError> {
    let webauthn = relying(auth)?;
    let state =
        take_ceremony::<DiscoverableAuthentication>(auth, ceremony, Purpose::SignIn, None).await?;
    let judged = match state {
        None => refused(PasskeyError::CeremonyExpired, None, "ceremony"),
        Some(state) => {
            judge(auth, credential, None, |credential, passkey| {
                webauthn.finish_discoverable_authentication_v2(credential, state, passkey)
            })
            .await?
        }
    };
    let change = auth.change(meta).await?;
    let mut verified = match judged {
        Judged::Verified(verified) => verified,
        refusal => {
            let failure = audit::LOGIN_PASSKEY_FAILURE;
            let error = audit_refusal(change, refusal, failure, false).await?;
            return Ok(SignInOutcome::Refused(error));
        }
    };
    let user = users::find_by_id(change.tx(), verified.row.user_id).await?;
    let Some(user) = user.filter(|u| u.deleted_at.is_none()) else {
        let refusal = refused(PasskeyError::Invalid, None, "no account");
        let failure = audit::LOGIN_PASSKEY_FAILURE;
        let error = audit_refusal(change, refusal, failure, false).await?;
        return Ok(SignInOutcome::Refused(error));
    };
    if let Some(refusal) = record_use(auth, &change, &mut verified).await? {
        let failure = audit::LOGIN_PASSKEY_FAILURE;
        let error = audit_refusal(change, refusal, failure, false).await?;
        return Ok(SignInOutcome::Refused(error));
    }
    complete_sign_in(auth, change, &user, &verified.row, options).await
}

/// Starts the session of a verified passkey sign-in like any log-in
/// ([`login::complete`]: confirmation, lockout lifted, new-device alert, previous session
/// ended), with the second factor passed when `sigra.passkeys.satisfies_mfa` is on: user
/// verification is required of every passkey ceremony (webauthn-rs refuses an answer
/// without it), so the passkey proved two factors.
async fn complete_sign_in(
    auth: &Auth,
    change: Change<'_>,
    user: &User,
    row: &PasskeyRow,
    options: &SignInOptions<'_>,
) -> Result<SignInOutcome, FlowError> {
    let browser = login::Browser {
        remember_me: options.remember_me,
        previous: options.previous,
        trusted_browser: None,
    };
    let mut details = serde_json::Map::new();
    details.insert("passkey_id".into(), json!(row.id));
    let proof = login::Proof {
        second_factor: auth.config.passkeys.satisfies_mfa.then_some("passkey"),
        details,
    };
    let action = audit::LOGIN_PASSKEY;
    let outcome =
        login::complete(auth, change, user, browser, action, Revocation::None, proof).await?;
    Ok(match outcome {
        LoginOutcome::Success(issued) => SignInOutcome::Success(issued),
        LoginOutcome::MfaRequired(issued) => SignInOutcome::MfaRequired(issued),
        LoginOutcome::DeletionScheduled { issued, delete_at } => {
            SignInOutcome::DeletionScheduled { issued, delete_at }
        }
        LoginOutcome::Unconfirmed { email } => SignInOutcome::Unconfirmed { email },
        // `complete` answers none other; a refusal if it ever does.
        _ => SignInOutcome::Refused(PasskeyError::Invalid),
    })
}

/// Starts a step-up of the current session with a passkey: the second factor
/// ([`StepUp::Mfa`]) or sudo ([`StepUp::Sudo`]). Only the account's passkeys are allowed,
/// user verification required; bound to this session.
pub async fn start_step_up(
    auth: &Auth,
    current: &Authenticated,
    step: StepUp,
    meta: &RequestMeta,
) -> Result<Ceremony, FlowError> {
    let webauthn = relying(auth)?;
    let rows = store::list_for_user(&auth.db, current.user.id).await?;
    let passkeys = rows.iter().map(passkey_of).collect::<Result<Vec<_>, _>>()?;
    // With no passkey the options allow none: the ceremony can only fail.
    let (rcr, state) = webauthn
        .start_passkey_authentication(&passkeys)
        .map_err(|e| failed("start step-up", e))?;
    let options = serde_json::to_value(&rcr).map_err(|e| failed("options", e))?;
    let change = auth.change(meta).await?;
    let purpose = Purpose::from(step);
    let token = store_ceremony(auth, change.tx(), purpose, Some(current), &state).await?;
    change.commit(Revocation::None).await?;
    Ok(Ceremony { token, options })
}

/// Finishes a step-up: verifies the answer to ceremony `ceremony` (of this `step` and this
/// session), made with one of the account's passkeys. [`StepUp::Mfa`] then passes the
/// second factor like an authenticator code (`mfa_at`, audited `mfa.success` with method
/// `passkey`); [`StepUp::Sudo`] opens the sudo window like a password (`sudo_at`, audited
/// `sudo` with method `passkey`). Both rotate the session token. Refusals are audited
/// `mfa.failure` / `sudo.failure` (counter regressions `passkey.counter_regression`).
pub async fn finish_step_up(
    auth: &Auth,
    current: &Authenticated,
    step: StepUp,
    ceremony: &str,
    credential: &serde_json::Value,
    meta: &RequestMeta,
) -> Result<StepUpOutcome, FlowError> {
    let webauthn = relying(auth)?;
    let user_id = current.user.id;
    let purpose = Purpose::from(step);
    let state =
        take_ceremony::<PasskeyAuthentication>(auth, ceremony, purpose, Some(current)).await?;
    let judged = match state {
        None => refused(PasskeyError::CeremonyExpired, Some(user_id), "ceremony"),
        Some(state) => {
            judge(auth, credential, Some(user_id), |credential, _| {
                webauthn.finish_passkey_authentication(credential, &state)
            })
            .await?
        }
    };
    let failure = match step {
        StepUp::Mfa => audit::MFA_FAILURE,
        StepUp::Sudo => audit::SUDO_FAILURE,
    };
    let change = auth.change(meta).await?;
    let mut verified = match judged {
        Judged::Verified(verified) => verified,
        refusal => {
            let error = audit_refusal(change, refusal, failure, true).await?;
            return Ok(StepUpOutcome::Refused(error));
        }
    };
    if let Some(refusal) = record_use(auth, &change, &mut verified).await? {
        let error = audit_refusal(change, refusal, failure, true).await?;
        return Ok(StepUpOutcome::Refused(error));
    }
    let now = auth.clock.now();
    let tx = change.tx();
    let passkey_id = verified.row.id;
    let mut session = current.session.clone();
    let (token, revocation) = match step {
        StepUp::Mfa if !current.mfa_pending() => {
            change.commit(Revocation::None).await?;
            return Ok(StepUpOutcome::Verified(None));
        }
        StepUp::Mfa => {
            mfa::reset_failures(tx, user_id).await?;
            let token = rotate_token(tx, &current.session, None, Some(now)).await?;
            session.mfa_at = Some(now);
            let details =
                json!({ "method": "passkey", "passkey_id": passkey_id, "trusted_browser": false });
            change.audit(audit::MFA_SUCCESS, user_id, details).await?;
            (token, Revocation::RefreshCache)
        }
        StepUp::Sudo => {
            let token = rotate_token(tx, &current.session, Some(now), None).await?;
            session.sudo_at = Some(now);
            let details = json!({ "method": "passkey", "passkey_id": passkey_id });
            change.audit(audit::SUDO, user_id, details).await?;
            // The old session token is dead.
            (token, Revocation::EndSessions)
        }
    };
    change.commit(revocation).await?;
    Ok(StepUpOutcome::Verified(Some(Box::new(IssuedSession {
        token,
        remember_token: None,
        remember_expires_at: None,
        session,
    }))))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn authenticator_data_flags_counter_and_aaguid() {
        let aaguid = uuid::uuid!("ea9b8d66-4d01-1d21-3ce4-b6b48cb575d4");
        let mut data = vec![0u8; 32];
        data.push(0x40 | 0x08 | 0x10 | 0x05);
        data.extend_from_slice(&7u32.to_be_bytes());
        data.extend_from_slice(aaguid.as_bytes());
        let facts = authenticator_facts(&data).unwrap();
        assert_eq!(facts.aaguid, Some(aaguid));
        assert!(facts.backup_eligible && facts.backup_state);
        assert_eq!(facts.sign_count, 7);
        assert_eq!(
            facts.aaguid.and_then(authenticator_name),
            Some("Google Password Manager")
        );

        // No attested credential data: no AAGUID; a nil AAGUID is none either.
        data[32] = 0x05;
        assert_eq!(authenticator_facts(&data).unwrap().aaguid, None);
        data[32] = 0x45;
        data[37..53].copy_from_slice(&[0; 16]);
        let facts = authenticator_facts(&data).unwrap();
        assert_eq!(facts.aaguid, None);
        assert!(!facts.backup_eligible && !facts.backup_state);
        assert!(authenticator_facts(&data[..36]).is_none());
    }

    #[test]
    fn the_authenticator_table_parses_and_names_the_big_providers() {
        for (id, _) in AUTHENTICATORS {
            assert!(Uuid::parse_str(id).is_ok(), "{id}");
        }
        for name in [
            "iCloud Keychain",
            "Google Password Manager",
            "Windows Hello",
            "1Password",
            "Bitwarden",
            "Chrome on Mac",
            "YubiKey 5",
        ] {
            assert!(AUTHENTICATORS.iter().any(|(_, n)| *n == name), "{name}");
        }
    }

    #[test]
    fn names_are_trimmed_and_bounded() {
        assert_eq!(clean_name("  laptop "), Some("laptop".into()));
        assert_eq!(clean_name("   "), None);
        assert_eq!(clean_name("a\u{7}b"), None);
        assert!(clean_name(&"x".repeat(100)).is_some());
        assert_eq!(clean_name(&"x".repeat(101)), None);
    }

    #[test]
    fn reasons_are_stable() {
        let all = [
            (PasskeyError::Invalid, "passkey_invalid"),
            (PasskeyError::CeremonyExpired, "passkey_ceremony_expired"),
            (
                PasskeyError::CounterRegression,
                "passkey_counter_regression",
            ),
            (PasskeyError::Duplicate, "passkey_duplicate"),
            (PasskeyError::LastMethod, "passkey_last_method"),
            (PasskeyError::NotFound, "passkey_not_found"),
            (PasskeyError::NameInvalid, "name_invalid"),
        ];
        for (error, reason) in all {
            assert_eq!(error.reason(), reason);
            assert!(error.to_string().ends_with('.'), "{error:?}");
        }
    }

    #[test]
    fn registration_options_ask_for_a_discoverable_credential() {
        let mut options = json!({ "publicKey": { "authenticatorSelection": {
            "residentKey": "discouraged", "requireResidentKey": false, "userVerification": "required"
        }}});
        require_resident_key(&mut options);
        let selection = &options["publicKey"]["authenticatorSelection"];
        assert_eq!(selection["residentKey"], "required");
        assert_eq!(selection["requireResidentKey"], true);
        assert_eq!(selection["userVerification"], "required");
    }
}
