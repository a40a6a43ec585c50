//! Registration: email and password, enumeration-safe.
//!
//! A new address gets an account and a confirmation mail (a link and a code); an address
//! that already has an account gets a notice by mail instead (at most one per address per
//! `sigra.tokens.resend_throttle_secs`, so repeated registrations cannot flood its owner).
//! Both answer the same, after the same work (one password hash, one rendered mail), so
//! the response says nothing about whether the address was known or a mail went out.
//!
//! A host's custom fields ([`super::user_fields`]) are checked with the email and the
//! password, before the address is looked up, and stored by the host's hook only when a
//! new account is made, in the same transaction: a failing hook leaves no account, no
//! mail and no audit event. An address that has an account never reaches the hook.

use serde_json::json;

use crate::form::FieldError;

use super::user_fields::{self, HookError, UserFieldValues};
use super::{Auth, FlowError, RequestMeta, Revocation, audit};
use crate::password_policy;
use crate::secret::SecretString;
use crate::store::{StoreError, new_id, normalize_email, users};

/// What the registration form sent.
#[derive(Debug, Clone)]
pub struct RegistrationInput {
    /// Email as typed.
    pub email: String,
    /// Password as typed.
    pub password: SecretString,
    /// The host's custom fields as sent ([`super::user_fields`]; ignored without a hook,
    /// undeclared names dropped).
    pub user_fields: UserFieldValues,
}

/// Problems with the form, by field, as user-facing messages.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct RegistrationErrors {
    /// Problems with the email.
    pub email: Vec<FieldError>,
    /// Problems with the password.
    pub password: Vec<FieldError>,
    /// Problems with the host's custom fields, by field name (serialized next to `email`
    /// and `password`, as JSON's `fields` and the page's `errors` name them).
    #[serde(flatten)]
    pub user_fields: std::collections::BTreeMap<String, Vec<FieldError>>,
}

impl RegistrationErrors {
    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.email.is_empty()
            && self.password.is_empty()
            && self.user_fields.values().all(Vec::is_empty)
    }
}

/// The result of a well-formed registration: the same whether the address was new.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegistrationSent {
    /// The normalized address the mail went to.
    pub email: String,
}

/// Checks the shape of an email address: one `@`, a non-empty local part, a dotted
/// domain, no spaces, at most 254 characters.
///
/// ```
/// use sigra_core::features::registration::valid_email;
/// assert!(valid_email("ada@example.com"));
/// assert!(!valid_email("ada@localhost"));
/// assert!(!valid_email("a b@example.com"));
/// ```
pub fn valid_email(email: &str) -> bool {
    let Some((local, domain)) = email.split_once('@') else {
        return false;
    };
    email.chars().count() <= 254
        && !local.is_empty()
        && local.len() <= 64
        && !domain.contains('@')
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !domain.contains("..")
        && !email
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || "<>()[]\\,;:\"".contains(c))
}

/// Validates the form without touching the database.
pub fn validate(auth: &Auth, input: &RegistrationInput) -> RegistrationErrors {
    let email = normalize_email(&input.email);
    let mut errors = RegistrationErrors::default();
    if email.is_empty() {
        errors.email.push(FieldError::new(
            "email_required",
            "Enter your email address.",
        ));
    } else if !valid_email(&email) {
        errors.email.push(FieldError::new(
            "email_invalid",
            "Enter a valid email address, like name@example.com.",
        ));
    }
    errors.password =
        password_policy::check(&auth.config.password, input.password.expose(), Some(&email));
    if let Some(hook) = &auth.user_fields {
        let fields = hook.fields();
        let values = user_fields::clean(&fields, &input.user_fields);
        errors.user_fields = user_fields::check(hook.as_ref(), &fields, &values);
    }
    errors
}

/// Registers an account, or tells the owner of an existing one by mail.
pub async fn register(
    auth: &Auth,
    input: &RegistrationInput,
    meta: &RequestMeta,
) -> Result<Result<RegistrationSent, RegistrationErrors>, FlowError> {
    let errors = validate(auth, input);
    if !errors.is_empty() {
        return Ok(Err(errors));
    }
    let email = normalize_email(&input.email);
    // Hash first, whatever happens next: known and unknown addresses cost the same.
    let hashed = auth.hasher.hash(&input.password).await?;
    let now = auth.clock.now();
    let links = json!({
        "email": email,
        "log_in_url": auth.route_url("/log_in"),
        "reset_password_url": auth.route_url("/reset-password"),
    });

    let mut change = auth.change(meta).await?;
    let id = new_id(auth.clock.as_ref());
    match users::insert(change.tx(), id, &email, Some(hashed), now).await {
        Ok(user) => {
            // The host's rows first: if they fail, nothing of the account is kept, and no
            // mail or audit event tells of one.
            if let Some(hook) = &auth.user_fields {
                let values = user_fields::clean(&hook.fields(), &input.user_fields);
                hook.store(change.tx(), user.id, &values)
                    .await
                    .map_err(HookError::into_flow)?;
            }
            super::confirmation::send(auth, &mut change, &user).await?;
            change
                .audit(audit::REGISTRATION, user.id, json!({}))
                .await?;
            #[cfg(feature = "organizations")]
            super::organizations::create_personal(auth, &change, user.id, &user.email).await?;
        }
        Err(StoreError::Conflict) => {
            // The failed insert may have aborted the transaction (PostgreSQL): start over.
            change.rollback().await?;
            change = auth.change(meta).await?;
            let existing = users::find_by_email(change.tx(), &email).await?;
            // One notice per address per throttle window: registering the same address
            // over and over must not flood its owner. The answer is the same either way.
            let due = auth.mail_due(change.tx(), "account_exists", &email).await?;
            if due {
                change.mail("account_exists", &email, links).await?;
            } else {
                let _ = auth.mail.render("account_exists", &email, &links);
            }
            let id = existing.map(|u| u.id);
            let details = json!({ "sent": due });
            change
                .audit_by(audit::REGISTRATION_EXISTING_EMAIL, None, id, details)
                .await?;
        }
        Err(e) => return Err(e.into()),
    }
    change.commit(Revocation::None).await?;
    Ok(Ok(RegistrationSent { email }))
}
