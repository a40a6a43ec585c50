//! Sigra's integration suite. Every test in a `conformance!` block runs once per backend:
//! `<test>::sqlite` always, `<test>::postgres` and `<test>::mysql` when
//! `SIGRA_TEST_POSTGRES_URL` / `SIGRA_TEST_MYSQL_URL` are set (each test gets a fresh
//! database of its own on that server).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[macro_use]
mod common;

mod admin;
mod api_keys;
mod api_tokens;
mod attempts;
mod audit;
mod backup_codes;
mod change_email;
mod change_password;
mod confirmation;
mod data_export;
mod deletion;
mod guards;
mod impersonation;
mod invitations;
mod json;
mod layout;
mod lockout;
mod login;
mod logout;
mod magic_link;
mod mail;
mod memberships;
mod mfa;
mod mfa_totp;
mod new_device;
mod oauth;
mod oidc_provider;
mod organizations;
mod passkeys;
mod password_upgrade;
mod properties;
mod rate_limit;
mod reasons;
mod registration;
mod release_profile;
mod remember_me;
mod reset_password;
mod retention;
mod security;
mod security_evidence;
mod session_cache;
mod sessions;
mod set_password;
mod settings;
mod store;
mod subdomains;
mod sudo;
mod trusted_browser;
mod user_fields;
