//! The stylesheet.

use rocket::http::{ContentType, Header};
use rocket::{Route, get, routes};

#[derive(rocket::Responder)]
struct Css {
    body: (ContentType, &'static str),
    cache: Header<'static>,
}

#[get("/assets/sigra.css")]
fn stylesheet() -> Css {
    Css {
        body: (ContentType::CSS, crate::templates::STYLESHEET),
        cache: Header::new("Cache-Control", "public, max-age=86400"),
    }
}

pub(crate) fn routes() -> Vec<Route> {
    routes![stylesheet]
}
