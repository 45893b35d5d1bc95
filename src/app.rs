//! App (tenant) contexts and user sessions.
//!
//! Owns the authenticated [`AppContext`] — every non-admin operation runs in
//! one and sees only its app's data — and the user pool's signup, login and
//! [`UserSession`]s. It must never let a context act on another app's rows,
//! and never pay an argon2 verify for an API key.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::auth::{TokenKind, hash_secret, hashes_equal, normalize_origin};
use crate::clock::{UnixMillis, millis};
use crate::engine::{AppState, Engine, Inner};
use crate::error::{AppAuthError, AuthError, LoginError, SignupError, StorageError};
use crate::model::UserId;
use crate::secret::Secret;
use crate::storage::UserRecord;
use crate::validate;

/// An authenticated app: `(app_id, api_key, origin)` checked once.
///
/// Cheap to clone, `Send + Sync`. If the admin rotates the key, deactivates
/// the app or removes the origin, every existing context fails its next
/// call with the matching [`AuthError`]-style error at once.
pub struct AppContext {
    pub(crate) inner: Arc<Inner>,
    pub(crate) app: Arc<AppState>,
    key_hash: [u8; 32],
    origin: String,
    /// The app generation last validated; a change re-checks once.
    validated: AtomicU64,
}

impl Clone for AppContext {
    fn clone(&self) -> Self {
        Self {
            inner: Arc::clone(&self.inner),
            app: Arc::clone(&self.app),
            key_hash: self.key_hash,
            origin: self.origin.clone(),
            validated: AtomicU64::new(self.validated.load(Ordering::Relaxed)),
        }
    }
}

impl std::fmt::Debug for AppContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppContext")
            .field("app_id", &self.app_id())
            .field("origin", &self.origin)
            .finish_non_exhaustive()
    }
}

/// A verified user token: who the user is and until when the token is good.
///
/// Made by [`AppContext::user`]; verify once, then pass it to every call
/// (each call re-checks only the expiry, a clock read).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UserSession {
    pub user_id: UserId,
    /// Token expiry, milliseconds since the Unix epoch.
    pub expires_at: UnixMillis,
}

impl Engine {
    /// Authenticates an app. The origin must equal one of the app's allowed
    /// origins after normalisation (`scheme://host[:port]`, exact match).
    ///
    /// # Errors
    /// [`AppAuthError::InvalidCredentials`] for an unknown app or a wrong key
    /// (indistinguishable), [`AppAuthError::AppInactive`],
    /// [`AppAuthError::OriginNotAllowed`], [`AppAuthError::InvalidInput`].
    pub fn app(
        &self,
        app_id: &str,
        api_key: &str,
        origin: &str,
    ) -> Result<AppContext, AppAuthError> {
        if app_id.len() > validate::MAX_ID_LEN || api_key.len() > 256 {
            return Err(AppAuthError::InvalidCredentials);
        }
        let origin = normalize_origin(origin).map_err(|_| AppAuthError::OriginNotAllowed)?;
        let key_hash = hash_secret(api_key);
        let Some(app) = self.inner.app_state(app_id) else {
            return Err(AppAuthError::InvalidCredentials);
        };
        let ctx = AppContext {
            inner: Arc::clone(&self.inner),
            app,
            key_hash,
            origin,
            validated: AtomicU64::new(0),
        };
        let generation = ctx.revalidate()?;
        ctx.validated.store(generation, Ordering::Relaxed);
        Ok(ctx)
    }
}

impl AppContext {
    /// This context's app id.
    #[must_use]
    pub fn app_id(&self) -> String {
        self.app.record.read().app_id.clone()
    }

    /// The normalised origin this context was authenticated for.
    #[must_use]
    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// Checks key, active flag and origin against the app's current record.
    fn revalidate(&self) -> Result<u64, AppAuthError> {
        let record = self.app.record.read();
        let generation = self.app.generation.load(Ordering::Acquire);
        if !hashes_equal(&record.api_key_hash, &self.key_hash) {
            return Err(AppAuthError::InvalidCredentials);
        }
        if !record.active {
            return Err(AppAuthError::AppInactive);
        }
        if !record.allowed_origins.iter().any(|o| o == &self.origin) {
            return Err(AppAuthError::OriginNotAllowed);
        }
        Ok(generation)
    }

    /// Every operation starts here: two atomic loads when nothing changed,
    /// one re-check after the admin changed the app.
    pub(crate) fn check(&self) -> Result<(), AuthError> {
        if self.app.generation.load(Ordering::Acquire) == self.validated.load(Ordering::Relaxed) {
            return Ok(());
        }
        let generation = self.revalidate().map_err(|_| AuthError::InvalidToken)?;
        self.validated.store(generation, Ordering::Relaxed);
        Ok(())
    }

    /// Verifies a user token (from [`signup`](Self::signup) or
    /// [`login`](Self::login)) into a session.
    ///
    /// # Errors
    /// [`AuthError::InvalidToken`] (forged, admin token, wrong algorithm, or
    /// this context was revoked), [`AuthError::TokenExpired`].
    pub fn user(&self, token: &str) -> Result<UserSession, AuthError> {
        self.check()?;
        let now_s = self.inner.now() / 1000;
        let verified = self.inner.signer.verify(TokenKind::User, token, now_s)?;
        let user_id = UserId::parse(&verified.subject).ok_or(AuthError::InvalidToken)?;
        Ok(UserSession {
            user_id,
            expires_at: verified.expires_at_s.saturating_mul(1000),
        })
    }

    /// Checks the context and the session's expiry.
    pub(crate) fn session(&self, session: &UserSession) -> Result<UnixMillis, AuthError> {
        self.check()?;
        let now = self.inner.now();
        if now >= session.expires_at {
            return Err(AuthError::TokenExpired);
        }
        Ok(now)
    }

    /// Creates a user in the shared pool and returns a user token.
    /// The email is trimmed and lower-cased; passwords are 8..=128 chars.
    ///
    /// # Errors
    /// [`SignupError::EmailTaken`], [`SignupError::InvalidInput`],
    /// [`SignupError::Storage`].
    pub fn signup(&self, email: &str, password: &str) -> Result<Secret, SignupError> {
        self.check()?;
        let email = validate::email(email)?;
        validate::password(password)?;
        if self.inner.storage.read()?.user_by_email(&email)?.is_some() {
            return Err(SignupError::EmailTaken);
        }
        let password_hash = self
            .inner
            .hasher
            .hash(password)
            .map_err(|_| StorageError("password hashing failed".into()))?;
        let user_id =
            UserId(random_u128().map_err(|_| StorageError("random generator failed".into()))?);
        let now = self.inner.now();
        let rec = UserRecord {
            email: email.clone(),
            password_hash,
            created_at: now,
        };
        self.inner.storage.write(|tx| {
            if tx.user_by_email(&email)?.is_some() {
                return Err(SignupError::EmailTaken);
            }
            tx.insert_user(user_id, &rec)?;
            Ok(())
        })?;
        self.issue_user_token(user_id, now)
            .map_err(|_| SignupError::Storage(StorageError("token signing failed".into())))
    }

    /// Logs a user in. Unknown email and wrong password give the same
    /// error after the same argon2 work.
    ///
    /// # Errors
    /// [`LoginError::InvalidCredentials`], [`LoginError::InvalidInput`],
    /// [`LoginError::Storage`].
    pub fn login(&self, email: &str, password: &str) -> Result<Secret, LoginError> {
        self.check()?;
        let email = validate::email(email)?;
        validate::password(password).map_err(|_| LoginError::InvalidCredentials)?;
        let found = self.inner.storage.read()?.user_by_email(&email)?;
        let Some((user_id, rec)) = found else {
            self.inner.hasher.verify_dummy(password);
            return Err(LoginError::InvalidCredentials);
        };
        if !self.inner.hasher.verify(password, &rec.password_hash) {
            return Err(LoginError::InvalidCredentials);
        }
        self.issue_user_token(user_id, self.inner.now())
            .map_err(|_| LoginError::Storage(StorageError("token signing failed".into())))
    }

    fn issue_user_token(&self, user: UserId, now: UnixMillis) -> Result<Secret, AuthError> {
        let ttl_s = millis(self.inner.config.user_token_ttl) / 1000;
        let token =
            self.inner
                .signer
                .issue(TokenKind::User, &user.to_string(), now / 1000, ttl_s)?;
        Ok(Secret::new(token))
    }
}

pub(crate) fn random_u128() -> Result<u128, getrandom::Error> {
    let mut buf = [0u8; 16];
    getrandom::fill(&mut buf)?;
    Ok(u128::from_le_bytes(buf))
}
