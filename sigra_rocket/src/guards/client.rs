//! Who is asking: the client's IP (behind trusted proxies only) and user agent, and the
//! per-client-IP rate limit on state-changing requests.

use rocket::Request;
use rocket::http::{Method, Status};
use rocket::request::{FromRequest, Outcome};
use sigra_core::features::RequestMeta;
use sigra_core::rate_limit::Decision;

use super::failure::{GuardFailure, record_failure};
use crate::state::state;

/// The client's IP (from the socket unless Rocket's `ip_header` is configured) and user agent.
#[derive(Debug, Clone)]
pub struct ClientMeta(pub RequestMeta);

#[rocket::async_trait]
impl<'r> FromRequest<'r> for ClientMeta {
    type Error = GuardFailure;

    /// Also enforces the per-client-IP rate limit on every state-changing request
    /// (each Sigra POST takes this guard): over the limit, 429 with `Retry-After`.
    async fn from_request(request: &'r Request<'_>) -> Outcome<Self, Self::Error> {
        let meta = meta(request);
        let Some(state) = state(request) else {
            return Outcome::Success(ClientMeta(meta));
        };
        let writes = !matches!(
            request.method(),
            Method::Get | Method::Head | Method::Options
        );
        if writes && state.auth.config.rate_limit.enabled {
            let endpoint = request
                .route()
                .map(|r| format!("{} {}", r.method, r.uri.path()))
                .unwrap_or_default();
            let client = client_key(client_ip(request));
            if let Decision::Limited { retry_after_secs } = state
                .rate_limiter
                .check(&format!("{client}|{endpoint}"))
                .await
            {
                request.local_cache(|| RetryAfter(retry_after_secs));
                record_failure(request, GuardFailure::RateLimited);
                return Outcome::Error((Status::TooManyRequests, GuardFailure::RateLimited));
            }
        }
        Outcome::Success(ClientMeta(meta))
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
    }
}
