//! Input validation at the engine's boundary.
//!
//! Owns the syntactic rules for ids, app ids, emails, passwords, display
//! names, currency codes, payment ids and seat attributes, and the
//! [`InvalidInput`] error that reports a violation.
//!
//! It must never put the offending value into an error: errors name the
//! field and a fixed reason only, so a password (or anything else a caller
//! mistyped into the wrong field) can never reach a log through them. It
//! does no I/O and knows nothing of storage beyond the characters the
//! storage layer reserves.

/// Which input was bad and why. Both parts are fixed strings chosen by the
/// engine; the bad value itself is never included.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("invalid {field}: {reason}")]
pub struct InvalidInput {
    /// The input's name, e.g. `"email"` or `"seat_id"`.
    pub field: &'static str,
    /// What rule it broke, e.g. `"must be 1 to 64 characters"`.
    pub reason: &'static str,
}

impl InvalidInput {
    /// An error for `field` breaking `reason`.
    pub(crate) const fn new(field: &'static str, reason: &'static str) -> Self {
        Self { field, reason }
    }
}

/// Longest id, in bytes.
pub(crate) const MAX_ID_LEN: usize = 64;
const MIN_APP_ID_LEN: usize = 3;
const MAX_EMAIL_LEN: usize = 254;
const MAX_EMAIL_LOCAL_LEN: usize = 64;
const MAX_DNS_LABEL_LEN: usize = 63;
const MIN_PASSWORD_CHARS: usize = 8;
const MAX_PASSWORD_CHARS: usize = 128;
/// Caps the bytes argon2 hashes even for 128 four-byte characters.
const MAX_PASSWORD_BYTES: usize = 512;
const MAX_DISPLAY_NAME_CHARS: usize = 128;
const MAX_PAYMENT_ID_LEN: usize = 128;
const MAX_ATTRIBUTE_CHARS: usize = 64;

/// Checks an id (`entity_id`, `seat_id`, ...): 1 to 64 bytes of
/// `[A-Za-z0-9_.:-]`. `field` names the input in the error.
///
/// No '/', spaces or control characters: the storage layer uses 0x1F as its
/// key separator, and ids end up in URLs and logs.
///
/// # Errors
///
/// [`InvalidInput`] naming `field` if the id breaks those rules.
pub(crate) fn id(field: &'static str, value: &str) -> Result<(), InvalidInput> {
    if value.is_empty() || value.len() > MAX_ID_LEN {
        return Err(InvalidInput::new(field, "must be 1 to 64 characters"));
    }
    if !value
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b':' | b'-'))
    {
        return Err(InvalidInput::new(
            field,
            "may contain only letters, digits, '_', '.', ':' and '-'",
        ));
    }
    Ok(())
}

/// Checks an app id: a slug of 3 to 64 characters of `[a-z0-9-]`, neither
/// starting nor ending with '-'.
///
/// # Errors
///
/// [`InvalidInput`] for field `app_id`.
pub(crate) fn app_id(value: &str) -> Result<(), InvalidInput> {
    const FIELD: &str = "app_id";
    if value.len() < MIN_APP_ID_LEN || value.len() > MAX_ID_LEN {
        return Err(InvalidInput::new(FIELD, "must be 3 to 64 characters"));
    }
    if !value
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    {
        return Err(InvalidInput::new(
            FIELD,
            "may contain only lowercase letters, digits and '-'",
        ));
    }
    if value.starts_with('-') || value.ends_with('-') {
        return Err(InvalidInput::new(FIELD, "must not start or end with '-'"));
    }
    Ok(())
}

/// Normalises and checks an email address; returns the normalised form.
///
/// Surrounding whitespace is trimmed and ASCII letters lower-cased, so one
/// mailbox maps to one account. Deliberately practical rather than full RFC
/// 5322: at most 254 bytes, exactly one '@', a local part of 1 to 64
/// characters from letters, digits and ``!#$%&'*+/=?^_`{|}~.-`` with no
/// leading, trailing or doubled '.', and a domain of at least two DNS labels
/// whose last label is not all digits.
///
/// # Errors
///
/// [`InvalidInput`] for field `email`.
pub(crate) fn email(value: &str) -> Result<String, InvalidInput> {
    const FIELD: &str = "email";
    let value = value.trim();
    if value.is_empty() || value.len() > MAX_EMAIL_LEN {
        return Err(InvalidInput::new(FIELD, "must be 1 to 254 characters"));
    }
    if !value.is_ascii() {
        return Err(InvalidInput::new(FIELD, "must be ASCII"));
    }
    let normalised = value.to_ascii_lowercase();
    let mut parts = normalised.split('@');
    let (Some(local), Some(domain), None) = (parts.next(), parts.next(), parts.next()) else {
        return Err(InvalidInput::new(FIELD, "must contain exactly one '@'"));
    };

    if local.is_empty() || local.len() > MAX_EMAIL_LOCAL_LEN {
        return Err(InvalidInput::new(
            FIELD,
            "part before '@' must be 1 to 64 characters",
        ));
    }
    if !local
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+/=?^_`{|}~.-".contains(&b))
    {
        return Err(InvalidInput::new(
            FIELD,
            "part before '@' contains a character that is not allowed",
        ));
    }
    if local.starts_with('.') || local.ends_with('.') || local.contains("..") {
        return Err(InvalidInput::new(
            FIELD,
            "part before '@' must not start or end with '.' or contain '..'",
        ));
    }

    if !is_email_domain(domain) {
        return Err(InvalidInput::new(
            FIELD,
            "part after '@' must be a domain name such as example.com",
        ));
    }
    Ok(normalised)
}

fn is_email_domain(domain: &str) -> bool {
    let mut labels = 0usize;
    let mut last = "";
    for label in domain.split('.') {
        let label_ok = !label.is_empty()
            && label.len() <= MAX_DNS_LABEL_LEN
            && !label.starts_with('-')
            && !label.ends_with('-')
            && label
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        if !label_ok {
            return false;
        }
        labels += 1;
        last = label;
    }
    // An all-digit last label is an IP address or a typo, not a mail domain.
    labels >= 2 && !last.bytes().all(|b| b.is_ascii_digit())
}

/// Checks a new password: 8 to 128 characters and at most 512 bytes. Any
/// Unicode is allowed; strength beyond length is the host's policy.
///
/// # Errors
///
/// [`InvalidInput`] for field `password`; the password is never included.
pub(crate) fn password(value: &str) -> Result<(), InvalidInput> {
    const FIELD: &str = "password";
    // Byte cap first, so a huge input is refused without counting chars.
    if value.len() > MAX_PASSWORD_BYTES {
        return Err(InvalidInput::new(FIELD, "must be at most 512 bytes"));
    }
    let chars = value.chars().count();
    if chars < MIN_PASSWORD_CHARS {
        return Err(InvalidInput::new(FIELD, "must be at least 8 characters"));
    }
    if chars > MAX_PASSWORD_CHARS {
        return Err(InvalidInput::new(FIELD, "must be at most 128 characters"));
    }
    Ok(())
}

/// Checks and trims a display name: 1 to 128 characters after trimming, no
/// control characters and no bidirectional-override characters (which can
/// make a name render as something else). Returns the trimmed name.
///
/// # Errors
///
/// [`InvalidInput`] for field `display_name`.
pub(crate) fn display_name(value: &str) -> Result<String, InvalidInput> {
    const FIELD: &str = "display_name";
    let trimmed = value.trim();
    let chars = trimmed.chars().count();
    if chars == 0 || chars > MAX_DISPLAY_NAME_CHARS {
        return Err(InvalidInput::new(FIELD, "must be 1 to 128 characters"));
    }
    if trimmed
        .chars()
        .any(|c| c.is_control() || is_bidi_control(c))
    {
        return Err(InvalidInput::new(
            FIELD,
            "must not contain control characters",
        ));
    }
    Ok(trimmed.to_owned())
}

/// Unicode bidirectional embedding, override and isolate controls
/// (the "Trojan Source" characters).
fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// Checks an ISO 4217 style currency code: exactly three ASCII uppercase
/// letters. Returns its bytes.
///
/// # Errors
///
/// [`InvalidInput`] for field `currency`.
pub(crate) fn currency(value: &str) -> Result<[u8; 3], InvalidInput> {
    match value.as_bytes() {
        &[a, b, c] if [a, b, c].iter().all(u8::is_ascii_uppercase) => Ok([a, b, c]),
        _ => Err(InvalidInput::new(
            "currency",
            "must be three uppercase letters such as EUR",
        )),
    }
}

/// Checks a payment provider's id: 1 to 128 bytes of printable ASCII
/// (0x21 to 0x7E, so no spaces).
///
/// # Errors
///
/// [`InvalidInput`] for field `payment_id`.
pub(crate) fn payment_id(value: &str) -> Result<(), InvalidInput> {
    const FIELD: &str = "payment_id";
    if value.is_empty() || value.len() > MAX_PAYMENT_ID_LEN {
        return Err(InvalidInput::new(FIELD, "must be 1 to 128 characters"));
    }
    if !value.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(InvalidInput::new(
            FIELD,
            "must be printable ASCII without spaces",
        ));
    }
    Ok(())
}

/// Checks an optional seat attribute (section, row, category): 0 to 64
/// characters, no control characters. `field` names the input in the error.
///
/// # Errors
///
/// [`InvalidInput`] naming `field`.
pub(crate) fn attribute(field: &'static str, value: &str) -> Result<(), InvalidInput> {
    // 4 bytes per char at most: a cheap bound before counting.
    if value.len() > MAX_ATTRIBUTE_CHARS * 4 || value.chars().count() > MAX_ATTRIBUTE_CHARS {
        return Err(InvalidInput::new(field, "must be at most 64 characters"));
    }
    if value.chars().any(|c| c.is_control() || is_bidi_control(c)) {
        return Err(InvalidInput::new(
            field,
            "must not contain control characters",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_format_and_no_value_echo() {
        let e = InvalidInput::new("seat_id", "must be 1 to 64 characters");
        assert_eq!(e.to_string(), "invalid seat_id: must be 1 to 64 characters");
        let secret = "hunter2-hunter2-hunter2";
        let err = password(&format!("{secret}{}", "x".repeat(600))).err();
        let shown = err.map(|e| format!("{e} {e:?}")).unwrap_or_default();
        assert!(shown.contains("password"), "{shown}");
        assert!(!shown.contains("hunter2"), "{shown}");
        let err = email("hunter2 secret@@x").err();
        let shown = err.map(|e| format!("{e} {e:?}")).unwrap_or_default();
        assert!(!shown.contains("hunter2"), "{shown}");
    }

    #[test]
    fn ids() {
        for ok in ["a", "A-b_c.d:e", "seat:1:A", "0", &"x".repeat(MAX_ID_LEN)] {
            assert_eq!(id("seat_id", ok), Ok(()), "{ok:?}");
        }
        for bad in [
            "",
            &"x".repeat(MAX_ID_LEN + 1),
            "a/b",
            "a b",
            "a\u{1f}b",
            "a\0",
            "a\n",
            "é",
            "a+b",
            "a@b",
            "a%2f",
            "a\\b",
        ] {
            let e = id("seat_id", bad);
            assert!(e.is_err(), "{bad:?} accepted");
            assert_eq!(e.err().map(|e| e.field), Some("seat_id"));
        }
        assert_eq!(
            id("entity_id", "").err().map(|e| e.field),
            Some("entity_id")
        );
    }

    #[test]
    fn app_ids() {
        for ok in ["abc", "my-app", "a1-b2-c3", "123", &"a".repeat(64)] {
            assert_eq!(app_id(ok), Ok(()), "{ok:?}");
        }
        for bad in [
            "",
            "ab",
            "-abc",
            "abc-",
            "ABC",
            "my_app",
            "my.app",
            "my app",
            "my/app",
            "äbc",
            &"a".repeat(65),
        ] {
            let e = app_id(bad);
            assert!(e.is_err(), "{bad:?} accepted");
            assert_eq!(e.err().map(|e| e.field), Some("app_id"));
        }
    }

    #[test]
    fn emails_normalise() {
        assert_eq!(
            email("  Alice@Example.COM \n"),
            Ok("alice@example.com".to_owned())
        );
        assert_eq!(email("a@b.co"), Ok("a@b.co".to_owned()));
        assert_eq!(
            email("first.last+tag@sub.example-mail.org"),
            Ok("first.last+tag@sub.example-mail.org".to_owned())
        );
        assert_eq!(
            email("o'brien!#$%&*/=?^_`{|}~-@x.io"),
            Ok("o'brien!#$%&*/=?^_`{|}~-@x.io".to_owned())
        );
        let local64 = "l".repeat(64);
        assert!(email(&format!("{local64}@example.com")).is_ok());
    }

    #[test]
    fn emails_refused() {
        let long_domain = format!(
            "{}.{}.{}.{}.com",
            "a".repeat(63),
            "b".repeat(63),
            "c".repeat(63),
            "d".repeat(60)
        );
        for bad in [
            "",
            "   ",
            "plain",
            "@example.com",
            "a@",
            "a@@example.com",
            "a@b@example.com",
            "a b@example.com",
            "\"a\"@example.com",
            "a,b@example.com",
            "a(b)@example.com",
            ".a@example.com",
            "a.@example.com",
            "a..b@example.com",
            "a@localhost",
            "a@example",
            "a@.example.com",
            "a@example.com.",
            "a@example..com",
            "a@-example.com",
            "a@example-.com",
            "a@exa_mple.com",
            "a@1.2.3.4",
            "a@[1.2.3.4]",
            "ä@example.com",
            "a@exämple.com",
            "a\0@example.com",
            "a@example.com\0",
            &format!("{}@example.com", "l".repeat(65)),
            &format!("a@{}.com", "d".repeat(64)),
            &format!("a@{long_domain}"),
        ] {
            let e = email(bad);
            assert!(e.is_err(), "{bad:?} accepted");
            assert_eq!(e.err().map(|e| e.field), Some("email"));
        }
    }

    #[test]
    fn passwords() {
        assert_eq!(password("12345678"), Ok(()));
        assert_eq!(password(&"p".repeat(128)), Ok(()));
        // 8 characters but 24 bytes: counted in characters.
        assert_eq!(password("密码密码密码密码"), Ok(()));
        assert_eq!(password("        "), Ok(()));
        // 128 four-byte chars = 512 bytes: still fine.
        assert_eq!(password(&"🔑".repeat(128)), Ok(()));
        for bad in [
            String::new(),
            "1234567".to_owned(),
            "密码密码密码密".to_owned(),
            "p".repeat(129),
            "🔑".repeat(129),
            "x".repeat(1_000_000),
        ] {
            let e = password(&bad);
            assert!(e.is_err(), "{} chars accepted", bad.chars().count());
            assert_eq!(e.err().map(|e| e.field), Some("password"));
        }
    }

    #[test]
    fn display_names() {
        assert_eq!(
            display_name("  Ada Lovelace  "),
            Ok("Ada Lovelace".to_owned())
        );
        assert_eq!(display_name("Zoë 李"), Ok("Zoë 李".to_owned()));
        assert_eq!(display_name(&"n".repeat(128)), Ok("n".repeat(128)));
        assert_eq!(
            display_name(&format!("  {}  ", "ü".repeat(128))),
            Ok("ü".repeat(128))
        );
        for bad in [
            String::new(),
            "   ".to_owned(),
            "\n\t".to_owned(),
            "n".repeat(129),
            "a\u{0}b".to_owned(),
            "a\u{7}b".to_owned(),
            "a\nb".to_owned(),
            "a\u{1b}[31mb".to_owned(),
            "a\u{85}b".to_owned(),
            "admin\u{202E}nimda".to_owned(),
            "a\u{2066}b".to_owned(),
        ] {
            let e = display_name(&bad);
            assert!(e.is_err(), "{bad:?} accepted");
            assert_eq!(e.err().map(|e| e.field), Some("display_name"));
        }
    }

    #[test]
    fn currencies() {
        assert_eq!(currency("EUR"), Ok(*b"EUR"));
        assert_eq!(currency("USD"), Ok(*b"USD"));
        for bad in [
            "", "EU", "EURO", "eur", "Eur", "E1R", "EU ", " EUR", "ÉUR", "€",
        ] {
            let e = currency(bad);
            assert!(e.is_err(), "{bad:?} accepted");
            assert_eq!(e.err().map(|e| e.field), Some("currency"));
        }
    }

    #[test]
    fn payment_ids() {
        for ok in [
            "p",
            "pi_3MtwBwLkdIwHu7ix28a3tqPa",
            "~!@#$%^&*()",
            &"x".repeat(128),
        ] {
            assert_eq!(payment_id(ok), Ok(()), "{ok:?}");
        }
        for bad in ["", "a b", "a\tb", "a\nb", "a\u{7f}", "é", &"x".repeat(129)] {
            let e = payment_id(bad);
            assert!(e.is_err(), "{bad:?} accepted");
            assert_eq!(e.err().map(|e| e.field), Some("payment_id"));
        }
    }

    #[test]
    fn attributes() {
        for ok in [
            "",
            "Section A",
            "Row 12",
            "Parkett-Mitte",
            "é",
            &"ü".repeat(64),
        ] {
            assert_eq!(attribute("row", ok), Ok(()), "{ok:?}");
        }
        for bad in [
            "a\nb".to_owned(),
            "\0".to_owned(),
            "a\u{1f}b".to_owned(),
            "x\u{202E}y".to_owned(),
            "ü".repeat(65),
            "x".repeat(65),
            "x".repeat(100_000),
        ] {
            let e = attribute("section", &bad);
            assert!(e.is_err(), "{bad:?} accepted");
            assert_eq!(e.err().map(|e| e.field), Some("section"));
        }
    }
}
