//! Mail templates: embedded defaults in Tera, overridable file by file by the host app.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::Path;

use tera::{Context, Tera};

use super::smtp::parse_mailbox;
use super::{Mail, MailError};

/// The mail kinds Sigra ships, each with a text and an HTML template.
///
/// | kind | context (besides `app_name` and `email`) |
/// |---|---|
/// | `account_exists` | `log_in_url`, `reset_password_url` |
/// | `confirmation` | `url`, `code` |
/// | `magic_link` | `url` |
/// | `reset_password` | `url` |
/// | `password_changed` | — |
/// | `unlock` | `url` |
/// | `change_email` | `url` (sent to the new address) |
/// | `email_changed` | `new_email` (sent to the old address) |
/// | `deletion_scheduled` | `delete_at`, `log_in_url` |
/// | `deletion_cancelled` | `log_in_url` |
/// | `account_deleted` | — (sent when the deletion is carried out) |
/// | `mfa_enabled`, `mfa_disabled`, `backup_codes_regenerated` | — |
/// | `backup_code_used` | `remaining` |
/// | `mfa_locked` | `until` |
/// | `new_device` | `browser`, `os`, `ip`, `time`, `sessions_url` |
/// | `api_key_created` | `name`, `prefix`, `scopes`, `expires_at` (or null), `settings_url` |
/// | `api_key_revoked` | `name`, `prefix`, `settings_url` |
/// | `passkey_added` | `name`, `authenticator` (or null), `synced`, `time`, `settings_url` |
/// | `passkey_removed` | `name`, `mfa_disabled`, `time`, `settings_url` |
/// | `passkey_mfa_changed` | `name`, `used_for_mfa`, `account_mfa`, `time`, `settings_url` |
/// | `oauth_linked`, `oauth_unlinked` | `provider`, `label`, `time`, `settings_url` |
/// | `invitation` | `organization`, `inviter`, `role`, `url`, `valid_for` |
/// | `mfa_reset` | `settings_url` (an admin turned the second factor off) |
/// | `impersonation_ended` | `reason`, `started`, `ended` |
///
/// Templates that carry a link also show `valid_for` (say, `"15 minutes"`) when the
/// context has it.
pub const KINDS: [&str; 27] = [
    "account_exists",
    "confirmation",
    "magic_link",
    "reset_password",
    "password_changed",
    "unlock",
    "change_email",
    "email_changed",
    "deletion_scheduled",
    "deletion_cancelled",
    "account_deleted",
    "mfa_enabled",
    "mfa_disabled",
    "backup_codes_regenerated",
    "backup_code_used",
    "mfa_locked",
    "new_device",
    "api_key_created",
    "api_key_revoked",
    "passkey_added",
    "passkey_removed",
    "passkey_mfa_changed",
    "oauth_linked",
    "oauth_unlinked",
    "invitation",
    "mfa_reset",
    "impersonation_ended",
];

const DIR: &str = "sigra/email";

macro_rules! embedded {
    ($($file:literal),* $(,)?) => {
        [$(($file, include_str!(concat!("../../templates/sigra/email/", $file)))),*]
    };
}

/// Every default template file, by file name.
const DEFAULTS: [(&str, &str); 55] = embedded![
    "layout.html.tera",
    "account_exists.txt.tera",
    "account_exists.html.tera",
    "confirmation.txt.tera",
    "confirmation.html.tera",
    "magic_link.txt.tera",
    "magic_link.html.tera",
    "reset_password.txt.tera",
    "reset_password.html.tera",
    "password_changed.txt.tera",
    "password_changed.html.tera",
    "unlock.txt.tera",
    "unlock.html.tera",
    "change_email.txt.tera",
    "change_email.html.tera",
    "email_changed.txt.tera",
    "email_changed.html.tera",
    "deletion_scheduled.txt.tera",
    "deletion_scheduled.html.tera",
    "deletion_cancelled.txt.tera",
    "deletion_cancelled.html.tera",
    "account_deleted.txt.tera",
    "account_deleted.html.tera",
    "mfa_enabled.txt.tera",
    "mfa_enabled.html.tera",
    "mfa_disabled.txt.tera",
    "mfa_disabled.html.tera",
    "backup_codes_regenerated.txt.tera",
    "backup_codes_regenerated.html.tera",
    "backup_code_used.txt.tera",
    "backup_code_used.html.tera",
    "mfa_locked.txt.tera",
    "mfa_locked.html.tera",
    "new_device.txt.tera",
    "new_device.html.tera",
    "api_key_created.txt.tera",
    "api_key_created.html.tera",
    "api_key_revoked.txt.tera",
    "api_key_revoked.html.tera",
    "passkey_added.txt.tera",
    "passkey_added.html.tera",
    "passkey_removed.txt.tera",
    "passkey_removed.html.tera",
    "passkey_mfa_changed.txt.tera",
    "passkey_mfa_changed.html.tera",
    "oauth_linked.txt.tera",
    "oauth_linked.html.tera",
    "oauth_unlinked.txt.tera",
    "oauth_unlinked.html.tera",
    "invitation.txt.tera",
    "invitation.html.tera",
    "mfa_reset.txt.tera",
    "mfa_reset.html.tera",
    "impersonation_ended.txt.tera",
    "impersonation_ended.html.tera",
];

/// The embedded default mail templates, by file name under `sigra/email/`
/// (`reset_password.txt.tera`, `layout.html.tera`, …): what a host copies to override
/// one (`sigra templates eject email/<kind>`).
pub fn default_files() -> &'static [(&'static str, &'static str)] {
    &DEFAULTS
}

/// Renders mails from Tera templates.
///
/// Each kind has `sigra/email/<kind>.txt.tera`, whose first line is `Subject: …`, and
/// optionally `sigra/email/<kind>.html.tera`. HTML templates share
/// `sigra/email/layout.html.tera` through `{% extends "sigra/email/layout.html" %}`.
///
/// A host overrides a template by putting a file of the same name under its own template
/// directory (`templates/sigra/email/reset_password.txt.tera` replaces the default text,
/// and with it the subject); files there with new names add new kinds. Templates are
/// registered without the `.tera` suffix so that Tera's autoescaping, which goes by the
/// `.html` suffix, covers every HTML template, defaults and overrides alike.
///
/// ```
/// use sigra_core::mail::MailTemplates;
/// let templates = MailTemplates::new(None)?.with_app_name("Acme");
/// let mail = templates.render(
///     "reset_password",
///     "ada@example.com",
///     &serde_json::json!({ "url": "https://acme.example/users/reset-password/abc" }),
/// )?;
/// assert_eq!(mail.subject, "Reset your Acme password");
/// assert!(mail.text.contains("https://acme.example/users/reset-password/abc"));
/// # Ok::<(), sigra_core::mail::MailError>(())
/// ```
pub struct MailTemplates {
    tera: Tera,
    names: BTreeSet<String>,
    app_name: String,
}

impl MailTemplates {
    /// The embedded templates, with files under `<override_dir>/sigra/email/` (named
    /// `<kind>.txt.tera`, `<kind>.html.tera` or `layout.html.tera`) replacing or adding to
    /// them. A missing directory means no overrides; a template that does not parse is an
    /// error now rather than at the first mail.
    pub fn new(override_dir: Option<&Path>) -> Result<MailTemplates, MailError> {
        let mut sources: BTreeMap<String, String> = DEFAULTS
            .iter()
            .map(|(file, body)| (registered_name(file), (*body).to_owned()))
            .collect();
        if let Some(dir) = override_dir {
            sources.extend(read_overrides(&dir.join(DIR))?);
        }
        let mut tera = Tera::default();
        tera.autoescape_on(vec![".html"]);
        tera.set_escape_fn(escape_html);
        tera.add_raw_templates(
            sources
                .iter()
                .map(|(name, body)| (name.as_str(), body.as_str())),
        )
        .map_err(template_error)?;
        Ok(MailTemplates {
            tera,
            names: sources.into_keys().collect(),
            app_name: "Sigra".to_owned(),
        })
    }

    /// Sets the `app_name` every context gets unless it brings its own. Default `"Sigra"`.
    pub fn with_app_name(mut self, app_name: impl Into<String>) -> MailTemplates {
        self.app_name = app_name.into();
        self
    }

    /// Whether `kind` has a text template (and so can be rendered).
    pub fn has_kind(&self, kind: &str) -> bool {
        self.names.contains(&format!("{DIR}/{kind}.txt"))
    }

    /// Renders mail `kind` for `to`. `context` is a JSON object (or null); `app_name` and
    /// `email` (= `to`) are added when missing. The text template's first line,
    /// `Subject: …`, becomes the subject and is removed from the body.
    pub fn render(
        &self,
        kind: &str,
        to: &str,
        context: &serde_json::Value,
    ) -> Result<Mail, MailError> {
        parse_mailbox(to)?;
        if !self.has_kind(kind) {
            return Err(MailError::Template(format!(
                "no mail template for kind `{kind}`"
            )));
        }
        let mut ctx = match context {
            serde_json::Value::Null => Context::new(),
            value => Context::from_value(value.clone()).map_err(|_| {
                MailError::Template("a mail context must be a JSON object".to_owned())
            })?,
        };
        if !ctx.contains_key("app_name") {
            ctx.insert("app_name", &self.app_name);
        }
        if !ctx.contains_key("email") {
            ctx.insert("email", to);
        }
        let text_name = format!("{DIR}/{kind}.txt");
        let rendered = self.tera.render(&text_name, &ctx).map_err(template_error)?;
        let (subject, text) = split_subject(&rendered).ok_or_else(|| {
            MailError::Template(format!(
                "`{text_name}.tera` must start with a `Subject: …` line"
            ))
        })?;
        let html_name = format!("{DIR}/{kind}.html");
        let html = if self.names.contains(&html_name) {
            Some(self.tera.render(&html_name, &ctx).map_err(template_error)?)
        } else {
            None
        };
        Ok(Mail {
            to: vec![to.trim().to_owned()],
            subject,
            text,
            html,
        })
    }
}

impl fmt::Debug for MailTemplates {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MailTemplates")
            .field("templates", &self.names)
            .field("app_name", &self.app_name)
            .finish()
    }
}

/// Escapes text for HTML element content and quoted attributes. Unlike Tera's default it
/// leaves `/` alone: links written as `https:&#x2F;&#x2F;…` are valid but look like
/// obfuscation to spam filters.
fn escape_html(input: &str) -> String {
    let mut out = String::with_capacity(input.len() + input.len() / 8);
    for c in input.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#x27;"),
            c => out.push(c),
        }
    }
    out
}

/// `confirmation.html.tera` → `sigra/email/confirmation.html`.
fn registered_name(file: &str) -> String {
    format!("{DIR}/{}", file.strip_suffix(".tera").unwrap_or(file))
}

fn read_overrides(dir: &Path) -> Result<Vec<(String, String)>, MailError> {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => {
            return Err(MailError::Template(format!(
                "cannot read {}: {e}",
                dir.display()
            )));
        }
    };
    let mut found = Vec::new();
    for entry in entries {
        let entry = entry
            .map_err(|e| MailError::Template(format!("cannot read {}: {e}", dir.display())))?;
        let file_name = entry.file_name();
        let Some(file) = file_name.to_str() else {
            continue;
        };
        if !(file.ends_with(".txt.tera") || file.ends_with(".html.tera")) {
            continue;
        }
        let path = entry.path();
        let body = std::fs::read_to_string(&path)
            .map_err(|e| MailError::Template(format!("cannot read {}: {e}", path.display())))?;
        found.push((registered_name(file), body));
    }
    Ok(found)
}

/// Splits `Subject: …` off the rendered text. Control characters in the subject become
/// spaces, so no value can smuggle a header line in.
fn split_subject(rendered: &str) -> Option<(String, String)> {
    let rendered = rendered.trim_start();
    let (first, rest) = rendered.split_once('\n').unwrap_or((rendered, ""));
    let subject = first.strip_prefix("Subject:")?.trim();
    if subject.is_empty() {
        return None;
    }
    let subject = subject
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    Some((subject, rest.trim_start_matches(['\r', '\n']).to_owned()))
}

/// Tera's own message names only the template; the cause (an unknown variable, a syntax
/// error and where) sits in its source chain.
fn template_error(error: tera::Error) -> MailError {
    let mut message = error.to_string();
    let mut source = std::error::Error::source(&error);
    while let Some(cause) = source {
        message.push_str(": ");
        message.push_str(&cause.to_string());
        source = cause.source();
    }
    MailError::Template(message)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn context(kind: &str) -> serde_json::Value {
        match kind {
            "account_exists" => json!({
                "log_in_url": "https://app.test/users/log_in",
                "reset_password_url": "https://app.test/users/reset-password",
            }),
            "confirmation" => {
                json!({ "url": "https://app.test/users/confirm/TOKEN123", "code": "042917" })
            }
            "password_changed" => json!({}),
            "email_changed" => json!({ "new_email": "new@example.com" }),
            "deletion_scheduled" => json!({
                "delete_at": "2026-12-06 09:00 UTC",
                "log_in_url": "https://app.test/users/log_in",
            }),
            "deletion_cancelled" => json!({ "log_in_url": "https://app.test/users/log_in" }),
            "account_deleted" | "mfa_enabled" | "mfa_disabled" | "backup_codes_regenerated" => {
                json!({})
            }
            "backup_code_used" => json!({ "remaining": 9 }),
            "mfa_locked" => json!({ "until": "2026-12-06 09:15 UTC" }),
            "api_key_created" => json!({
                "name": "deploy bot",
                "prefix": "sigra_sk_AbC",
                "scopes": ["read"],
                "expires_at": "2027-06-01 09:00 UTC",
                "settings_url": "https://app.test/users/settings/api-keys",
            }),
            "api_key_revoked" => json!({
                "name": "deploy bot",
                "prefix": "sigra_sk_AbC",
                "settings_url": "https://app.test/users/settings/api-keys",
            }),
            "passkey_added" => json!({
                "name": "work laptop",
                "authenticator": "iCloud Keychain",
                "synced": true,
                "time": "2026-12-06 09:15 UTC",
                "settings_url": "https://app.test/users/settings/passkeys",
            }),
            "passkey_removed" => json!({
                "name": "work laptop",
                "mfa_disabled": true,
                "time": "2026-12-06 09:15 UTC",
                "settings_url": "https://app.test/users/settings/passkeys",
            }),
            "passkey_mfa_changed" => json!({
                "name": "work laptop",
                "used_for_mfa": true,
                "account_mfa": true,
                "time": "2026-12-06 09:15 UTC",
                "settings_url": "https://app.test/users/settings/passkeys",
            }),
            "oauth_linked" | "oauth_unlinked" => json!({
                "provider": "Google",
                "label": "jane@example.com",
                "time": "2026-12-06 09:15 UTC",
                "settings_url": "https://app.test/users/settings/connections",
            }),
            "invitation" => json!({
                "organization": "Acme",
                "inviter": "ada@example.com",
                "role": "admin",
                "url": "https://app.test/organizations/invitations/TOKEN123",
                "valid_for": "7 days",
            }),
            "mfa_reset" => json!({
                "settings_url": "https://app.test/users/settings/mfa",
            }),
            "impersonation_ended" => json!({
                "reason": "Ticket 4411: the invoice page shows an error",
                "started": "2026-12-06 09:15 UTC",
                "ended": "2026-12-06 09:31 UTC",
            }),
            "new_device" => json!({
                "browser": "Firefox",
                "os": "Linux",
                "ip": "198.51.100.23",
                "time": "2026-12-06 09:15 UTC",
                "sessions_url": "https://app.test/users/settings",
            }),
            _ => json!({ "url": format!("https://app.test/users/{kind}/TOKEN123") }),
        }
    }

    #[test]
    fn every_kind_renders_subject_text_and_html() {
        let templates = MailTemplates::new(None).unwrap().with_app_name("Acme");
        for kind in KINDS {
            assert!(templates.has_kind(kind), "{kind}");
            let mail = templates
                .render(kind, "ada@example.com", &context(kind))
                .unwrap();
            assert_eq!(mail.to, ["ada@example.com"]);
            assert!(mail.subject.contains("Acme"), "{kind}: {}", mail.subject);
            assert!(!mail.text.starts_with("Subject:"), "{kind}");
            assert!(!mail.text.starts_with('\n'), "{kind}");
            let html = mail.html.as_deref().unwrap();
            assert!(html.contains("<html"), "{kind}");
            assert!(html.contains("Acme"), "{kind}");
            for forbidden in ["<script", "src=\"http", "<link", "@import"] {
                assert!(!html.contains(forbidden), "{kind} has {forbidden}");
            }
            if let Some(url) = context(kind).get("url").and_then(|u| u.as_str()) {
                assert!(mail.text.contains(url), "{kind}");
                assert!(html.contains("TOKEN123"), "{kind}");
            }
        }
    }

    #[test]
    fn subjects_are_the_documented_ones() {
        let templates = MailTemplates::new(None).unwrap();
        let subject = |kind| {
            templates
                .render(kind, "a@example.com", &context(kind))
                .unwrap()
                .subject
        };
        assert_eq!(subject("confirmation"), "Confirm your email for Sigra");
        assert_eq!(subject("magic_link"), "Your Sigra log-in link");
        assert_eq!(subject("reset_password"), "Reset your Sigra password");
    }

    #[test]
    fn confirmation_carries_link_and_code() {
        let templates = MailTemplates::new(None).unwrap();
        let mail = templates
            .render("confirmation", "a@example.com", &context("confirmation"))
            .unwrap();
        assert!(mail.text.contains("042917"));
        assert!(mail.html.unwrap().contains("042917"));
    }

    #[test]
    fn html_is_autoescaped_and_text_is_not() {
        let templates = MailTemplates::new(None)
            .unwrap()
            .with_app_name("<script>alert(1)</script>");
        let mail = templates
            .render("password_changed", "a@example.com", &json!({}))
            .unwrap();
        let html = mail.html.unwrap();
        assert!(!html.contains("<script>"), "{html}");
        assert!(html.contains("&lt;script&gt;"), "{html}");
        assert!(mail.text.contains("<script>alert(1)</script>"));
    }

    #[test]
    fn host_files_override_defaults_and_stay_escaped() {
        let dir = tempfile::tempdir().unwrap();
        let email_dir = dir.path().join("sigra/email");
        std::fs::create_dir_all(&email_dir).unwrap();
        std::fs::write(
            email_dir.join("magic_link.txt.tera"),
            "Subject: Sign in to {{ app_name }} now\n\nCustom: {{ url }}\n",
        )
        .unwrap();
        std::fs::write(
            email_dir.join("magic_link.html.tera"),
            "<p>Hi {{ email }}, <a href=\"{{ url }}\">{{ note }}</a></p>",
        )
        .unwrap();
        std::fs::write(
            email_dir.join("newsletter.txt.tera"),
            "Subject: News\nHello",
        )
        .unwrap();
        std::fs::write(email_dir.join("README.md"), "not a template").unwrap();

        let templates = MailTemplates::new(Some(dir.path())).unwrap();
        let mail = templates
            .render(
                "magic_link",
                "ada@example.com",
                &json!({ "url": "https://app.test/m/T", "note": "<script>x()</script>" }),
            )
            .unwrap();
        assert_eq!(mail.subject, "Sign in to Sigra now");
        assert_eq!(mail.text, "Custom: https://app.test/m/T\n");
        let html = mail.html.unwrap();
        assert!(html.starts_with("<p>Hi ada@example.com"), "{html}");
        assert!(html.contains("&lt;script&gt;x()&lt;/script&gt;"), "{html}");
        assert!(html.contains(r#"href="https://app.test/m/T""#), "{html}");
        assert!(!html.contains("<script>"), "{html}");

        let news = templates
            .render("newsletter", "a@example.com", &serde_json::Value::Null)
            .unwrap();
        assert_eq!(
            (news.subject.as_str(), news.text.as_str(), news.html),
            ("News", "Hello", None)
        );
        // Untouched kinds keep their defaults.
        let reset = templates
            .render(
                "reset_password",
                "a@example.com",
                &context("reset_password"),
            )
            .unwrap();
        assert_eq!(reset.subject, "Reset your Sigra password");
    }

    #[test]
    fn missing_override_dir_is_fine_and_broken_override_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        assert!(MailTemplates::new(Some(&dir.path().join("nope"))).is_ok());
        let email_dir = dir.path().join("sigra/email");
        std::fs::create_dir_all(&email_dir).unwrap();
        std::fs::write(email_dir.join("confirmation.txt.tera"), "Subject: {{ oops").unwrap();
        let err = MailTemplates::new(Some(dir.path())).unwrap_err();
        assert_eq!(err.reason(), "mail_template_failed");
        assert!(err.to_string().contains("confirmation.txt"), "{err}");
    }

    #[test]
    fn render_errors() {
        let dir = tempfile::tempdir().unwrap();
        let email_dir = dir.path().join("sigra/email");
        std::fs::create_dir_all(&email_dir).unwrap();
        std::fs::write(email_dir.join("nosubject.txt.tera"), "Hello {{ email }}").unwrap();
        let templates = MailTemplates::new(Some(dir.path())).unwrap();
        let err = templates
            .render("nosubject", "a@example.com", &json!({}))
            .unwrap_err();
        assert!(err.to_string().contains("Subject:"), "{err}");
        let err = templates
            .render("no_such_kind", "a@example.com", &json!({}))
            .unwrap_err();
        assert_eq!(err.reason(), "mail_template_failed");
        let err = templates
            .render("magic_link", "a@example.com", &json!({}))
            .unwrap_err();
        assert!(
            err.to_string().contains("url"),
            "names the missing variable: {err}"
        );
        let err = templates
            .render("magic_link", "not-an-address", &context("magic_link"))
            .unwrap_err();
        assert_eq!(err.reason(), "mail_invalid_address");
        let err = templates
            .render("magic_link", "a@example.com", &json!([1]))
            .unwrap_err();
        assert_eq!(err.reason(), "mail_template_failed");
    }

    #[test]
    fn escaping_covers_quotes_and_ampersands() {
        assert_eq!(
            escape_html(r#"<a href="x" onclick='y'>&amp;</a>"#),
            "&lt;a href=&quot;x&quot; onclick=&#x27;y&#x27;&gt;&amp;amp;&lt;/a&gt;"
        );
    }

    #[test]
    fn subject_line_is_split_and_sanitized() {
        assert_eq!(
            split_subject("\nSubject:  Hi\u{7}there \r\n\r\nBody\n"),
            Some(("Hi there".to_owned(), "Body\n".to_owned()))
        );
        assert_eq!(
            split_subject("Subject: Only"),
            Some(("Only".to_owned(), String::new()))
        );
        assert_eq!(split_subject("Subject:   \nBody"), None);
        assert_eq!(split_subject("Hello\nSubject: late"), None);
    }
}
