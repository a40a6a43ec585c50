//! New-device sign-in alert: the owner hears of a sign-in from a browser the account has
//! not used before.
//!
//! Algorithm. Every sign-in (a proven first factor: password, magic link) describes its
//! device as the browser family and OS read from the user agent
//! ([`crate::user_agent::parse`]) plus the network of the client IP: its /24 for IPv4,
//! its /48 for IPv6. The device is known when a session of the account that has not
//! expired, or an entry of the account's known devices seen within
//! [`RECENT_DAYS`], matches all three, or when the browser carries a valid
//! trusted-browser cookie of the account. Otherwise the owner is mailed (`new_device`:
//! device, IP, time, and a link to the sessions page to sign it out) and
//! `login.new_device` is audited, in the log-in's own transaction. An account that never
//! signed in before (no session, no known device) gets no alert: its first log-in after
//! registration is not news. Each sign-in then records its device (`last_seen_at`) and
//! drops the account's entries unused for [`RECENT_DAYS`]. `sigra.new_device_alert =
//! false` turns all of it off (nothing is recorded either).
//!
//! Trade-off. Matching is coarse on purpose: no fingerprinting beyond what the sessions
//! page shows, no IP geolocation (the "place" is the IP). A user whose network changes
//! (mobile, a new provider) gets a mail that was not needed; an attacker with the same
//! browser and OS inside the owner's /24 gets none.
//!
//! Failure mode. The check runs inside the log-in transaction, so a failing database or
//! mail template fails the log-in rather than skipping the alert silently. Stale entries
//! are dropped at the account's next sign-in rather than by a sweep, so an account
//! dormant for months still counts as having signed in before and its next sign-in from
//! an unknown device is reported.

use std::net::IpAddr;

use serde_json::json;
use time::Duration;

use super::{Auth, Change, FlowError, audit, human_time};
use crate::store::{User, new_id, sessions};
use crate::user_agent;

/// How long a device stays known without a sign-in from it.
pub const RECENT_DAYS: i64 = 90;

/// The network a client IP belongs to, as the alert compares it: `a.b.c.0/24` for IPv4
/// (IPv4-mapped IPv6 included), the /48 for IPv6, `unknown` without a readable IP.
///
/// ```
/// use sigra_core::features::new_device::network_of;
/// assert_eq!(network_of(Some("203.0.113.7")), "203.0.113.0/24");
/// assert_eq!(network_of(Some("2001:db8:1:2::5")), "2001:db8:1::/48");
/// assert_eq!(network_of(None), "unknown");
/// ```
pub fn network_of(ip: Option<&str>) -> String {
    let Some(ip) = ip.and_then(|ip| ip.trim().parse::<IpAddr>().ok()) else {
        return "unknown".to_owned();
    };
    let ip = match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(IpAddr::V6(v6), IpAddr::V4),
        v4 => v4,
    };
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, c, _] = v4.octets();
            format!("{a}.{b}.{c}.0/24")
        }
        IpAddr::V6(v6) => {
            let masked = u128::from(v6) & !(u128::MAX >> 48);
            format!("{}/48", std::net::Ipv6Addr::from(masked))
        }
    }
}

/// Checks the sign-in of `user` against the account's devices, mails and audits when the
/// device is new, and records it. Runs in the log-in's transaction `ex`, before its new
/// session exists.
pub(crate) async fn on_sign_in(
    auth: &Auth,
    change: &mut Change<'_>,
    user: &User,
    trusted_browser: Option<&str>,
) -> Result<(), FlowError> {
    let meta = change.meta();
    if !auth.config.new_device_alert {
        return Ok(());
    }
    let now = auth.clock.now();
    let recent = now - Duration::days(RECENT_DAYS);
    let device = user_agent::parse(meta.user_agent.as_deref());
    let network = network_of(meta.ip.as_deref());
    let same = |user_agent: Option<&str>, ip: Option<&str>| {
        user_agent::parse(user_agent) == device && network_of(ip) == network
    };

    let live = sessions::list_for_user(change.tx(), user.id, now).await?;
    let known = sessions::known_devices(change.tx(), user.id).await?;
    let signed_in_before = !live.is_empty() || !known.is_empty();
    let seen = live
        .iter()
        .any(|s| same(s.user_agent.as_deref(), s.ip.as_deref()))
        || known.iter().any(|d| {
            d.last_seen_at >= recent
                && d.browser == device.browser
                && d.os == device.os
                && d.network == network
        });
    let trusted = trusted_browser
        .is_some_and(|cookie| super::trusted_browser::is_trusted(auth, user, cookie));
    let alert = signed_in_before && !seen && !trusted;

    if alert {
        let ip = meta.ip.as_deref().unwrap_or("unknown");
        let context = json!({
            "browser": device.browser,
            "os": device.os,
            "ip": ip,
            "time": human_time(now),
            "sessions_url": auth.route_url("/settings"),
        });
        change.mail("new_device", &user.email, context).await?;
        let details = json!({ "browser": device.browser, "os": device.os, "network": network });
        change
            .audit(audit::LOGIN_NEW_DEVICE, user.id, details)
            .await?;
    }
    let id = new_id(auth.clock.as_ref());
    let key = (device.browser, device.os, network.as_str());
    sessions::record_known_device(change.tx(), id, user.id, key, now).await?;
    sessions::delete_stale_known_devices(change.tx(), user.id, recent).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn networks() {
        assert_eq!(network_of(Some("198.51.100.200")), "198.51.100.0/24");
        assert_eq!(network_of(Some("::ffff:198.51.100.9")), "198.51.100.0/24");
        assert_eq!(
            network_of(Some("2001:db8:abcd:12::1")),
            "2001:db8:abcd::/48"
        );
        assert_eq!(network_of(Some("not an ip")), "unknown");
        assert_eq!(network_of(Some("")), "unknown");
    }
}
