//! Mail: the [`Mailer`] trait, SMTP delivery, the development mailbox and mail templates.
//!
//! Flows never talk to SMTP themselves. They render a [`Mail`] with [`MailTemplates`] and
//! [`enqueue`] it in the same transaction as the change it reports; the outbox worker
//! ([`crate::jobs::Worker`]) delivers it later through a [`Mailer`], normally a
//! [`Delivery`] (SMTP and/or the [`DevMailbox`]). A rolled-back transaction therefore
//! sends nothing, and an SMTP outage delays mail instead of failing requests.
//!
//! Mails carry single-use tokens, so they are treated as secrets: `Debug` shows only the
//! recipients and subject, bodies are never logged, and the outbox payload is sealed with
//! the [`FieldCipher`].
//!
//! ```no_run
//! # async fn demo(db: sigra_core::store::Db, cipher: sigra_core::crypto::FieldCipher)
//! # -> Result<(), Box<dyn std::error::Error>> {
//! use sigra_core::clock::SystemClock;
//! use sigra_core::mail::{self, MailTemplates};
//!
//! let templates = MailTemplates::new(Some("templates".as_ref()))?.with_app_name("Acme");
//! let mail = templates.render(
//!     "magic_link",
//!     "ada@example.com",
//!     &serde_json::json!({ "url": "https://acme.example/users/magic-link/abc" }),
//! )?;
//! let tx = db.begin().await?;
//! mail::enqueue(&tx, &cipher, &SystemClock, &mail).await?;
//! tx.commit().await?;
//! # Ok(()) }
//! ```

mod delivery;
mod dev;
mod smtp;
mod templates;

pub use delivery::Delivery;
pub use dev::{DEV_MAILBOX_CAPACITY, DevMailbox, StoredMail};
pub use smtp::SmtpMailer;
pub use templates::{KINDS, MailTemplates, default_files};

use std::fmt;
use std::future::Future;
use std::pin::Pin;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::clock::Clock;
use crate::crypto::FieldCipher;
use crate::store::{self, Executor, StoreError};

/// The outbox job kind that carries a [`Mail`].
pub const MAIL_JOB_KIND: &str = "mail";

/// One mail, ready to send.
///
/// `Debug` shows the recipients and subject only: bodies hold single-use tokens.
#[derive(Clone, Serialize, Deserialize, PartialEq)]
pub struct Mail {
    /// Recipients (`ada@example.com` or `Ada <ada@example.com>`).
    pub to: Vec<String>,
    /// Subject line.
    pub subject: String,
    /// Plain-text body (always sent).
    pub text: String,
    /// HTML body, sent as an alternative to the text when present.
    pub html: Option<String>,
}

impl fmt::Debug for Mail {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Mail")
            .field("to", &self.to)
            .field("subject", &self.subject)
            .finish_non_exhaustive()
    }
}

/// The future a [`Mailer`] answers with.
pub type SendFuture<'a> = Pin<Box<dyn Future<Output = Result<(), MailError>> + Send + 'a>>;

/// Something that delivers mail. Kept as `Arc<dyn Mailer>`, so the future is boxed.
pub trait Mailer: Send + Sync + fmt::Debug + 'static {
    /// Delivers `mail`; `Ok` means the mail was handed over for good (an SMTP server
    /// accepted it, or it was recorded), so the outbox will not send it again.
    fn send<'a>(
        &'a self,
        mail: &'a Mail,
    ) -> Pin<Box<dyn Future<Output = Result<(), MailError>> + Send + 'a>>;
}

/// A mail could not be rendered, queued or delivered.
///
/// Messages never contain a mail body or SMTP credentials, so they can be logged and
/// stored as the outbox's `last_error`.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MailError {
    /// Neither SMTP nor the dev mailbox is configured; the mail stays queued.
    #[error("no mail transport is configured (set sigra.mail.smtp_url or enable the dev mailbox)")]
    NoTransport,
    /// The SMTP server could not be reached or refused the mail.
    #[error("SMTP delivery failed: {0}")]
    Smtp(String),
    /// A mail template is missing, invalid or failed to render.
    #[error("mail template error: {0}")]
    Template(String),
    /// A sender or recipient address is not a valid mailbox.
    #[error("invalid mail address: {0}")]
    Address(String),
    /// The outbox could not be written.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A queued mail could not be sealed or unsealed (wrong key, tampered row).
    #[error("queued mail could not be sealed or unsealed")]
    Sealed,
}

impl MailError {
    /// A stable machine-readable reason.
    pub fn reason(&self) -> &'static str {
        match self {
            MailError::NoTransport => "mail_no_transport",
            MailError::Smtp(_) => "mail_smtp_failed",
            MailError::Template(_) => "mail_template_failed",
            MailError::Address(_) => "mail_invalid_address",
            MailError::Store(e) => e.reason(),
            MailError::Sealed => "mail_sealing_failed",
        }
    }
}

/// Queues `mail` in the outbox through `ex`, so it is sent only if `ex`'s transaction
/// commits. Answers the outbox job id.
///
/// The stored payload is `{"sealed": "<FieldCipher value>"}`: the mail as JSON, encrypted
/// with `aad = "sigra_outbox:<job id>"`, so the database never holds a token in clear and a
/// payload copied to another row does not decrypt. Addresses are checked here, so a typo
/// fails the request instead of failing delivery eight times.
pub async fn enqueue(
    ex: &impl Executor,
    cipher: &FieldCipher,
    clock: &dyn Clock,
    mail: &Mail,
) -> Result<Uuid, MailError> {
    enqueue_tagged(ex, cipher, clock, mail, None).await
}

/// [`enqueue`], recording in clear the mail's kind and a keyed digest of its recipient
/// (a [`MailTag`](store::outbox::MailTag)), so the resend throttle can find it and an
/// account's deletion can purge it.
pub async fn enqueue_tagged(
    ex: &impl Executor,
    cipher: &FieldCipher,
    clock: &dyn Clock,
    mail: &Mail,
    tag: Option<store::outbox::MailTag<'_>>,
) -> Result<Uuid, MailError> {
    if mail.to.is_empty() {
        return Err(MailError::Address(
            "a mail needs at least one recipient".into(),
        ));
    }
    for to in &mail.to {
        smtp::parse_mailbox(to)?;
    }
    let now = clock.now();
    let id = store::new_id_at(now);
    let json = serde_json::to_vec(mail).map_err(|_| MailError::Sealed)?;
    let sealed = cipher
        .encrypt(&json, &outbox_aad(id))
        .map_err(|_| MailError::Sealed)?;
    store::outbox::enqueue_tagged(
        ex,
        id,
        MAIL_JOB_KIND,
        serde_json::json!({ "sealed": sealed }),
        now,
        tag,
    )
    .await?;
    Ok(id)
}

/// Opens the payload of outbox job `id` written by [`enqueue`].
pub fn unseal(
    cipher: &FieldCipher,
    id: Uuid,
    payload: &serde_json::Value,
) -> Result<Mail, MailError> {
    let sealed = payload
        .get("sealed")
        .and_then(serde_json::Value::as_str)
        .ok_or(MailError::Sealed)?;
    let json = cipher
        .decrypt(sealed, &outbox_aad(id))
        .map_err(|_| MailError::Sealed)?;
    serde_json::from_slice(&json).map_err(|_| MailError::Sealed)
}

fn outbox_aad(id: Uuid) -> Vec<u8> {
    format!("sigra_outbox:{}", id.hyphenated()).into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::Keys;

    pub(crate) fn sample() -> Mail {
        Mail {
            to: vec!["ada@example.com".into()],
            subject: "Your log-in link".into(),
            text: "Open https://x.test/users/magic-link/SECRET-TOKEN".into(),
            html: Some(
                "<a href=\"https://x.test/users/magic-link/SECRET-TOKEN\">log in</a>".into(),
            ),
        }
    }

    #[test]
    fn debug_shows_recipients_and_subject_but_no_body() {
        let dbg = format!("{:?}", sample());
        assert!(dbg.contains("ada@example.com"), "{dbg}");
        assert!(dbg.contains("Your log-in link"), "{dbg}");
        assert!(!dbg.contains("SECRET-TOKEN"), "{dbg}");
        assert!(!dbg.contains("magic-link"), "{dbg}");
    }

    #[test]
    fn seal_roundtrip_is_bound_to_the_job_id() {
        let cipher = FieldCipher::new(&Keys::new(&[3u8; 32], &[]).unwrap());
        let id = Uuid::from_u128(1);
        let sealed = cipher
            .encrypt(&serde_json::to_vec(&sample()).unwrap(), &outbox_aad(id))
            .unwrap();
        let payload = serde_json::json!({ "sealed": sealed });
        assert_eq!(unseal(&cipher, id, &payload).unwrap(), sample());
        let err = unseal(&cipher, Uuid::from_u128(2), &payload).unwrap_err();
        assert_eq!(err.reason(), "mail_sealing_failed");
        assert!(matches!(
            unseal(&cipher, id, &serde_json::json!({ "to": "x" })),
            Err(MailError::Sealed)
        ));
    }

    #[test]
    fn reasons_are_stable() {
        assert_eq!(MailError::NoTransport.reason(), "mail_no_transport");
        assert_eq!(MailError::Smtp("x".into()).reason(), "mail_smtp_failed");
        assert_eq!(
            MailError::Template("x".into()).reason(),
            "mail_template_failed"
        );
        assert_eq!(
            MailError::Address("x".into()).reason(),
            "mail_invalid_address"
        );
        assert_eq!(MailError::Store(StoreError::Conflict).reason(), "conflict");
    }
}
