//! Backup codes: each passes the challenge once, the settings page counts them, and
//! regenerating them needs sudo and voids the old set.

use rocket::http::Status;
use time::Duration;

use crate::common::TestDb;
use crate::common::app::{PASSWORD, app};
use crate::mfa::{challenge, partial};
use crate::mfa_totp::{between, enrolled};

conformance!(
    async fn backup_codes_work_once_are_counted_and_regenerate_under_sudo(t: TestDb) -> TestDb {
        let app = app(&t).await;
        let (_, codes) = enrolled(&app, "bc@example.com").await;
        partial(&app, "bc@example.com").await;
        let typed = format!(" {} ", codes[0].to_uppercase().replace('-', " "));
        assert_eq!(
            challenge(&app, &typed).await.status(),
            Status::SeeOther,
            "case, spaces and dashes do not matter"
        );
        assert_eq!(app.body("/dashboard").await.0, Status::Ok);
        let (_, settings) = app.body("/users/settings").await;
        assert!(
            settings.contains("9 unused backup codes left"),
            "{settings}"
        );
        let mails = app.mails_to("bc@example.com").await;
        let used = mails
            .iter()
            .find(|m| m.subject.contains("backup code was used"))
            .expect("mail on use");
        assert!(used.text.contains("9 unused codes are left"));
        partial(&app, "bc@example.com").await;
        assert_eq!(
            challenge(&app, &codes[0]).await.status(),
            Status::Unauthorized,
            "each code works once"
        );
        assert_eq!(challenge(&app, &codes[1]).await.status(), Status::SeeOther);

        app.clock.advance(Duration::minutes(16));
        let r = app
            .submit_owned("/users/settings/mfa/backup-codes", &[])
            .await;
        assert!(
            r.location.starts_with("/users/sudo"),
            "regenerating needs sudo"
        );
        app.submit("/users/sudo", &[("password", PASSWORD)]).await;
        let r = app.submit("/users/settings/mfa/backup-codes", &[]).await;
        assert_eq!(r.status(), Status::Ok);
        let html = r.into_string().await.unwrap();
        let fresh: Vec<&str> = between(&html, "id=\"backup-codes\">", "</ul>")
            .split("<code>")
            .skip(1)
            .map(|c| c.split('<').next().unwrap())
            .collect();
        assert_eq!(fresh.len(), 10);
        assert!(!fresh.contains(&codes[2].as_str()));
        partial(&app, "bc@example.com").await;
        assert_eq!(
            challenge(&app, &codes[2]).await.status(),
            Status::Unauthorized,
            "old codes die"
        );
        assert_eq!(challenge(&app, fresh[0]).await.status(), Status::SeeOther);
        let mails = app.mails_to("bc@example.com").await;
        assert!(mails.iter().any(|m| m.subject.contains("New backup codes")));
        t
    }
);
