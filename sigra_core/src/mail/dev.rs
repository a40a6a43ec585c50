//! The development mailbox: mail kept in memory and shown at `/dev/mailbox`.

use std::collections::VecDeque;
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard};

use serde::Serialize;
use time::OffsetDateTime;

use super::{Mail, Mailer, SendFuture};
use crate::clock::SharedClock;

/// How many mails the dev mailbox keeps; older ones are dropped first.
pub const DEV_MAILBOX_CAPACITY: usize = 200;

/// A mail recorded by the [`DevMailbox`].
///
/// Serializes as one entry of `/dev/mailbox/json`:
/// `{"id", "to": […], "subject", "text", "html", "sent_at"}` with `sent_at` in RFC 3339.
/// `Debug` leaves out the bodies, which hold single-use tokens.
#[derive(Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct StoredMail {
    /// Increases with every recorded mail, starting at 1.
    pub id: u64,
    /// Recipients.
    pub to: Vec<String>,
    /// Subject line.
    pub subject: String,
    /// Plain-text body.
    pub text: String,
    /// HTML body, if any.
    pub html: Option<String>,
    /// When it was recorded.
    #[serde(with = "time::serde::rfc3339")]
    pub sent_at: OffsetDateTime,
}

impl fmt::Debug for StoredMail {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StoredMail")
            .field("id", &self.id)
            .field("to", &self.to)
            .field("subject", &self.subject)
            .field("sent_at", &self.sent_at)
            .finish_non_exhaustive()
    }
}

/// Records mail in memory instead of sending it, for development and tests.
///
/// Clones share one mailbox. It keeps the newest [`DEV_MAILBOX_CAPACITY`] mails.
///
/// ```
/// use std::sync::Arc;
/// use sigra_core::clock::SystemClock;
/// use sigra_core::mail::DevMailbox;
///
/// let mailbox = DevMailbox::new(Arc::new(SystemClock));
/// assert!(mailbox.list().is_empty());
/// ```
#[derive(Clone)]
pub struct DevMailbox {
    inner: Arc<Mutex<Inner>>,
    clock: SharedClock,
}

#[derive(Default)]
struct Inner {
    last_id: u64,
    // Oldest first; the back is the newest.
    mails: VecDeque<StoredMail>,
}

impl DevMailbox {
    /// An empty mailbox that stamps mails with `clock`.
    pub fn new(clock: SharedClock) -> DevMailbox {
        DevMailbox {
            inner: Arc::new(Mutex::new(Inner::default())),
            clock,
        }
    }

    /// Keeps `mail`, dropping the oldest one when full; answers its id.
    pub fn record(&self, mail: &Mail) -> u64 {
        let sent_at = self.clock.now();
        let mut inner = self.lock();
        inner.last_id += 1;
        let id = inner.last_id;
        inner.mails.push_back(StoredMail {
            id,
            to: mail.to.clone(),
            subject: mail.subject.clone(),
            text: mail.text.clone(),
            html: mail.html.clone(),
            sent_at,
        });
        while inner.mails.len() > DEV_MAILBOX_CAPACITY {
            inner.mails.pop_front();
        }
        id
    }

    /// Every kept mail, newest first.
    pub fn list(&self) -> Vec<StoredMail> {
        self.lock().mails.iter().rev().cloned().collect()
    }

    /// The kept mail with `id`, if it has not been dropped.
    pub fn get(&self, id: u64) -> Option<StoredMail> {
        self.lock().mails.iter().find(|m| m.id == id).cloned()
    }

    /// Drops every kept mail (ids keep increasing).
    pub fn clear(&self) {
        self.lock().mails.clear();
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panic elsewhere while holding the lock cannot leave the queue inconsistent:
        // every critical section is a plain push, pop or read.
        self.inner
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl Mailer for DevMailbox {
    fn send<'a>(&'a self, mail: &'a Mail) -> SendFuture<'a> {
        self.record(mail);
        Box::pin(async { Ok(()) })
    }
}

impl fmt::Debug for DevMailbox {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DevMailbox")
            .field("kept", &self.lock().mails.len())
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::FixedClock;
    use time::macros::datetime;

    fn mail(n: usize) -> Mail {
        Mail {
            to: vec![format!("u{n}@example.com")],
            subject: format!("mail {n}"),
            text: format!("body {n}"),
            html: None,
        }
    }

    #[tokio::test]
    async fn newest_first_with_increasing_ids() {
        let clock = FixedClock::new(datetime!(2026-04-01 08:00 UTC));
        let mailbox = DevMailbox::new(Arc::new(clock.clone()));
        mailbox.send(&mail(1)).await.unwrap();
        clock.advance(time::Duration::seconds(5));
        mailbox.clone().send(&mail(2)).await.unwrap();
        let list = mailbox.list();
        assert_eq!(list.len(), 2);
        assert_eq!((list[0].id, list[0].subject.as_str()), (2, "mail 2"));
        assert_eq!((list[1].id, list[1].subject.as_str()), (1, "mail 1"));
        assert_eq!(list[0].sent_at, datetime!(2026-04-01 08:00:05 UTC));
        assert_eq!(mailbox.get(1).unwrap().text, "body 1");
    }

    #[test]
    fn keeps_only_the_newest() {
        let mailbox = DevMailbox::new(Arc::new(FixedClock::new(datetime!(2026-04-01 08:00 UTC))));
        for n in 1..=DEV_MAILBOX_CAPACITY + 5 {
            mailbox.record(&mail(n));
        }
        let list = mailbox.list();
        assert_eq!(list.len(), DEV_MAILBOX_CAPACITY);
        assert_eq!(list[0].id, (DEV_MAILBOX_CAPACITY + 5) as u64);
        assert_eq!(list.last().unwrap().id, 6);
        assert!(mailbox.get(5).is_none());
        mailbox.clear();
        assert!(mailbox.list().is_empty());
        assert_eq!(mailbox.record(&mail(0)), (DEV_MAILBOX_CAPACITY + 6) as u64);
    }

    #[test]
    fn json_matches_the_dev_mailbox_contract() {
        let mailbox = DevMailbox::new(Arc::new(FixedClock::new(datetime!(2026-04-01 08:00 UTC))));
        let mut m = mail(1);
        m.html = Some("<p>hi</p>".into());
        mailbox.record(&m);
        let json = serde_json::to_value(mailbox.list()).unwrap();
        assert_eq!(
            json,
            serde_json::json!([{
                "id": 1,
                "to": ["u1@example.com"],
                "subject": "mail 1",
                "text": "body 1",
                "html": "<p>hi</p>",
                "sent_at": "2026-04-01T08:00:00Z",
            }])
        );
        let dbg = format!("{:?} {:?}", mailbox.list()[0], mailbox);
        assert!(!dbg.contains("body 1") && !dbg.contains("<p>"), "{dbg}");
    }
}
