//! Web origin normalisation for the CORS allow-list.
//!
//! Owns turning a configured or request-supplied origin into one canonical
//! `scheme://host[:port]` string, so that the allow-list check is a plain
//! string equality that look-alikes cannot slip past.
//!
//! It must never accept anything that is not exactly an http(s) origin
//! (userinfo, paths, queries, fragments, other schemes, the opaque `null`
//! origin), and must never do prefix, suffix or substring matching.

/// The origin is not `scheme://host[:port]` with scheme http or https.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum OriginError {
    /// Any malformation; the reason is not needed to fix a config typo and
    /// is deliberately not echoed back to a browser.
    #[error("origin must be scheme://host[:port] with scheme http or https")]
    Malformed,
}

/// Longest origin accepted, in bytes.
const MAX_ORIGIN_LEN: usize = 255;
/// Longest DNS name (RFC 1035), without a trailing dot.
const MAX_HOST_LEN: usize = 253;
/// Longest DNS label (RFC 1035).
const MAX_LABEL_LEN: usize = 63;

/// Normalises an origin to `scheme://host[:port]`.
///
/// Scheme and host are lower-cased, the default port (80 for http, 443 for
/// https) is dropped, and one trailing `/` is tolerated and dropped. The host
/// must be a DNS name (labels of `[a-z0-9-]`, none empty, none starting or
/// ending with `-`), a dotted-quad IPv4 address, or a bracketed IPv6 literal
/// such as `[::1]`.
///
/// Examples: `"HTTPS://Event-App.com:443"` gives `"https://event-app.com"`;
/// `"http://localhost:3000"` stays as is; `"https://event-app.com/path"` is
/// an error.
///
/// # Errors
///
/// [`OriginError::Malformed`] for other schemes, userinfo, paths, queries,
/// fragments, an empty or invalid host, whitespace, control or non-ASCII
/// characters, a port outside `1..=65535`, or more than 255 bytes.
pub fn normalize_origin(origin: &str) -> Result<String, OriginError> {
    // Checking every byte up front means nothing below has to think about
    // whitespace, control characters or Unicode look-alikes.
    if origin.len() > MAX_ORIGIN_LEN || !origin.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(OriginError::Malformed);
    }
    let (scheme, rest) = origin.split_once("://").ok_or(OriginError::Malformed)?;
    let scheme = scheme.to_ascii_lowercase();
    let default_port = match scheme.as_str() {
        "http" => 80,
        "https" => 443,
        _ => return Err(OriginError::Malformed),
    };

    let authority = rest.strip_suffix('/').unwrap_or(rest);
    if authority
        .bytes()
        .any(|b| matches!(b, b'/' | b'?' | b'#' | b'@' | b'\\'))
    {
        return Err(OriginError::Malformed);
    }

    let (host, port) = split_host_port(authority)?;
    let host = host.to_ascii_lowercase();
    if !(is_ipv6_literal(&host) || is_ipv4(&host) || is_dns_name(&host)) {
        return Err(OriginError::Malformed);
    }

    let port = match port {
        None => None,
        Some(p) => Some(parse_port(p)?),
    };
    Ok(match port {
        Some(p) if p != default_port => format!("{scheme}://{host}:{p}"),
        _ => format!("{scheme}://{host}"),
    })
}

/// Splits `host[:port]`, where a bracketed IPv6 host may itself contain ':'.
fn split_host_port(authority: &str) -> Result<(&str, Option<&str>), OriginError> {
    if authority.starts_with('[') {
        let close = authority.find(']').ok_or(OriginError::Malformed)?;
        let (host, after) = authority.split_at(close + 1);
        return match after {
            "" => Ok((host, None)),
            _ => after
                .strip_prefix(':')
                .map(|p| (host, Some(p)))
                .ok_or(OriginError::Malformed),
        };
    }
    Ok(match authority.split_once(':') {
        Some((host, port)) => (host, Some(port)),
        None => (authority, None),
    })
}

fn parse_port(port: &str) -> Result<u16, OriginError> {
    // Length cap first so the parse cannot overflow on "00000000000080".
    if port.is_empty() || port.len() > 5 || !port.bytes().all(|b| b.is_ascii_digit()) {
        return Err(OriginError::Malformed);
    }
    match port.parse::<u16>() {
        Ok(p) if p >= 1 => Ok(p),
        _ => Err(OriginError::Malformed),
    }
}

/// `[` hex and ':' only `]`, with at least one ':' and something in it.
/// Full RFC 4291 validation is not needed: the result is only ever compared
/// for equality with another normalised origin.
fn is_ipv6_literal(host: &str) -> bool {
    host.strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .is_some_and(|inner| {
            inner.len() >= 2
                && inner.len() <= 39
                && inner.contains(':')
                && inner.bytes().all(|b| b.is_ascii_hexdigit() || b == b':')
        })
}

/// Dotted quad, each part 0..=255 without leading zeros (which some parsers
/// read as octal, making one string mean two addresses).
fn is_ipv4(host: &str) -> bool {
    let parts: Vec<&str> = host.split('.').collect();
    parts.len() == 4
        && parts.iter().all(|p| {
            !p.is_empty()
                && p.len() <= 3
                && p.bytes().all(|b| b.is_ascii_digit())
                && (p.len() == 1 || !p.starts_with('0'))
                && p.parse::<u8>().is_ok()
        })
}

fn is_dns_name(host: &str) -> bool {
    if host.is_empty() || host.len() > MAX_HOST_LEN {
        return false;
    }
    let labels_ok = host.split('.').all(|label| {
        !label.is_empty()
            && label.len() <= MAX_LABEL_LEN
            && !label.starts_with('-')
            && !label.ends_with('-')
            && label
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    });
    // A name whose last label is numeric is what browsers parse as an IPv4
    // address ("1.2.3", "0x7f.1"); it was not a valid one, so refuse it
    // rather than let it compare equal to nothing consistently.
    let last_numeric = host
        .rsplit('.')
        .next()
        .is_some_and(|l| l.bytes().all(|b| b.is_ascii_digit()));
    labels_ok && !last_numeric
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(input: &str) -> String {
        match normalize_origin(input) {
            Ok(s) => s,
            Err(e) => panic!("{input:?} refused: {e}"),
        }
    }

    fn bad(input: &str) {
        assert_eq!(
            normalize_origin(input),
            Err(OriginError::Malformed),
            "{input:?} accepted"
        );
    }

    #[test]
    fn documented_examples() {
        assert_eq!(ok("HTTPS://Event-App.com:443"), "https://event-app.com");
        assert_eq!(ok("http://localhost:3000"), "http://localhost:3000");
        assert_eq!(ok("https://event-app.com/"), "https://event-app.com");
        bad("https://event-app.com/path");
    }

    #[test]
    fn default_ports_dropped_other_ports_kept() {
        assert_eq!(ok("http://a.com:80"), "http://a.com");
        assert_eq!(ok("https://a.com:443"), "https://a.com");
        assert_eq!(ok("http://a.com:443"), "http://a.com:443");
        assert_eq!(ok("https://a.com:80"), "https://a.com:80");
        assert_eq!(ok("https://a.com:8443"), "https://a.com:8443");
        assert_eq!(ok("https://a.com:1"), "https://a.com:1");
        assert_eq!(ok("https://a.com:65535"), "https://a.com:65535");
        assert_eq!(ok("https://a.com:0443"), "https://a.com");
        assert_eq!(ok("http://a.com:08080"), "http://a.com:8080");
    }

    #[test]
    fn bad_ports() {
        for p in [
            "0", "65536", "99999", "100000", "", "-1", "+80", "8o", "80:80", "443 ",
        ] {
            bad(&format!("https://a.com:{p}"));
        }
    }

    #[test]
    fn look_alikes_normalise_to_different_strings() {
        let real = ok("https://event-app.com");
        for other in [
            "https://event-app.com.evil.io",
            "https://evil-event-app.com",
            "http://event-app.com",
            "https://event-app.com:8443",
            "https://event-app.co",
            "https://www.event-app.com",
            "https://event-app.com:444",
        ] {
            assert_ne!(ok(other), real, "{other}");
        }
        assert_eq!(
            ok("https://event-app.com.evil.io"),
            "https://event-app.com.evil.io"
        );
        assert_eq!(
            ok("https://evil-event-app.com"),
            "https://evil-event-app.com"
        );
        assert_eq!(ok("http://event-app.com"), "http://event-app.com");
        // Spellings of the same origin compare equal.
        for same in [
            "https://event-app.com:443",
            "HTTPS://EVENT-APP.COM",
            "https://event-app.com/",
            "hTTps://Event-App.Com:443/",
        ] {
            assert_eq!(ok(same), real, "{same}");
        }
    }

    #[test]
    fn non_origins_are_refused() {
        for s in [
            "",
            "null",
            "javascript:alert(1)",
            "javascript://event-app.com",
            "data:text/html,hi",
            "file:///etc/passwd",
            "ftp://event-app.com",
            "ws://event-app.com",
            "https:event-app.com",
            "https:/event-app.com",
            "//event-app.com",
            "event-app.com",
            "https://",
            "https:///",
            "https://user@event-app.com",
            "https://user:pw@event-app.com",
            "https://event-app.com@evil.io",
            "https://event-app.com/x",
            "https://event-app.com//",
            "https://event-app.com?x=1",
            "https://event-app.com/?x=1",
            "https://event-app.com#frag",
            "https://event-app.com\\evil.io",
            "https://event-app.com:",
        ] {
            bad(s);
        }
    }

    #[test]
    fn whitespace_control_and_non_ascii_are_refused() {
        for s in [
            " https://a.com",
            "https://a.com ",
            "https://a .com",
            "https://a.com\n",
            "https://a.com\t",
            "https://a.com\0",
            "https://a.com\u{7f}",
            "https://évent-app.com",
            "https://event-аpp.com", // Cyrillic 'а'
            "https://a.com\u{200b}",
        ] {
            bad(s);
        }
    }

    #[test]
    fn host_rules() {
        for s in [
            "https://-a.com",
            "https://a-.com",
            "https://a..com",
            "https://.a.com",
            "https://a.com.",
            "https://a_b.com",
            "https://a*b.com",
            "https://a%2eb.com",
            "https://[::1",
            "https://::1",
            "https://[]",
            "https://[:]x",
            "https://[::g]",
            "https://[::1]x",
            "https://[::1]]",
            "https://[1.2.3.4]",
            "https://1.2.3",
            "https://1.2.3.4.5",
            "https://256.1.1.1",
            "https://01.2.3.4",
            "https://1.2.3.04",
            "https://0x7f.0.0.1",
            "https://a.123",
        ] {
            bad(s);
        }
        let label63 = "a".repeat(63);
        assert_eq!(
            ok(&format!("https://{label63}.com")),
            format!("https://{label63}.com")
        );
        bad(&format!("https://{}.com", "a".repeat(64)));
        assert_eq!(ok("https://a-b--c.x1.com"), "https://a-b--c.x1.com");
        assert_eq!(ok("https://123abc.com"), "https://123abc.com");
        assert_eq!(ok("http://localhost"), "http://localhost");
    }

    #[test]
    fn ip_literals() {
        assert_eq!(ok("http://127.0.0.1:8080"), "http://127.0.0.1:8080");
        assert_eq!(ok("http://0.0.0.0"), "http://0.0.0.0");
        assert_eq!(ok("https://255.255.255.255:443"), "https://255.255.255.255");
        assert_eq!(ok("http://[::1]:3000"), "http://[::1]:3000");
        assert_eq!(ok("http://[::1]"), "http://[::1]");
        assert_eq!(ok("https://[2001:DB8::1]:443/"), "https://[2001:db8::1]");
    }

    #[test]
    fn length_limit() {
        // 63 + 1 + 63 + 1 + 63 + 1 + 49 = 241-byte host; with "https://" 249.
        let host = format!(
            "{}.{}.{}.{}",
            "a".repeat(63),
            "b".repeat(63),
            "c".repeat(63),
            "d".repeat(49)
        );
        let origin = format!("https://{host}");
        assert_eq!(origin.len(), 249);
        assert_eq!(ok(&origin), origin);
        let long = format!("https://{host}.abcdefg");
        assert_eq!(long.len(), 257);
        bad(&long);
        bad(&"x".repeat(10_000));
    }

    #[test]
    fn idempotent() {
        for s in [
            "HTTPS://Event-App.com:443",
            "http://localhost:3000",
            "http://[::1]:80/",
            "https://1.2.3.4:8443",
        ] {
            let once = ok(s);
            assert_eq!(ok(&once), once);
        }
    }
}
