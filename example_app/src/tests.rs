//! example_app's own tests, written with Sigra's test helpers (`sigra_rocket::testing`):
//! the app as it runs, on a throwaway SQLite file, with a clock only the test moves.

use rocket::http::Status;
use sigra_rocket::testing::{TestApp, TestUser};

async fn example() -> TestApp {
    // The app as `cargo run` builds it: Rocket's ordinary configuration (the repository's
    // Rocket.toml, found from this crate's folder), on a throwaway database.
    TestApp::new(crate::app(rocket::build()))
        .await
        .expect("the app launches")
}

/// An account with the app's own registration fields filled in.
fn member<'a>(app: &'a TestApp, email: &str) -> sigra_rocket::testing::UserBuilder<'a> {
    app.user(email)
        .field("display_name", "Ada Lovelace")
        .field("accept_terms", "true")
}

async fn get(app: &TestApp, path: &str) -> (Status, Option<String>, String) {
    let response = app.client().get(path.to_owned()).dispatch().await;
    let status = response.status();
    let location = response.headers().get_one("Location").map(str::to_owned);
    (
        status,
        location,
        response.into_string().await.unwrap_or_default(),
    )
}

#[rocket::async_test]
async fn a_visitor_is_sent_to_log_in_and_a_member_sees_the_dashboard() {
    let app = example().await;
    let (status, location, _) = get(&app, "/dashboard").await;
    assert_eq!(status, Status::SeeOther);
    assert!(location.unwrap().starts_with("/users/log_in?return_to="));

    let ada = member(&app, "ada@example.com").create().await.unwrap();
    app.log_in(&ada).await.unwrap();
    let (status, _, html) = get(&app, "/dashboard").await;
    assert_eq!(status, Status::Ok);
    assert!(
        html.contains("Ada Lovelace"),
        "the display name from the app's own table: {html}"
    );

    app.log_out().await.unwrap();
    assert_eq!(get(&app, "/dashboard").await.0, Status::SeeOther);
}

#[rocket::async_test]
async fn a_day_of_idleness_ends_the_session() {
    let app = example().await;
    let ada = member(&app, "ada@example.com").create().await.unwrap();
    app.log_in(&ada).await.unwrap();
    app.advance(time::Duration::hours(23));
    assert_eq!(get(&app, "/dashboard").await.0, Status::Ok);
    app.advance(time::Duration::hours(25));
    assert_eq!(get(&app, "/dashboard").await.0, Status::SeeOther);
}

#[rocket::async_test]
async fn an_account_with_a_second_factor_logs_in_with_its_code() {
    let app = example().await;
    let grace: TestUser = member(&app, "grace@example.com")
        .with_mfa()
        .create()
        .await
        .unwrap();
    assert!(grace.totp_secret.is_some());
    // The password alone leaves the dashboard closed.
    let base_fields = [
        ("email", "grace@example.com"),
        ("password", grace.password.as_str()),
    ];
    let (status, location) = app
        .submit("/users/log_in", "/users/log_in", &base_fields)
        .await
        .unwrap();
    assert_eq!(status, Status::SeeOther);
    assert!(location.unwrap().starts_with("/users/mfa"));
    assert_eq!(get(&app, "/dashboard").await.0, Status::SeeOther);
    // The helper passes the second factor with the current code.
    app.log_in(&grace).await.unwrap();
    assert_eq!(get(&app, "/dashboard").await.0, Status::Ok);
}

#[rocket::async_test]
async fn an_unconfirmed_account_gets_its_link_by_mail_and_admins_reach_the_console() {
    let app = example().await;
    member(&app, "new@example.com")
        .unconfirmed()
        .create()
        .await
        .unwrap();
    let link = app
        .link_for("new@example.com", "/users/confirm/")
        .await
        .unwrap();
    assert!(link.starts_with("/users/confirm/"));

    #[cfg(feature = "admin")]
    admins_reach_the_console(&app).await;
}

#[cfg(feature = "admin")]
async fn admins_reach_the_console(app: &TestApp) {
    let boss = member(app, "root@example.com")
        .admin()
        .create()
        .await
        .unwrap();
    let ada = member(app, "ada@example.com").create().await.unwrap();
    app.log_in(&ada).await.unwrap();
    assert_eq!(get(app, "/admin").await.0, Status::Forbidden);
    app.log_out().await.unwrap();
    app.log_in(&boss).await.unwrap();
    assert_eq!(get(app, "/admin").await.0, Status::Ok);
}

#[rocket::async_test]
async fn the_app_pages_extend_sigras_layout_with_its_security_headers() {
    let app = example().await;
    let response = app.client().get("/").dispatch().await;
    assert_eq!(response.status(), Status::Ok);
    let header = |name: &str| response.headers().get_one(name).map(str::to_owned);
    let csp = header("Content-Security-Policy").unwrap_or_default();
    assert!(
        csp.contains("script-src 'self'") && !csp.contains("unsafe-inline"),
        "a CSP without inline script: {csp}"
    );
    assert_eq!(header("X-Content-Type-Options").as_deref(), Some("nosniff"));
    assert_eq!(header("X-Frame-Options").as_deref(), Some("DENY"));
    assert_eq!(
        response.content_type(),
        Some(rocket::http::ContentType::HTML)
    );
    let html = response.into_string().await.unwrap_or_default();
    // Sigra's layout around the app's own content: its navigation for a visitor, the
    // page's CSRF token, and the app's card inside.
    assert!(html.contains(r#"<meta name="csrf-token""#), "{html}");
    assert!(html.contains(r#"users/register""#), "{html}");
    assert!(
        html.contains(r#"<div class="card" id="content">"#),
        "{html}"
    );

    // Signed in, the layout names the account on every page of the app.
    let ada = member(&app, "ada@example.com").create().await.unwrap();
    app.log_in(&ada).await.unwrap();
    let (status, _, html) = get(&app, "/dashboard").await;
    assert_eq!(status, Status::Ok);
    assert!(html.contains("site-nav__user"), "{html}");
    assert!(
        html.contains(r#"id="dashboard-email">ada@example.com<"#),
        "{html}"
    );
}

#[rocket::async_test]
async fn the_mailbox_lists_oldest_first_and_link_for_takes_the_newest_link() {
    let app = example().await;
    member(&app, "ada@example.com").create().await.unwrap();
    for _ in 0..2 {
        let (status, _) = app
            .submit(
                "/users/reset-password",
                "/users/reset-password",
                &[("email", "ada@example.com")],
            )
            .await
            .unwrap();
        assert_eq!(status, Status::Ok, "the check-your-mail page");
        // A second reset mail within minutes of the first is not sent again.
        app.advance(time::Duration::hours(1));
    }
    let mails = app.mails_to("ada@example.com").await.unwrap();
    let ids: Vec<u64> = mails.iter().map(|m| m.id).collect();
    assert!(
        ids.len() >= 3 && ids.windows(2).all(|w| w[0] < w[1]),
        "oldest first: {ids:?}"
    );
    let newest = mails.last().unwrap();
    let link = app
        .link_for("ada@example.com", "/users/reset-password/")
        .await
        .unwrap();
    assert!(newest.text.contains(&link), "{link} is in the newest mail");
    assert!(!mails[mails.len() - 2].text.contains(&link));
}
