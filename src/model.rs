//! The public data types: what callers pass in and get back.
//!
//! Owns plain data only. No I/O, no locking, no validation logic lives here
//! (validation is in `validate`, persistence in `storage`).

use serde::{Deserialize, Serialize};

use crate::clock::UnixMillis;
use crate::secret::Secret;

/// A user's id: a random UUID, rendered as 32 lowercase hex digits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct UserId(pub u128);

impl std::fmt::Display for UserId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:032x}", self.0)
    }
}

impl UserId {
    /// Parses the 32-hex-digit form.
    #[must_use]
    pub fn parse(s: &str) -> Option<Self> {
        (s.len() == 32 && s.bytes().all(|b| b.is_ascii_hexdigit()))
            .then(|| u128::from_str_radix(s, 16).ok().map(Self))
            .flatten()
    }
}

/// A tenant app as the admin sees it (never the key or its hash).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppInfo {
    pub app_id: String,
    pub name: String,
    /// Normalised origins (`scheme://host[:port]`).
    pub allowed_origins: Vec<String>,
    pub active: bool,
    pub created_at: UnixMillis,
    pub updated_at: UnixMillis,
}

/// What the admin supplies to create an app.
#[derive(Debug, Clone)]
pub struct NewApp<'a> {
    /// Slug: 3..=64 chars of `[a-z0-9-]`.
    pub app_id: &'a str,
    pub name: &'a str,
    pub allowed_origins: &'a [&'a str],
}

/// A created app, with its API key in plaintext: shown exactly once.
#[derive(Debug, Clone)]
pub struct CreatedApp {
    pub app: AppInfo,
    pub api_key: Secret,
}

/// Changes to an app; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct AppUpdate<'a> {
    pub name: Option<&'a str>,
    pub allowed_origins: Option<&'a [&'a str]>,
}

/// Optional descriptive attributes of a seat.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SeatAttributes {
    pub section: Option<String>,
    pub row: Option<String>,
    pub category: Option<String>,
}

/// One seat to create.
#[derive(Debug, Clone)]
pub struct NewSeat {
    /// Unique within the app, e.g. `EVENT_001-A1`.
    pub seat_id: String,
    /// Price in minor units (cents). Never a float.
    pub price_minor: u64,
    /// ISO 4217 code, e.g. `EUR`.
    pub currency: String,
    pub attributes: SeatAttributes,
}

/// A seat's effective state at the instant it was read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SeatState {
    Available,
    /// Held by someone (who is not revealed) until `expires_at`
    /// (`u64::MAX` while a confirm is committing).
    Held {
        expires_at: UnixMillis,
    },
    Booked,
}

/// A seat as listed to an app.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeatView {
    pub seat_id: String,
    pub entity_id: String,
    pub price_minor: u64,
    pub currency: String,
    pub attributes: SeatAttributes,
    pub state: SeatState,
}

/// Which seats to list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SeatFilter {
    #[default]
    All,
    AvailableOnly,
}

/// Seat counts of one entity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SeatCounts {
    pub available: u64,
    pub held: u64,
    pub booked: u64,
}

/// How much one user holds in one app right now (see
/// [`Admin::user_holds`](crate::Admin::user_holds)): live reservations
/// (unexpired, not released, not confirmed) and the seats they hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UserHolds {
    pub user_id: UserId,
    /// Live reservations (at most `holds.max_active_per_user`).
    pub reservations: usize,
    /// Seats those reservations hold, over all entities.
    pub seats: usize,
}

/// Lifecycle of a reservation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ReservationStatus {
    Active,
    Confirmed,
    Expired,
    Released,
}

impl ReservationStatus {
    /// Upper-case name as in the spec (`ACTIVE`, ...).
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Active => "ACTIVE",
            Self::Confirmed => "CONFIRMED",
            Self::Expired => "EXPIRED",
            Self::Released => "RELEASED",
        }
    }
}

/// A reservation as its holder sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReservationInfo {
    /// Also the hold's fencing number: increases on every acquire of a seat.
    pub reservation_id: u64,
    pub app_id: String,
    pub user_id: UserId,
    pub seat_ids: Vec<String>,
    pub total_minor: u64,
    pub currency: String,
    pub created_at: UnixMillis,
    pub expires_at: UnixMillis,
    pub status: ReservationStatus,
    pub booking_id: Option<String>,
}

/// A successful reserve: the reservation and its bearer token (shown once;
/// it is needed to extend, release and confirm).
#[derive(Debug, Clone)]
pub struct Reservation {
    pub info: ReservationInfo,
    pub token: Secret,
}

/// Payment and lifecycle status of a booking. `PENDING` of the old design
/// exists only while the verifier runs: it is never stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum BookingStatus {
    /// Paid; its seats are BOOKED.
    Success,
    /// The payment was declined; a record of the attempt, holding no seats.
    Failed,
    /// Cancelled (refunded) after success; its seats are AVAILABLE again.
    Cancelled,
    /// Paid but not booked: the verifier approved the payment (or, after a
    /// crash, its answer was never recorded) and the seats could not be
    /// booked. Holds no seats; the payment must be refunded. Listed by
    /// `AppContext::refunds_due` and `Admin::refunds_due` until settled.
    RefundDue,
    /// A REFUND_DUE record whose refund the operator marked as done.
    Refunded,
}

impl BookingStatus {
    /// Upper-case name (`SUCCESS`, `FAILED`, `CANCELLED`, `REFUND_DUE`,
    /// `REFUNDED`).
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Success => "SUCCESS",
            Self::Failed => "FAILED",
            Self::Cancelled => "CANCELLED",
            Self::RefundDue => "REFUND_DUE",
            Self::Refunded => "REFUNDED",
        }
    }
}

/// A booking (or a recorded failed payment attempt).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Booking {
    /// `BK-` followed by 20 upper-case hex digits.
    pub booking_id: String,
    pub app_id: String,
    pub user_id: UserId,
    pub seat_ids: Vec<String>,
    pub reservation_id: u64,
    pub payment_id: String,
    pub amount_minor: u64,
    pub currency: String,
    pub status: BookingStatus,
    pub created_at: UnixMillis,
    pub cancelled_at: Option<UnixMillis>,
}

/// Engine counters since open (not persisted).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Stats {
    /// Reserve calls that reached the lock table.
    pub reserve_attempts: u64,
    /// Holds taken (winning reserves).
    pub holds_taken: u64,
    /// Reserves rejected because a seat was held or booked.
    pub contention_rejections: u64,
    /// Successful confirms (bookings created).
    pub confirms: u64,
    /// Reservations marked EXPIRED (sweep, reopen, or a late confirm).
    pub expiries: u64,
    /// Holds released by their holder.
    pub releases: u64,
    /// Confirms whose payment was declined.
    pub payment_failures: u64,
    /// Bookings cancelled.
    pub cancellations: u64,
}
