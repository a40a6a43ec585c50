//! Set a password on an account that has none (one made by magic link or, later,
//! OAuth). The web layer asks for sudo first; other sessions end, as with a change.

use super::change_password::replace;
use super::sessions::Authenticated;
use super::{Auth, FlowError, RequestMeta, audit};
use crate::crypto::Token;
use crate::form::FieldError;
use crate::password_policy::{self, NewPasswordErrors};
use crate::secret::SecretString;

/// Problems with the form, by field.
pub type SetPasswordErrors = NewPasswordErrors;

/// Sets the first password of the current user's account. Answers the current
/// session's new cookie value, or the form's problems (an account that already has a
/// password is told to use change password instead).
///
/// ```no_run
/// # async fn demo(auth: &sigra_core::features::Auth, me: &sigra_core::features::sessions::Authenticated) {
/// use sigra_core::features::{RequestMeta, set_password::set_password};
/// let new = "a long first passphrase".into();
/// let again = "a long first passphrase".into();
/// let _ = set_password(auth, me, &new, &again, &RequestMeta::default()).await;
/// # }
/// ```
pub async fn set_password(
    auth: &Auth,
    current: &Authenticated,
    password: &SecretString,
    confirmation: &SecretString,
    meta: &RequestMeta,
) -> Result<Result<Token, SetPasswordErrors>, FlowError> {
    let user = &current.user;
    let mut errors = password_policy::check_new(
        &auth.config.password,
        password.expose(),
        confirmation.expose(),
        Some(&user.email),
    );
    if user.has_password() {
        let message = "Your account already has a password; use change password.";
        errors
            .password
            .insert(0, FieldError::new("password_already_set", message));
    }
    if !errors.is_empty() {
        return Ok(Err(errors));
    }
    let hashed = auth.hasher.hash(password).await?;
    let fresh = replace(auth, current, hashed, audit::SET_PASSWORD, meta).await?;
    Ok(Ok(fresh))
}
