//! Custom user fields (`user_fields`): extra registration fields a host app declares (a
//! display name, "I accept the terms", a plan), checked by Sigra and stored by the host in
//! its own table, in the same transaction as the account.
//!
//! # Algorithm
//!
//! The host implements [`UserFields`] and hands it to the web layer
//! (`Sigra::fairing().user_fields(MyFields)`), which keeps it in
//! [`Auth::user_fields`](super::Auth::user_fields).
//! Registration ([`super::registration`]) then:
//!
//! 1. keeps only the declared fields of what the form sent and cleans them ([`clean`]:
//!    text trimmed, a checkbox `true` when ticked, empty values absent);
//! 2. applies the declarative checks of each [`FieldSpec`] ([`check`]: required, no
//!    control characters, at most `max_chars`, a valid address for [`FieldKind::Email`],
//!    a ticked box for a required [`FieldKind::Checkbox`], one of the options for a
//!    [`FieldKind::Select`]), then the host's own [`UserFields::validate`], and reports
//!    the problems by field next to the email and password ones. This happens before the
//!    address is looked up, so it answers the same for every address;
//! 3. for a new address only, calls [`UserFields::store`] inside the registration's
//!    [`Change`](super::Change), right after the user row is inserted and before the
//!    confirmation mail and the audit event are queued, with the change's transaction.
//!
//! Deleting the account ([`super::deletion::execute_deletion`]) calls
//! [`UserFields::forget`] in the deletion's transaction, so the host's rows go with the
//! account's personal data whatever the strategy (an anonymized account keeps its row in
//! `sigra_users`, so no foreign key would cascade).
//!
//! # Trade-off
//!
//! The host's row and the account commit together, or neither does: never an account
//! without its profile, never a profile without its account. The price is host code
//! running inside Sigra's transaction, holding its locks: `store` should be a few
//! statements on the transaction it is given, never a network call; it is also work that
//! only new addresses cost, so a slow hook would let the time of the answer tell them
//! from known ones. The hook runs only for a registration through the registration form
//! (HTML or JSON): accounts made by a social log-in or by accepting an invitation have no
//! values to store, so the host's code must accept an account without a row in its table.
//!
//! # Failure mode
//!
//! A declaration that cannot work (a bad or reserved name, a name used twice, a select
//! without options) is refused at launch ([`check_declaration`]). A failing `store` rolls
//! the whole registration back: no account, no mail, no audit event; the flow answers
//! [`FlowError::UserFields`](super::FlowError::UserFields) (reason
//! `user_fields_store_failed`, logged; the request answers 500). An address that already
//! has an account never reaches the hook, so the answer stays the one of a new address.
//! Rules that can refuse a value belong in `validate`, which runs for every address: a
//! refusal from `store` would only ever reach new addresses, and so tell them apart.

use std::collections::BTreeMap;
use std::fmt;
use std::future::Future;
use std::pin::Pin;

use uuid::Uuid;

use crate::config::ConfigError;
use crate::form::FieldError;
use crate::store::{StoreError, Tx};

/// Field names the registration form uses itself: a custom field may not take them.
pub const RESERVED_NAMES: &[&str] = &["email", "password", "_csrf", "_method"];

/// The longest value of a text field that declares no `max_chars`, in characters.
pub const DEFAULT_MAX_CHARS: usize = 255;

/// What sort of input a field is.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[non_exhaustive]
pub enum FieldKind {
    /// One line of text.
    Text,
    /// An email address (checked like the account's, not normalized).
    Email,
    /// A box to tick; sent as `true` when ticked. Required means it must be ticked.
    Checkbox,
    /// One value among `options`.
    Select {
        /// The choices, in the order shown.
        options: Vec<SelectOption>,
    },
}

/// One choice of a [`FieldKind::Select`].
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct SelectOption {
    /// What the form sends.
    pub value: String,
    /// What a person reads.
    pub label: String,
}

/// One extra registration field, as the host declares it. Built with [`FieldSpec::text`],
/// [`FieldSpec::email`], [`FieldSpec::checkbox`] or [`FieldSpec::select`], then refined:
///
/// ```
/// use sigra_core::features::user_fields::FieldSpec;
/// let name = FieldSpec::text("display_name", "Display name")
///     .required()
///     .max_chars(80)
///     .help("Shown to the other members of your teams.");
/// assert_eq!(name.name, "display_name");
/// assert_eq!(name.max_chars, Some(80));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[non_exhaustive]
pub struct FieldSpec {
    /// The form field's name (and the JSON key): lower-case ASCII letters, digits and `_`,
    /// starting with a letter; at most 64 characters; not one of [`RESERVED_NAMES`]. The
    /// page's input gets the id `user_field_<name>`.
    pub name: String,
    /// What the page calls it.
    pub label: String,
    /// The input.
    #[serde(flatten)]
    pub kind: FieldKind,
    /// Whether a value is needed (a ticked box, for a checkbox).
    pub required: bool,
    /// The longest value in characters (text and email fields).
    pub max_chars: Option<usize>,
    /// A sentence shown under the label.
    pub help: Option<String>,
}

impl FieldSpec {
    fn new(name: &str, label: &str, kind: FieldKind, max_chars: Option<usize>) -> FieldSpec {
        FieldSpec {
            name: name.to_owned(),
            label: label.to_owned(),
            kind,
            required: false,
            max_chars,
            help: None,
        }
    }

    /// An optional one-line text field of at most [`DEFAULT_MAX_CHARS`] characters.
    pub fn text(name: &str, label: &str) -> FieldSpec {
        FieldSpec::new(name, label, FieldKind::Text, Some(DEFAULT_MAX_CHARS))
    }

    /// An optional email address field (at most 254 characters).
    pub fn email(name: &str, label: &str) -> FieldSpec {
        FieldSpec::new(name, label, FieldKind::Email, Some(254))
    }

    /// An optional checkbox.
    pub fn checkbox(name: &str, label: &str) -> FieldSpec {
        FieldSpec::new(name, label, FieldKind::Checkbox, None)
    }

    /// An optional choice among `options`, each `(value, label)`.
    pub fn select<'a>(
        name: &str,
        label: &str,
        options: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> FieldSpec {
        let options = options
            .into_iter()
            .map(|(value, label)| SelectOption {
                value: value.to_owned(),
                label: label.to_owned(),
            })
            .collect();
        FieldSpec::new(name, label, FieldKind::Select { options }, None)
    }

    /// Makes the field required (for a checkbox: it must be ticked).
    pub fn required(mut self) -> FieldSpec {
        self.required = true;
        self
    }

    /// Sets the longest value, in characters.
    pub fn max_chars(mut self, max: usize) -> FieldSpec {
        self.max_chars = Some(max);
        self
    }

    /// Sets the help text.
    pub fn help(mut self, help: &str) -> FieldSpec {
        self.help = Some(help.to_owned());
        self
    }
}

/// The values of the declared fields, by name. After [`clean`], a text, email or select
/// field is present only when it holds something (trimmed), and a checkbox only when
/// ticked (as `true`).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
#[serde(transparent)]
pub struct UserFieldValues(BTreeMap<String, String>);

impl UserFieldValues {
    /// No values.
    pub fn new() -> UserFieldValues {
        UserFieldValues::default()
    }

    /// Sets `name` to `value` (the last value sent for a name wins).
    pub fn insert(&mut self, name: impl Into<String>, value: impl Into<String>) {
        self.0.insert(name.into(), value.into());
    }

    /// The value of `name`, if any.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(String::as_str)
    }

    /// Whether the checkbox `name` is ticked (`true`, `on`, `1` or `yes`).
    pub fn checked(&self, name: &str) -> bool {
        self.get(name).is_some_and(ticked)
    }

    /// Every value, by name.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }
}

impl<K: Into<String>, V: Into<String>> FromIterator<(K, V)> for UserFieldValues {
    fn from_iter<I: IntoIterator<Item = (K, V)>>(iter: I) -> Self {
        UserFieldValues(
            iter.into_iter()
                .map(|(k, v)| (k.into(), v.into()))
                .collect(),
        )
    }
}

/// What a ticked checkbox sends: `true` (Sigra's pages, JSON), `on` (a browser's default),
/// `1` or `yes`.
fn ticked(value: &str) -> bool {
    matches!(
        value.trim().to_ascii_lowercase().as_str(),
        "true" | "on" | "1" | "yes"
    )
}

/// Why [`UserFields::store`] could not write the host's rows (or [`UserFields::forget`]
/// delete them). Either way the registration (or deletion) rolls back.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum HookError {
    /// A statement on Sigra's transaction failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The host's own reason (logged: keep personal data out of it).
    #[error("{0}")]
    Failed(String),
}

impl HookError {
    /// The host's own failure, described by `message` (logged, never shown).
    pub fn failed(message: impl fmt::Display) -> HookError {
        HookError::Failed(message.to_string())
    }

    /// A stable machine-readable reason.
    pub fn reason(&self) -> &'static str {
        match self {
            HookError::Store(e) => e.reason(),
            HookError::Failed(_) => "user_fields_store_failed",
        }
    }

    /// The flow's error: a database failure stays one (503 when it is out of reach).
    pub(crate) fn into_flow(self) -> super::FlowError {
        match self {
            HookError::Store(e) => super::FlowError::Store(e),
            other => super::FlowError::UserFields(other),
        }
    }
}

/// The future [`UserFields::store`] answers with.
pub type StoreFuture<'a> = Pin<Box<dyn Future<Output = Result<(), HookError>> + Send + 'a>>;

/// A host app's extra registration fields. Kept as `Arc<dyn UserFields>`, so
/// [`store`](Self::store) answers a boxed future:
///
/// ```
/// use sigra_core::features::user_fields::{FieldSpec, HookError, StoreFuture, UserFieldValues, UserFields};
/// use sigra_core::sea_query::{Alias, Query};
/// use sigra_core::store::{Executor, Tx};
///
/// #[derive(Debug)]
/// struct Profiles;
///
/// impl UserFields for Profiles {
///     fn fields(&self) -> Vec<FieldSpec> {
///         vec![
///             FieldSpec::text("display_name", "Display name").required().max_chars(80),
///             FieldSpec::checkbox("accept_terms", "I accept the terms").required(),
///         ]
///     }
///
///     fn store<'a>(&'a self, tx: &'a Tx, user_id: uuid::Uuid, values: &'a UserFieldValues) -> StoreFuture<'a> {
///         Box::pin(async move {
///             let name = values.get("display_name").unwrap_or_default().to_owned();
///             let stmt = Query::insert()
///                 .into_table(Alias::new("profiles"))
///                 .columns([Alias::new("user_id"), Alias::new("display_name")])
///                 .values([user_id.into(), name.into()])
///                 .map_err(HookError::failed)?
///                 .to_owned();
///             tx.execute(&stmt).await?;
///             Ok(())
///         })
///     }
/// }
/// ```
pub trait UserFields: Send + Sync + fmt::Debug + 'static {
    /// The fields, in the order the page shows them. Checked at launch
    /// ([`check_declaration`]).
    fn fields(&self) -> Vec<FieldSpec>;

    /// The host's own rules, beyond the declarative ones: each problem with the name of
    /// the field it belongs to. Runs on the cleaned values of every registration, before
    /// the address is looked up, so it must not depend on the address being known. A
    /// field that already failed a declarative check is not reported twice (its host
    /// problems are left out). None by default.
    fn validate(&self, values: &UserFieldValues) -> Vec<(String, FieldError)> {
        let _ = values;
        Vec::new()
    }

    /// Writes the host's rows for the new account `user_id`, with the checked `values`,
    /// through `tx`: Sigra's registration transaction (write with sea-query statements
    /// and [`Executor`](crate::store::Executor)). Runs only when the registration form
    /// (HTML or JSON) creates an account: not for an address that has one, not for an
    /// account made by a social log-in or an invitation. An error rolls the whole
    /// registration back.
    fn store<'a>(
        &'a self,
        tx: &'a Tx,
        user_id: Uuid,
        values: &'a UserFieldValues,
    ) -> StoreFuture<'a>;

    /// Deletes (or clears) the host's rows of account `user_id` when the account is
    /// deleted, through `tx`: the deletion's transaction, whatever
    /// `sigra.deletion.strategy` is, so the host's personal data goes with Sigra's. An
    /// error rolls the deletion back; the background worker tries it again on a later
    /// run. Nothing by default.
    fn forget<'a>(&'a self, tx: &'a Tx, user_id: Uuid) -> StoreFuture<'a> {
        let _ = (tx, user_id);
        Box::pin(async { Ok(()) })
    }
}

/// Whether `name` can name a field: `[a-z][a-z0-9_]{0,63}`, not reserved.
fn valid_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_lowercase())
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        && name.len() <= 64
        && !RESERVED_NAMES.contains(&name)
}

/// Checks a declaration (`user_fields.<name>` in the error): valid, unique names, a label,
/// options for a select (unique values), a positive `max_chars`.
///
/// ```
/// use sigra_core::features::user_fields::{FieldSpec, check_declaration};
/// assert!(check_declaration(&[FieldSpec::text("nickname", "Nickname")]).is_ok());
/// assert!(check_declaration(&[FieldSpec::text("email", "Email")]).is_err());
/// assert!(check_declaration(&[FieldSpec::select("plan", "Plan", [])]).is_err());
/// ```
pub fn check_declaration(fields: &[FieldSpec]) -> Result<(), ConfigError> {
    let invalid = |name: &str, expected: &str, found: String| ConfigError::Invalid {
        key: format!("user_fields.{name}"),
        expected: expected.to_owned(),
        found,
    };
    for (i, field) in fields.iter().enumerate() {
        let name = field.name.as_str();
        if !valid_name(name) {
            return Err(invalid(
                name,
                "a name of lower-case letters, digits and `_` starting with a letter, at most \
                 64 characters, not email, password, _csrf or _method",
                format!("{name:?}"),
            ));
        }
        if fields[..i].iter().any(|f| f.name == field.name) {
            return Err(invalid(name, "one field per name", "a second field".into()));
        }
        if field.label.trim().is_empty() {
            return Err(invalid(name, "a label", "an empty label".into()));
        }
        if field.max_chars == Some(0) {
            return Err(invalid(name, "max_chars of at least 1", "0".into()));
        }
        if let FieldKind::Select { options } = &field.kind {
            if options.is_empty() {
                return Err(invalid(name, "at least one option", "none".into()));
            }
            let mut values: Vec<&str> = options.iter().map(|o| o.value.as_str()).collect();
            values.sort_unstable();
            if values.windows(2).any(|w| w[0] == w[1]) {
                return Err(invalid(
                    name,
                    "distinct option values",
                    "a repeated value".into(),
                ));
            }
        }
    }
    Ok(())
}

/// The declared fields' values of what a form sent (`sent`: every field of the form, by
/// name), cleaned: undeclared names dropped, text trimmed and absent when empty, a
/// checkbox `true` when ticked and absent otherwise.
pub fn clean(fields: &[FieldSpec], sent: &UserFieldValues) -> UserFieldValues {
    let mut values = UserFieldValues::new();
    for field in fields {
        let Some(value) = sent.get(&field.name) else {
            continue;
        };
        match field.kind {
            FieldKind::Checkbox => {
                if ticked(value) {
                    values.insert(field.name.clone(), "true");
                }
            }
            _ => {
                let value = value.trim();
                if !value.is_empty() {
                    values.insert(field.name.clone(), value);
                }
            }
        }
    }
    values
}

/// The declarative checks of `field` on its cleaned value, as one problem at most.
fn check_field(field: &FieldSpec, value: Option<&str>) -> Option<FieldError> {
    let label = field.label.as_str();
    let Some(value) = value else {
        return field.required.then(|| match field.kind {
            FieldKind::Checkbox => FieldError::new(
                "user_field_unchecked",
                format!("Tick “{label}” to continue."),
            ),
            _ => FieldError::new("user_field_required", format!("{label} is required.")),
        });
    };
    match &field.kind {
        FieldKind::Checkbox => None,
        FieldKind::Select { options } => (!options.iter().any(|o| o.value == value)).then(|| {
            FieldError::new(
                "user_field_invalid_option",
                format!("Choose one of the options for {label}."),
            )
        }),
        FieldKind::Text | FieldKind::Email => {
            let chars = value.chars().count();
            let max = field.max_chars.unwrap_or(DEFAULT_MAX_CHARS);
            if value.chars().any(char::is_control) {
                Some(FieldError::new(
                    "user_field_invalid",
                    format!("{label} cannot hold control characters."),
                ))
            } else if chars > max {
                Some(FieldError::new(
                    "user_field_too_long",
                    format!("{label} can be at most {max} characters long; this is {chars}."),
                ))
            } else if field.kind == FieldKind::Email && !super::registration::valid_email(value) {
                Some(FieldError::new(
                    "user_field_email_invalid",
                    "Enter a valid email address, like name@example.com.",
                ))
            } else {
                None
            }
        }
    }
}

/// The problems of the cleaned `values`, by field name: the declarative checks of each
/// field, then the host's [`UserFields::validate`] for the fields that passed them.
pub fn check(
    hook: &dyn UserFields,
    fields: &[FieldSpec],
    values: &UserFieldValues,
) -> BTreeMap<String, Vec<FieldError>> {
    let mut errors: BTreeMap<String, Vec<FieldError>> = BTreeMap::new();
    for field in fields {
        if let Some(problem) = check_field(field, values.get(&field.name)) {
            errors.entry(field.name.clone()).or_default().push(problem);
        }
    }
    let failed: Vec<String> = errors.keys().cloned().collect();
    for (name, problem) in hook.validate(values) {
        if !failed.contains(&name) {
            errors.entry(name).or_default().push(problem);
        }
    }
    errors
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug)]
    struct NoAdmin;

    impl UserFields for NoAdmin {
        fn fields(&self) -> Vec<FieldSpec> {
            Vec::new()
        }

        fn validate(&self, values: &UserFieldValues) -> Vec<(String, FieldError)> {
            if values.get("display_name") == Some("admin") {
                let e = FieldError::new("display_name_reserved", "Pick another name.");
                vec![("display_name".into(), e)]
            } else {
                Vec::new()
            }
        }

        fn store<'a>(&'a self, _: &'a Tx, _: Uuid, _: &'a UserFieldValues) -> StoreFuture<'a> {
            Box::pin(async { Ok(()) })
        }
    }

    fn declared() -> Vec<FieldSpec> {
        vec![
            FieldSpec::text("display_name", "Display name")
                .required()
                .max_chars(5),
            FieldSpec::checkbox("accept_terms", "I accept the terms").required(),
            FieldSpec::select("plan", "Plan", [("free", "Free"), ("pro", "Pro")]),
            FieldSpec::email("billing_email", "Billing email"),
        ]
    }

    fn reasons(sent: &[(&str, &str)]) -> BTreeMap<String, Vec<&'static str>> {
        let fields = declared();
        let values = clean(&fields, &sent.iter().copied().collect());
        check(&NoAdmin, &fields, &values)
            .into_iter()
            .map(|(k, v)| (k, v.iter().map(|e| e.reason).collect()))
            .collect()
    }

    #[test]
    fn good_values_pass_and_are_cleaned() {
        let fields = declared();
        let sent: UserFieldValues = [
            ("display_name", "  Ada "),
            ("accept_terms", "on"),
            ("plan", "pro"),
            ("billing_email", ""),
            ("is_admin", "true"),
        ]
        .into_iter()
        .collect();
        let values = clean(&fields, &sent);
        assert_eq!(values.get("display_name"), Some("Ada"));
        assert_eq!(values.get("accept_terms"), Some("true"));
        assert!(values.checked("accept_terms"));
        assert_eq!(values.get("billing_email"), None);
        assert_eq!(values.get("is_admin"), None, "undeclared names are dropped");
        assert!(check(&NoAdmin, &fields, &values).is_empty());
    }

    #[test]
    fn each_declarative_rule_refuses_by_field() {
        let found = reasons(&[
            ("display_name", "Adalbert"),
            ("accept_terms", "false"),
            ("plan", "gold"),
            ("billing_email", "not-an-address"),
        ]);
        assert_eq!(found["display_name"], ["user_field_too_long"]);
        assert_eq!(found["accept_terms"], ["user_field_unchecked"]);
        assert_eq!(found["plan"], ["user_field_invalid_option"]);
        assert_eq!(found["billing_email"], ["user_field_email_invalid"]);
        let found = reasons(&[("display_name", " \t "), ("accept_terms", "true")]);
        assert_eq!(found["display_name"], ["user_field_required"]);
        assert_eq!(found.len(), 1, "optional fields may be left out: {found:?}");
        let found = reasons(&[("display_name", "a\u{7}b"), ("accept_terms", "true")]);
        assert_eq!(found["display_name"], ["user_field_invalid"]);
    }

    #[test]
    fn host_rules_run_after_the_declarative_ones() {
        let found = reasons(&[("display_name", "admin"), ("accept_terms", "yes")]);
        assert_eq!(found["display_name"], ["display_name_reserved"]);
        // Past the declarative limit: the host's rule is not added on top.
        let found = reasons(&[("display_name", "administrator"), ("accept_terms", "1")]);
        assert_eq!(found["display_name"], ["user_field_too_long"]);
    }

    #[test]
    fn declarations_that_cannot_work_are_refused() {
        let bad = [
            vec![FieldSpec::text("Display", "x")],
            vec![FieldSpec::text("password", "x")],
            vec![FieldSpec::text("_csrf", "x")],
            vec![FieldSpec::text("a-b", "x")],
            vec![FieldSpec::text("a", "x"), FieldSpec::checkbox("a", "y")],
            vec![FieldSpec::text("a", " ")],
            vec![FieldSpec::text("a", "x").max_chars(0)],
            vec![FieldSpec::select("a", "x", [("v", "1"), ("v", "2")])],
        ];
        for fields in bad {
            let e = check_declaration(&fields).expect_err("refused");
            assert_eq!(e.reason(), "config_invalid_value");
        }
        assert!(check_declaration(&declared()).is_ok());
    }
}
