//! The store boundary: the domain's durable records and the operations
//! the booking rules call on them. The redb implementation lives in
//! [`redb`](mod@self::redb); a second backend (PostgreSQL, later) goes
//! beside it and implements the same contract.
//!
//! Owns the records (apps, users, seats and their status, hold and
//! reservation records, payment bindings, bookings), what the engine
//! loads on open ([`LoadedState`]), and the contract below. It answers
//! "what is stored" and "store this atomically"; it must never contain a
//! booking rule (who may hold, what may be confirmed, when a hold
//! expires) and never look at the lock table.
//!
//! # The contract
//!
//! A backend provides [`Storage`] (the store: open, `read`, `write`,
//! `load`, backup), [`ReadTx`] (a consistent snapshot) and [`WriteTx`]
//! (the rows of one atomic write). What the rules rely on:
//!
//! * [`Storage::write`] runs a closure over a [`WriteTx`] and makes its
//!   changes durable (with [`Durability::Full`]) and visible before it
//!   returns `Ok`; if the closure fails or panics, nothing it wrote is
//!   kept. Closures of concurrent callers may share one commit, and a
//!   closure may run on another caller's thread (hence `Send`).
//! * A failure whose outcome is open (the commit may or may not have
//!   reached the disk) *poisons* the store: every later write fails with
//!   [`StorageError::is_poisoned`](crate::StorageError::is_poisoned) until
//!   the engine is reopened, and
//!   reopening recovers exactly the acknowledged writes.
//! * [`WriteTx`]'s reads see the transaction's own writes (and, in a
//!   shared commit, those of the closures before it).
//! * Writes are whole records (`put_*`), never deltas. Index upkeep
//!   (entity seats, a user's bookings, active holds, pending payments,
//!   refunds due) is the store's business: the rules say what a record
//!   is, the store keeps its indexes.
//! * [`ReadTx`] is a snapshot: it never sees a later commit.
//!
//! The operations by record: apps (`app`, `apps`, `put_app`), entities
//! (`entity`, `entities`, `archived_entity`, `put_entity`,
//! `archive_entity`), users
//! (`user`, `user_by_email`, `insert_user`, `put_user`), seats (`seat`,
//! `entity_seats`, `all_seats`, `put_seat`, `update_seat`,
//! `delete_seat`), reservations and holds (`reservation`,
//! `all_reservations`, `expired_holds`, `put_reservation`,
//! `drop_holds`), payment bindings (`payment`, `pending_payments`,
//! `put_payment`), bookings (`booking`, `all_bookings`,
//! `user_booking_ids`, `refund_due_ids`, `put_booking`,
//! `settle_refund`).
//!
//! # Why concrete types, not a trait object
//!
//! The backend is chosen at compile time: [`Storage`], [`ReadTx`] and
//! [`WriteTx`] are aliases of the redb types. The hot path is
//! [`WriteTx`] inside group commit, dozens of rows per closure and
//! thousands of closures per second; a `dyn` call per row would cost
//! there and buy nothing while there is one backend. When the second one
//! arrives, the contract above becomes a trait with these signatures
//! (implemented by both, used generically, still without `dyn`).

pub(crate) mod redb;

use serde::Serialize;

use crate::clock::UnixMillis;
use crate::model::{BookingStatus, EntityStatus, ReservationStatus, SeatAttributes, UserId};

/// The store (the redb one; see the module's "Why concrete types").
pub(crate) type Storage = self::redb::RedbStore;
pub(crate) use self::redb::{OpenOptions, ReadTx, WriteTx};
pub(crate) use self::redb::{content_digest, fs, journal, journal_path};

/// How commits reach the disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Durability {
    /// Every acknowledged write is fsynced before the call returns (default).
    #[default]
    Full,
    /// No fsync: a crash may lose recent acknowledged writes (never corrupt
    /// the file). For tests, demos and benchmarks of the in-memory path.
    None,
}

#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub(crate) struct AppRecord {
    pub(crate) app_id: String,
    pub(crate) name: String,
    pub(crate) allowed_origins: Vec<String>,
    pub(crate) active: bool,
    pub(crate) api_key_hash: [u8; 32],
    pub(crate) created_at: UnixMillis,
    pub(crate) updated_at: UnixMillis,
}

#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub(crate) struct UserRecord {
    pub(crate) email: String,
    pub(crate) password_hash: String,
    pub(crate) created_at: UnixMillis,
    /// Bumped by every password change; user tokens carry the generation
    /// they were issued under, and older ones no longer verify. Records
    /// written before this field existed decode with 0 (see
    /// `records::decode_user` of the redb store).
    pub(crate) token_generation: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
pub(crate) enum SeatStatus {
    Available,
    Booked,
}

#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub(crate) struct SeatRecord {
    pub(crate) entity_id: String,
    pub(crate) price_minor: u64,
    pub(crate) currency: [u8; 3],
    pub(crate) attributes: SeatAttributes,
    pub(crate) status: SeatStatus,
    pub(crate) booked_by: Option<UserId>,
    pub(crate) booking_id: Option<String>,
}

/// An entity of an app (keyed by app and entity id). Written by the admin
/// operations and, with defaults, by the first `create_seats` naming an
/// unknown entity.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub(crate) struct EntityRecord {
    pub(crate) name: String,
    pub(crate) kind: String,
    pub(crate) starts_at: Option<UnixMillis>,
    pub(crate) sale_opens_at: Option<UnixMillis>,
    pub(crate) sale_closes_at: Option<UnixMillis>,
    pub(crate) status: EntityStatus,
    pub(crate) created_at: UnixMillis,
    pub(crate) updated_at: UnixMillis,
}

/// An archived entity: its record (status
/// [`Archived`](EntityStatus::Archived)) and its figures when it was
/// archived, which its seat rows no longer give.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub(crate) struct ArchivedEntityRecord {
    pub(crate) record: EntityRecord,
    /// Seats it had.
    pub(crate) seats: u64,
    /// Of those, booked.
    pub(crate) sold: u64,
    /// The booked seats' prices, per currency, in currency order.
    pub(crate) revenue: Vec<([u8; 3], u64)>,
}

#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub(crate) struct ReservationRecord {
    pub(crate) app_id: String,
    pub(crate) user_id: UserId,
    pub(crate) seat_ids: Vec<String>,
    pub(crate) token_hash: [u8; 32],
    pub(crate) total_minor: u64,
    pub(crate) currency: [u8; 3],
    pub(crate) created_at: UnixMillis,
    pub(crate) expires_at: UnixMillis,
    pub(crate) status: ReservationStatus,
    pub(crate) booking_id: Option<String>,
    pub(crate) payment_id: Option<String>,
}

impl ReservationRecord {
    /// Whether the reservation is still ACTIVE on record: neither
    /// confirmed, released nor expired (it may be past its expiry, not yet
    /// swept). The one definition: the store keeps its active-holds index
    /// by it, the rules build their expiry rule (`rules::expiry::holds_at`) on it.
    #[inline]
    pub(crate) fn is_active(&self) -> bool {
        self.status == ReservationStatus::Active
    }
}

/// What became of a payment id presented for a reservation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
pub(crate) enum PaymentState {
    /// Bound; the verifier was (or is being) asked; no outcome recorded.
    Pending,
    /// Approved and booked: the SUCCESS booking `booking_id`.
    Booked,
    /// Declined: the FAILED attempt `booking_id`.
    Declined,
    /// Approved (or of unknown outcome after a crash) and not booked: the
    /// REFUND_DUE record `booking_id`.
    RefundDue,
}

/// A payment id's binding to the reservation it was first presented for.
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub(crate) struct PaymentRecord {
    pub(crate) reservation_id: u64,
    /// Chosen when binding, so that whatever the outcome, its record
    /// (SUCCESS, FAILED or REFUND_DUE) has this id and nothing fallible
    /// but the commit sits between the verifier's answer and the record.
    pub(crate) booking_id: String,
    pub(crate) state: PaymentState,
    pub(crate) presented_at: UnixMillis,
}

#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub(crate) struct BookingRecord {
    pub(crate) app_id: String,
    pub(crate) user_id: UserId,
    pub(crate) seat_ids: Vec<String>,
    pub(crate) reservation_id: u64,
    pub(crate) payment_id: String,
    pub(crate) amount_minor: u64,
    pub(crate) currency: [u8; 3],
    pub(crate) status: BookingStatus,
    pub(crate) created_at: UnixMillis,
    pub(crate) cancelled_at: Option<UnixMillis>,
}

/// What the engine needs to rebuild its memory on open.
pub(crate) struct LoadedState {
    pub(crate) apps: Vec<AppRecord>,
    /// Every seat, grouped by app (`app_id`, its seats in id order, the
    /// names of its entities numbered as [`LoadedSeat::entity`] numbers them).
    pub(crate) seats: Vec<(String, Vec<LoadedSeat>, Vec<Box<str>>)>,
    /// Every entity record: `(app_id, entity_id, record)`, in key order.
    pub(crate) entities: Vec<(String, String, EntityRecord)>,
    /// Every ACTIVE reservation.
    pub(crate) active: Vec<(u64, ReservationRecord)>,
    /// Largest reservation id ever stored (0 if none).
    pub(crate) max_reservation_id: u64,
}

/// The part of a seat the in-memory directory keeps.
pub(crate) struct LoadedSeat {
    pub(crate) seat_id: Box<str>,
    pub(crate) price_minor: u64,
    pub(crate) currency: [u8; 3],
    pub(crate) booked: bool,
    /// Its entity: an index into its app's entity names.
    pub(crate) entity: u32,
}
