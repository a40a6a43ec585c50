//! `sigra doctor`: checks a deployment's settings and services, one line per check
//! (`ok`, `warn`, or `FAIL` with the reason), and exits 0 only when nothing failed.
//!
//! Checks: the `sigra` section validates; the master secret is set (required outside
//! debug) and not trivially weak; `public_url` is an https origin in production; cookies
//! are `Secure` when the site is served over https; the dev mailbox is not served in
//! production by accident; the SMTP server answers (TCP, TLS, EHLO and login as the URL
//! asks, then NOOP; nothing is sent); the database opens and no migration is pending;
//! Redis answers `PING` when `sigra.redis_url` is set.
//!
//! Never prints a secret: not the master secret, nor the credentials of the SMTP, Redis
//! or database URLs (errors are scrubbed of them).

use std::collections::BTreeSet;
use std::time::Duration;

use rocket::figment::Figment;
use sigra_core::mail::SmtpMailer;
use sigra_core::secret::SecretString;
use sigra_core::session_cache::Transport;
use sigra_core::store::Executor;

use crate::Status;
use crate::settings::Settings;

/// The longest a network check (SMTP, Redis) may take.
const NETWORK_TIMEOUT: Duration = Duration::from_secs(15);

/// A master secret with fewer distinct characters than this is not random.
const MIN_DISTINCT_SECRET_CHARS: usize = 8;

/// The checks' lines, printed as they come, and the tally.
#[derive(Debug, Default)]
struct Report {
    failed: usize,
    warnings: usize,
}

impl Report {
    fn ok(&mut self, check: &str, detail: impl AsRef<str>) {
        println!("ok    {check}: {}", detail.as_ref());
    }

    fn warn(&mut self, check: &str, detail: impl AsRef<str>) {
        self.warnings += 1;
        println!("warn  {check}: {}", detail.as_ref());
    }

    fn fail(&mut self, check: &str, detail: impl AsRef<str>) {
        self.failed += 1;
        println!("FAIL  {check}: {}", detail.as_ref());
    }

    /// `fail` in production, `warn` in debug.
    fn fail_in(&mut self, production: bool, check: &str, detail: impl AsRef<str>) {
        if production {
            self.fail(check, detail);
        } else {
            self.warn(check, detail);
        }
    }

    fn finish(self) -> Status {
        if self.failed == 0 {
            println!("doctor: every check passed ({} warning(s)).", self.warnings);
            Status::Done
        } else {
            println!(
                "doctor: {} check(s) failed, {} warning(s).",
                self.failed, self.warnings
            );
            Status::Failed
        }
    }
}

/// Runs every check on the configuration in `figment`.
pub async fn run(figment: Figment) -> Status {
    let mut report = Report::default();
    let profile = figment.profile().to_string();
    let settings = match Settings::read(figment) {
        Ok(settings) => settings,
        Err(e) => {
            report.fail("configuration", e.to_string());
            println!("doctor: the other checks need a readable configuration.");
            return report.finish();
        }
    };
    let production = settings.production;
    let kind = if production { "production" } else { "debug" };
    report.ok(
        "configuration",
        format!("the sigra section is valid (profile {profile}: {kind})"),
    );
    secret(&mut report, &settings);
    let https = public_url(&mut report, &settings);
    cookies(&mut report, &settings, https);
    mail(&mut report, &settings).await;
    database(&mut report, &settings).await;
    redis(&mut report, &settings).await;
    report.finish()
}

fn secret(report: &mut Report, settings: &Settings) {
    let check = "secret_key";
    match &settings.config.secret_key {
        None if settings.production => report.fail(
            check,
            "not set: sigra.secret_key (or SIGRA_SECRET_KEY, 32+ random characters) is \
             required in every profile but debug",
        ),
        None => report.warn(
            check,
            "not set: the app makes a random one at each launch (sessions end with the \
             process); required outside debug",
        ),
        Some(secret) => {
            let distinct = secret.expose().chars().collect::<BTreeSet<_>>().len();
            if distinct < MIN_DISTINCT_SECRET_CHARS {
                report.fail_in(
                    settings.production,
                    check,
                    format!(
                        "weak: only {distinct} distinct characters; use a random value \
                         (for example 32 random bytes as hex)"
                    ),
                );
            } else {
                report.ok(
                    check,
                    format!("set ({} characters)", secret.expose().chars().count()),
                );
            }
        }
    }
}

/// Checks `public_url`; answers whether it is https.
fn public_url(report: &mut Report, settings: &Settings) -> bool {
    let check = "public_url";
    let url = &settings.config.public_url;
    // Validation made it `http(s)://host[:port]`.
    let https = url.starts_with("https://");
    let host = url.split_once("://").map_or("", |(_, host)| host);
    let local = ["localhost", "127.", "[::1]", "0.0.0.0"]
        .iter()
        .any(|l| host.starts_with(l));
    match (settings.production, https) {
        (true, false) => report.fail(
            check,
            format!("{url} is not https: links in mails and cookies need the public https origin"),
        ),
        (true, true) if local => report.warn(
            check,
            format!("{url} is a local address: links in mails will not reach anyone"),
        ),
        (false, false) => report.ok(check, format!("{url} (plain http is fine in debug)")),
        _ => report.ok(check, url),
    }
    https
}

fn cookies(report: &mut Report, settings: &Settings, https: bool) {
    let check = "cookies";
    let config = &settings.config;
    let secure = match config.secure_cookies_enabled(settings.production, settings.tls) {
        Ok(secure) => secure,
        Err(e) => return report.fail(check, e.to_string()),
    };
    match (https, secure) {
        (true, true) => report.ok(check, "Secure, with the __Host- prefix"),
        (true, false) => report.fail_in(
            settings.production,
            check,
            "sent without Secure although public_url is https (sigra.secure_cookies / \
             danger_insecure_cookies): a plain-http request would leak the session",
        ),
        (false, true) => report.warn(
            check,
            "Secure while public_url is http: browsers keep them over http only on localhost",
        ),
        (false, false) if config.danger_insecure_cookies => report.warn(
            check,
            "sigra.danger_insecure_cookies is on: session cookies are sent without Secure",
        ),
        (false, false) => report.ok(check, "not Secure (debug over plain http)"),
    }
}

async fn mail(report: &mut Report, settings: &Settings) {
    let config = &settings.config;
    let dev = match config.dev_mailbox_enabled(settings.production) {
        Ok(dev) => dev,
        Err(e) => {
            report.fail("dev_mailbox", e.to_string());
            false
        }
    };
    if dev && settings.production {
        report.warn(
            "dev_mailbox",
            "sigra.danger_dev_mailbox is on: every mail, reset links included, is readable \
             at /dev/mailbox",
        );
    }
    let check = "smtp";
    let Some(url) = &config.mail.smtp_url else {
        if dev {
            report.ok(
                check,
                "not set: mail goes to the dev mailbox at /dev/mailbox",
            );
        } else {
            report.warn(
                check,
                "sigra.mail.smtp_url is not set: mail waits in the outbox until it is",
            );
        }
        return;
    };
    let mailer = match SmtpMailer::from_url(url.expose(), &config.mail.from) {
        Ok(mailer) => mailer,
        Err(e) => return report.fail(check, format!("sigra.mail.smtp_url: {e}")),
    };
    let server = mailer.server().to_owned();
    match tokio::time::timeout(NETWORK_TIMEOUT, mailer.test_connection()).await {
        Ok(Ok(())) => report.ok(
            check,
            format!("{server} answered (connection, greeting and NOOP; nothing sent)"),
        ),
        Ok(Err(e)) => report.fail(check, format!("{server}: {e}")),
        Err(_) => report.fail(
            check,
            format!("{server}: no answer within {} s", NETWORK_TIMEOUT.as_secs()),
        ),
    }
}

async fn database(report: &mut Report, settings: &Settings) {
    let db = match settings.database().await {
        Ok(db) => db,
        Err(e) => {
            report.fail("database", e.to_string());
            return;
        }
    };
    let backend = db.backend();
    report.ok("database", format!("{} answered", backend.name()));
    let check = "migrations";
    match db.pending_migrations().await {
        Ok(pending) if pending.is_empty() => report.ok(
            check,
            format!("all {} applied", db.embedded_migrations().len()),
        ),
        Ok(pending) => {
            let names: Vec<String> = pending
                .iter()
                .map(|(version, name)| format!("{version:04}_{name}"))
                .collect();
            let launch = if settings.config.run_migrations {
                " (or let the app apply them at launch: run_migrations is on)"
            } else {
                ""
            };
            report.fail(
                check,
                format!(
                    "{} pending: {}; run `sigra migrate`{launch}",
                    pending.len(),
                    names.join(", ")
                ),
            );
        }
        Err(e) => report.fail(check, e.to_string()),
    }
    let config = &settings.config;
    let cache_ms = config.session.cache_ms;
    if Transport::choose(backend, config.redis_url.is_some(), cache_ms) == Transport::Off
        && cache_ms > 0
    {
        report.warn(
            "session_cache",
            "off: on MySQL, revocations reach the other instances only through \
             sigra.redis_url",
        );
    }
    db.close().await;
}

async fn redis(report: &mut Report, settings: &Settings) {
    let check = "redis";
    let Some(url) = &settings.config.redis_url else {
        report.ok(
            check,
            "sigra.redis_url is not set: rate limits count per process",
        );
        return;
    };
    match tokio::time::timeout(NETWORK_TIMEOUT, ping(url)).await {
        Ok(Ok(())) => report.ok(check, "answered PING"),
        Ok(Err(e)) => report.fail(check, scrub(&e, url)),
        Err(_) => report.fail(
            check,
            format!("no answer within {} s", NETWORK_TIMEOUT.as_secs()),
        ),
    }
}

async fn ping(url: &SecretString) -> Result<(), String> {
    let client = redis::Client::open(url.expose()).map_err(|e| e.to_string())?;
    let mut conn = client
        .get_multiplexed_async_connection()
        .await
        .map_err(|e| e.to_string())?;
    let answer: String = redis::cmd("PING")
        .query_async(&mut conn)
        .await
        .map_err(|e| e.to_string())?;
    if answer == "PONG" {
        Ok(())
    } else {
        Err(format!("unexpected answer to PING: {answer:?}"))
    }
}

/// `message` without the URL's credentials, should a library echo them.
fn scrub(message: &str, url: &SecretString) -> String {
    let url = url.expose();
    let authority = url
        .split_once("://")
        .map_or(url, |(_, rest)| rest)
        .split(['/', '?', '#'])
        .next()
        .unwrap_or_default();
    let mut out = message.replace(url, "[redis_url]");
    if let Some((userinfo, _)) = authority.rsplit_once('@') {
        for part in userinfo.split(':').filter(|p| p.len() >= 4) {
            out = out.replace(part, "[redacted]");
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redis_errors_lose_the_credentials() {
        let url = SecretString::new("redis://admin:hunter2hunter2@cache:6379/0");
        let msg = scrub(
            "auth failed for admin with hunter2hunter2 at redis://admin:hunter2hunter2@cache:6379/0",
            &url,
        );
        assert_eq!(
            msg,
            "auth failed for [redacted] with [redacted] at [redis_url]"
        );
    }
}
