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

/// Where an entity (an event, a route, a show) is in its lifecycle.
///
/// `OnSale → Closed → Archived`, one way (see
/// [`Admin::close_entity`](crate::Admin::close_entity) and
/// [`Admin::archive_entity`](crate::Admin::archive_entity)). While on
/// sale, reserves are still refused outside its sale window.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum EntityStatus {
    /// Seats can be reserved (within the sale window, if it has one).
    OnSale,
    /// Sales stopped for good: no new holds. Bookings stay cancellable;
    /// holds taken before the close ran to their end or were released,
    /// as the close chose.
    Closed,
    /// Archived: its seats left memory and the lock table (their keys
    /// serve new seats) and their rows left the database; its bookings
    /// and reservations stay queryable with their seat ids, its figures
    /// are those of the moment it was archived. Never on sale again; its
    /// bookings can no longer be cancelled.
    Archived,
}

/// An entity as the admin sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntityInfo {
    pub entity_id: String,
    pub name: String,
    /// Free text chosen by the app (`event`, `route`, `show`, ...).
    pub kind: String,
    /// When the event starts (the show, the departure), if known.
    pub starts_at: Option<UnixMillis>,
    /// Reserves before this instant are refused ([`ReserveError::SaleNotOpen`](crate::ReserveError::SaleNotOpen)).
    pub sale_opens_at: Option<UnixMillis>,
    /// Reserves at or after this instant are refused ([`ReserveError::SaleClosed`](crate::ReserveError::SaleClosed)).
    pub sale_closes_at: Option<UnixMillis>,
    pub status: EntityStatus,
    pub created_at: UnixMillis,
    pub updated_at: UnixMillis,
}

/// What the admin supplies to create an entity.
#[derive(Debug, Clone, Default)]
pub struct NewEntity<'a> {
    /// Same syntax as a seat id; unique within the app.
    pub entity_id: &'a str,
    /// Empty means "the entity id".
    pub name: &'a str,
    pub kind: &'a str,
    pub starts_at: Option<UnixMillis>,
    pub sale_opens_at: Option<UnixMillis>,
    pub sale_closes_at: Option<UnixMillis>,
}

/// Changes to an entity; `None` leaves a field as it is. For the
/// instants, `Some(None)` removes the value (no start, no bound).
#[derive(Debug, Clone, Default)]
pub struct EntityUpdate<'a> {
    /// `Some("")` names it after its id, as at creation.
    pub name: Option<&'a str>,
    pub kind: Option<&'a str>,
    pub starts_at: Option<Option<UnixMillis>>,
    pub sale_opens_at: Option<Option<UnixMillis>>,
    pub sale_closes_at: Option<Option<UnixMillis>>,
}

/// What closing an entity does with the holds on its seats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HoldsOnClose {
    /// Live holds run to their end: their buyers may still confirm them.
    Keep,
    /// Live holds are released at once (their reservations become
    /// RELEASED, their seats available). A confirm already committing
    /// when the close runs completes.
    Release,
}

/// An amount of money in one currency.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Money {
    /// ISO 4217 code.
    pub currency: String,
    pub amount_minor: u64,
}

/// One entity's figures for the admin, at the instant they were read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntityFigures {
    pub entity_id: String,
    pub status: EntityStatus,
    /// Booked seats.
    pub sold: u64,
    /// Seats under a live hold.
    pub held: u64,
    pub available: u64,
    /// The prices of the booked seats, per currency (ordered by currency;
    /// one entry when all seats share a currency, none when none is sold).
    pub revenue: Vec<Money>,
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

/// What [`Admin::purge_history`](crate::Admin::purge_history) removed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PurgeReport {
    /// Reservations that ended without a booking (EXPIRED or RELEASED).
    pub reservations: u64,
    /// FAILED records of declined payments (removed with their reservation).
    pub failed_attempts: u64,
}

/// The lock table's seat keys (see [`Engine::seat_keys`](crate::Engine::seat_keys)).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SeatKeys {
    /// Keys serving a seat now.
    pub live: u64,
    /// Keys ever handed out since open (live ones and those given back).
    pub allocated: u64,
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
