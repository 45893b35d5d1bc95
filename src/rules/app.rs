//! App (tenant) contexts and user sessions.
//!
//! Owns the authenticated [`AppContext`] — every non-admin operation runs in
//! one and sees only its app's data — and the user pool's signup, login and
//! [`UserSession`]s. It must never let a context act on another app's rows,
//! never pay an argon2 verify for an API key, and never hand out a
//! [`UserSession`] that did not come from verifying a token.
//!
//! Revocation, in one paragraph: a context checks its app's generation on
//! every call (one atomic load) and re-validates key, active flag and origin
//! when it moved, answering [`AuthError::AppContextRevoked`] if they no
//! longer match, or [`AuthError::EngineClosed`] after
//! [`Engine::close`](crate::Engine::close) (which moves every generation).
//! A user's tokens carry the password generation they were issued under
//! (`ver` claim); [`AppContext::change_password`] bumps it durably, and
//! both [`AppContext::user`] (against the stored record) and every call
//! taking a [`UserSession`] (against the engine's in-memory copy, one
//! atomic load when no password ever changed) refuse older ones with
//! [`AuthError::InvalidToken`].

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use super::engine::Engine;
use crate::auth::{Busy, HashFailure, TokenKind, hash_secret, hashes_equal, normalize_origin};
use crate::clock::{UnixMillis, millis};
use crate::error::{AppAuthError, AuthError, LoginError, PasswordChangeError, SignupError};
use crate::model::UserId;
use crate::secret::Secret;
use crate::state::{AppState, Inner};
use crate::store::UserRecord;
use crate::validate;

/// An authenticated app: `(app_id, api_key, origin)` checked once.
///
/// Cheap to clone, `Send + Sync`. If the admin rotates the key, deactivates
/// the app or removes the origin, every existing context fails its next
/// call (including [`user`](Self::user)) with
/// [`AuthError::AppContextRevoked`] at once; after
/// [`Engine::close`](crate::Engine::close) with [`AuthError::EngineClosed`].
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
/// Only [`AppContext::user`] makes one (no public constructor or fields, so
/// a host cannot forge or alter a session); verify once, then pass it to
/// every call. Each call re-checks the expiry (a clock read) and whether a
/// password change revoked the session (one atomic load unless some
/// password changed since the engine opened). A session made by an
/// earlier engine on the same file (before a reopen) keeps working, but
/// each call then reads the user's record to check for password changes:
/// verify the token again after a reopen to get the fast path back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UserSession {
    pub(crate) user_id: UserId,
    pub(crate) expires_at: UnixMillis,
    /// The user's password generation the token was issued under.
    generation: u32,
    /// The `Inner::instance` of the engine that verified it.
    instance: u64,
}

impl UserSession {
    /// The user this session is for.
    #[must_use]
    pub fn user_id(&self) -> UserId {
        self.user_id
    }

    /// Token expiry, milliseconds since the Unix epoch.
    #[must_use]
    pub fn expires_at(&self) -> UnixMillis {
        self.expires_at
    }
}

impl Engine {
    /// Authenticates an app. The origin must equal one of the app's allowed
    /// origins after normalisation (`scheme://host[:port]`, exact match).
    ///
    /// # Errors
    /// [`AppAuthError::InvalidCredentials`] for an unknown app or a wrong key
    /// (indistinguishable), [`AppAuthError::AppInactive`],
    /// [`AppAuthError::OriginNotAllowed`], [`AppAuthError::InvalidInput`],
    /// [`AppAuthError::EngineClosed`].
    pub fn app(
        &self,
        app_id: &str,
        api_key: &str,
        origin: &str,
    ) -> Result<AppContext, AppAuthError> {
        if self.inner.is_closed() {
            return Err(AppAuthError::EngineClosed);
        }
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
        self.app.record().app_id.clone()
    }

    /// The normalised origin this context was authenticated for.
    #[must_use]
    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// Checks key, active flag and origin against the app's current record.
    fn revalidate(&self) -> Result<u64, AppAuthError> {
        let record = self.app.record();
        let generation = self.app.generation();
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
    /// one re-check after the admin changed the app or the engine closed.
    pub(crate) fn check(&self) -> Result<(), AuthError> {
        if self.app.generation() == self.validated.load(Ordering::Relaxed) {
            return Ok(());
        }
        if self.inner.is_closed() {
            return Err(AuthError::EngineClosed);
        }
        let generation = self
            .revalidate()
            .map_err(|_| AuthError::AppContextRevoked)?;
        self.validated.store(generation, Ordering::Relaxed);
        Ok(())
    }

    /// Verifies a user token (from [`signup`](Self::signup),
    /// [`login`](Self::login) or [`change_password`](Self::change_password))
    /// into a session. Reads the user's record once, to refuse tokens of
    /// unknown users and tokens revoked by a password change.
    ///
    /// # Errors
    /// [`AuthError::InvalidToken`] (forged, admin token, wrong algorithm,
    /// unknown user, revoked by a password change; also if the user record
    /// cannot be read, failing closed), [`AuthError::TokenExpired`],
    /// [`AuthError::AppContextRevoked`], [`AuthError::EngineClosed`].
    pub fn user(&self, token: &str) -> Result<UserSession, AuthError> {
        self.check()?;
        let now_s = self.inner.now() / 1000;
        let verified = self.inner.signer().verify(TokenKind::User, token, now_s)?;
        let user_id = UserId::parse(&verified.subject).ok_or(AuthError::InvalidToken)?;
        let record = self
            .inner
            .storage()
            .read()
            .and_then(|tx| tx.user(user_id))
            .map_err(|_| self.closed_or(AuthError::InvalidToken))?
            .ok_or(AuthError::InvalidToken)?;
        if verified.version != u64::from(record.token_generation) {
            return Err(AuthError::InvalidToken);
        }
        self.inner
            .raise_user_generation(user_id, record.token_generation);
        Ok(UserSession {
            user_id,
            expires_at: verified.expires_at_s.saturating_mul(1000),
            generation: record.token_generation,
            instance: self.inner.instance(),
        })
    }

    /// A session verified by another engine instance (before a reopen):
    /// this engine may not have seen the password changes made since, so
    /// the user's record decides, on every call (verify the token again
    /// with [`user`](Self::user) to get the fast path back).
    #[cold]
    fn recheck_foreign(&self, session: &UserSession) -> Result<(), AuthError> {
        let record = self
            .inner
            .storage()
            .read()
            .and_then(|tx| tx.user(session.user_id))
            .map_err(|_| self.closed_or(AuthError::InvalidToken))?
            .ok_or(AuthError::InvalidToken)?;
        if record.token_generation != session.generation {
            return Err(AuthError::InvalidToken);
        }
        self.inner
            .raise_user_generation(session.user_id, record.token_generation);
        Ok(())
    }

    /// `EngineClosed` if the engine was closed meanwhile, else `otherwise`.
    fn closed_or(&self, otherwise: AuthError) -> AuthError {
        if self.inner.is_closed() {
            AuthError::EngineClosed
        } else {
            otherwise
        }
    }

    /// Checks the context, that the session is this engine's and not
    /// revoked by a password change, and its expiry.
    pub(crate) fn session(&self, session: &UserSession) -> Result<UnixMillis, AuthError> {
        self.check()?;
        if session.instance != self.inner.instance() {
            self.recheck_foreign(session)?;
        } else if session.generation < self.inner.user_generation(session.user_id) {
            return Err(AuthError::InvalidToken);
        }
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
    /// [`SignupError::Busy`], [`SignupError::HashingFailed`],
    /// [`SignupError::RandomFailure`], [`SignupError::SigningFailed`] (the
    /// account exists), [`SignupError::Storage`].
    pub fn signup(&self, email: &str, password: &str) -> Result<Secret, SignupError> {
        self.check()?;
        let email = validate::email(email)?;
        validate::password(password)?;
        if self
            .inner
            .storage()
            .read()?
            .user_by_email(&email)?
            .is_some()
        {
            return Err(SignupError::EmailTaken);
        }
        let password_hash = self.inner.hasher().hash(password).map_err(|e| match e {
            HashFailure::Busy => SignupError::Busy,
            HashFailure::Failed => SignupError::HashingFailed,
        })?;
        let user_id = UserId(random_u128().map_err(|_| SignupError::RandomFailure)?);
        let now = self.inner.now();
        let rec = UserRecord {
            email: email.clone(),
            password_hash,
            created_at: now,
            token_generation: 0,
        };
        self.inner.storage().write(|tx| {
            if tx.user_by_email(&email)?.is_some() {
                return Err(SignupError::EmailTaken);
            }
            tx.insert_user(user_id, &rec)?;
            Ok(())
        })?;
        self.issue_user_token(user_id, 0, now)
            .map_err(|_| SignupError::SigningFailed)
    }

    /// Logs a user in. Unknown email and wrong password give the same
    /// error after the same argon2 work: an unknown email pays a verify
    /// against a dummy hash made with the configured parameters, and a
    /// successful login whose stored hash was made with other parameters
    /// stores a fresh hash with the configured ones (best effort: skipped
    /// when password work is busy or the write fails; the login succeeds
    /// either way), so a wrong password costs the same verify.
    ///
    /// # Errors
    /// [`LoginError::InvalidCredentials`], [`LoginError::Busy`],
    /// [`LoginError::InvalidInput`], [`LoginError::Auth`] (context revoked,
    /// engine closed), [`LoginError::SigningFailed`], [`LoginError::Storage`].
    pub fn login(&self, email: &str, password: &str) -> Result<Secret, LoginError> {
        self.check()?;
        let email = validate::email(email)?;
        validate::password(password).map_err(|_| LoginError::InvalidCredentials)?;
        let found = self.inner.storage().read()?.user_by_email(&email)?;
        let Some((user_id, rec)) = found else {
            self.inner
                .hasher()
                .verify_dummy(password)
                .map_err(|Busy| LoginError::Busy)?;
            return Err(LoginError::InvalidCredentials);
        };
        if !self
            .inner
            .hasher()
            .verify(password, &rec.password_hash)
            .map_err(|Busy| LoginError::Busy)?
        {
            return Err(LoginError::InvalidCredentials);
        }
        if self.inner.hasher().needs_rehash(&rec.password_hash) {
            self.rehash(user_id, &rec, password);
        }
        self.issue_user_token(user_id, rec.token_generation, self.inner.now())
            .map_err(|_| LoginError::SigningFailed)
    }

    /// Stores a hash of `password` made with the configured parameters in
    /// place of `rec`'s, unless the record changed meanwhile. Best effort.
    fn rehash(&self, user_id: UserId, rec: &UserRecord, password: &str) {
        let Ok(fresh) = self.inner.hasher().hash(password) else {
            return;
        };
        let _ = self.inner.storage().write(|tx| match tx.user(user_id)? {
            Some(mut current) if current.password_hash == rec.password_hash => {
                current.password_hash = fresh;
                tx.put_user(user_id, &current)
            }
            _ => Ok(()),
        });
    }

    /// Changes the session's user's password (`current` must match) and
    /// revokes every token and session of that user issued before, in
    /// every app; returns a fresh user token for the new password.
    ///
    /// # Errors
    /// [`PasswordChangeError::InvalidCredentials`] (wrong current
    /// password, or another change won a race), [`PasswordChangeError::Busy`],
    /// [`PasswordChangeError::InvalidInput`] (new password not 8..=128
    /// characters), [`PasswordChangeError::Auth`] (session expired or
    /// revoked, context revoked, engine closed),
    /// [`PasswordChangeError::HashingFailed`], [`PasswordChangeError::Storage`]:
    /// nothing changes. [`PasswordChangeError::SigningFailed`]: the password
    /// was changed, only the new token is missing.
    pub fn change_password(
        &self,
        session: &UserSession,
        current: &str,
        new: &str,
    ) -> Result<Secret, PasswordChangeError> {
        self.session(session)?;
        validate::password(new)?;
        validate::password(current).map_err(|_| PasswordChangeError::InvalidCredentials)?;
        let user_id = session.user_id;
        let rec = self
            .inner
            .storage()
            .read()?
            .user(user_id)?
            .ok_or(AuthError::InvalidToken)?;
        if rec.token_generation > session.generation {
            return Err(AuthError::InvalidToken.into());
        }
        let busy = |Busy| PasswordChangeError::Busy;
        if !self
            .inner
            .hasher()
            .verify(current, &rec.password_hash)
            .map_err(busy)?
        {
            return Err(PasswordChangeError::InvalidCredentials);
        }
        let password_hash = self.inner.hasher().hash(new).map_err(|e| match e {
            HashFailure::Busy => PasswordChangeError::Busy,
            HashFailure::Failed => PasswordChangeError::HashingFailed,
        })?;
        let generation = self.inner.storage().write(|tx| {
            let mut now = tx.user(user_id)?.ok_or(AuthError::InvalidToken)?;
            if now.password_hash != rec.password_hash {
                return Err(PasswordChangeError::InvalidCredentials);
            }
            now.password_hash = password_hash;
            now.token_generation = now.token_generation.saturating_add(1);
            tx.put_user(user_id, &now)?;
            Ok(now.token_generation)
        })?;
        self.inner.raise_user_generation(user_id, generation);
        self.issue_user_token(user_id, generation, self.inner.now())
            .map_err(|_| PasswordChangeError::SigningFailed)
    }

    fn issue_user_token(
        &self,
        user: UserId,
        generation: u32,
        now: UnixMillis,
    ) -> Result<Secret, AuthError> {
        let ttl_s = millis(self.inner.config().user_token_ttl) / 1000;
        let token = self.inner.signer().issue_versioned(
            TokenKind::User,
            &user.to_string(),
            u64::from(generation),
            now / 1000,
            ttl_s,
        )?;
        Ok(Secret::new(token))
    }
}

pub(crate) fn random_u128() -> Result<u128, getrandom::Error> {
    let mut buf = [0u8; 16];
    getrandom::fill(&mut buf)?;
    Ok(u128::from_le_bytes(buf))
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use crate::{Argon2Params, Config, Engine, LoginError, ManualClock, NewApp, hash_password};

    const ORIGIN: &str = "https://event-app.com";

    fn config(params: Argon2Params) -> Config {
        let fast = Argon2Params::insecure_fast_for_tests();
        let mut config = Config::new(
            "admin@example.com",
            hash_password("admin-password", &fast).unwrap(),
            "an-admin-secret-of-at-least-32-bytes!!",
            "a-user-secret-of-at-least-32-bytes!!!!",
        );
        config.argon2 = params;
        config.clock = Arc::new(ManualClock::default());
        config.durability = crate::Durability::None;
        config.with_payments(crate::SimulatedPayments::default())
    }

    /// Creates the app `event-app` (origin [`ORIGIN`]) as the admin; its key.
    fn event_app_key(engine: &Engine) -> crate::Secret {
        let token = engine
            .admin_login("admin@example.com", "admin-password")
            .unwrap();
        engine
            .admin(token.expose())
            .unwrap()
            .create_app(&NewApp {
                app_id: "event-app",
                name: "Event",
                allowed_origins: &[ORIGIN],
            })
            .unwrap()
            .api_key
    }

    /// The argon2 runs (as `(m, t, p)`) that `f` caused.
    fn runs_of(engine: &Engine, f: impl FnOnce()) -> Vec<(u32, u32, u32)> {
        let before = engine.inner.hasher().runs().len();
        f();
        engine.inner.hasher().runs()[before..].to_vec()
    }

    #[test]
    fn unknown_email_and_wrong_password_cost_the_same_after_a_param_change() {
        let old = Argon2Params::insecure_fast_for_tests();
        let new = Argon2Params {
            memory_kib: 16,
            iterations: 2,
            parallelism: 1,
        };
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("db.redb");
        let engine = Engine::open(&path, config(old)).unwrap();
        let key = event_app_key(&engine);
        let app = engine.app("event-app", key.expose(), ORIGIN).unwrap();
        app.signup("ann@x.io", "ann-password").unwrap();
        drop(app);
        engine.close();

        let engine = Engine::open(&path, config(new)).unwrap();
        let app = engine.app("event-app", key.expose(), ORIGIN).unwrap();
        let wrong = || {
            assert!(matches!(
                app.login("ann@x.io", "not-her-password"),
                Err(LoginError::InvalidCredentials)
            ));
        };
        let unknown = || {
            assert!(matches!(
                app.login("nobody@x.io", "not-her-password"),
                Err(LoginError::InvalidCredentials)
            ));
        };
        let new_cost = (16, 2, 1);
        // Before her next login her hash still has the old cost, and the
        // dummy the new one: this is the gap rehashing closes.
        assert_eq!(runs_of(&engine, wrong), vec![(8, 1, 1)]);
        assert_eq!(runs_of(&engine, unknown), vec![new_cost]);
        // A successful login verifies at the old cost and stores a new hash.
        let login = || assert!(app.login("ann@x.io", "ann-password").is_ok());
        assert_eq!(runs_of(&engine, login), vec![(8, 1, 1), new_cost]);
        // From now on both failures do exactly one run at the same cost.
        assert_eq!(runs_of(&engine, wrong), vec![new_cost]);
        assert_eq!(runs_of(&engine, unknown), vec![new_cost]);
        // And logins at the current cost do not rehash again.
        assert_eq!(runs_of(&engine, login), vec![new_cost]);
    }

    #[test]
    fn signup_and_login_answer_busy_when_no_turn_comes() {
        let mut cfg = config(Argon2Params::insecure_fast_for_tests());
        cfg.password_work = crate::PasswordWork {
            max_concurrent: 1,
            max_wait: std::time::Duration::ZERO,
        };
        let dir = tempfile::tempdir().unwrap();
        let engine = Engine::open(dir.path().join("db.redb"), cfg).unwrap();
        let key = event_app_key(&engine);
        let app = engine.app("event-app", key.expose(), ORIGIN).unwrap();
        let token = app.signup("ann@x.io", "ann-password").unwrap();
        let session = app.user(token.expose()).unwrap();
        // Every turn is taken: password work is refused with Busy, and
        // nothing changes.
        let turn = engine.inner.hasher().take_turn_for_tests();
        assert!(matches!(
            app.signup("bob@x.io", "bob-password"),
            Err(crate::SignupError::Busy)
        ));
        assert!(matches!(
            app.login("ann@x.io", "ann-password"),
            Err(LoginError::Busy)
        ));
        assert!(matches!(
            app.login("nobody@x.io", "ann-password"),
            Err(LoginError::Busy)
        ));
        assert!(matches!(
            engine.admin_login("admin@example.com", "admin-password"),
            Err(LoginError::Busy)
        ));
        assert!(matches!(
            app.change_password(&session, "ann-password", "new-password"),
            Err(crate::PasswordChangeError::Busy)
        ));
        drop(turn);
        assert!(matches!(
            app.login("bob@x.io", "bob-password"),
            Err(LoginError::InvalidCredentials)
        ));
        assert!(app.user(token.expose()).is_ok());
        assert!(app.login("ann@x.io", "ann-password").is_ok());
    }
}
