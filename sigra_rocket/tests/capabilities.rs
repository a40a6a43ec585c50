//! The routes of a capability are mounted exactly when its Cargo feature is on. Every
//! setting that asks for a capability is on here, so what decides is the build alone.
//!
//! CI runs this with every feature (`cargo test --workspace`) and with none but `sqlite`
//! (`cargo test -p sigra_rocket --no-default-features --features sqlite --test
//! capabilities`).

#![cfg(feature = "sqlite")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use rocket::figment::Figment;
use sigra_rocket::Sigra;
use sigra_rocket::sigra_core::capabilities::BUILT;

/// The mounted path prefixes that belong to each capability, and whether it is built in.
fn capabilities() -> [(&'static str, bool, &'static [&'static str]); 5] {
    [
        (
            "passkeys",
            BUILT.passkeys,
            &[
                "/users/passkeys",
                "/users/settings/passkeys",
                "/users/mfa/passkey",
                "/users/sudo/passkey",
                "/users/assets/sigra-webauthn.js",
            ],
        ),
        (
            "oauth",
            BUILT.oauth,
            &["/users/auth", "/users/settings/connections"],
        ),
        (
            "organizations",
            BUILT.organizations,
            &["/organizations", "/admin/organizations"],
        ),
        ("admin", BUILT.admin, &["/admin"]),
        (
            "api",
            BUILT.api,
            &["/users/api", "/users/settings/api-keys", "/.well-known"],
        ),
    ]
}

fn figment(db: &std::path::Path) -> Figment {
    Figment::from(rocket::Config::debug_default())
        .merge(("log_level", "off"))
        .merge((
            "databases.sigra.url",
            format!("sqlite://{}?mode=rwc", db.display()),
        ))
        .merge(("template_dir", "/nonexistent-sigra-templates"))
        .merge(("sigra.public_url", "http://localhost:8000"))
        .merge((
            "sigra.secret_key",
            "a test secret that is long enough for Sigra",
        ))
        .merge(("sigra.mail.background_worker", false))
        .merge(("sigra.organizations.enabled", true))
        .merge(("sigra.admin.enabled", true))
        .merge(("sigra.admin.org_impersonation", true))
}

#[rocket::async_test]
async fn each_capability_mounts_its_routes_exactly_when_built_in() {
    let dir = std::env::temp_dir().join(format!("sigra-capabilities-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let rocket = rocket::custom(figment(&dir.join("db.sqlite3")))
        .attach(Sigra::fairing())
        .ignite()
        .await
        .expect("Sigra launches with any set of capabilities");
    let mounted: Vec<String> = rocket.routes().map(|r| r.uri.path().to_string()).collect();
    for (name, built, prefixes) in capabilities() {
        let under = |path: &str| {
            prefixes
                .iter()
                .any(|p| path == *p || path.starts_with(&format!("{p}/")))
        };
        let ours: Vec<&String> = mounted.iter().filter(|path| under(path)).collect();
        if name == "admin" && built {
            // Organization pages under /admin count for `organizations`.
            assert!(
                ours.iter().any(|p| p.starts_with("/admin/users")),
                "{ours:?}"
            );
        }
        assert_eq!(
            !ours.is_empty(),
            built,
            "`{name}` is built in: {built}; its routes mounted: {ours:?}"
        );
    }
    // The capabilities' routes aside, the same core is always there.
    for core in ["/users/log_in", "/users/register", "/users/openapi.json"] {
        assert!(mounted.iter().any(|p| p == core), "{core} in {mounted:?}");
    }
    drop(rocket);
    let _ = std::fs::remove_dir_all(&dir);
}
