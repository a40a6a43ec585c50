//! Account lockout (shared through the database) and load shedding when hashing saturates.

use rocket::http::{ContentType, Status};
use sigra_core::store::users;
use time::Duration;

use crate::common::TestDb;
use crate::common::app::{PASSWORD, app, app_with, figment, form};

const WRONG: &str = "definitely not the password";

conformance!(
    async fn five_wrong_passwords_lock_the_account_like_a_wrong_password(t: TestDb) -> TestDb {
        let app = app(&t).await;
        app.register("lk@example.com", PASSWORD).await;
        for _ in 0..5 {
            assert_eq!(
                app.log_in("lk@example.com", WRONG, false).await.status(),
                Status::Unauthorized
            );
        }
        let user = users::find_by_email(&t.db, "lk@example.com")
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            user.locked_until,
            Some(sigra_core::Clock::now(&app.clock) + Duration::minutes(15))
        );

        // Locked: even the right password answers exactly like a wrong one, or an unknown email.
        let locked = app.log_in("lk@example.com", PASSWORD, false).await;
        assert_eq!(locked.status(), Status::Unauthorized);
        let locked_body = locked.into_string().await.unwrap();
        let unknown = app.log_in("nobody-lk@example.com", PASSWORD, false).await;
        assert_eq!(unknown.status(), Status::Unauthorized);
        assert_eq!(
            unknown
                .into_string()
                .await
                .unwrap()
                .replace("nobody-lk@", "lk@"),
            locked_body
        );
        assert!(app.cookie("sigra_session").is_none());

        // The unlock mail's link lifts the lock.
        let link = app.link_for("lk@example.com", "/users/unlock/").await;
        let (status, _) = app.body(&link).await;
        assert_eq!(status, Status::Ok);
        let r = app.submit_owned(&link, &[]).await;
        assert_eq!(r.location, "/users/log_in?notice=unlocked");
        assert_eq!(
            app.log_in("lk@example.com", PASSWORD, false).await.status(),
            Status::SeeOther
        );
        assert_eq!(
            app.submit(&link, &[]).await.status(),
            Status::NotFound,
            "single use"
        );
        t
    }

    async fn locks_expire_and_double_on_repeat(t: TestDb) -> TestDb {
        let app = app(&t).await;
        app.register("dbl@example.com", PASSWORD).await;
        for _ in 0..5 {
            app.log_in("dbl@example.com", WRONG, false).await;
        }
        app.clock.advance(Duration::minutes(14));
        assert_eq!(
            app.log_in("dbl@example.com", PASSWORD, false)
                .await
                .status(),
            Status::Unauthorized
        );
        app.clock.advance(Duration::minutes(1));
        // Expired; five more failures lock it again, for twice as long.
        for _ in 0..5 {
            app.log_in("dbl@example.com", WRONG, false).await;
        }
        let user = users::find_by_email(&t.db, "dbl@example.com")
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            user.locked_until,
            Some(sigra_core::Clock::now(&app.clock) + Duration::minutes(30))
        );
        assert_eq!(user.lock_count, 2);
        app.clock.advance(Duration::minutes(30));
        assert_eq!(
            app.log_in("dbl@example.com", PASSWORD, false)
                .await
                .status(),
            Status::SeeOther
        );
        let user = users::find_by_email(&t.db, "dbl@example.com")
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            user.lock_count, 0,
            "a successful log-in forgets earlier locks"
        );
        t
    }

    async fn password_reset_still_works_while_locked(t: TestDb) -> TestDb {
        let app = app(&t).await;
        app.register("rl@example.com", PASSWORD).await;
        for _ in 0..5 {
            app.log_in("rl@example.com", WRONG, false).await;
        }
        app.submit("/users/reset-password", &[("email", "rl@example.com")])
            .await;
        let link = app
            .link_for("rl@example.com", "/users/reset-password/")
            .await;
        let new = "another fresh passphrase 31";
        let r = app
            .submit_owned(&link, &[("password", new), ("password_confirmation", new)])
            .await;
        assert_eq!(r.status, Status::SeeOther);
        assert_eq!(
            app.log_in("rl@example.com", new, false).await.status(),
            Status::SeeOther
        );
        t
    }

    async fn lockout_is_shared_by_instances_on_one_database(t: TestDb) -> TestDb {
        let a = app(&t).await;
        a.register("sh@example.com", PASSWORD).await;
        let b = a.other_browser().await;
        for _ in 0..3 {
            a.log_in("sh@example.com", WRONG, false).await;
        }
        for _ in 0..2 {
            b.log_in("sh@example.com", WRONG, false).await;
        }
        assert_eq!(
            a.log_in("sh@example.com", PASSWORD, false).await.status(),
            Status::Unauthorized
        );
        assert_eq!(
            b.log_in("sh@example.com", PASSWORD, false).await.status(),
            Status::Unauthorized
        );
        assert!(
            users::find_by_email(&t.db, "sh@example.com")
                .await
                .unwrap()
                .unwrap()
                .locked_until
                .is_some()
        );
        t
    }

    async fn a_saturated_hashing_pool_answers_503_with_retry_after(t: TestDb) -> TestDb {
        let app = app_with(
            figment(&t)
                .merge(("sigra.password.hashing_workers", 1))
                .merge(("sigra.password.hashing_queue", 1))
                .merge(("sigra.password.argon2_memory_kib", 32768))
                .merge(("sigra.password.argon2_iterations", 3)),
        )
        .await;
        let token = app.csrf().await;
        let body = form(&[
            ("_csrf", &token),
            ("email", "flood@example.com"),
            ("password", WRONG),
        ]);
        let requests = (0..12).map(|_| {
            app.client
                .post("/users/log_in")
                .remote(crate::common::app::CLIENT)
                .header(ContentType::Form)
                .body(body.clone())
                .dispatch()
        });
        let responses = rocket::futures::future::join_all(requests).await;
        let busy: Vec<_> = responses
            .iter()
            .filter(|r| r.status() == Status::ServiceUnavailable)
            .collect();
        assert!(
            !busy.is_empty(),
            "{:?}",
            responses.iter().map(|r| r.status()).collect::<Vec<_>>()
        );
        for r in &busy {
            assert_eq!(r.headers().get_one("Retry-After"), Some("5"));
        }
        assert!(
            responses
                .iter()
                .all(|r| matches!(r.status().code, 401 | 503))
        );
        t
    }

    async fn wrong_passwords_in_sudo_change_password_and_change_email_count_toward_lockout(
        t: TestDb,
    ) -> TestDb {
        let app = app(&t).await;
        app.signed_up("pc@example.com").await;
        // Past the sudo window of the log-in, so change email asks for the password too.
        app.clock.advance(Duration::minutes(16));
        let new = "a brand new passphrase 47";
        let wrong_sudo = app
            .submit("/users/sudo", &[("password", WRONG)])
            .await
            .status();
        app.submit("/users/sudo", &[("password", WRONG)]).await;
        let wrong_change = app
            .submit(
                "/users/settings/password",
                &[
                    ("current_password", WRONG),
                    ("password", new),
                    ("password_confirmation", new),
                ],
            )
            .await
            .status();
        app.submit(
            "/users/settings/password",
            &[
                ("current_password", WRONG),
                ("password", new),
                ("password_confirmation", new),
            ],
        )
        .await;
        let user = users::find_by_email(&t.db, "pc@example.com")
            .await
            .unwrap()
            .unwrap();
        assert_eq!((user.failed_login_count, user.locked_until), (4, None));
        let wrong_email = app
            .submit(
                "/users/settings/email",
                &[("email", "pc2@example.com"), ("current_password", WRONG)],
            )
            .await
            .status();
        let user = users::find_by_email(&t.db, "pc@example.com")
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            user.locked_until,
            Some(sigra_core::Clock::now(&app.clock) + Duration::minutes(15)),
            "the fifth wrong password locks"
        );
        assert!(
            app.mails_to("pc@example.com")
                .await
                .iter()
                .any(|m| m.text.contains("/users/unlock/"))
        );

        // Locked: the right password is refused in each of them, like a wrong one.
        assert_eq!(
            app.submit("/users/sudo", &[("password", PASSWORD)])
                .await
                .status(),
            wrong_sudo
        );
        let r = app
            .submit(
                "/users/settings/password",
                &[
                    ("current_password", PASSWORD),
                    ("password", new),
                    ("password_confirmation", new),
                ],
            )
            .await;
        assert_eq!(r.status(), wrong_change);
        assert!(
            r.into_string()
                .await
                .unwrap()
                .contains("not your current password")
        );
        let r = app
            .submit(
                "/users/settings/email",
                &[("email", "pc2@example.com"), ("current_password", PASSWORD)],
            )
            .await;
        assert_eq!(r.status(), wrong_email);
        assert!(
            r.into_string()
                .await
                .unwrap()
                .contains("not your current password")
        );
        assert_eq!(
            app.log_in("pc@example.com", PASSWORD, false).await.status(),
            Status::Unauthorized
        );

        // After the lock, a right password works again and clears the count.
        app.clock.advance(Duration::minutes(15));
        assert_eq!(
            app.submit("/users/sudo", &[("password", WRONG)])
                .await
                .status(),
            wrong_sudo
        );
        assert_eq!(
            app.submit("/users/sudo", &[("password", PASSWORD)])
                .await
                .status(),
            Status::SeeOther
        );
        let user = users::find_by_email(&t.db, "pc@example.com")
            .await
            .unwrap()
            .unwrap();
        assert_eq!(user.failed_login_count, 0);
        t
    }

    async fn a_count_left_over_a_lowered_limit_locks_once_instead_of_refusing_forever(
        t: TestDb,
    ) -> TestDb {
        let app = app(&t).await;
        app.register("lw@example.com", PASSWORD).await;
        let id = users::find_by_email(&t.db, "lw@example.com")
            .await
            .unwrap()
            .unwrap()
            .id;
        // Seven failures counted under an older, higher limit.
        for _ in 0..7 {
            users::record_failed_login(&t.db, id, sigra_core::Clock::now(&app.clock))
                .await
                .unwrap();
        }
        assert_eq!(
            app.log_in("lw@example.com", PASSWORD, false).await.status(),
            Status::Unauthorized
        );
        assert_eq!(
            app.log_in("lw@example.com", PASSWORD, false).await.status(),
            Status::Unauthorized
        );
        let user = users::find_by_email(&t.db, "lw@example.com")
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            (user.lock_count, user.failed_login_count),
            (1, 0),
            "locked once"
        );
        assert_eq!(
            user.locked_until,
            Some(sigra_core::Clock::now(&app.clock) + Duration::minutes(15))
        );
        app.clock.advance(Duration::minutes(15));
        assert_eq!(
            app.log_in("lw@example.com", PASSWORD, false).await.status(),
            Status::SeeOther
        );
        t
    }
);
