//! The stylesheet and the scripts of Sigra's pages, served from Sigra's own origin so the
//! pages' Content-Security-Policy allows them without `unsafe-inline`.

use rocket::http::{ContentType, Header};
use rocket::{Route, get, routes};

#[derive(rocket::Responder)]
struct Asset {
    body: (ContentType, &'static str),
    cache: Header<'static>,
}

fn asset(kind: ContentType, body: &'static str) -> Asset {
    Asset {
        body: (kind, body),
        cache: Header::new("Cache-Control", "public, max-age=86400"),
    }
}

#[get("/assets/sigra.css")]
fn stylesheet() -> Asset {
    asset(ContentType::CSS, crate::templates::STYLESHEET)
}

#[get("/assets/sigra.js")]
fn script() -> Asset {
    asset(ContentType::JavaScript, crate::templates::SCRIPT)
}

#[cfg(feature = "passkeys")]
#[get("/assets/sigra-webauthn.js")]
fn webauthn_script() -> Asset {
    asset(ContentType::JavaScript, crate::templates::WEBAUTHN_SCRIPT)
}

pub(crate) fn routes() -> Vec<Route> {
    routes![stylesheet, script]
}

/// The browser half of the passkey ceremonies (the `passkeys` feature).
#[cfg(feature = "passkeys")]
pub(crate) fn passkey_routes() -> Vec<Route> {
    routes![webauthn_script]
}
