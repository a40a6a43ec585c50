//! Social log-in against a real OpenID provider (`oidc-provider` in node, started by the
//! harness on loopback): the linking decision row by row, the connections page, sudo
//! through a provider, and every refusal (state, nonce, replay, expiry, audience,
//! signature, provider errors) with nothing half-created.

use rocket::http::{ContentType, Method, Status};
use serde_json::json;
use sigra_core::features::audit;
use sigra_core::store::audit::{self as audit_store, AuditFilter};
use sigra_core::store::oauth as identities;
use sigra_core::store::{AuditEvent, IdentityRow, users};
use time::Duration;

use crate::common::TestDb;
use crate::common::app::{Answer, CLIENT, PASSWORD, TestApp, app_with, figment, json_accept};
use crate::common::json::JsonAnswer;
use crate::common::oidc::{Account, OidcProvider, ProviderAnswer, provider, sign_in_at_provider};

/// Where the provider sends browsers back (its registered redirect URIs are there).
const PUBLIC_URL: &str = "http://localhost:8000";

/// An app with three providers at the local OpenID provider: `idp` (not trusted for
/// email), `trusted` (`trust_email = true`), `formpost` (`response_mode = "form_post"`).
async fn oauth_app(t: &TestDb) -> TestApp {
    app_with(oauth_figment(t)).await
}

/// The configuration of [`oauth_app`].
fn oauth_figment(t: &TestDb) -> rocket::figment::Figment {
    let issuer = provider().issuer();
    let mut figment = figment(t).merge(("sigra.public_url", PUBLIC_URL));
    for (name, trust, mode) in [
        ("idp", false, "query"),
        ("trusted", true, "query"),
        ("formpost", false, "form_post"),
    ] {
        let key = |k: &str| format!("sigra.oauth.providers.{name}.{k}");
        figment = figment
            .merge((key("kind"), "oidc"))
            .merge((key("issuer"), issuer))
            .merge((key("client_id"), OidcProvider::CLIENT_ID))
            .merge((key("client_secret"), OidcProvider::CLIENT_SECRET))
            .merge((key("trust_email"), trust))
            .merge((key("response_mode"), mode));
    }
    figment.merge(("sigra.oauth.providers.idp.display_name", "Test IdP"))
}

/// A new account at the provider.
async fn account(email_verified: bool) -> Account {
    let account = Account::random(email_verified);
    provider().add_account(&account).await;
    account
}

/// An account at the provider whose address is `email`.
async fn account_with_email(email: &str, email_verified: bool) -> Account {
    let mut account = Account::random(email_verified);
    account.email = email.to_owned();
    provider().add_account(&account).await;
    account
}

/// Presses provider `name`'s button (with `fields`); answers the provider's
/// authorization URL.
async fn start(app: &TestApp, name: &str, fields: &[(&str, &str)]) -> String {
    let r = app
        .submit_owned(&format!("/users/auth/{name}"), fields)
        .await;
    assert_eq!(r.status, Status::SeeOther, "{}", r.body);
    assert!(
        r.location.starts_with(provider().issuer()),
        "{}",
        r.location
    );
    r.location
}

/// The app-relative part of an absolute URL at [`PUBLIC_URL`].
fn local(url: &str) -> String {
    url.strip_prefix(PUBLIC_URL)
        .unwrap_or_else(|| panic!("{url} is not at {PUBLIC_URL}"))
        .to_owned()
}

/// Brings the provider's answer to the app, as the browser would: a redirect is a GET;
/// a `form_post` page posts (cross-site: no CSRF token), then follows the 303.
async fn come_back(app: &TestApp, answer: &ProviderAnswer) -> Answer {
    match answer {
        ProviderAnswer::Redirect(url) => get(app, &local(url)).await,
        ProviderAnswer::FormPost { action, fields } => {
            let fields: Vec<(&str, &str)> = fields
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str()))
                .collect();
            let posted = app.post_owned(&local(action), &fields).await;
            assert_eq!(posted.status, Status::SeeOther, "{}", posted.body);
            assert!(!posted.location.contains("code="), "{}", posted.location);
            get(app, &posted.location).await
        }
    }
}

async fn get(app: &TestApp, path: &str) -> Answer {
    Answer::read(
        app.client
            .get(path.to_owned())
            .remote(CLIENT)
            .dispatch()
            .await,
    )
    .await
}

/// Button, provider (signing in as `account`), callback.
async fn sign_in_with(app: &TestApp, name: &str, account: &Account) -> Answer {
    let url = start(app, name, &[]).await;
    let answer = sign_in_at_provider(&url, Some(&account.id), false).await;
    come_back(app, &answer).await
}

async fn identity(t: &TestDb, name: &str, account: &Account) -> Option<IdentityRow> {
    identities::find_by_subject(&t.db, name, &account.id)
        .await
        .unwrap()
}

async fn events(t: &TestDb, action: &str) -> Vec<AuditEvent> {
    audit_store::list(&t.db, &AuditFilter::default().action(action))
        .await
        .unwrap()
}

/// The reasons of the `login.oauth_failure` events so far.
async fn failures(t: &TestDb) -> Vec<String> {
    events(t, audit::LOGIN_OAUTH_FAILURE)
        .await
        .iter()
        .map(|e| {
            e.metadata.0["reason"]
                .as_str()
                .unwrap_or_default()
                .to_owned()
        })
        .collect()
}

async fn signed_in(app: &TestApp) -> bool {
    app.body("/dashboard").await.0 == Status::Ok
}

async fn user_count(t: &TestDb) -> i64 {
    crate::retention::count(&t.db, "sigra_users").await
}

/// A refused callback: the log-in page with `message`, answered with `status`, no
/// session, a `login.oauth_failure` audited with `reason`.
async fn assert_refused(t: &TestDb, app: &TestApp, r: &Answer, status: Status, reason: &str) {
    assert_eq!(r.status, status, "{}", r.body);
    assert!(r.body.contains("id=\"login-error\""), "{}", r.body);
    assert!(!signed_in(app).await);
    assert!(
        failures(t).await.iter().any(|f| f == reason),
        "{reason} not audited: {:?}",
        failures(t).await
    );
}

conformance!(
    async fn a_new_provider_account_makes_a_confirmed_account_without_a_password_and_signs_in(
        t: TestDb,
    ) -> TestDb {
        let app = oauth_app(&t).await;
        let (status, page) = app.body("/users/log_in").await;
        assert_eq!(status, Status::Ok);
        assert!(page.contains("id=\"oauth-idp\""), "{page}");
        assert!(page.contains("Continue with Test IdP"));
        assert!(
            app.body("/users/register")
                .await
                .1
                .contains("Sign up with Test IdP")
        );

        let alice = account(true).await;
        let url = start(&app, "idp", &[("return_to", "/dashboard")]).await;
        // The provider gets state, nonce and the PKCE challenge (S256), never the verifier.
        for param in [
            "state=",
            "nonce=",
            "code_challenge=",
            "code_challenge_method=S256",
        ] {
            assert!(url.contains(param), "{param} missing from {url}");
        }
        assert!(url.contains(
            "redirect_uri=http%3A%2F%2Flocalhost%3A8000%2Fusers%2Fauth%2Fidp%2Fcallback"
        ));
        let binding = app
            .cookie("sigra_oauth")
            .expect("the flow is bound to this browser");
        let answer = sign_in_at_provider(&url, Some(&alice.id), false).await;
        let r = come_back(&app, &answer).await;
        assert_eq!(r.status, Status::SeeOther, "{}", r.body);
        assert_eq!(r.location, "/dashboard");
        assert!(signed_in(&app).await);

        let user = users::find_by_email(&t.db, &alice.email)
            .await
            .unwrap()
            .unwrap();
        assert!(
            user.confirmed_at.is_some(),
            "the provider asserted a verified email"
        );
        assert!(!user.has_password());
        let row = identity(&t, "idp", &alice).await.expect("linked");
        assert_eq!(row.user_id, user.id);
        assert_eq!(row.email.as_deref(), Some(alice.email.as_str()));
        assert_eq!(row.name.as_deref(), Some(alice.name.as_str()));
        // The provider's tokens are kept sealed, and never in Debug.
        let access = row.access_token.clone().expect("access token kept");
        assert!(access.len() > 40 && !access.contains(&binding));
        assert!(!format!("{row:?}").contains(&access));
        let registered = events(&t, audit::REGISTRATION).await;
        assert_eq!(registered[0].metadata.0["provider"], "idp");
        let logins = events(&t, audit::LOGIN_OAUTH).await;
        assert_eq!(logins.len(), 1);
        assert_eq!(logins[0].metadata.0["mfa"], "none");
        // The flow is used up: the same callback again is refused.
        let again = come_back(&app, &answer).await;
        assert_eq!(again.status, Status::BadRequest);
        assert!(
            failures(&t)
                .await
                .contains(&"oauth_state_invalid".to_owned())
        );
        t
    }

    async fn an_unverified_provider_email_makes_an_unconfirmed_account_and_mails_a_confirmation(
        t: TestDb,
    ) -> TestDb {
        let app = oauth_app(&t).await;
        let bob = account(false).await;
        let r = sign_in_with(&app, "idp", &bob).await;
        assert_eq!(r.status, Status::SeeOther, "{}", r.body);
        let user = users::find_by_email(&t.db, &bob.email)
            .await
            .unwrap()
            .unwrap();
        assert!(user.confirmed_at.is_none());
        let mails = app.mails_to(&bob.email).await;
        assert!(
            mails.iter().any(|m| m.text.contains("/users/confirm/")),
            "{mails:?}"
        );
        t
    }

    async fn an_existing_email_is_linked_implicitly_only_when_verified_and_the_provider_trusted(
        t: TestDb,
    ) -> TestDb {
        let app = oauth_app(&t).await;
        app.signed_up("carol@example.com").await;
        app.log_out().await;
        let carol = users::find_by_email(&t.db, "carol@example.com")
            .await
            .unwrap()
            .unwrap();

        // Untrusted provider, verified email: no takeover; told to sign in first.
        let at_idp = account_with_email("carol@example.com", true).await;
        let r = sign_in_with(&app, "idp", &at_idp).await;
        assert_eq!(r.status, Status::Conflict, "{}", r.body);
        assert!(r.body.contains("id=\"oauth-account-exists\""), "{}", r.body);
        assert!(r.body.contains("value=\"carol@example.com\""));
        assert!(!signed_in(&app).await);
        assert!(identity(&t, "idp", &at_idp).await.is_none());
        // Trusted provider, unverified email: the same.
        let unverified = account_with_email("carol@example.com", false).await;
        let r = sign_in_with(&app, "trusted", &unverified).await;
        assert_eq!(r.status, Status::Conflict, "{}", r.body);
        assert!(identity(&t, "trusted", &unverified).await.is_none());
        assert_eq!(events(&t, audit::OAUTH_LINK_REQUIRED).await.len(), 2);
        assert_eq!(user_count(&t).await, 1, "nothing half-created");

        // Trusted provider, verified email: linked and signed in, and the owner is told.
        let verified = account_with_email("carol@example.com", true).await;
        let r = sign_in_with(&app, "trusted", &verified).await;
        assert_eq!(r.status, Status::SeeOther, "{}", r.body);
        assert!(signed_in(&app).await);
        let row = identity(&t, "trusted", &verified)
            .await
            .expect("linked implicitly");
        assert_eq!(row.user_id, carol.id);
        let linked = events(&t, audit::OAUTH_LINKED).await;
        assert_eq!(linked[0].metadata.0["implicit"], true);
        let mails = app.mails_to("carol@example.com").await;
        assert!(
            mails.iter().any(|m| m.subject.contains("was linked")),
            "{mails:?}"
        );
        t
    }

    async fn an_implicit_link_to_an_unconfirmed_account_ends_the_squatters_password_and_sessions(
        t: TestDb,
    ) -> TestDb {
        // Someone registered the address before its owner did (unconfirmed) and keeps a
        // session; the owner then signs in through a provider trusted for email.
        let squatter = oauth_app(&t).await;
        squatter.signed_up("dave@example.com").await;
        assert!(signed_in(&squatter).await);
        let owner = squatter.other_browser().await;
        let dave = account_with_email("dave@example.com", true).await;
        let r = sign_in_with(&owner, "trusted", &dave).await;
        assert_eq!(r.status, Status::SeeOther, "{}", r.body);
        let user = users::find_by_email(&t.db, "dave@example.com")
            .await
            .unwrap()
            .unwrap();
        assert!(user.confirmed_at.is_some());
        assert!(!user.has_password(), "the squatter's password is gone");
        assert!(!signed_in(&squatter).await, "the squatter's session ended");
        assert!(signed_in(&owner).await);
        t
    }

    async fn after_proving_the_account_the_waiting_identity_is_linked_in_that_browser_only(
        t: TestDb,
    ) -> TestDb {
        let app = oauth_app(&t).await;
        app.signed_up("erin@example.com").await;
        app.log_out().await;
        let erin = account_with_email("erin@example.com", true).await;
        let r = sign_in_with(&app, "idp", &erin).await;
        assert_eq!(r.status, Status::Conflict);
        // The log-in page sends the owner to the connections page afterwards.
        assert!(
            r.body.contains(
                "name=\"return_to\" value=\"&#x2F;users&#x2F;settings&#x2F;connections\""
            ),
            "{}",
            r.body
        );

        // Another browser proving the account sees nothing waiting.
        let other = app.other_browser().await;
        other.log_in("erin@example.com", PASSWORD, false).await;
        let (_, page) = other.body("/users/settings/connections").await;
        assert!(!page.contains("oauth-pending"), "{page}");

        let r = app.log_in_owned("erin@example.com", PASSWORD, false).await;
        assert_eq!(r.status, Status::SeeOther);
        let (status, page) = app.body("/users/settings/connections").await;
        assert_eq!(status, Status::Ok);
        assert!(page.contains("id=\"oauth-pending\""), "{page}");
        assert!(page.contains(&erin.email));
        assert!(
            identity(&t, "idp", &erin).await.is_none(),
            "nothing linked before the click"
        );
        let r = app
            .submit_owned("/users/settings/connections/idp", &[])
            .await;
        assert_eq!(r.status, Status::SeeOther, "{}", r.body);
        assert_eq!(r.location, "/users/settings/connections?notice=linked");
        let user = users::find_by_email(&t.db, "erin@example.com")
            .await
            .unwrap()
            .unwrap();
        assert_eq!(identity(&t, "idp", &erin).await.unwrap().user_id, user.id);
        // Used up: nothing waits any more.
        assert!(
            !app.body("/users/settings/connections")
                .await
                .1
                .contains("oauth-pending")
        );

        // From now on the provider signs in to the account.
        app.log_out().await;
        let r = sign_in_with(&app, "idp", &erin).await;
        assert_eq!(r.status, Status::SeeOther, "{}", r.body);
        assert!(signed_in(&app).await);
        t
    }

    async fn a_linked_identity_signs_in_to_its_account_and_the_second_factor_still_applies(
        t: TestDb,
    ) -> TestDb {
        let app = oauth_app(&t).await;
        let (secret, _) = crate::mfa_totp::enrolled(&app, "frank@example.com").await;
        let frank = account(true).await;
        // Link from the connections page (the session is fresh: sudo holds).
        let r = app
            .submit_owned("/users/settings/connections/idp", &[])
            .await;
        assert_eq!(r.status, Status::SeeOther, "{}", r.body);
        let answer = sign_in_at_provider(&r.location, Some(&frank.id), false).await;
        let r = come_back(&app, &answer).await;
        assert_eq!(
            r.location, "/users/settings/connections?notice=linked",
            "{}",
            r.body
        );
        let user = users::find_by_email(&t.db, "frank@example.com")
            .await
            .unwrap()
            .unwrap();
        assert_eq!(identity(&t, "idp", &frank).await.unwrap().user_id, user.id);
        let (_, page) = app.body("/users/settings/connections").await;
        assert!(page.contains(&frank.email), "{page}");
        // Linking the same provider account again changes nothing.
        let r = app
            .submit_owned("/users/settings/connections/idp", &[])
            .await;
        let answer = sign_in_at_provider(&r.location, Some(&frank.id), false).await;
        let r = come_back(&app, &answer).await;
        assert_eq!(r.location, "/users/settings/connections?notice=linked");
        assert_eq!(
            identities::count_for_user(&t.db, user.id, None)
                .await
                .unwrap(),
            1
        );
        assert_eq!(events(&t, audit::OAUTH_LINKED).await.len(), 1);

        app.log_out().await;
        let r = sign_in_with(&app, "idp", &frank).await;
        assert_eq!(r.status, Status::SeeOther);
        assert!(r.location.starts_with("/users/mfa"), "{}", r.location);
        assert!(!signed_in(&app).await, "the second factor is still owed");
        let logins = events(&t, audit::LOGIN_OAUTH).await;
        assert_eq!(logins.last().unwrap().metadata.0["mfa"], "pending");
        // The next time step: the enrollment's code cannot be used twice.
        app.clock.advance(Duration::seconds(30));
        let code = crate::common::json::totp_code(&app, &secret);
        let r = app.submit_owned("/users/mfa", &[("code", &code)]).await;
        assert_eq!(r.status, Status::SeeOther, "{}", r.body);
        assert!(signed_in(&app).await);
        t
    }

    async fn a_provider_account_linked_elsewhere_cannot_be_linked_again(t: TestDb) -> TestDb {
        let app = oauth_app(&t).await;
        let grace = account(true).await;
        assert_eq!(
            sign_in_with(&app, "idp", &grace).await.status,
            Status::SeeOther
        );
        let owner = users::find_by_email(&t.db, &grace.email)
            .await
            .unwrap()
            .unwrap();
        let other = app.other_browser().await;
        other.signed_up("heidi@example.com").await;
        let r = other
            .submit_owned("/users/settings/connections/idp", &[])
            .await;
        let answer = sign_in_at_provider(&r.location, Some(&grace.id), false).await;
        let r = come_back(&other, &answer).await;
        assert_eq!(r.status, Status::Conflict, "{}", r.body);
        assert!(r.body.contains(OAUTH_TAKEN), "{}", r.body);
        assert_eq!(identity(&t, "idp", &grace).await.unwrap().user_id, owner.id);
        t
    }

    async fn a_link_flow_is_finished_only_by_the_session_that_started_it(t: TestDb) -> TestDb {
        let app = oauth_app(&t).await;
        app.signed_up("oscar@example.com").await;
        let r = app
            .submit_owned("/users/settings/connections/idp", &[])
            .await;
        let oscar = account(true).await;
        let answer = sign_in_at_provider(&r.location, Some(&oscar.id), false).await;
        // Someone else signs in in the same browser before the provider answers.
        app.log_out().await;
        app.signed_up("trudy@example.com").await;
        let r = come_back(&app, &answer).await;
        assert_eq!(r.status, Status::BadRequest, "{}", r.body);
        assert!(r.body.contains("id=\"oauth-error\""), "{}", r.body);
        assert!(identity(&t, "idp", &oscar).await.is_none());
        assert!(
            failures(&t)
                .await
                .contains(&"oauth_state_invalid".to_owned())
        );
        t
    }

    async fn unlinking_needs_sudo_and_never_removes_the_last_way_to_sign_in(t: TestDb) -> TestDb {
        let app = oauth_app(&t).await;
        let ivan = account(true).await;
        assert_eq!(
            sign_in_with(&app, "idp", &ivan).await.status,
            Status::SeeOther
        );
        let row = identity(&t, "idp", &ivan).await.unwrap();
        let path = format!("/users/settings/connections/{}", row.id);

        // The only way in (no password, no passkey): refused, with the way out offered.
        let r = app.submit_owned(&path, &[("_method", "DELETE")]).await;
        assert_eq!(r.status, Status::Conflict, "{}", r.body);
        assert!(r.body.contains("id=\"oauth-set-password\""), "{}", r.body);
        assert!(identity(&t, "idp", &ivan).await.is_some());

        // Sudo through the provider opens the window again after it closed.
        app.clock.advance(Duration::minutes(20));
        let r = app.submit_owned(&path, &[("_method", "DELETE")]).await;
        assert_eq!(r.status, Status::SeeOther);
        assert!(r.location.starts_with("/users/sudo"), "{}", r.location);
        let (_, sudo_page) = app.body("/users/sudo").await;
        assert!(
            sudo_page.contains("name=\"intent\" value=\"sudo\""),
            "{sudo_page}"
        );
        assert!(
            !sudo_page.contains("name=\"password\""),
            "no password to ask for"
        );
        let url = start(
            &app,
            "idp",
            &[("intent", "sudo"), ("return_to", "/users/settings")],
        )
        .await;
        // Another provider account does not confirm it's you.
        let stranger = account(true).await;
        let answer = sign_in_at_provider(&url, Some(&stranger.id), false).await;
        let r = come_back(&app, &answer).await;
        assert_eq!(r.status, Status::Unauthorized, "{}", r.body);
        assert!(events(&t, audit::SUDO_FAILURE).await.len() == 1);
        let url = start(
            &app,
            "idp",
            &[("intent", "sudo"), ("return_to", "/users/settings")],
        )
        .await;
        let answer = sign_in_at_provider(&url, Some(&ivan.id), false).await;
        let r = come_back(&app, &answer).await;
        assert_eq!(r.status, Status::SeeOther, "{}", r.body);
        assert_eq!(r.location, "/users/settings");

        // With a password set, the provider can go.
        let new = "a brand new passphrase 77";
        let r = app
            .submit_owned(
                "/users/settings/set-password",
                &[("password", new), ("password_confirmation", new)],
            )
            .await;
        assert_eq!(r.status, Status::SeeOther, "{}", r.body);
        let r = app.submit_owned(&path, &[("_method", "DELETE")]).await;
        assert_eq!(r.status, Status::SeeOther, "{}", r.body);
        assert_eq!(r.location, "/users/settings/connections?notice=unlinked");
        assert!(identity(&t, "idp", &ivan).await.is_none());
        assert_eq!(events(&t, audit::OAUTH_UNLINKED).await.len(), 1);
        let mails = app.mails_to(&ivan.email).await;
        assert!(
            mails.iter().any(|m| m.subject.contains("was unlinked")),
            "{mails:?}"
        );
        // Another account's connection id is not found.
        let r = app.submit_owned(&path, &[("_method", "DELETE")]).await;
        assert_eq!(r.status, Status::NotFound);
        t
    }

    async fn a_callback_from_another_browser_or_with_a_forged_state_is_refused(
        t: TestDb,
    ) -> TestDb {
        let app = oauth_app(&t).await;
        let judy = account(true).await;
        let url = start(&app, "idp", &[]).await;
        let answer = sign_in_at_provider(&url, Some(&judy.id), false).await;
        // Login CSRF: the victim's browser (with a flow of its own, so with its own
        // binding cookie) gets the attacker's callback.
        let victim = app.other_browser().await;
        start(&victim, "idp", &[]).await;
        assert!(victim.cookie("sigra_oauth").is_some());
        let r = come_back(&victim, &answer).await;
        assert_refused(&t, &victim, &r, Status::BadRequest, "oauth_state_invalid").await;
        // A state nobody made.
        let ProviderAnswer::Redirect(redirect) = &answer else {
            panic!()
        };
        let state = answer.param("state").unwrap();
        let forged = redirect.replace(&state, "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA");
        let r = get(&app, &local(&forged)).await;
        assert_refused(&t, &app, &r, Status::BadRequest, "oauth_state_invalid").await;
        // The same state at another provider's callback.
        let other_provider = redirect.replace("/auth/idp/", "/auth/trusted/");
        let r = get(&app, &local(&other_provider)).await;
        assert_refused(&t, &app, &r, Status::BadRequest, "oauth_state_invalid").await;
        assert_eq!(user_count(&t).await, 0);
        // The victim's refusal did not use the flow up for its browser.
        let r = come_back(&app, &answer).await;
        assert_eq!(r.status, Status::SeeOther, "{}", r.body);
        t
    }

    async fn a_replayed_code_and_an_expired_flow_are_refused(t: TestDb) -> TestDb {
        let app = oauth_app(&t).await;
        let ken = account(true).await;
        let first = sign_in_at_provider(&start(&app, "idp", &[]).await, Some(&ken.id), false).await;
        // A second flow of the same browser, answered with the first flow's code: the
        // provider refuses a code issued for another PKCE challenge (or used already).
        let second =
            sign_in_at_provider(&start(&app, "idp", &[]).await, Some(&ken.id), false).await;
        let code = first.param("code").unwrap();
        let ProviderAnswer::Redirect(redirect) = &second else {
            panic!()
        };
        let mixed = redirect.replace(&second.param("code").unwrap(), &code);
        let r = get(&app, &local(&mixed)).await;
        assert_refused(&t, &app, &r, Status::Unauthorized, "oauth_exchange_failed").await;
        assert_eq!(user_count(&t).await, 0);

        // Ten minutes later, a flow is dead.
        let url = start(&app, "idp", &[]).await;
        let late = sign_in_at_provider(&url, Some(&ken.id), false).await;
        app.clock
            .advance(Duration::minutes(10) + Duration::seconds(1));
        let r = come_back(&app, &late).await;
        assert_refused(&t, &app, &r, Status::BadRequest, "oauth_flow_expired").await;
        assert!(r.body.contains("expired"));
        assert_eq!(user_count(&t).await, 0);
        t
    }

    async fn an_id_token_that_does_not_verify_is_refused(t: TestDb) -> TestDb {
        let app = oauth_app(&t).await;
        let lena = account(true).await;
        for (claims, badsig) in [
            (json!({ "nonce": "another-nonce" }), false),
            (json!({ "aud": "another-client" }), false),
            (json!({ "iss": "http://127.0.0.1:1/elsewhere" }), false),
            // Expired before the app's clock (2026-06-01).
            (json!({ "exp": 1_780_000_000 - 86_400 * 20 }), false),
            (json!({ "nonce": null }), false),
            (json!({}), true),
        ] {
            let url = start(&app, "idp", &[]).await;
            provider()
                .tamper_next_id_token(&lena.id, claims.clone(), badsig)
                .await;
            let answer = sign_in_at_provider(&url, Some(&lena.id), false).await;
            let before = failures(&t).await.len();
            let r = come_back(&app, &answer).await;
            assert_eq!(
                r.status,
                Status::Unauthorized,
                "{claims} {badsig}: {}",
                r.body
            );
            assert!(!signed_in(&app).await);
            let after = failures(&t).await;
            assert_eq!(after.len(), before + 1);
            assert_eq!(after.last().unwrap(), "oauth_token_invalid", "{claims}");
        }
        assert_eq!(user_count(&t).await, 0, "nothing half-created");
        // The untampered token still works.
        assert_eq!(
            sign_in_with(&app, "idp", &lena).await.status,
            Status::SeeOther
        );
        t
    }

    async fn a_denied_consent_or_provider_error_lands_on_the_log_in_page_audited(
        t: TestDb,
    ) -> TestDb {
        let app = oauth_app(&t).await;
        let url = start(&app, "idp", &[]).await;
        let answer = sign_in_at_provider(&url, None, true).await;
        assert_eq!(answer.param("error").as_deref(), Some("access_denied"));
        let r = come_back(&app, &answer).await;
        assert_refused(&t, &app, &r, Status::Unauthorized, "oauth_denied").await;
        assert!(r.body.contains("cancelled"), "{}", r.body);
        let event = events(&t, audit::LOGIN_OAUTH_FAILURE).await.pop().unwrap();
        assert_eq!(event.metadata.0["provider_error"]["error"], "access_denied");
        // The flow is gone with the error: the same state cannot be finished later.
        let r = come_back(&app, &answer).await;
        assert_refused(&t, &app, &r, Status::BadRequest, "oauth_state_invalid").await;
        // JSON mode answers the reason.
        let url = start(&app, "idp", &[]).await;
        let answer = sign_in_at_provider(&url, None, true).await;
        let ProviderAnswer::Redirect(redirect) = &answer else {
            panic!()
        };
        let r = app
            .client
            .get(local(redirect))
            .remote(CLIENT)
            .header(json_accept())
            .dispatch()
            .await;
        assert_eq!(r.status(), Status::Unauthorized);
        let body: serde_json::Value = r.into_json().await.unwrap();
        assert_eq!(body["error"], "oauth_denied");
        assert_eq!(user_count(&t).await, 0);
        t
    }

    async fn a_provider_account_without_an_email_address_makes_no_account(t: TestDb) -> TestDb {
        let app = oauth_app(&t).await;
        for email in ["", "not-an-address"] {
            let quiet = account_with_email(email, true).await;
            let r = sign_in_with(&app, "idp", &quiet).await;
            assert_refused(
                &t,
                &app,
                &r,
                Status::UnprocessableEntity,
                "oauth_email_missing",
            )
            .await;
        }
        assert_eq!(user_count(&t).await, 0);
        t
    }

    async fn a_form_post_provider_signs_in_through_the_cross_site_post(t: TestDb) -> TestDb {
        let app = oauth_app(&t).await;
        let mia = account(true).await;
        let url = start(&app, "formpost", &[]).await;
        assert!(url.contains("response_mode=form_post"), "{url}");
        let answer = sign_in_at_provider(&url, Some(&mia.id), false).await;
        let ProviderAnswer::FormPost { action, fields } = &answer else {
            panic!("{answer:?}")
        };
        // The POST itself, without the browser's cookies (SameSite keeps them from a
        // cross-site POST), signs nobody in: it keeps the answer and redirects.
        let bare = app.other_browser().await;
        let fields: Vec<(&str, &str)> = fields
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        let r = bare.post_owned(&local(action), &fields).await;
        assert_eq!(r.status, Status::SeeOther);
        assert!(
            r.location
                .starts_with("/users/auth/formpost/callback?state="),
            "{}",
            r.location
        );
        assert!(!signed_in(&bare).await);
        // A second answer for the same flow does not replace the first.
        let r = bare
            .post_owned(
                &local(action),
                &[
                    ("state", &answer.param("state").unwrap()),
                    ("code", "forged"),
                ],
            )
            .await;
        assert_eq!(r.status, Status::SeeOther);
        // The browser that started it, following the redirect, signs in.
        let r = get(&app, &r.location).await;
        assert_eq!(r.status, Status::SeeOther, "{}", r.body);
        assert!(signed_in(&app).await);
        assert!(identity(&t, "formpost", &mia).await.is_some());
        t
    }

    async fn starting_a_flow_needs_csrf_and_a_known_provider_and_answers_json(t: TestDb) -> TestDb {
        let app = oauth_app(&t).await;
        let r = app.post_owned("/users/auth/idp", &[]).await;
        assert_eq!(r.status, Status::Forbidden);
        let r = app.submit_owned("/users/auth/nope", &[]).await;
        assert_eq!(r.status, Status::NotFound);
        let token = app.json_csrf().await;
        let r = app
            .client
            .post("/users/auth/idp")
            .remote(CLIENT)
            .header(ContentType::JSON)
            .header(json_accept())
            .header(rocket::http::Header::new("X-CSRF-Token", token))
            .body("{}")
            .dispatch()
            .await;
        assert_eq!(r.status(), Status::Ok);
        let body: serde_json::Value = r.into_json().await.unwrap();
        assert!(
            body["next"]
                .as_str()
                .unwrap()
                .starts_with(provider().issuer()),
            "{body}"
        );
        // The button's form ends at the provider: the pages' policy allows that origin.
        let r = app
            .client
            .get("/users/log_in")
            .remote(CLIENT)
            .dispatch()
            .await;
        let csp = r
            .headers()
            .get_one("Content-Security-Policy")
            .unwrap()
            .to_owned();
        assert!(
            csp.contains(&format!("form-action 'self' {};", provider().issuer())),
            "{csp}"
        );
        // Without a provider configured, no button shows, and forms post here only.
        let plain = app_with(figment(&t)).await;
        assert!(!plain.body("/users/log_in").await.1.contains("/users/auth/"));
        let r = plain
            .client
            .get("/users/log_in")
            .remote(CLIENT)
            .dispatch()
            .await;
        let csp = r
            .headers()
            .get_one("Content-Security-Policy")
            .unwrap()
            .to_owned();
        assert!(csp.contains("form-action 'self';"), "{csp}");
        t
    }

    async fn deletion_removes_identities_and_the_export_lists_them_without_tokens(
        t: TestDb,
    ) -> TestDb {
        let app = oauth_app(&t).await;
        let nina = account(true).await;
        assert_eq!(
            sign_in_with(&app, "idp", &nina).await.status,
            Status::SeeOther
        );
        let row = identity(&t, "idp", &nina).await.unwrap();
        let r = app
            .client
            .get("/users/settings/export")
            .remote(CLIENT)
            .dispatch()
            .await;
        assert_eq!(r.status(), Status::Ok);
        let export = r.into_string().await.unwrap();
        let parsed: serde_json::Value = serde_json::from_str(&export).unwrap();
        assert_eq!(parsed["connections"][0]["provider"], "idp");
        assert_eq!(parsed["connections"][0]["email"], nina.email.as_str());
        let sealed = row.access_token.unwrap();
        assert!(
            !export.contains(&sealed) && !export.contains("access_token"),
            "{export}"
        );

        let r = app.submit_owned("/users/settings/delete", &[]).await;
        assert_eq!(r.status, Status::Ok, "{}", r.body);
        assert!(r.body.contains("id=\"deletion-banner\""));
        app.clock.advance(Duration::days(31));
        app.state().run_due_jobs().await.unwrap();
        assert!(identity(&t, "idp", &nina).await.is_none());
        t
    }
);

/// Every social log-in refusal a route answers, each met by a JSON request (for the
/// reason table's test): `(reason, status)`.
pub async fn refusals_over_http(t: &TestDb) -> Vec<(String, u16)> {
    let app = app_with(
        oauth_figment(t)
            // A provider that cannot be reached: `oauth_provider_unavailable`.
            .merge(("sigra.oauth.providers.down.kind", "oidc"))
            .merge(("sigra.oauth.providers.down.issuer", "http://127.0.0.1:9"))
            .merge(("sigra.oauth.providers.down.client_id", "x"))
            .merge(("sigra.oauth.providers.down.client_secret", "y")),
    )
    .await;
    let mut seen = Vec::new();
    let mut note = |a: JsonAnswer| seen.push((a.reason().to_owned(), a.status.code));
    let callback = |url: &str, extra: &str| {
        let state = url
            .split("state=")
            .nth(1)
            .unwrap()
            .split('&')
            .next()
            .unwrap()
            .to_owned();
        format!("/users/auth/idp/callback?state={state}{extra}")
    };

    note(app.json(Method::Post, "/users/auth/down", json!({})).await);
    note(
        app.json_get("/users/auth/idp/callback?state=nope&code=x")
            .await,
    );
    let url = start(&app, "idp", &[]).await;
    note(app.json_get(&callback(&url, "&error=access_denied")).await);
    let url = start(&app, "idp", &[]).await;
    note(
        app.json_get(&callback(&url, "&error=temporarily_unavailable"))
            .await,
    );
    let url = start(&app, "idp", &[]).await;
    note(app.json_get(&callback(&url, "&code=not-a-code")).await);
    let url = start(&app, "idp", &[]).await;
    app.clock.advance(Duration::minutes(11));
    note(app.json_get(&callback(&url, "&code=late")).await);

    let olga = account(true).await;
    let url = start(&app, "idp", &[]).await;
    provider()
        .tamper_next_id_token(&olga.id, json!({ "aud": "elsewhere" }), false)
        .await;
    let answer = sign_in_at_provider(&url, Some(&olga.id), false).await;
    let ProviderAnswer::Redirect(redirect) = &answer else {
        panic!()
    };
    note(app.json_get(&local(redirect)).await);
    // An account the provider knows no address of.
    let nameless = account_with_email("", true).await;
    let url = start(&app, "idp", &[]).await;
    let answer = sign_in_at_provider(&url, Some(&nameless.id), false).await;
    let ProviderAnswer::Redirect(redirect) = &answer else {
        panic!()
    };
    note(app.json_get(&local(redirect)).await);
    // An account with the provider's email exists.
    let other = app.other_browser().await;
    other.signed_up("reasons-oauth@example.com").await;
    let peggy = account_with_email("reasons-oauth@example.com", true).await;
    let url = start(&app, "idp", &[]).await;
    let answer = sign_in_at_provider(&url, Some(&peggy.id), false).await;
    let ProviderAnswer::Redirect(redirect) = &answer else {
        panic!()
    };
    note(app.json_get(&local(redirect)).await);

    // Signed in through the provider (its only way in).
    assert_eq!(
        sign_in_with(&app, "idp", &olga).await.status,
        Status::SeeOther
    );
    let row = identity(t, "idp", &olga).await.unwrap();
    let path = format!("/users/settings/connections/{}", row.id);
    note(app.json(Method::Delete, &path, json!({})).await);
    let unknown = "/users/settings/connections/0190d6a4-6d2b-7c3e-9a51-7d1c2f3e4a5b";
    note(app.json(Method::Delete, unknown, json!({})).await);
    // Sudo through another provider account.
    let url = start(&app, "idp", &[("intent", "sudo")]).await;
    let answer = sign_in_at_provider(&url, Some(&peggy.id), false).await;
    let ProviderAnswer::Redirect(redirect) = &answer else {
        panic!()
    };
    note(app.json_get(&local(redirect)).await);
    // Linking a provider account that another account holds.
    other.log_out().await;
    let r = other
        .log_in_owned("reasons-oauth@example.com", PASSWORD, false)
        .await;
    assert_eq!(r.status, Status::SeeOther);
    let r = other
        .submit_owned("/users/settings/connections/idp", &[])
        .await;
    let answer = sign_in_at_provider(&r.location, Some(&olga.id), false).await;
    let ProviderAnswer::Redirect(redirect) = &answer else {
        panic!()
    };
    note(other.json_get(&local(redirect)).await);
    seen
}

/// The sentence of `oauth_identity_taken`.
const OAUTH_TAKEN: &str = "already linked to another account";

conformance!(
    async fn a_provider_with_a_bad_config_fails_launch(t: TestDb) -> TestDb {
        // Which key is named is asserted on the config itself (sigra_core's config tests).
        for (kind, missing) in [
            ("oidc", "issuer"),
            ("github", "client_secret"),
            ("apple", "team_id"),
        ] {
            let figment = figment(&t)
                .merge(("sigra.oauth.providers.p.kind", kind))
                .merge(("sigra.oauth.providers.p.client_id", "x"));
            let rocket = rocket::custom(figment).attach(sigra_rocket::Sigra::fairing());
            let Err(err) = rocket.ignite().await else {
                panic!("{kind} without {missing} launched")
            };
            assert!(
                matches!(err.kind(), rocket::error::ErrorKind::FailedFairings(f) if f[0].name == "Sigra"),
                "{err:?}"
            );
        }
        // The same provider, complete, launches.
        let figment = figment(&t)
            .merge(("sigra.oauth.providers.p.kind", "github"))
            .merge(("sigra.oauth.providers.p.client_id", "x"))
            .merge(("sigra.oauth.providers.p.client_secret", "y"));
        assert!(
            rocket::custom(figment)
                .attach(sigra_rocket::Sigra::fairing())
                .ignite()
                .await
                .is_ok()
        );
        t
    }
);

/// A stand-in for GitHub on loopback that replays recorded answers: the token endpoint
/// (`POST /login/oauth/access_token`), `GET /user` and `GET /user/emails`. Records each
/// request (request line, headers and body) for the test to inspect.
mod github {
    use std::sync::{Arc, Mutex};

    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpListener;

    /// `POST https://github.com/login/oauth/access_token` (recorded; token changed).
    pub const TOKEN: &str = r#"{"access_token":"gho_16C7e42F292c6912E7710c838347Ae178B4a","token_type":"bearer","scope":"read:user,user:email"}"#;
    /// GitHub's answer to a bad or replayed code: 200 with an error body (recorded).
    pub const BAD_CODE: &str = r#"{"error":"bad_verification_code","error_description":"The code passed is incorrect or expired.","error_uri":"https://docs.github.com/apps/managing-oauth-apps/troubleshooting-oauth-app-access-token-request-errors/#bad-verification-code"}"#;
    /// `GET https://api.github.com/user` (recorded, trimmed).
    pub const USER: &str = r#"{"login":"octocat","id":583231,"node_id":"MDQ6VXNlcjU4MzIzMQ==","type":"User","site_admin":false,"name":"The Octocat","company":"@github","email":"octocat@github.com","public_repos":8,"created_at":"2011-01-25T18:44:36Z"}"#;
    /// `GET https://api.github.com/user/emails` (recorded, addresses changed).
    pub const EMAILS: &str = r#"[{"email":"octocat@github.com","primary":false,"verified":true,"visibility":null},{"email":"Octo.Cat@Example.com","primary":true,"verified":true,"visibility":"private"}]"#;

    pub struct FakeGithub {
        pub url: String,
        pub requests: Arc<Mutex<Vec<String>>>,
    }

    /// Serves `token` at the token endpoint and the recorded user and emails.
    pub async fn start(token: &'static str) -> FakeGithub {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://127.0.0.1:{}", listener.local_addr().unwrap().port());
        let requests = Arc::new(Mutex::new(Vec::new()));
        let seen = requests.clone();
        tokio::spawn(async move {
            loop {
                let Ok((mut socket, _)) = listener.accept().await else {
                    return;
                };
                let mut raw = Vec::new();
                let mut buf = [0u8; 4096];
                // Read the head, then as much body as Content-Length says.
                loop {
                    let n = socket.read(&mut buf).await.unwrap_or(0);
                    if n == 0 {
                        break;
                    }
                    raw.extend_from_slice(&buf[..n]);
                    let text = String::from_utf8_lossy(&raw).to_string();
                    if let Some(end) = text.find("\r\n\r\n") {
                        let length = text[..end]
                            .lines()
                            .find_map(|l| {
                                let (k, v) = l.split_once(':')?;
                                k.eq_ignore_ascii_case("content-length")
                                    .then(|| v.trim().parse::<usize>().ok())?
                            })
                            .unwrap_or(0);
                        if raw.len() >= end + 4 + length {
                            break;
                        }
                    }
                }
                let request = String::from_utf8_lossy(&raw).to_string();
                let path = request
                    .split_whitespace()
                    .nth(1)
                    .unwrap_or_default()
                    .to_owned();
                seen.lock().unwrap().push(request);
                let body = match path.as_str() {
                    "/login/oauth/access_token" => token,
                    "/user" => USER,
                    "/user/emails" => EMAILS,
                    _ => "{}",
                };
                let answer = format!(
                    "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = socket.write_all(answer.as_bytes()).await;
                let _ = socket.shutdown().await;
            }
        });
        FakeGithub { url, requests }
    }
}

/// An app with a GitHub provider whose endpoints are `fake`'s.
async fn github_app(t: &TestDb, fake: &github::FakeGithub) -> TestApp {
    let key = |k: &str| format!("sigra.oauth.providers.github.{k}");
    app_with(
        figment(t)
            .merge(("sigra.public_url", PUBLIC_URL))
            .merge((key("kind"), "github"))
            .merge((key("client_id"), "Iv1.recorded"))
            .merge((key("client_secret"), "github-client-secret"))
            .merge((
                key("auth_url"),
                format!("{}/login/oauth/authorize", fake.url),
            ))
            .merge((
                key("token_url"),
                format!("{}/login/oauth/access_token", fake.url),
            ))
            .merge((key("api_url"), fake.url.clone())),
    )
    .await
}

conformance!(
    async fn github_signs_in_with_its_numeric_id_and_primary_verified_email(t: TestDb) -> TestDb {
        let fake = github::start(github::TOKEN).await;
        let app = github_app(&t, &fake).await;
        let url = start_at(&app, "github", &fake.url).await;
        assert!(url.contains("scope=read%3Auser+user%3Aemail"), "{url}");
        assert!(url.contains("code_challenge_method=S256"), "{url}");
        let state = url
            .split("state=")
            .nth(1)
            .unwrap()
            .split('&')
            .next()
            .unwrap();
        let r = get(
            &app,
            &format!("/users/auth/github/callback?code=recorded-code&state={state}"),
        )
        .await;
        assert_eq!(r.status, Status::SeeOther, "{}", r.body);
        assert!(signed_in(&app).await);
        let user = users::find_by_email(&t.db, "octo.cat@example.com")
            .await
            .unwrap()
            .unwrap();
        assert!(
            user.confirmed_at.is_some(),
            "GitHub's primary address is verified"
        );
        let row = identities::find_by_subject(&t.db, "github", "583231")
            .await
            .unwrap()
            .unwrap();
        assert_eq!(row.user_id, user.id);
        assert_eq!(row.label, "octocat");
        let requests = fake.requests.lock().unwrap().clone();
        let token_request = requests
            .iter()
            .find(|r| r.contains("/login/oauth/access_token"))
            .unwrap();
        // The code, the PKCE verifier and the client credentials go in the body.
        for part in [
            "code=recorded-code",
            "code_verifier=",
            "client_secret=github-client-secret",
        ] {
            assert!(token_request.contains(part), "{part}: {token_request}");
        }
        let api = requests
            .iter()
            .find(|r| r.starts_with("GET /user/emails"))
            .unwrap();
        let api_lower = api.to_ascii_lowercase();
        assert!(
            api_lower.contains("authorization: bearer gho_16c7e42f292c6912e7710c838347ae178b4a"),
            "{api}"
        );
        assert!(
            api_lower.contains("x-github-api-version: 2022-11-28"),
            "{api}"
        );
        t
    }

    async fn a_github_token_error_answered_with_200_is_refused(t: TestDb) -> TestDb {
        let fake = github::start(github::BAD_CODE).await;
        let app = github_app(&t, &fake).await;
        let url = start_at(&app, "github", &fake.url).await;
        let state = url
            .split("state=")
            .nth(1)
            .unwrap()
            .split('&')
            .next()
            .unwrap();
        let r = get(
            &app,
            &format!("/users/auth/github/callback?code=replayed&state={state}"),
        )
        .await;
        assert_refused(&t, &app, &r, Status::Unauthorized, "oauth_exchange_failed").await;
        assert!(
            !fake
                .requests
                .lock()
                .unwrap()
                .iter()
                .any(|r| r.starts_with("GET /user"))
        );
        assert_eq!(user_count(&t).await, 0);
        t
    }
);

/// Like [`start`], for a provider whose authorization endpoint is at `at`.
async fn start_at(app: &TestApp, name: &str, at: &str) -> String {
    let r = app.submit_owned(&format!("/users/auth/{name}"), &[]).await;
    assert_eq!(r.status, Status::SeeOther, "{}", r.body);
    assert!(r.location.starts_with(at), "{}", r.location);
    r.location
}
