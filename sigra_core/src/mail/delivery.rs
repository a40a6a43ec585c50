//! The mailer an application uses: SMTP, the dev mailbox, or both.

use super::{DevMailbox, Mail, MailError, Mailer, SendFuture, SmtpMailer};

/// Sends through SMTP when configured and records in the dev mailbox when enabled.
///
/// With both, a mail is recorded only once SMTP has accepted it, so a mail that fails and
/// is retried shows once in the dev mailbox. With neither, every send fails with
/// [`MailError::NoTransport`] and mail waits in the outbox until a transport is configured.
#[derive(Debug, Clone)]
pub struct Delivery {
    smtp: Option<SmtpMailer>,
    dev: Option<DevMailbox>,
}

impl Delivery {
    /// Delivery through `smtp` and/or into `dev`.
    pub fn new(smtp: Option<SmtpMailer>, dev: Option<DevMailbox>) -> Delivery {
        Delivery { smtp, dev }
    }

    /// The dev mailbox, when enabled (to serve `/dev/mailbox`).
    pub fn dev_mailbox(&self) -> Option<&DevMailbox> {
        self.dev.as_ref()
    }

    /// Whether mail can leave the outbox at all.
    pub fn has_transport(&self) -> bool {
        self.smtp.is_some() || self.dev.is_some()
    }
}

impl Mailer for Delivery {
    fn send<'a>(&'a self, mail: &'a Mail) -> SendFuture<'a> {
        Box::pin(async move {
            if !self.has_transport() {
                return Err(MailError::NoTransport);
            }
            if let Some(smtp) = &self.smtp {
                smtp.send(mail).await?;
            }
            if let Some(dev) = &self.dev {
                dev.record(mail);
            }
            Ok(())
        })
    }
}

#[cfg(test)]
mod tests {
    use std::net::TcpListener;
    use std::sync::Arc;

    use super::*;
    use crate::clock::SystemClock;

    #[tokio::test]
    async fn without_transport_mail_is_refused() {
        let delivery = Delivery::new(None, None);
        let err = delivery
            .send(&crate::mail::tests::sample())
            .await
            .unwrap_err();
        assert!(matches!(err, MailError::NoTransport));
        assert!(delivery.dev_mailbox().is_none());
    }

    #[tokio::test]
    async fn dev_mailbox_only_records() {
        let dev = DevMailbox::new(Arc::new(SystemClock));
        let delivery = Delivery::new(None, Some(dev.clone()));
        delivery.send(&crate::mail::tests::sample()).await.unwrap();
        assert_eq!(dev.list().len(), 1);
    }

    #[tokio::test]
    async fn smtp_failure_is_an_error_and_records_nothing() {
        // A port nobody listens on: bound, read, released.
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let smtp =
            SmtpMailer::from_url(&format!("smtp://127.0.0.1:{port}"), "a@example.com").unwrap();
        let dev = DevMailbox::new(Arc::new(SystemClock));
        let delivery = Delivery::new(Some(smtp), Some(dev.clone()));
        let err = delivery
            .send(&crate::mail::tests::sample())
            .await
            .unwrap_err();
        assert_eq!(err.reason(), "mail_smtp_failed", "{err}");
        assert!(dev.list().is_empty());
    }
}
