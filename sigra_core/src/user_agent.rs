//! A small user-agent reader: browser and OS names for the sessions list. It only
//! labels devices for their owner, so it favours the common cases over completeness.

/// Browser and OS names read from a `User-Agent` header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Device {
    /// "Firefox", "Chrome", "Safari", "Edge", "Opera" or "Unknown browser".
    pub browser: &'static str,
    /// "Windows", "macOS", "iOS", "Android", "ChromeOS", "Linux" or "Unknown OS".
    pub os: &'static str,
}

/// Reads browser and OS from a user agent.
///
/// ```
/// use sigra_core::user_agent::parse;
/// let d = parse(Some("Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15"));
/// assert_eq!((d.browser, d.os), ("Safari", "macOS"));
/// ```
pub fn parse(user_agent: Option<&str>) -> Device {
    let ua = user_agent.unwrap_or_default();
    let browser = if ua.contains("Edg/") || ua.contains("Edge/") {
        "Edge"
    } else if ua.contains("OPR/") || ua.contains("Opera") {
        "Opera"
    } else if ua.contains("Firefox/") || ua.contains("FxiOS/") {
        "Firefox"
    } else if ua.contains("Chrome/") || ua.contains("Chromium/") || ua.contains("CriOS/") {
        "Chrome"
    } else if ua.contains("Safari/") {
        "Safari"
    } else {
        "Unknown browser"
    };
    let os = if ua.contains("iPhone") || ua.contains("iPad") || ua.contains("iPod") {
        "iOS"
    } else if ua.contains("Android") {
        "Android"
    } else if ua.contains("CrOS") {
        "ChromeOS"
    } else if ua.contains("Windows") {
        "Windows"
    } else if ua.contains("Mac OS X") || ua.contains("Macintosh") {
        "macOS"
    } else if ua.contains("Linux") || ua.contains("X11") {
        "Linux"
    } else {
        "Unknown OS"
    };
    Device { browser, os }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn common_agents() {
        let cases = [
            (
                "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36 Edg/126.0.0.0",
                "Edge",
                "Windows",
            ),
            (
                "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0",
                "Firefox",
                "Linux",
            ),
            (
                "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Mobile Safari/537.36",
                "Chrome",
                "Android",
            ),
            (
                "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1",
                "Safari",
                "iOS",
            ),
            (
                "Mozilla/5.0 (X11; CrOS x86_64 14541.0.0) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36",
                "Chrome",
                "ChromeOS",
            ),
            ("curl/8.5.0", "Unknown browser", "Unknown OS"),
        ];
        for (ua, browser, os) in cases {
            assert_eq!(parse(Some(ua)), Device { browser, os }, "{ua}");
        }
        assert_eq!(parse(None).browser, "Unknown browser");
    }
}
