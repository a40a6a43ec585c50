//! Custom user fields (`user_fields`) on the web side: no route of their own, they ride on
//! `POST <base>/register` ([`super::registration`]). This module reads them from a form or
//! JSON body whatever their names, and shapes them for the registration page.

use rocket::form::{self, DataField, FromForm, ValueField};
use sigra_core::features::registration::RegistrationErrors;
use sigra_core::features::user_fields::{RESERVED_NAMES, UserFieldValues};

use crate::state::SigraState;

/// A form `T` and every other field the body sent, by name (the custom fields are the
/// host's, so no type names them). The form's own fields are left out of the rest, the
/// password above all.
#[derive(Debug)]
pub(crate) struct WithUserFields<T> {
    /// The typed form.
    pub(crate) form: T,
    /// Every other field, by name.
    pub(crate) user_fields: UserFieldValues,
}

#[rocket::async_trait]
impl<'r, T: FromForm<'r>> FromForm<'r> for WithUserFields<T> {
    type Context = (T::Context, UserFieldValues);

    fn init(opts: form::Options) -> Self::Context {
        (T::init(opts), UserFieldValues::new())
    }

    fn push_value(ctxt: &mut Self::Context, field: ValueField<'r>) {
        // A form takes a field by its first key (`password.x` and `password[0]` fill
        // `password`), so a name is left out by its first key too.
        let name = field.name.source().as_str();
        let key = field.name.key_lossy().as_str();
        if !RESERVED_NAMES.contains(&key) {
            ctxt.1.insert(name, field.value);
        }
        T::push_value(&mut ctxt.0, field);
    }

    async fn push_data(ctxt: &mut Self::Context, field: DataField<'r, '_>) {
        T::push_data(&mut ctxt.0, field).await;
    }

    fn push_error(ctxt: &mut Self::Context, error: form::Error<'r>) {
        T::push_error(&mut ctxt.0, error);
    }

    fn finalize(ctxt: Self::Context) -> form::Result<'r, Self> {
        Ok(WithUserFields {
            form: T::finalize(ctxt.0)?,
            user_fields: ctxt.1,
        })
    }
}

/// The declared custom fields as the page renders them: the declaration, the element
/// id `user_field_<name>`, the value sent (a checkbox: whether it was ticked) and the
/// field's problems.
pub(crate) fn user_fields_view(
    state: &SigraState,
    sent: &UserFieldValues,
    errors: &RegistrationErrors,
) -> Vec<serde_json::Value> {
    let Some(hook) = &state.auth.user_fields else {
        return Vec::new();
    };
    hook.fields()
        .iter()
        .filter_map(|spec| {
            let mut view = serde_json::to_value(spec).ok()?;
            let object = view.as_object_mut()?;
            let name = spec.name.as_str();
            object.insert("id".into(), format!("user_field_{name}").into());
            object.insert("value".into(), sent.get(name).unwrap_or_default().into());
            object.insert("checked".into(), sent.checked(name).into());
            let problems = errors.user_fields.get(name).cloned().unwrap_or_default();
            object.insert(
                "errors".into(),
                serde_json::to_value(problems).unwrap_or_default(),
            );
            Some(view)
        })
        .collect()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use rocket::form::{Form, FromForm};

    use super::WithUserFields;

    #[derive(Debug, FromForm)]
    struct Probe {
        #[field(default = String::new())]
        password: String,
    }

    /// Rocket gives a field to the form by its first key, so `password.x` fills
    /// `password`; it must stay out of the custom fields too.
    #[test]
    fn a_reserved_field_spelled_with_a_nested_name_stays_out_of_the_custom_fields() {
        for body in [
            "password.x=secret",
            "password[0]=secret",
            "password[]=secret",
            "password.=secret",
            "email.x=secret",
            "_csrf.x=secret",
        ] {
            let parsed: WithUserFields<Probe> = Form::parse(body).unwrap();
            let custom: Vec<_> = parsed.user_fields.iter().collect();
            assert!(custom.is_empty(), "{body}: {custom:?}");
        }
        let parsed: WithUserFields<Probe> = Form::parse("password.x=secret").unwrap();
        assert_eq!(parsed.form.password, "secret", "the form reads it");
        let parsed: WithUserFields<Probe> =
            Form::parse("email=a&company=Acme&company.size=9&passwords=x").unwrap();
        let custom: Vec<_> = parsed.user_fields.iter().collect();
        assert_eq!(
            custom,
            [
                ("company", "Acme"),
                ("company.size", "9"),
                ("passwords", "x")
            ]
        );
    }
}
