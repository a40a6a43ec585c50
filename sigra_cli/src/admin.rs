//! `sigra admin create EMAIL`: makes an account a platform admin, creating it when no
//! account has the address ([`sigra_core::features::admin::grant_or_create`]): confirmed,
//! without a password, with a password-reset link queued in the outbox for its owner.
//! `sigra admin revoke EMAIL` takes the right away
//! ([`sigra_core::features::admin::set_admin`]). Audited with no actor and
//! `"via": "cli"`.

use sigra_core::features::admin::{AdminGranted, grant_or_create, set_admin};
use sigra_core::features::registration::valid_email;
use sigra_core::store::normalize_email;

use crate::settings::{Settings, meta};
use crate::{CliError, Status};

/// Grants the admin right to `email`, creating the account when there is none.
pub async fn create(settings: &Settings, email: &str) -> Result<Status, CliError> {
    let email = normalize_email(email);
    if !valid_email(&email) {
        return Err(CliError::Usage(format!(
            "`{email}` is not an email address"
        )));
    }
    // The reset mail is sealed with the app's secret, which the app's worker must open.
    let auth = settings.auth(true).await?;
    let meta = meta();
    let granted = grant_or_create(&auth, &email, &meta).await?;
    match granted {
        AdminGranted::Existing(user) => {
            println!("{} is a platform admin (account {}).", user.email, user.id);
        }
        AdminGranted::Created(user) => {
            println!(
                "Created {} (account {}) as a platform admin, confirmed, without a password.",
                user.email, user.id
            );
            println!(
                "A password-reset link is queued in the outbox: the app's mail worker sends it."
            );
        }
        _ => println!("{email} is a platform admin."),
    }
    auth.db.close().await;
    Ok(Status::Done)
}

/// Takes the platform admin right away from the account with `email`. Its sessions live
/// on without it: the commit empties every instance's session cache (this process waits
/// `sigra.session.cache_ms`), so the next request no longer passes the `Admin` guard.
pub async fn revoke(settings: &Settings, email: &str) -> Result<Status, CliError> {
    let email = normalize_email(email);
    let auth = settings.auth(false).await?;
    let meta = meta();
    let revoked = set_admin(&auth, &email, false, &meta).await?;
    auth.db.close().await;
    match revoked {
        Some(user) => {
            println!(
                "{} ({}) is no longer a platform admin.",
                user.email, user.id
            );
            Ok(Status::Done)
        }
        None => {
            eprintln!("sigra: refused (user_not_found): no live account has the address {email}");
            Ok(Status::Failed)
        }
    }
}
