//! # seatbook
//!
//! An embedded seat-booking engine: sell seats without ever double-booking
//! them, even when thousands of buyers hit the same seats in the same
//! second.
//!
//! A host opens an [`Engine`] on a redb file. The admin (from the host's
//! [`Config`]) creates tenant apps; users from one shared pool sign up and
//! log in; a buyer [reserves](AppContext::reserve) seats with an atomic
//! compare-and-set TTL hold in an in-memory lock table (losers never touch
//! the disk), then [confirms](AppContext::confirm): one redb transaction
//! books the seats, creates the booking and closes the reservation.
//!
//! ```
//! use seatbook::{Config, Engine, ManualClock, NewApp, NewSeat, SeatAttributes, SimulatedPayments, Argon2Params, hash_password};
//! use std::sync::Arc;
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let dir = tempfile::tempdir()?;
//! let fast = Argon2Params::insecure_fast_for_tests(); // tests only!
//! let mut config = Config::new(
//!     "admin@example.com",
//!     hash_password("admin-password", &fast)?,
//!     "an-admin-secret-of-at-least-32-bytes!!",
//!     "a-user-secret-of-at-least-32-bytes!!!!",
//! )
//! // Payment verification is the host's explicit choice; the deterministic
//! // simulation approves every payment id not starting with "fail" or
//! // "decline" (demos and tests only: see `PaymentVerifier`).
//! .with_payments(SimulatedPayments::default());
//! config.argon2 = fast;
//! let engine = Engine::open(dir.path().join("seats.redb"), config)?;
//!
//! let admin = engine.admin(engine.admin_login("admin@example.com", "admin-password")?.expose())?;
//! let created = admin.create_app(&NewApp { app_id: "event-app", name: "Event App", allowed_origins: &["https://event-app.com"] })?;
//! let seat = |id: &str| NewSeat { seat_id: id.into(), price_minor: 5_000, currency: "EUR".into(), attributes: SeatAttributes::default() };
//! admin.create_seats("event-app", "EVENT_001", &[seat("EVENT_001-A1"), seat("EVENT_001-A2")])?;
//!
//! let app = engine.app("event-app", created.api_key.expose(), "https://event-app.com")?;
//! let token = app.signup("buyer@example.com", "correct horse battery")?;
//! let buyer = app.user(token.expose())?;
//! let hold = app.reserve(&buyer, &["EVENT_001-A1", "EVENT_001-A2"], None)?;
//! let booking = app.confirm(&buyer, hold.token.expose(), "pay_123", 10_000)?;
//! assert!(booking.booking_id.starts_with("BK-"));
//! # Ok(())
//! # }
//! ```
//!
//! Folders show the architecture, from the bottom up: `locks` (the
//! in-memory hold table), `storage` (redb), `auth` (passwords, JWTs, API
//! keys, origins), `state` (what one opened engine shares: the directory
//! of apps and seats, the lock table and storage handles, config and
//! counters; no rules), `rules` (every booking rule, expiry, seat
//! retirement, quotas, the audit, and the handles `Engine`, `AppContext`
//! and `Admin`), `ffi` (the C ABI). Each layer uses only those below it.
#![warn(clippy::pedantic)]
#![allow(
    clippy::module_name_repetitions,
    clippy::missing_panics_doc,
    clippy::must_use_candidate,
    clippy::cast_possible_truncation,
    clippy::doc_markdown
)]

mod auth;
mod backup;
mod check;
mod clock;
mod config;
mod error;
pub mod ffi;
#[cfg(test)]
mod layering;
#[doc(hidden)]
pub mod locks;
mod model;
mod payment;
mod rules;
mod secret;
mod state;
mod store;
mod sync;
mod validate;

pub use auth::{
    Argon2Params, OriginError, PasswordHashError, PasswordWork, TokenError, WeakSecretError,
    hash_password, normalize_origin,
};
pub use check::{CheckReport, JournalFile, Recovery, check};
pub use clock::{Clock, ManualClock, SystemClock, UnixMillis};
pub use config::{Config, HoldPolicy};
pub use error::{
    AdminError, AppAuthError, AuthError, BackupError, CancelError, CheckError, ConfirmError, Error,
    ErrorCode, HasErrorCode, HoldError, JournalMismatch, LoginError, OpenError,
    PasswordChangeError, QueryError, ReserveError, SeatBlock, SignupError, StorageError,
    StorageErrorKind,
};
pub use model::{
    AppInfo, AppUpdate, Booking, BookingStatus, CreatedApp, EntityFigures, EntityInfo,
    EntityStatus, EntityUpdate, HoldsOnClose, Money, NewApp, NewEntity, NewSeat, PurgeReport,
    Reservation, ReservationInfo, ReservationStatus, SeatAttributes, SeatCounts, SeatFilter,
    SeatKeys, SeatState, SeatView, Stats, UserHolds, UserId,
};
pub use payment::{PaymentOutcome, PaymentRequest, PaymentVerifier, SimulatedPayments};
pub use rules::admin::{Admin, MAX_ORIGINS, MAX_PRICE_MINOR};
pub use rules::app::{AppContext, UserSession};
pub use rules::audit::AuditReport;
pub use rules::engine::Engine;
pub use secret::Secret;
pub use store::Durability;
#[doc(hidden)]
pub use store::fs::{RealFs, Vfs, VfsFile};
pub use validate::InvalidInput;

/// The library version (`CARGO_PKG_VERSION`).
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
