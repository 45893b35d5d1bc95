//! API keys and other random bearer tokens.
//!
//! Owns generating high-entropy tokens from the operating system's CSPRNG,
//! hashing them for storage, and comparing stored hashes in constant time.
//!
//! It must never log, `Display` or put into an error a generated token: the
//! plaintext leaves this module only inside a [`Secret`], and only the hash
//! is meant to be stored.

use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::secret::Secret;

/// Prefix of API keys. Lets secret scanners and humans recognise a leaked
/// key, and lets the engine reject other token kinds early.
const API_KEY_PREFIX: &str = "sbk_";
/// 256 bits: guessing is hopeless, which is what makes a fast hash safe.
const API_KEY_BYTES: usize = 32;
/// Refuse absurd requests rather than allocate whatever a caller asks for.
const MAX_TOKEN_BYTES: usize = 1024;

/// The operating system's random number generator failed.
#[derive(Debug, Clone, Copy, thiserror::Error)]
#[error("the operating system's random number generator failed")]
pub struct RandomError;

/// A new API key: `sbk_` followed by 32 bytes from the OS CSPRNG encoded
/// base64url without padding (43 chars), 47 chars in all.
///
/// # Errors
///
/// [`RandomError`] if the OS random number generator fails.
pub(crate) fn generate_api_key() -> Result<Secret, RandomError> {
    random_token(API_KEY_PREFIX, API_KEY_BYTES)
}

/// A random token: `prefix` followed by `bytes` bytes from the OS CSPRNG
/// encoded base64url without padding. Also used for reservation tokens.
///
/// # Errors
///
/// [`RandomError`] if the OS random number generator fails, or if `bytes`
/// is 0 or more than 1024 (a token with no entropy, or an absurd
/// allocation, is a caller bug that must not produce a usable token).
pub(crate) fn random_token(prefix: &str, bytes: usize) -> Result<Secret, RandomError> {
    if bytes == 0 || bytes > MAX_TOKEN_BYTES {
        return Err(RandomError);
    }
    let mut buf = vec![0u8; bytes];
    getrandom::fill(&mut buf).map_err(|_| RandomError)?;
    let mut out = String::with_capacity(prefix.len() + bytes.div_ceil(3) * 4);
    out.push_str(prefix);
    base64url_encode_into(&buf, &mut out);
    // The raw bytes are key material too. Best effort, like `Secret`'s Drop:
    // black_box stops the optimiser from eliding the wipe of a dying buffer.
    buf.fill(0);
    std::hint::black_box(&buf);
    Ok(Secret::new(out))
}

/// SHA-256 of a secret, for storing API keys and tokens.
///
/// API keys and tokens are 256-bit random secrets, so nobody can brute-force
/// them from the hash and a fast hash is the right tool (GitHub does the same
/// for its tokens); a slow KDF would only make every authenticated request
/// expensive. Argon2 is for low-entropy, human-chosen passwords and is used
/// for those in `password.rs`.
pub(crate) fn hash_secret(secret: &str) -> [u8; 32] {
    Sha256::digest(secret.as_bytes()).into()
}

/// A 64-bit fingerprint of `secret` (a JWT secret) and `value`, for a
/// token claim that must change when `value` changes. Keyed with the
/// secret, so the claim (readable by the token's holder) tells nothing
/// about `value`. Parts are length-prefixed, so no two inputs collide by
/// concatenation.
pub(crate) fn fingerprint(secret: &[u8], value: &[u8]) -> u64 {
    let mut h = Sha256::new();
    h.update(b"seatbook-fingerprint-v1");
    for part in [secret, value] {
        h.update((part.len() as u64).to_le_bytes());
        h.update(part);
    }
    let digest: [u8; 32] = h.finalize().into();
    let mut first = [0u8; 8];
    first.copy_from_slice(&digest[..8]);
    u64::from_le_bytes(first)
}

/// Compares two hashes in constant time, so response timing reveals nothing
/// about how many leading bytes of a guess were right.
pub(crate) fn hashes_equal(a: &[u8; 32], b: &[u8; 32]) -> bool {
    a.ct_eq(b).into()
}

const BASE64URL: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/// Appends the unpadded base64url encoding of `bytes` to `out`.
///
/// Hand-rolled because it is a dozen lines and the crate has no direct
/// base64 dependency.
pub(super) fn base64url_encode_into(bytes: &[u8], out: &mut String) {
    let sym = |index: u32| char::from(BASE64URL[(index & 0x3F) as usize]);
    for chunk in bytes.chunks(3) {
        let b0 = u32::from(chunk[0]);
        let b1 = chunk.get(1).copied().map_or(0, u32::from);
        let b2 = chunk.get(2).copied().map_or(0, u32::from);
        let n = (b0 << 16) | (b1 << 8) | b2;
        out.push(sym(n >> 18));
        out.push(sym(n >> 12));
        if chunk.len() > 1 {
            out.push(sym(n >> 6));
        }
        if chunk.len() > 2 {
            out.push(sym(n));
        }
    }
}

/// Unpadded base64url encoding of `bytes`.
#[cfg(test)]
pub(super) fn base64url_encode(bytes: &[u8]) -> String {
    let mut out = String::new();
    base64url_encode_into(bytes, &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    fn key() -> Secret {
        match generate_api_key() {
            Ok(k) => k,
            Err(e) => panic!("{e}"),
        }
    }

    #[test]
    fn base64url_matches_rfc4648_vectors() {
        // RFC 4648 section 10, without padding.
        let cases: [(&[u8], &str); 7] = [
            (b"", ""),
            (b"f", "Zg"),
            (b"fo", "Zm8"),
            (b"foo", "Zm9v"),
            (b"foob", "Zm9vYg"),
            (b"fooba", "Zm9vYmE"),
            (b"foobar", "Zm9vYmFy"),
        ];
        for (input, expected) in cases {
            assert_eq!(base64url_encode(input), expected);
        }
        // The url-safe alphabet: '-' and '_' instead of '+' and '/'.
        assert_eq!(base64url_encode(&[0xFB, 0xFF, 0xBF]), "-_-_");
    }

    #[test]
    fn api_key_shape() {
        let k = key();
        let s = k.expose();
        assert_eq!(s.len(), 47);
        assert!(s.starts_with("sbk_"));
        assert!(
            s[4..]
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'),
            "bad alphabet"
        );
        assert_eq!(format!("{k:?}"), "Secret(***)");
    }

    #[test]
    fn api_keys_are_unique() {
        let keys: HashSet<String> = (0..200).map(|_| key().expose().to_owned()).collect();
        assert_eq!(keys.len(), 200);
    }

    #[test]
    fn api_keys_are_not_constant_bytes() {
        // A broken RNG that returns zeros would give "sbk_AAAA...".
        let k = key();
        assert_ne!(&k.expose()[4..], "A".repeat(43));
    }

    #[test]
    fn random_token_lengths_and_prefix() {
        for (bytes, chars) in [(1, 2), (2, 3), (3, 4), (16, 22), (24, 32), (32, 43)] {
            let t = random_token("rt_", bytes).map(|s| s.expose().to_owned());
            let t = t.unwrap_or_default();
            assert!(t.starts_with("rt_"));
            assert_eq!(t.len(), 3 + chars, "{bytes} bytes");
        }
        let t = random_token("", 32).map(|s| s.expose().len());
        assert_eq!(t.ok(), Some(43));
    }

    #[test]
    fn random_token_refuses_zero_and_absurd_sizes() {
        assert!(random_token("x_", 0).is_err());
        assert!(random_token("x_", MAX_TOKEN_BYTES + 1).is_err());
        assert!(random_token("x_", MAX_TOKEN_BYTES).is_ok());
    }

    #[test]
    fn hash_is_sha256() {
        // SHA-256("abc"), FIPS 180-2 test vector.
        let expected: [u8; 32] = [
            0xba, 0x78, 0x16, 0xbf, 0x8f, 0x01, 0xcf, 0xea, 0x41, 0x41, 0x40, 0xde, 0x5d, 0xae,
            0x22, 0x23, 0xb0, 0x03, 0x61, 0xa3, 0x96, 0x17, 0x7a, 0x9c, 0xb4, 0x10, 0xff, 0x61,
            0xf2, 0x00, 0x15, 0xad,
        ];
        assert_eq!(hash_secret("abc"), expected);
    }

    #[test]
    fn hash_and_compare() {
        let k = key();
        let stored = hash_secret(k.expose());
        assert!(hashes_equal(&stored, &hash_secret(k.expose())));
        assert!(!hashes_equal(&stored, &hash_secret(key().expose())));
        let mut flipped = stored;
        flipped[31] ^= 1;
        assert!(!hashes_equal(&stored, &flipped));
        flipped = stored;
        flipped[0] ^= 0x80;
        assert!(!hashes_equal(&stored, &flipped));
    }

    #[test]
    fn random_error_message_is_fixed() {
        assert_eq!(
            RandomError.to_string(),
            "the operating system's random number generator failed"
        );
    }
}
