//! What a form answers when a field is wrong: a stable reason for programs (JSON clients
//! branch on it) and an English message for people (pages show it). Rewording a message
//! never changes a reason.

use std::fmt;

/// One problem with one form field.
///
/// ```
/// use sigra_core::form::FieldError;
/// let e = FieldError::new("email_invalid", "Enter a valid email address.");
/// assert_eq!(e.reason, "email_invalid");
/// assert_eq!(e, "Enter a valid email address.");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[non_exhaustive]
pub struct FieldError {
    /// A stable snake_case identifier.
    pub reason: &'static str,
    /// The problem as a sentence a person reads.
    pub message: String,
}

impl FieldError {
    /// A problem with `reason` and `message`.
    pub fn new(reason: &'static str, message: impl Into<String>) -> FieldError {
        FieldError {
            reason,
            message: message.into(),
        }
    }
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

/// Compares the message, so a test can say what a person sees.
impl PartialEq<&str> for FieldError {
    fn eq(&self, other: &&str) -> bool {
        self.message == *other
    }
}

/// A label a person typed (a key's, a passkey's, an organization's name), trimmed, if it
/// has 1..=`max_chars` characters and no control character.
///
/// ```
/// use sigra_core::form::clean_label;
/// assert_eq!(clean_label("  laptop ", 100), Some("laptop"));
/// assert_eq!(clean_label("   ", 100), None);
/// assert_eq!(clean_label("a\u{7}b", 100), None);
/// assert_eq!(clean_label("abc", 2), None);
/// ```
pub fn clean_label(typed: &str, max_chars: usize) -> Option<&str> {
    let label = typed.trim();
    let ok = !label.is_empty()
        && label.chars().count() <= max_chars
        && !label.chars().any(char::is_control);
    ok.then_some(label)
}
