//! An example Rocket app protected by Sigra.

#[macro_use]
extern crate rocket;

#[get("/")]
fn home() -> &'static str {
    "Sigra example app"
}

#[launch]
fn rocket() -> _ {
    rocket::build().mount("/", routes![home])
}
