//! Mail conformance: the outbox worker delivers queued mail exactly once, retries on the
//! backoff schedule, never sends what a rolled-back transaction queued, and never stores
//! a mail in clear. The last test delivers to a real SMTP server (PyPI `aiosmtpd`).

use std::future::Future;
use std::net::TcpListener;
use std::path::Path;
use std::pin::Pin;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use sigra_core::clock::{Clock, FixedClock};
use sigra_core::crypto::{FieldCipher, Keys};
use sigra_core::jobs::{RunReport, Worker, WorkerConfig, backoff};
use sigra_core::mail::{self, Delivery, DevMailbox, Mail, MailError, Mailer, SmtpMailer};
use sigra_core::store::{Backend, Db, new_id_at, outbox};
use time::{Duration, macros::datetime};

use crate::common::TestDb;

fn clock() -> FixedClock {
    FixedClock::new(datetime!(2026-03-01 10:00 UTC))
}

fn cipher() -> Arc<FieldCipher> {
    Arc::new(FieldCipher::new(&Keys::new(&[9u8; 32], &[]).unwrap()))
}

/// A mail whose bodies carry `token`, as a magic-link mail would.
fn mail_with(token: &str) -> Mail {
    Mail {
        to: vec!["ada@example.com".into()],
        subject: "Your Sigra log-in link".into(),
        text: format!("Log in: http://127.0.0.1:8000/users/magic-link/{token}\n"),
        html: Some(format!(
            "<a href=\"http://127.0.0.1:8000/users/magic-link/{token}\">Log in</a>"
        )),
    }
}

fn random_token() -> String {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).unwrap();
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn worker(db: &Db, mailer: Arc<dyn Mailer>, clock: &FixedClock, max_attempts: i32) -> Worker {
    let config = WorkerConfig {
        max_attempts,
        ..WorkerConfig::default()
    };
    Worker::new(
        db.clone(),
        mailer,
        cipher(),
        Arc::new(clock.clone()),
        config,
    )
}

fn report(sent: usize, retried: usize, given_up: usize) -> RunReport {
    RunReport {
        sent,
        retried,
        given_up,
        swept: 0,
    }
}

/// Fails its first `failures` sends, then records into a dev mailbox.
#[derive(Debug)]
struct FlakyMailer {
    failures_left: AtomicUsize,
    attempts: AtomicUsize,
    delivered: DevMailbox,
}

impl FlakyMailer {
    fn new(failures: usize, clock: &FixedClock) -> Arc<FlakyMailer> {
        Arc::new(FlakyMailer {
            failures_left: AtomicUsize::new(failures),
            attempts: AtomicUsize::new(0),
            delivered: DevMailbox::new(Arc::new(clock.clone())),
        })
    }

    fn attempts(&self) -> usize {
        self.attempts.load(Ordering::SeqCst)
    }
}

impl Mailer for FlakyMailer {
    fn send<'a>(
        &'a self,
        mail: &'a Mail,
    ) -> Pin<Box<dyn Future<Output = Result<(), MailError>> + Send + 'a>> {
        self.attempts.fetch_add(1, Ordering::SeqCst);
        let fail = self
            .failures_left
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok();
        Box::pin(async move {
            if fail {
                Err(MailError::Smtp("connection refused (test double)".into()))
            } else {
                self.delivered.send(mail).await
            }
        })
    }
}

/// An SMTP server that rejects the recipient, quoting it as real servers do.
#[derive(Debug)]
struct RejectsRecipient;

impl Mailer for RejectsRecipient {
    fn send<'a>(
        &'a self,
        mail: &'a Mail,
    ) -> Pin<Box<dyn Future<Output = Result<(), MailError>> + Send + 'a>> {
        let error = format!(
            "550 5.1.1 <{}>: Recipient address rejected; user:pass@{}",
            mail.to[0], "mx.example.com"
        );
        Box::pin(async move { Err(MailError::Smtp(error)) })
    }
}

/// Panics on its first send (a buggy custom mailer), then records. Every call is
/// reported on `calls` (`"panic"` or `"sent"`), so the test waits for the background
/// worker by awaiting the report, not by polling.
#[derive(Debug)]
struct PanicsOnceMailer {
    panicked: AtomicUsize,
    delivered: DevMailbox,
    calls: tokio::sync::mpsc::UnboundedSender<&'static str>,
}

impl Mailer for PanicsOnceMailer {
    fn send<'a>(
        &'a self,
        mail: &'a Mail,
    ) -> Pin<Box<dyn Future<Output = Result<(), MailError>> + Send + 'a>> {
        if self.panicked.fetch_add(1, Ordering::SeqCst) == 0 {
            let _ = self.calls.send("panic");
            panic!("test double: mailer bug");
        }
        self.delivered.record(mail);
        let _ = self.calls.send("sent");
        Box::pin(async { Ok(()) })
    }
}

/// The outbox payload as the database holds it, as text.
async fn raw_payload(db: &Db, id: uuid::Uuid) -> String {
    let sql = |cast: &str| sqlx::AssertSqlSafe(format!("SELECT {cast} FROM sigra_outbox"));
    let rows: Vec<(String, Vec<u8>)> = match db {
        Db::Sqlite(p) => sqlx::query_as(sql("payload, id"))
            .fetch_all(p)
            .await
            .unwrap(),
        Db::Postgres(p) => {
            let rows: Vec<(String, uuid::Uuid)> = sqlx::query_as(sql("payload::text, id"))
                .fetch_all(p)
                .await
                .unwrap();
            rows.into_iter()
                .map(|(payload, id)| (payload, id.as_bytes().to_vec()))
                .collect()
        }
        Db::MySql(p) => sqlx::query_as(sql("CAST(payload AS CHAR), id"))
            .fetch_all(p)
            .await
            .unwrap(),
        _ => unreachable!("no such backend"),
    };
    let mut matching = rows
        .into_iter()
        .filter(|(_, row_id)| row_id.as_slice() == id.as_bytes().as_slice());
    let (payload, _) = matching.next().expect("the outbox row exists");
    payload
}

/// The next call the background worker made to a [`PanicsOnceMailer`].
async fn next_call(calls: &mut tokio::sync::mpsc::UnboundedReceiver<&'static str>) -> &'static str {
    calls.recv().await.expect("the worker holds the mailer")
}

conformance!(
    async fn worker_delivers_a_queued_mail_once_and_marks_it_done(t: TestDb) -> TestDb {
        let c = clock();
        let dev = DevMailbox::new(Arc::new(c.clone()));
        let delivery = Arc::new(Delivery::new(None, Some(dev.clone())));
        let w = worker(&t.db, delivery, &c, 8);

        let id = mail::enqueue(&t.db, &cipher(), &c, &mail_with("tok-a"))
            .await
            .unwrap();
        assert_eq!(w.run_once().await.unwrap(), report(1, 0, 0));
        assert_eq!(w.run_once().await.unwrap(), report(0, 0, 0));

        let job = outbox::find(&t.db, id).await.unwrap().unwrap();
        assert_eq!(job.done_at, Some(c.now()));
        assert_eq!(job.attempts, 1);
        assert_eq!(job.last_error, None);

        let list = dev.list();
        assert_eq!(list.len(), 1);
        assert_eq!(list[0].to, ["ada@example.com"]);
        assert_eq!(list[0].subject, "Your Sigra log-in link");
        assert!(list[0].text.contains("tok-a"));
        assert!(list[0].html.as_deref().unwrap().contains("tok-a"));

        // Long after every lease would have ended, it is still sent once.
        c.advance(Duration::days(1));
        assert_eq!(w.run_once().await.unwrap(), report(0, 0, 0));
        assert_eq!(dev.list().len(), 1);
        t
    }

    async fn a_failing_mailer_is_retried_on_the_backoff_schedule_then_delivers_once(
        t: TestDb,
    ) -> TestDb {
        let c = clock();
        let flaky = FlakyMailer::new(3, &c);
        let w = worker(&t.db, flaky.clone(), &c, 8);
        let id = mail::enqueue(&t.db, &cipher(), &c, &mail_with("tok-b"))
            .await
            .unwrap();

        for (failed_before, expected_wait) in [(0, 30), (1, 60), (2, 120)] {
            assert_eq!(
                w.run_once().await.unwrap(),
                report(0, 1, 0),
                "attempt {}",
                failed_before + 1
            );
            let job = outbox::find(&t.db, id).await.unwrap().unwrap();
            assert_eq!(job.attempts, failed_before + 1);
            assert_eq!(job.run_at, c.now() + Duration::seconds(expected_wait));
            assert_eq!(job.run_at, c.now() + backoff(failed_before));
            assert!(job.done_at.is_none());
            assert!(
                job.last_error
                    .as_deref()
                    .unwrap()
                    .contains("connection refused")
            );

            // Not due one second early.
            c.advance(Duration::seconds(expected_wait - 1));
            assert_eq!(w.run_once().await.unwrap(), report(0, 0, 0));
            c.advance(Duration::seconds(1));
        }
        assert_eq!(w.run_once().await.unwrap(), report(1, 0, 0));
        assert_eq!(flaky.attempts(), 4);
        assert_eq!(flaky.delivered.list().len(), 1);
        let job = outbox::find(&t.db, id).await.unwrap().unwrap();
        assert_eq!(job.done_at, Some(c.now()));
        assert_eq!(job.attempts, 4);

        c.advance(Duration::days(1));
        assert_eq!(w.run_once().await.unwrap(), report(0, 0, 0));
        assert_eq!(flaky.attempts(), 4);
        t
    }

    async fn a_mail_is_given_up_after_max_attempts(t: TestDb) -> TestDb {
        let c = clock();
        let flaky = FlakyMailer::new(usize::MAX, &c);
        let w = worker(&t.db, flaky.clone(), &c, 3);
        let id = mail::enqueue(&t.db, &cipher(), &c, &mail_with("tok-c"))
            .await
            .unwrap();

        assert_eq!(w.run_once().await.unwrap(), report(0, 1, 0));
        c.advance(backoff(0));
        assert_eq!(w.run_once().await.unwrap(), report(0, 1, 0));
        c.advance(backoff(1));
        assert_eq!(w.run_once().await.unwrap(), report(0, 0, 1));
        let job = outbox::find(&t.db, id).await.unwrap().unwrap();
        assert_eq!(job.attempts, 3);
        assert_eq!(job.done_at, Some(c.now()), "given up is finished");
        assert!(job.last_error.is_some());

        c.advance(Duration::days(30));
        assert_eq!(w.run_once().await.unwrap(), report(0, 0, 0));
        assert_eq!(flaky.attempts(), 3);
        assert!(flaky.delivered.list().is_empty());
        t
    }

    async fn a_mail_queued_in_a_rolled_back_transaction_is_never_sent(t: TestDb) -> TestDb {
        let c = clock();
        let dev = DevMailbox::new(Arc::new(c.clone()));
        let w = worker(&t.db, Arc::new(dev.clone()), &c, 8);

        let tx = t.db.begin().await.unwrap();
        mail::enqueue(&tx, &cipher(), &c, &mail_with("rolled-back"))
            .await
            .unwrap();
        tx.rollback().await.unwrap();
        {
            let tx = t.db.begin().await.unwrap();
            mail::enqueue(&tx, &cipher(), &c, &mail_with("dropped"))
                .await
                .unwrap();
            // Dropped without commit: rolled back too.
        }
        let tx = t.db.begin().await.unwrap();
        mail::enqueue(&tx, &cipher(), &c, &mail_with("committed"))
            .await
            .unwrap();
        tx.commit().await.unwrap();

        assert_eq!(w.run_once().await.unwrap(), report(1, 0, 0));
        c.advance(Duration::days(1));
        assert_eq!(w.run_once().await.unwrap(), report(0, 0, 0));
        let list = dev.list();
        assert_eq!(list.len(), 1);
        assert!(list[0].text.contains("committed"));
        t
    }

    async fn the_outbox_never_holds_a_mail_in_clear(t: TestDb) -> TestDb {
        let c = clock();
        let token = random_token();
        let m = mail_with(&token);
        let id = mail::enqueue(&t.db, &cipher(), &c, &m).await.unwrap();

        let raw = raw_payload(&t.db, id).await;
        assert!(raw.contains("sealed"), "{raw}");
        for clear in [token.as_str(), "magic-link", "ada@example.com", "Log in"] {
            assert!(
                !raw.contains(clear),
                "payload holds {clear:?} in clear: {raw}"
            );
        }
        let job = outbox::find(&t.db, id).await.unwrap().unwrap();
        assert_eq!(job.kind, "mail");
        assert_eq!(mail::unseal(&cipher(), id, &job.payload.0).unwrap(), m);

        // Another key cannot open it, and a worker holding one gives the job up.
        let other = FieldCipher::new(&Keys::new(&[8u8; 32], &[]).unwrap());
        assert!(matches!(
            mail::unseal(&other, id, &job.payload.0),
            Err(MailError::Sealed)
        ));
        let dev = DevMailbox::new(Arc::new(c.clone()));
        let wrong_key = Worker::new(
            t.db.clone(),
            Arc::new(dev.clone()),
            Arc::new(other),
            Arc::new(c.clone()),
            WorkerConfig::default(),
        );
        assert_eq!(wrong_key.run_once().await.unwrap(), report(0, 0, 1));
        assert!(dev.list().is_empty());
        let job = outbox::find(&t.db, id).await.unwrap().unwrap();
        assert!(job.done_at.is_some());
        t
    }

    async fn last_error_never_keeps_the_recipient_address(t: TestDb) -> TestDb {
        let c = clock();
        let w = worker(&t.db, Arc::new(RejectsRecipient), &c, 2);
        let id = mail::enqueue(&t.db, &cipher(), &c, &mail_with("x"))
            .await
            .unwrap();
        assert_eq!(w.run_once().await.unwrap(), report(0, 1, 0));
        let job = outbox::find(&t.db, id).await.unwrap().unwrap();
        let error = job.last_error.unwrap();
        assert!(
            !error.contains("ada@example.com") && !error.contains("example.com"),
            "{error}"
        );
        assert!(
            error.contains("550 5.1.1") && error.contains("[address]"),
            "{error}"
        );
        c.advance(Duration::hours(2));
        assert_eq!(w.run_once().await.unwrap(), report(0, 0, 1));
        let error = outbox::find(&t.db, id)
            .await
            .unwrap()
            .unwrap()
            .last_error
            .unwrap();
        assert!(!error.contains("ada@"), "given up, still scrubbed: {error}");
        t
    }

    async fn unknown_job_kinds_are_given_up(t: TestDb) -> TestDb {
        let c = clock();
        let dev = DevMailbox::new(Arc::new(c.clone()));
        let w = worker(&t.db, Arc::new(dev.clone()), &c, 8);
        let id = new_id_at(c.now());
        outbox::enqueue(&t.db, id, "webhook", serde_json::json!({}), c.now())
            .await
            .unwrap();
        assert_eq!(w.run_once().await.unwrap(), report(0, 0, 1));
        let job = outbox::find(&t.db, id).await.unwrap().unwrap();
        assert!(job.done_at.is_some());
        assert!(job.last_error.as_deref().unwrap().contains("webhook"));
        assert!(dev.list().is_empty());
        t
    }

    async fn enqueue_rejects_bad_addresses_and_writes_nothing(t: TestDb) -> TestDb {
        let c = clock();
        let mut m = mail_with("x");
        m.to = vec!["not an address".into()];
        let err = mail::enqueue(&t.db, &cipher(), &c, &m).await.unwrap_err();
        assert_eq!(err.reason(), "mail_invalid_address");
        m.to = Vec::new();
        assert!(mail::enqueue(&t.db, &cipher(), &c, &m).await.is_err());
        assert!(
            outbox::claim_due(&t.db, c.now(), Duration::minutes(1), 10)
                .await
                .unwrap()
                .is_empty()
        );
        t
    }

    async fn without_a_transport_mail_stays_queued(t: TestDb) -> TestDb {
        let c = clock();
        let w = worker(&t.db, Arc::new(Delivery::new(None, None)), &c, 8);
        let id = mail::enqueue(&t.db, &cipher(), &c, &mail_with("queued"))
            .await
            .unwrap();
        assert_eq!(w.run_once().await.unwrap(), report(0, 1, 0));
        let job = outbox::find(&t.db, id).await.unwrap().unwrap();
        assert!(job.done_at.is_none());
        assert!(
            job.last_error
                .as_deref()
                .unwrap()
                .contains("no mail transport")
        );
        t
    }

    async fn a_spawned_worker_sends_when_woken_survives_a_panicking_mailer_and_shuts_down(
        t: TestDb,
    ) -> TestDb {
        let c = clock();
        let (calls_tx, mut calls) = tokio::sync::mpsc::unbounded_channel();
        let mailer = Arc::new(PanicsOnceMailer {
            panicked: AtomicUsize::new(0),
            delivered: DevMailbox::new(Arc::new(c.clone())),
            calls: calls_tx,
        });
        let config = WorkerConfig {
            // Only a wake can start a run after the first one.
            poll_interval: std::time::Duration::from_secs(3600),
            ..WorkerConfig::default()
        };
        let handle = Worker::new(
            t.db.clone(),
            mailer.clone(),
            cipher(),
            Arc::new(c.clone()),
            config,
        )
        .spawn();

        mail::enqueue(&t.db, &cipher(), &c, &mail_with("first"))
            .await
            .unwrap();
        handle.wake();
        assert_eq!(next_call(&mut calls).await, "panic");

        // The run that panicked left its job leased; once the lease is over it runs again.
        c.advance(WorkerConfig::default().lease);
        handle.wake();
        assert_eq!(next_call(&mut calls).await, "sent");
        assert_eq!(mailer.delivered.list().len(), 1);

        mail::enqueue(&t.db, &cipher(), &c, &mail_with("second"))
            .await
            .unwrap();
        handle.wake();
        assert_eq!(next_call(&mut calls).await, "sent");
        assert_eq!(mailer.delivered.list().len(), 2);
        assert!(mailer.delivered.list()[0].text.contains("second"));
        assert!(!handle.is_stopped());

        handle.shutdown();
        tokio::time::timeout(std::time::Duration::from_secs(10), handle.join())
            .await
            .expect("the worker stops after shutdown");
        assert!(handle.is_stopped());
        t
    }
);

/// A child process killed when the guard goes, also when the test panics.
struct KillOnDrop(Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn require_aiosmtpd() {
    let found = Command::new("python3")
        .args(["-c", "import aiosmtpd"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|status| status.success());
    assert!(
        found,
        "the SMTP delivery test needs python3 with aiosmtpd: run `pip install aiosmtpd`"
    );
}

/// An aiosmtpd server writing to a Maildir. It answers once it listens: aiosmtpd's
/// `Controller.start()` returns only after a test connection succeeded, and the script
/// then prints `ready`, which this reads (no polling). The server stops when its stdin
/// closes or the guard kills it.
fn start_smtp_server(port: u16, maildir: &Path) -> KillOnDrop {
    const SCRIPT: &str = "import sys\n\
from aiosmtpd.controller import Controller\n\
from aiosmtpd.handlers import Mailbox\n\
server = Controller(Mailbox(sys.argv[2]), hostname='127.0.0.1', port=int(sys.argv[1]))\n\
server.start()\n\
print('ready', flush=True)\n\
sys.stdin.read()\n\
server.stop()\n";
    let mut child = Command::new("python3")
        .args(["-c", SCRIPT])
        .arg(port.to_string())
        .arg(maildir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("python3 with aiosmtpd starts (pip install aiosmtpd)");
    let stdout = child.stdout.take().expect("piped stdout");
    let mut line = String::new();
    std::io::BufRead::read_line(&mut std::io::BufReader::new(stdout), &mut line).unwrap();
    assert_eq!(
        line.trim(),
        "ready",
        "aiosmtpd did not start on port {port}"
    );
    KillOnDrop(child)
}

fn maildir_messages(maildir: &Path) -> Vec<String> {
    ["new", "cur"]
        .iter()
        .filter_map(|sub| std::fs::read_dir(maildir.join(sub)).ok())
        .flatten()
        .map(|entry| std::fs::read_to_string(entry.unwrap().path()).unwrap())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn smtp_delivery_to_a_real_server_after_an_outage() {
    require_aiosmtpd();
    let t = TestDb::migrated(Backend::Sqlite).await.unwrap();
    let c = clock();
    let tmp = tempfile::tempdir().unwrap();
    // aiosmtpd creates the Maildir's subfolders only when it creates the folder itself.
    let maildir = tmp.path().join("Maildir");
    let port = free_port();

    let smtp = SmtpMailer::from_url(
        &format!("smtp://127.0.0.1:{port}"),
        "Sigra <no-reply@sigra.test>",
    )
    .unwrap()
    .with_clock(Arc::new(c.clone()));
    let dev = DevMailbox::new(Arc::new(c.clone()));
    let delivery = Arc::new(Delivery::new(Some(smtp), Some(dev.clone())));
    let w = worker(&t.db, delivery, &c, 8);

    let token = random_token();
    let id = mail::enqueue(&t.db, &cipher(), &c, &mail_with(&token))
        .await
        .unwrap();

    // Nobody listens yet: the attempt fails and is scheduled again.
    assert_eq!(w.run_once().await.unwrap(), report(0, 1, 0));
    let job = outbox::find(&t.db, id).await.unwrap().unwrap();
    assert!(job.done_at.is_none());
    assert!(
        job.last_error.as_deref().unwrap().contains("SMTP"),
        "{job:?}"
    );
    assert!(dev.list().is_empty(), "recorded only once SMTP accepted");

    let server = start_smtp_server(port, &maildir);

    // The server is up, but the retry is not due yet.
    assert_eq!(w.run_once().await.unwrap(), report(0, 0, 0));
    c.advance(backoff(0));
    let sent = w.run_once().await.unwrap();
    let job = outbox::find(&t.db, id).await.unwrap().unwrap();
    assert_eq!(sent, report(1, 0, 0), "{:?}", job.last_error);
    assert_eq!(w.run_once().await.unwrap(), report(0, 0, 0));
    c.advance(Duration::hours(2));
    assert_eq!(w.run_once().await.unwrap(), report(0, 0, 0));

    let job = outbox::find(&t.db, id).await.unwrap().unwrap();
    assert_eq!(job.attempts, 2);
    assert!(job.done_at.is_some());
    assert_eq!(dev.list().len(), 1);

    let messages = maildir_messages(&maildir);
    assert_eq!(messages.len(), 1, "exactly one message in the Maildir");
    let message = &messages[0];
    assert!(
        message.contains("Subject: Your Sigra log-in link"),
        "{message}"
    );
    assert!(message.contains("To: ada@example.com"), "{message}");
    assert!(message.contains("X-RcptTo: ada@example.com"), "{message}");
    assert!(
        message.contains("From: Sigra <no-reply@sigra.test>"),
        "{message}"
    );
    assert!(message.contains("multipart/alternative"), "{message}");
    assert!(message.contains("Message-ID: <"), "{message}");
    // Quoted-printable bodies wrap long lines with a trailing `=`.
    let unwrapped = message.replace("=\r\n", "").replace("=\n", "");
    assert!(
        unwrapped.contains(&format!("/users/magic-link/{token}")),
        "{message}"
    );
    assert!(
        message.contains("Date: Sun, 01 Mar 2026 10:00:30"),
        "{message}"
    );

    drop(server);
    t.cleanup().await;
}

conformance!(
    async fn a_change_dropped_without_commit_writes_nothing(t: TestDb) -> TestDb {
        use sigra_core::features::{RequestMeta, Revocation};
        use sigra_core::store::{audit, users};

        let app = crate::common::app::app(&t).await;
        let auth = &app.state().auth;
        let meta = RequestMeta::default();
        let email = "unit@example.com";
        let digest = auth.recipient_digest(email);
        let tag = outbox::MailTag {
            mail_kind: "account_deleted",
            recipient_digest: &digest,
        };
        let since = app.clock.now() - Duration::minutes(1);
        let id = new_id_at(app.clock.now());
        let (meta, clock) = (&meta, &app.clock);
        let steps = |commit: bool| async move {
            let mut change = auth.change(meta).await.unwrap();
            let now = clock.now();
            users::insert(change.tx(), id, email, None, now)
                .await
                .unwrap();
            change
                .mail("account_deleted", email, serde_json::json!({}))
                .await
                .unwrap();
            change
                .audit("registration", id, serde_json::json!({}))
                .await
                .unwrap();
            if commit {
                change.commit(Revocation::None).await.unwrap();
            }
            // Otherwise dropped here, uncommitted.
        };

        steps(false).await;
        assert!(users::find_by_id(&t.db, id).await.unwrap().is_none());
        assert!(!outbox::queued_since(&t.db, tag, since).await.unwrap());
        let events = audit::list(&t.db, &audit::AuditFilter::for_user(id)).await;
        assert!(events.unwrap().is_empty());

        // The same steps committed are all there: the checks above can see them.
        steps(true).await;
        assert!(users::find_by_id(&t.db, id).await.unwrap().is_some());
        assert!(outbox::queued_since(&t.db, tag, since).await.unwrap());
        let events = audit::list(&t.db, &audit::AuditFilter::for_user(id)).await;
        assert_eq!(events.unwrap().len(), 1);
        assert_eq!(app.mails_to(email).await.len(), 1);
        t
    }
);
