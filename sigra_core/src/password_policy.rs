//! The password policy: length bounds (never truncating) and a list of common passwords.
//!
//! The bundled list holds the 11,611 passwords of eight or more characters among the
//! 30,000 most common ones of the zxcvbn frequency list (MIT licence).

use std::collections::HashSet;
use std::sync::OnceLock;

use crate::config::PasswordConfig;
use crate::form::FieldError;

static COMMON: OnceLock<HashSet<&'static str>> = OnceLock::new();

fn common_passwords() -> &'static HashSet<&'static str> {
    COMMON.get_or_init(|| include_str!("common_passwords.txt").lines().collect())
}

/// Checks a candidate password; answers the problems as user-facing messages (empty
/// when the password is acceptable).
///
/// ```
/// use sigra_core::config::PasswordConfig;
/// use sigra_core::password_policy::check;
/// let policy = PasswordConfig::default();
/// assert!(check(&policy, "correct horse battery staple", None).is_empty());
/// assert_eq!(check(&policy, "short", None), ["Password must be at least 12 characters."]);
/// assert_eq!(check(&policy, "password1234", None), ["This password is too common; choose another."]);
/// assert_eq!(check(&policy, "short", None)[0].reason, "password_too_short");
/// assert_eq!(check(&policy, "password1234", None)[0].reason, "password_too_common");
/// ```
pub fn check(policy: &PasswordConfig, password: &str, email: Option<&str>) -> Vec<FieldError> {
    let length = password.chars().count();
    let mut problems = Vec::new();
    if length < policy.min_length {
        problems.push(FieldError::new(
            "password_too_short",
            format!(
                "Password must be at least {} characters.",
                policy.min_length
            ),
        ));
    } else if length > policy.max_length {
        problems.push(FieldError::new(
            "password_too_long",
            format!("Password must be at most {} characters.", policy.max_length),
        ));
    } else if common_passwords().contains(password.to_lowercase().as_str()) {
        problems.push(FieldError::new(
            "password_too_common",
            "This password is too common; choose another.",
        ));
    } else if email.is_some_and(|e| !e.is_empty() && password.trim().eq_ignore_ascii_case(e.trim()))
    {
        problems.push(FieldError::new(
            "password_is_email",
            "Password must not be your email address.",
        ));
    }
    problems
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounds_are_inclusive_and_counted_in_characters() {
        let policy = PasswordConfig::default();
        assert!(
            check(&policy, &"é".repeat(12), None).is_empty(),
            "12 chars, 24 bytes"
        );
        assert!(!check(&policy, &"x".repeat(11), None).is_empty());
        assert!(check(&policy, &"xy".repeat(128), None).is_empty());
        assert_eq!(
            check(&policy, &"x".repeat(257), None),
            ["Password must be at most 256 characters."]
        );
    }

    #[test]
    fn common_passwords_are_rejected_case_insensitively() {
        let policy = PasswordConfig::default();
        assert!(
            common_passwords().contains("password1234"),
            "the list holds the lower-case word checked below"
        );
        assert_eq!(
            check(&policy, "PASSWORD1234", None),
            ["This password is too common; choose another."]
        );
        assert!(!check(&policy, "Password1234", None).is_empty());
        assert!(common_passwords().len() > 10_000);
    }

    #[test]
    fn the_email_is_not_a_password() {
        let policy = PasswordConfig::default();
        assert_eq!(
            check(&policy, "someone@example.com", Some("someone@example.com")),
            ["Password must not be your email address."]
        );
    }
}

/// Problems with a new password and its confirmation, by field.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct NewPasswordErrors {
    /// Problems with the password.
    pub password: Vec<FieldError>,
    /// Problems with the confirmation.
    pub password_confirmation: Vec<FieldError>,
}

impl NewPasswordErrors {
    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.password.is_empty() && self.password_confirmation.is_empty()
    }
}

/// Checks a new password against the policy and its confirmation.
pub fn check_new(
    policy: &PasswordConfig,
    password: &str,
    confirmation: &str,
    email: Option<&str>,
) -> NewPasswordErrors {
    let mut errors = NewPasswordErrors {
        password: check(policy, password, email),
        ..NewPasswordErrors::default()
    };
    if password != confirmation {
        errors.password_confirmation.push(FieldError::new(
            "password_mismatch",
            "The passwords do not match.",
        ));
    }
    errors
}
