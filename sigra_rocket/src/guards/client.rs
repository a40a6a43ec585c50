//! Who is asking: the client's IP (behind trusted proxies only) and user agent, and the
//! per-client-IP rate limit that Sigra's data guard applies to its state-changing requests.

use rocket::Request;
use rocket::http::Method;
use rocket::request::{FromRequest, Outcome};
use sigra_core::features::RequestMeta;
use sigra_core::rate_limit::Decision;

use super::failure::{GuardFailure, record_failure};
use crate::state::state;

/// The client's IP (from the socket unless Rocket's `ip_header` is configured) and user
/// agent, as audit events and sessions record them. Reading it has no side effect: a host
/// route may take it freely (Sigra's own POSTs are rate-limited by their data guard).
#[derive(Debug, Clone)]
pub struct ClientMeta(pub RequestMeta);

#[rocket::async_trait]
impl<'r> FromRequest<'r> for ClientMeta {
    type Error = GuardFailure;

    async fn from_request(request: &'r Request<'_>) -> Outcome<Self, Self::Error> {
        Outcome::Success(ClientMeta(meta(request)))
    }
}

/// The per-client-IP rate limit on Sigra's state-changing requests (`sigra.rate_limit`):
/// counts this request against its client and route, and answers the seconds to wait
/// when it is over the limit (recorded for the 429 catcher's `Retry-After`).
pub(crate) async fn rate_limited(request: &Request<'_>) -> Option<u64> {
    let state = state(request)?;
    let writes = !matches!(
        request.method(),
        Method::Get | Method::Head | Method::Options
    );
    if !writes || !state.auth.config.rate_limit.enabled {
        return None;
    }
    let endpoint = request
        .route()
        .map(|r| format!("{} {}", r.method, r.uri.path()))
        .unwrap_or_default();
    let client = client_key(client_ip(request));
    match state
        .rate_limiter
        .check(&format!("{client}|{endpoint}"))
        .await
    {
        Decision::Limited { retry_after_secs } => {
            request.local_cache(|| RetryAfter(retry_after_secs));
            record_failure(request, GuardFailure::RateLimited);
            Some(retry_after_secs)
        }
        _ => None,
    }
}

/// Seconds until a rate-limited client may try again (for the 429 catcher).
#[derive(Debug, Clone, Copy)]
pub(crate) struct RetryAfter(pub u64);

/// The client IP: the socket peer, or — only when the peer is a configured trusted
/// proxy — the `X-Forwarded-For` client. Rocket's own `client_ip()` trusts `X-Real-IP`
/// from anyone, so Sigra does not use it.
pub(crate) fn client_ip(request: &Request<'_>) -> Option<std::net::IpAddr> {
    let socket = request.remote().map(|addr| addr.ip());
    let trusted = state(request)
        .map(|s| s.auth.config.rate_limit.trusted_proxies.as_slice())
        .unwrap_or(&[]);
    // A proxy may append its own header line instead of extending the client's: read
    // every line, in order, as one list (RFC 7230 §3.2.2), before walking it from the right.
    let forwarded = request
        .headers()
        .get("X-Forwarded-For")
        .collect::<Vec<_>>()
        .join(",");
    sigra_core::net::client_ip(
        socket,
        Some(forwarded.as_str()).filter(|f| !f.is_empty()),
        trusted,
    )
}

/// The limiter key of a client: its IPv4 address, or its IPv6 /64 (one subscriber's
/// prefix, which an attacker could otherwise rotate through).
fn client_key(ip: Option<std::net::IpAddr>) -> String {
    match ip {
        Some(std::net::IpAddr::V6(v6)) => {
            let s = v6.segments();
            format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
        }
        Some(v4) => v4.to_string(),
        None => "unknown".to_owned(),
    }
}

pub(crate) fn meta(request: &Request<'_>) -> RequestMeta {
    RequestMeta {
        ip: client_ip(request).map(|ip| ip.to_string()),
        user_agent: request.headers().get_one("User-Agent").map(str::to_owned),
        impersonator_id: request.local_cache(Impersonator::default).get(),
    }
}

/// The admin behind the request's session, when it is an impersonation: recorded by the
/// session lookup (`current_session`), read by [`meta`]. A cell of its own, so that
/// building the meta during the lookup cannot fill the lookup's cache early.
#[derive(Debug, Default)]
pub(crate) struct Impersonator(std::sync::OnceLock<uuid::Uuid>);

impl Impersonator {
    /// Records the admin (once per request).
    pub(crate) fn set(&self, admin: uuid::Uuid) {
        let _ = self.0.set(admin);
    }

    fn get(&self) -> Option<uuid::Uuid> {
        self.0.get().copied()
    }
}
