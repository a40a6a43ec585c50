//! [`SecretField`]: a form field that holds a secret (a password) and never prints it.

use std::fmt;

use rocket::form::{self, FromFormField, ValueField};
use sigra_core::secret::SecretString;

/// A form field whose value is a secret: `Debug` prints `[redacted]`, the memory is
/// wiped on drop, and it turns into a [`SecretString`] for the flows with `.into()`.
///
/// A missing field reads as the empty string (the flows then answer "enter your
/// password"), so forms need no `#[field(default = …)]`.
///
/// ```
/// use rocket::form::Form;
/// use sigra_rocket::SecretField;
///
/// #[derive(Debug, rocket::FromForm)]
/// struct LogIn { email: String, password: SecretField }
///
/// let form: LogIn = Form::parse("email=ada%40example.com&password=hunter2hunter2").unwrap();
/// assert!(!format!("{form:?}").contains("hunter2"));
/// let password: sigra_core::secret::SecretString = form.password.into();
/// assert_eq!(password.expose(), "hunter2hunter2");
/// ```
#[derive(Clone, Default, PartialEq, Eq)]
pub struct SecretField(SecretString);

impl SecretField {
    /// The secret itself. Call only where the value is really needed.
    pub fn expose(&self) -> &str {
        self.0.expose()
    }
}

impl fmt::Debug for SecretField {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretField([redacted])")
    }
}

impl From<SecretField> for SecretString {
    fn from(field: SecretField) -> SecretString {
        field.0
    }
}

#[rocket::async_trait]
impl<'v> FromFormField<'v> for SecretField {
    fn from_value(field: ValueField<'v>) -> form::Result<'v, Self> {
        Ok(SecretField(SecretString::new(field.value)))
    }

    fn default() -> Option<Self> {
        Some(SecretField(SecretString::default()))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    #[test]
    fn debug_output_of_every_public_form_never_shows_the_password() {
        use crate::routes::{
            change_email, change_password, login, registration, reset_password, set_password, sudo,
        };
        use rocket::form::Form;
        const SECRET: &str = "hunter2hunter2-plaintext";
        let body = format!(
            "email=a%40example.com&password={SECRET}&password_confirmation={SECRET}&current_password={SECRET}"
        );
        let printed = [
            format!("{:?}", Form::<login::LoginForm>::parse(&body).unwrap()),
            format!(
                "{:?}",
                Form::<registration::RegistrationForm>::parse(&body).unwrap()
            ),
            format!(
                "{:?}",
                Form::<change_email::ChangeEmailForm>::parse(&body).unwrap()
            ),
            format!(
                "{:?}",
                Form::<change_password::ChangePasswordForm>::parse(&body).unwrap()
            ),
            format!(
                "{:?}",
                Form::<reset_password::ResetForm>::parse(&body).unwrap()
            ),
            format!(
                "{:?}",
                Form::<set_password::SetPasswordForm>::parse(&body).unwrap()
            ),
            format!("{:?}", Form::<sudo::SudoForm>::parse(&body).unwrap()),
        ];
        for dbg in printed {
            assert!(!dbg.contains("hunter2"), "{dbg}");
            assert!(dbg.contains("[redacted]"), "{dbg}");
        }
    }
}
