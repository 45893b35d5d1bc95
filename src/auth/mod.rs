//! Authentication primitives.
//!
//! Owns password hashing (argon2id), the admin and user JWTs, API key and
//! random token generation with their hashes, and CORS origin normalisation.
//!
//! Nothing here may log, `Display` or put into an error message a password,
//! a JWT secret, an API key or a token: secrets travel as [`Secret`] or as
//! plain byte slices that are never formatted, and every error type in this
//! module carries a fixed message only.
//!
//! [`Secret`]: crate::secret::Secret

mod api_key;
mod jwt;
mod origin;
mod password;

pub(crate) use api_key::{fingerprint, generate_api_key, hash_secret, hashes_equal, random_token};
pub use jwt::{TokenError, WeakSecretError};
pub(crate) use jwt::{TokenKind, TokenSigner};
pub use origin::{OriginError, normalize_origin};
pub use password::{Argon2Params, PasswordHashError, PasswordWork, hash_password};
pub(crate) use password::{Busy, HashFailure, PasswordHasher};
