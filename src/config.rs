//! Engine configuration.
//!
//! Owns [`Config`] and its defaults. Values are checked by `Engine::open`;
//! nothing here performs I/O. `Debug` never shows the secrets.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use crate::auth::{Argon2Params, PasswordWork};
use crate::clock::{Clock, SystemClock};
use crate::payment::PaymentVerifier;
use crate::secret::Secret;
use crate::store::Durability;

/// Hold time bounds and per-user hold quotas.
///
/// # Quotas
///
/// `max_active_per_user` and `max_held_seats_per_entity` stop one account
/// from hoarding: a reserve that would pass either fails with
/// [`ReserveError::TooManyReservations`](crate::ReserveError::TooManyReservations)
/// or [`ReserveError::TooManySeatsHeld`](crate::ReserveError::TooManySeatsHeld)
/// and holds nothing. Only live holds count: a hold stops counting the
/// instant it is released, confirmed, declined or expires (before any
/// sweep, just as its seats are free for others at that instant). The
/// quotas bound how much one account holds *at once*; a loop of release
/// and reserve can keep at most those seats, never more. Both are
/// counted per app (a user is an account of one app). Zero is refused at
/// open ([`OpenError::InvalidConfig`](crate::OpenError::InvalidConfig)):
/// it would forbid every reserve. For no limit, use `usize::MAX`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HoldPolicy {
    /// TTL when the caller gives none (120 s, like `EX 120`).
    pub default_ttl: Duration,
    /// Smallest TTL a caller may ask for (1 s).
    pub min_ttl: Duration,
    /// Largest TTL a caller may ask for (15 min).
    pub max_ttl: Duration,
    /// Extends can never push a hold past `created + max_total` (30 min).
    pub max_total: Duration,
    /// Most seats in one reservation (10; at most 64).
    pub max_seats: usize,
    /// How long a confirm may pin its seats while the payment verifier
    /// runs (60 s; 1 ms ..= 1 h). A confirm pins its hold until
    /// `max(hold expiry, start of the confirm + confirm_deadline)`; a
    /// verifier that has not answered by then loses the pin: the seats are
    /// free for others (release and sweep may end the reservation), and an
    /// approval that arrives later books nothing and becomes a REFUND_DUE
    /// record (`ConfirmError::RefundDue`). So a hanging verifier never
    /// pins seats forever.
    pub confirm_deadline: Duration,
    /// Most live reservations one user may have in one app (5: a buyer
    /// comparing a few options, never a bot sweeping an event).
    pub max_active_per_user: usize,
    /// Most seats one user may hold at once in one entity (event, trip),
    /// over all of that user's reservations (10, one full reservation).
    pub max_held_seats_per_entity: usize,
}

impl Default for HoldPolicy {
    fn default() -> Self {
        Self {
            default_ttl: Duration::from_secs(120),
            min_ttl: Duration::from_secs(1),
            max_ttl: Duration::from_secs(15 * 60),
            max_total: Duration::from_secs(30 * 60),
            max_seats: 10,
            confirm_deadline: Duration::from_secs(60),
            max_active_per_user: 5,
            max_held_seats_per_entity: 10,
        }
    }
}

/// Everything an engine needs to open. Build it with [`Config::new`], name
/// the payment verifier ([`Config::with_payments`]) and adjust the public
/// fields.
#[derive(Clone)]
pub struct Config {
    /// The admin's email (compared after trimming and lower-casing).
    pub admin_email: String,
    /// argon2 PHC string of the admin password (see [`crate::hash_password`]).
    pub admin_password_hash: Secret,
    /// HS256 secret for admin tokens (>= 32 bytes, different from the user one).
    pub admin_jwt_secret: Secret,
    /// HS256 secret for user tokens (>= 32 bytes).
    pub user_jwt_secret: Secret,
    /// Admin token lifetime (24 h).
    pub admin_token_ttl: Duration,
    /// User token lifetime (7 days).
    pub user_token_ttl: Duration,
    pub holds: HoldPolicy,
    /// Cost of hashing user passwords (OWASP minimum by default). Lower it
    /// only in tests.
    pub argon2: Argon2Params,
    /// Bounds on concurrent argon2 work (hashes and verifies of user and
    /// admin passwords): at most as many at once as the process has cores,
    /// excess callers wait at most 5 s, then get a `Busy` error.
    pub password_work: PasswordWork,
    pub durability: Durability,
    /// Concurrent durable writes share one commit (one fsync) instead of
    /// one each (default `true`). Every write is still durable before its
    /// call returns; turn it off only to measure the difference.
    ///
    /// A commit may wait up to 100 µs (after the last write that joined
    /// it) for threads that wrote in the previous commit to come back with
    /// their next write, so that a rush of buyers shares a few large
    /// commits instead of many small ones. A thread writing alone never
    /// waits.
    pub group_commit: bool,
    /// Source of time (system clock by default; a `ManualClock` in tests).
    pub clock: Arc<dyn Clock>,
    /// Payment verification. `None` by default, and
    /// [`Engine::open`](crate::Engine::open) refuses `None`
    /// ([`OpenError::NoPaymentVerifier`](crate::OpenError::NoPaymentVerifier)):
    /// the host names its verifier, or the deterministic
    /// [`SimulatedPayments`](crate::SimulatedPayments) for demos and tests.
    /// See [`Config::with_payments`].
    pub payments: Option<Arc<dyn PaymentVerifier>>,
    /// If set, a background thread sweeps expired reservations this often.
    pub reaper_interval: Option<Duration>,
    /// If set (and the reaper runs), each reaper tick also purges the
    /// history older than this (see
    /// [`Admin::purge_history`](crate::Admin::purge_history)); at least
    /// `holds.max_total`. Default `None`: nothing is purged but on request.
    pub purge_after: Option<Duration>,
    /// Most seats one bulk create may add (10 000).
    pub max_seats_per_bulk: usize,
    /// Most memory the database file's page cache may take (default
    /// 1 GiB, redb's own default; at least 1 MiB). The engine's own memory
    /// is bounded by its live seats and holds (archive past entities, see
    /// [`Admin::archive_entity`](crate::Admin::archive_entity)); this
    /// cache grows with the file up to this bound, so a host that runs for
    /// years with a large history sets it to what it can spare.
    pub page_cache_bytes: usize,
    /// Open even when the journal (`<file>-journal`) does not continue
    /// the database (default `false`: such an open fails with
    /// `OpenError::JournalMismatch`, `JournalMissing` or
    /// `JournalCorrupted`, and changes nothing).
    ///
    /// When set, such a journal is never replayed: it is renamed aside to
    /// `<file>-journal.discarded-<unix ms>` (kept for inspection, never
    /// deleted) and a new, empty journal is created; a missing journal is
    /// simply created. Writes only that journal held are lost, so set it
    /// only after deciding the journal is not wanted (e.g. an old copy
    /// put back by mistake), then clear it again.
    pub discard_unmatched_journal: bool,
}

impl Config {
    /// A configuration with every default, given the four required values.
    #[must_use]
    pub fn new(
        admin_email: impl Into<String>,
        admin_password_hash: impl Into<String>,
        admin_jwt_secret: impl Into<String>,
        user_jwt_secret: impl Into<String>,
    ) -> Self {
        Self {
            admin_email: admin_email.into(),
            admin_password_hash: Secret::new(admin_password_hash),
            admin_jwt_secret: Secret::new(admin_jwt_secret),
            user_jwt_secret: Secret::new(user_jwt_secret),
            admin_token_ttl: Duration::from_secs(24 * 3600),
            user_token_ttl: Duration::from_secs(7 * 24 * 3600),
            holds: HoldPolicy::default(),
            argon2: Argon2Params::default(),
            password_work: PasswordWork::default(),
            durability: Durability::Full,
            group_commit: true,
            clock: Arc::new(SystemClock),
            payments: None,
            reaper_interval: None,
            purge_after: None,
            max_seats_per_bulk: 10_000,
            page_cache_bytes: 1024 * 1024 * 1024,
            discard_unmatched_journal: false,
        }
    }

    /// Names the payment verifier confirms ask (sets [`Config::payments`]).
    /// There is no default: a production host passes its own (see
    /// [`PaymentVerifier`] for what it must check); demos and tests pass
    /// [`SimulatedPayments`](crate::SimulatedPayments) by name.
    ///
    /// ```
    /// # use seatbook::{Config, SimulatedPayments};
    /// let config = Config::new("admin@example.com", "$argon2id$...", "s".repeat(32), "u".repeat(32))
    ///     .with_payments(SimulatedPayments::default());
    /// assert!(config.payments.is_some());
    /// ```
    #[must_use]
    pub fn with_payments(mut self, verifier: impl PaymentVerifier + 'static) -> Self {
        self.payments = Some(Arc::new(verifier));
        self
    }
}

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Config")
            .field("admin_email", &self.admin_email)
            .field("admin_password_hash", &self.admin_password_hash)
            .field("admin_jwt_secret", &self.admin_jwt_secret)
            .field("user_jwt_secret", &self.user_jwt_secret)
            .field("admin_token_ttl", &self.admin_token_ttl)
            .field("user_token_ttl", &self.user_token_ttl)
            .field("holds", &self.holds)
            .field("argon2", &self.argon2)
            .field("password_work", &self.password_work)
            .field("durability", &self.durability)
            .field("group_commit", &self.group_commit)
            .field("clock", &self.clock)
            .field(
                "payments",
                &self.payments.as_ref().map_or("none", |_| "set"),
            )
            .field("reaper_interval", &self.reaper_interval)
            .field("purge_after", &self.purge_after)
            .field("max_seats_per_bulk", &self.max_seats_per_bulk)
            .field("page_cache_bytes", &self.page_cache_bytes)
            .field("discard_unmatched_journal", &self.discard_unmatched_journal)
            .finish_non_exhaustive()
    }
}
