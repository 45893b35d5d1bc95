//! Secret strings that never print themselves.
//!
//! Owns the [`Secret`] wrapper used for passwords' hashes, API keys, JWT
//! secrets, session tokens and reservation tokens. It must never implement
//! `Display`, and its `Debug` must never show the contents.

use std::fmt;

/// A secret value (API key, token, JWT secret). `Debug` prints `Secret(***)`;
/// there is no `Display`. Read it with [`Secret::expose`], only where the
/// plaintext is really needed (handing it to the caller once, or verifying).
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a string as a secret.
    #[must_use]
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The plaintext. Keep it out of logs and error messages.
    #[must_use]
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Length in bytes (safe to show: it reveals no content).
    #[must_use]
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// True for the empty secret.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

impl From<String> for Secret {
    fn from(value: String) -> Self {
        Self(value)
    }
}

impl From<&str> for Secret {
    fn from(value: &str) -> Self {
        Self(value.to_owned())
    }
}

impl Drop for Secret {
    fn drop(&mut self) {
        // Best effort: overwrite the bytes before the allocation is freed.
        // SAFETY: zero bytes are valid UTF-8, so the string stays valid.
        unsafe {
            for b in self.0.as_bytes_mut() {
                std::ptr::write_volatile(b, 0);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Secret;

    #[test]
    fn debug_hides_the_value() {
        let s = Secret::new("hunter2-super-secret");
        assert_eq!(format!("{s:?}"), "Secret(***)");
        assert!(!format!("{s:?}").contains("hunter2"));
    }
}
