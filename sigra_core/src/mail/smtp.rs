//! Delivery over SMTP with lettre (rustls; never boring-tls or OpenSSL).

use std::fmt;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, SystemTime};

use lettre::message::{Mailbox, MultiPart, SinglePart};
use lettre::transport::smtp::AsyncSmtpTransportBuilder;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use super::{Mail, MailError, Mailer, SendFuture};
use crate::clock::{SharedClock, SystemClock};
use crate::crypto::{random_bytes, to_hex};
use crate::secret::SecretString;

/// How long one SMTP step (connect, greeting, each command) may take. Short, so that an
/// outage fails the attempt quickly and the outbox retries later, instead of a worker
/// hanging on a dead server while its lease runs out.
const SMTP_TIMEOUT: Duration = Duration::from_secs(10);

/// Sends mail to an SMTP server.
///
/// The URL follows lettre's scheme: `smtp://host:port` (plain, for a local relay or a
/// test server), `smtp://user:pass@host:587?tls=required` (STARTTLS, refused if the server
/// does not offer it), `smtp://…?tls=opportunistic` (STARTTLS when offered), and
/// `smtps://user:pass@host` (implicit TLS, port 465 by default). TLS is rustls with the
/// Web PKI roots.
///
/// `Debug` shows the scheme, host and port, never the credentials.
///
/// ```
/// use sigra_core::mail::SmtpMailer;
/// let mailer = SmtpMailer::from_url("smtps://me:hunter2@smtp.example.com", "App <no-reply@example.com>")?;
/// let dbg = format!("{mailer:?}");
/// assert!(dbg.contains("smtp.example.com") && !dbg.contains("hunter2"));
/// # Ok::<(), sigra_core::mail::MailError>(())
/// ```
#[derive(Clone)]
pub struct SmtpMailer {
    builder: AsyncSmtpTransportBuilder,
    // Built on the first send: lettre's connection pool spawns a Tokio task when built, so
    // building in `from_url` would panic when called outside a runtime.
    transport: Arc<OnceLock<Transport>>,
    from: Mailbox,
    clock: SharedClock,
    endpoint: String,
    // Kept only to scrub them from error messages, should a server or library echo them.
    secrets: Arc<Vec<SecretString>>,
}

impl SmtpMailer {
    /// A mailer for the server at `url`, sending as `from` (`"App <no-reply@example.com>"`).
    ///
    /// Nothing is contacted yet: a wrong host or password shows on the first send.
    pub fn from_url(url: &str, from: &str) -> Result<SmtpMailer, MailError> {
        let from = parse_mailbox(from)?;
        let secrets = Arc::new(url_secrets(url));
        let builder = AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
            .map_err(|e| MailError::Smtp(scrub(&e.to_string(), &secrets)))?
            .timeout(Some(SMTP_TIMEOUT));
        Ok(SmtpMailer {
            builder,
            transport: Arc::new(OnceLock::new()),
            from,
            clock: Arc::new(SystemClock),
            endpoint: endpoint(url),
            secrets,
        })
    }

    /// The server as `scheme://host:port`, without credentials (what `Debug` shows).
    pub fn server(&self) -> &str {
        &self.endpoint
    }

    /// Takes the `Date` header from `clock` instead of the system clock.
    pub fn with_clock(mut self, clock: SharedClock) -> SmtpMailer {
        self.clock = clock;
        self
    }

    /// Connects to the server and greets it as a send would (TCP, TLS, EHLO and the login
    /// the URL asks for), then checks it answers `NOOP`; sends nothing. The error says
    /// what failed, never the credentials. For health checks (`sigra doctor`).
    pub async fn test_connection(&self) -> Result<(), MailError> {
        let transport = Transport(Some(self.builder.clone().build()));
        let Some(smtp) = &transport.0 else {
            return Err(MailError::Smtp("transport closed".into()));
        };
        match smtp.test_connection().await {
            Ok(true) => Ok(()),
            Ok(false) => Err(MailError::Smtp(
                "the server accepted the connection but did not answer NOOP".into(),
            )),
            Err(e) => Err(MailError::Smtp(scrub(&e.to_string(), &self.secrets))),
        }
    }

    /// A random Message-ID in the sender's domain (lettre's default would publish the
    /// machine's host name). Mail without one scores worse with spam filters.
    fn message_id(&self) -> Option<String> {
        let bytes: [u8; 16] = random_bytes().ok()?;
        Some(format!("<{}@{}>", to_hex(&bytes), self.from.email.domain()))
    }

    fn message(&self, mail: &Mail) -> Result<Message, MailError> {
        if mail.to.is_empty() {
            return Err(MailError::Address(
                "a mail needs at least one recipient".into(),
            ));
        }
        let mut builder = Message::builder()
            .from(self.from.clone())
            .subject(mail.subject.clone())
            .date(SystemTime::from(self.clock.now()))
            .message_id(self.message_id());
        for to in &mail.to {
            builder = builder.to(parse_mailbox(to)?);
        }
        let built = match &mail.html {
            Some(html) => builder.multipart(MultiPart::alternative_plain_html(
                mail.text.clone(),
                html.clone(),
            )),
            None => builder.singlepart(SinglePart::plain(mail.text.clone())),
        };
        built.map_err(|e| MailError::Address(e.to_string()))
    }
}

impl Mailer for SmtpMailer {
    fn send<'a>(&'a self, mail: &'a Mail) -> SendFuture<'a> {
        Box::pin(async move {
            let message = self.message(mail)?;
            let transport = self
                .transport
                .get_or_init(|| Transport(Some(self.builder.clone().build())));
            let Some(transport) = &transport.0 else {
                return Err(MailError::Smtp("transport closed".into()));
            };
            transport
                .send(message)
                .await
                .map(drop)
                .map_err(|e| MailError::Smtp(scrub(&e.to_string(), &self.secrets)))
        })
    }
}

impl fmt::Debug for SmtpMailer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SmtpMailer")
            .field("server", &self.endpoint)
            .field("from", &self.from.to_string())
            .finish_non_exhaustive()
    }
}

/// lettre's pooled transport, dropped safely.
struct Transport(Option<AsyncSmtpTransport<Tokio1Executor>>);

impl Drop for Transport {
    fn drop(&mut self) {
        if let Some(transport) = self.0.take()
            && tokio::runtime::Handle::try_current().is_err()
        {
            // Dropping the pool spawns a task, which panics (and aborts, inside a
            // destructor) without a runtime; that only happens as the process ends, when
            // leaking the idle connections costs nothing.
            std::mem::forget(transport);
        }
    }
}

/// Parses `"ada@example.com"` or `"Ada <ada@example.com>"`; the error does not repeat the
/// address, so it can be logged without personal data.
pub(crate) fn parse_mailbox(address: &str) -> Result<Mailbox, MailError> {
    address
        .trim()
        .parse::<Mailbox>()
        .map_err(|e| MailError::Address(e.to_string()))
}

/// `scheme://host:port` of an SMTP URL: what `Debug` may show.
fn endpoint(url: &str) -> String {
    let (scheme, rest) = url.split_once("://").unwrap_or(("smtp", url));
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let host = authority
        .rsplit_once('@')
        .map_or(authority, |(_, host)| host);
    format!("{scheme}://{host}")
}

/// The user name and password of an SMTP URL, as written and percent-decoded.
fn url_secrets(url: &str) -> Vec<SecretString> {
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let Some((userinfo, _)) = authority.rsplit_once('@') else {
        return Vec::new();
    };
    let mut secrets = Vec::new();
    for part in userinfo.splitn(2, ':') {
        // Very short values would scrub ordinary words out of every error message.
        if part.len() >= 4 {
            secrets.push(SecretString::new(part));
            let decoded = percent_decode(part);
            if decoded != part {
                secrets.push(SecretString::new(decoded));
            }
        }
    }
    secrets
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (bytes[i], hex) {
            (b'%', Some(byte)) => {
                out.push(byte);
                i += 3;
            }
            (byte, _) => {
                out.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn scrub(message: &str, secrets: &[SecretString]) -> String {
    secrets.iter().fold(message.to_owned(), |msg, secret| {
        msg.replace(secret.expose(), "[redacted]")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_and_errors_hide_credentials() {
        let mailer = SmtpMailer::from_url(
            "smtp://mailuser:s3cr%40t-pass@mail.example.com:587?tls=required",
            "App <no-reply@example.com>",
        )
        .unwrap();
        let dbg = format!("{mailer:?}");
        assert!(dbg.contains("smtp://mail.example.com:587"), "{dbg}");
        for leak in ["mailuser", "s3cr", "tls=required"] {
            assert!(!dbg.contains(leak), "{dbg}");
        }
        let secrets = url_secrets("smtps://mailuser:s3cr%40t-pass@host");
        let msg = scrub("auth failed for mailuser with s3cr@t-pass", &secrets);
        assert_eq!(msg, "auth failed for [redacted] with [redacted]");
    }

    #[test]
    fn urls_and_addresses_are_checked() {
        let err = SmtpMailer::from_url("imap://host", "a@example.com").unwrap_err();
        assert_eq!(err.reason(), "mail_smtp_failed");
        let err = SmtpMailer::from_url("smtp://host", "not an address").unwrap_err();
        assert_eq!(err.reason(), "mail_invalid_address");
        assert!(SmtpMailer::from_url("smtps://host", "A <a@example.com>").is_ok());
        assert!(SmtpMailer::from_url("smtp://127.0.0.1:2525", "a@example.com").is_ok());
    }

    #[test]
    fn message_is_multipart_only_with_html() {
        let mailer = SmtpMailer::from_url("smtp://127.0.0.1:2525", "a@example.com").unwrap();
        let mut mail = crate::mail::tests::sample();
        let with_html = String::from_utf8(mailer.message(&mail).unwrap().formatted()).unwrap();
        assert!(with_html.contains("multipart/alternative"), "{with_html}");
        assert!(with_html.contains("text/html"), "{with_html}");
        mail.html = None;
        let text_only = String::from_utf8(mailer.message(&mail).unwrap().formatted()).unwrap();
        assert!(!text_only.contains("multipart"), "{text_only}");
        assert!(text_only.contains("text/plain"), "{text_only}");
        assert!(
            text_only.contains("Subject: Your log-in link"),
            "{text_only}"
        );
        mail.to = vec!["nope".into()];
        assert_eq!(
            mailer.message(&mail).unwrap_err().reason(),
            "mail_invalid_address"
        );
    }

    #[test]
    fn percent_decoding() {
        assert_eq!(percent_decode("a%40b%2"), "a@b%2");
        assert_eq!(percent_decode("%zz%41"), "%zzA");
    }
}
