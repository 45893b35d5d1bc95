//! Errors, one type per operation, and the status codes they map onto.
//!
//! Owns every public error type. Each operation returns the narrowest enum
//! that lists exactly what it can fail with (redb's style); all of them
//! convert into the umbrella [`Error`], and every variant maps to exactly
//! one [`ErrorCode`], the status the C ABI returns.
//!
//! Errors must never carry a secret: no password, key, token or hash is ever
//! put in a message.

use crate::auth::{OriginError, TokenError, WeakSecretError};
use crate::clock::UnixMillis;
use crate::validate::InvalidInput;

/// A stable numeric status for every failure, shared by the Rust and C APIs.
/// Values never change once released; new codes are appended.
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorCode {
    /// Success (C only).
    Ok = 0,
    /// An argument failed validation (id syntax, length, range).
    InvalidInput = 1,
    /// The configuration was refused at open (weak secret, bad hash, bounds).
    InvalidConfig = 2,
    /// Another engine (in this or another process) has the database open.
    DatabaseAlreadyOpen = 3,
    /// The storage layer failed (I/O, corruption). Nothing was acknowledged.
    Storage = 4,
    /// Wrong email/password, or wrong app id/API key.
    InvalidCredentials = 5,
    /// A token is malformed, forged, of the wrong kind or for another app.
    InvalidToken = 6,
    /// A token has expired.
    TokenExpired = 7,
    /// The app is deactivated.
    AppInactive = 8,
    /// The request's origin is not among the app's allowed origins.
    OriginNotAllowed = 9,
    /// No app with that id.
    AppNotFound = 10,
    /// An app with that id exists already.
    AppAlreadyExists = 11,
    /// A user with that email exists already.
    EmailTaken = 12,
    /// No seat with that id in this app.
    SeatNotFound = 13,
    /// A seat with that id exists already in this app.
    SeatAlreadyExists = 14,
    /// The seat is booked.
    SeatBooked = 15,
    /// The seat is held by another reservation.
    SeatHeld = 16,
    /// No reservation for that token in this app for this user.
    ReservationNotFound = 17,
    /// The reservation is no longer active (confirmed, expired, released).
    ReservationNotActive = 18,
    /// The hold expired (or was taken over) before the operation.
    HoldExpired = 19,
    /// Extending would pass the maximum total hold time.
    HoldLimitExceeded = 20,
    /// A confirm of the same reservation is committing right now.
    ConfirmInProgress = 21,
    /// The amount differs from the seats' total price.
    AmountMismatch = 22,
    /// The payment verifier declined the payment.
    PaymentDeclined = 23,
    /// The reservation was confirmed with another payment id.
    PaymentConflict = 24,
    /// No booking with that id in this app.
    BookingNotFound = 25,
    /// The booking is not in a state that allows cancelling.
    BookingNotCancellable = 26,
    /// The seat is held or booked, so it cannot be removed.
    SeatInUse = 27,
    /// The engine's seat capacity is exhausted.
    CapacityExceeded = 28,
    /// The operating system's random generator failed.
    RandomFailure = 29,
    /// The payment id was already presented for another reservation of
    /// this app; the verifier was not asked.
    PaymentAlreadyUsed = 30,
    /// The payment was approved but the seats could not be booked: it is
    /// recorded as a REFUND_DUE booking record and must be refunded.
    RefundDue = 31,
    /// The payment was approved but neither booked nor recorded (storage
    /// failed): it must be refunded; reopening the engine records it.
    RefundDueUnrecorded = 32,
    /// The booking record is not REFUND_DUE (not a refund, or settled already).
    RefundNotDue = 33,
    /// The user already has the most live reservations allowed
    /// (`holds.max_active_per_user`).
    TooManyReservations = 38,
    /// The user would hold more seats of one entity than allowed
    /// (`holds.max_held_seats_per_entity`).
    TooManySeatsHeld = 39,
    /// The app context was revoked after it was made (API key rotated, app
    /// deactivated or its origin removed): authenticate the app again
    /// (which names the reason); the user's token is not at fault.
    AppContextRevoked = 41,
    /// Too many password hashes/verifies are running; this one waited
    /// `Config::password_work.max_wait` without a turn. Nothing changed;
    /// retry later.
    PasswordWorkBusy = 42,
    /// The journal beside the database is not the one that continues it
    /// (another database's, older, newer, or one whose database is
    /// missing); nothing was replayed.
    JournalMismatch = 47,
    /// The database's journal is missing; nothing was opened.
    JournalMissing = 48,
    /// The journal has a damaged group followed by intact ones; nothing
    /// was replayed.
    JournalCorrupted = 49,
    /// The database was created by an earlier, unsupported file format.
    UnsupportedFormat = 50,
    /// An earlier commit failed after its outcome could no longer be taken
    /// back (a failed sync, say): every write is refused until the engine
    /// is reopened. See [`StorageError::is_poisoned`].
    StoragePoisoned = 53,
    /// A backup's target path (or its `-journal`) exists already.
    BackupTargetExists = 56,
    /// No database file at the path given to the offline check.
    DatabaseNotFound = 57,
    /// Stored data is not what it must be (a record that does not decode,
    /// an index row without its record, a file that is not this engine's):
    /// [`StorageErrorKind::Corruption`]. Retrying will not help; run the
    /// offline check ([`check`](crate::check)) or restore a backup.
    StorageCorrupted = 60,
    /// Hashing a password failed (argon2 could not run: its salt could not
    /// be drawn from the operating system's random source). Nothing
    /// changed; retry later. A random-source failure elsewhere is
    /// [`RandomFailure`](Self::RandomFailure).
    HashingFailed = 65,
    /// A token could not be signed. The operation itself completed where
    /// its error says so (a signup's account exists, a password change is
    /// made); only the token is missing: log in for a new one.
    SigningFailed = 66,
    /// The entity's sale window has not opened yet (reserve).
    SaleNotOpen = 67,
    /// The entity's sale window has ended, or the entity was closed (reserve).
    SaleClosed = 68,
    /// No entity with that id in this app.
    EntityNotFound = 69,
    /// An entity with that id exists already in this app.
    EntityAlreadyExists = 70,
    /// The entity is closed: it takes no new seats and no changes to its sale.
    EntityClosed = 71,
    /// The entity is archived: it takes no seats and no changes, and its
    /// bookings can no longer be cancelled.
    EntityArchived = 72,
    /// Archiving: the entity is still on sale (close it first).
    EntityNotClosed = 73,
    /// Archiving: a confirm is committing on one of the entity's seats.
    /// Nothing archived; retry once it ended.
    EntityBusy = 74,
    /// A required pointer argument was NULL (C only).
    NullParameter = 100,
    /// A string argument was not valid UTF-8 (C only).
    InvalidUtf8 = 101,
    /// A panic was caught at the C boundary (a bug; please report it).
    Panic = 102,
    /// The engine was closed ([`Engine::close`](crate::Engine::close) or
    /// `seatbook_engine_close()`); every context and handle made from it
    /// answers this.
    EngineClosed = 103,
    /// A handle of another kind was passed (C only), e.g. an admin handle
    /// where an app handle is expected.
    InvalidHandle = 104,
}

/// A storage failure: what happened ([`kind`](Self::kind)) and a detail
/// message from redb, the journal or the operating system. The detail
/// never holds user data.
///
/// Its kind decides its code: [`StorageErrorKind::Poisoned`] is
/// [`ErrorCode::StoragePoisoned`] (see [`is_poisoned`](Self::is_poisoned)),
/// [`StorageErrorKind::Closed`] is [`ErrorCode::EngineClosed`] (see
/// [`is_closed`](Self::is_closed)), [`StorageErrorKind::Corruption`] is
/// [`ErrorCode::StorageCorrupted`]; every other kind is
/// [`ErrorCode::Storage`].
#[derive(Debug, thiserror::Error)]
#[error("storage error: {detail}")]
pub struct StorageError {
    kind: StorageErrorKind,
    detail: String,
}

/// What kind of storage failure a [`StorageError`] is.
///
/// There is no "busy, retry" kind for writes: they queue (group commit)
/// instead of failing, and a database held by another engine is refused
/// at open with [`OpenError::DatabaseAlreadyOpen`]. redb's own "would
/// block" and "already open" are [`Busy`](Self::Busy) should they reach
/// another operation.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StorageErrorKind {
    /// The operating system failed a read, write, sync, rename or open
    /// (`EIO`, `ENOSPC`, a permission, ...). After a failed write or sync
    /// on the commit path the engine is also poisoned: later writes get
    /// [`Poisoned`](Self::Poisoned).
    Io,
    /// Stored data is not what it must be: a record or journal record that
    /// does not decode, an index row without its record, a database
    /// without its id, a file redb reports corrupted or not of this
    /// schema. Retrying will not help; run the offline check, restore a
    /// backup.
    Corruption,
    /// Temporarily unavailable (held by someone else); retrying later may
    /// succeed.
    Busy,
    /// An earlier commit failed after its outcome could no longer be
    /// taken back: every write is refused until the engine is reopened
    /// (see [`StorageError::is_poisoned`]).
    Poisoned,
    /// The engine was closed before the call reached its storage.
    Closed,
    /// Anything else: a failure of the random source, an encoding, a
    /// panic caught on the commit path, a limit of redb.
    Other,
}

/// The message of the poisoned state (see [`StorageError::poisoned`]).
const POISONED: &str = "an earlier commit failed: reopen the engine";
/// The message of a closed engine's storage (see [`StorageError::closed`]).
const CLOSED: &str = "the engine was closed";

impl StorageError {
    pub(crate) fn new(kind: StorageErrorKind, detail: impl Into<String>) -> Self {
        Self {
            kind,
            detail: detail.into(),
        }
    }

    /// An I/O failure ([`StorageErrorKind::Io`]).
    pub(crate) fn io(detail: impl Into<String>) -> Self {
        Self::new(StorageErrorKind::Io, detail)
    }

    /// Data that is not what it must be ([`StorageErrorKind::Corruption`]).
    pub(crate) fn corrupt(detail: impl Into<String>) -> Self {
        Self::new(StorageErrorKind::Corruption, detail)
    }

    /// Any other failure ([`StorageErrorKind::Other`]).
    pub(crate) fn other(detail: impl Into<String>) -> Self {
        Self::new(StorageErrorKind::Other, detail)
    }

    /// The same failure again (the combiner hands one commit's outcome
    /// to every caller in its batch).
    pub(crate) fn duplicate(&self) -> Self {
        Self::new(self.kind, self.detail.clone())
    }

    /// What kind of failure this is.
    #[must_use]
    pub fn kind(&self) -> StorageErrorKind {
        self.kind
    }

    /// The engine refuses writes: an earlier commit failed after its
    /// outcome could no longer be taken back (a failed journal or database
    /// sync, say). A failed sync is never retried: the kernel may have
    /// dropped the writes it covered while still showing them to this
    /// process (PostgreSQL's "fsyncgate"), so a later sync that succeeds
    /// would prove nothing. Reopening the engine recovers every
    /// acknowledged write from the journal.
    pub(crate) fn poisoned() -> Self {
        Self::new(StorageErrorKind::Poisoned, POISONED)
    }

    /// Whether this is the poisoned state (see [`ErrorCode::StoragePoisoned`]):
    /// nothing was done, and nothing will be until the engine is reopened.
    #[must_use]
    pub fn is_poisoned(&self) -> bool {
        self.kind == StorageErrorKind::Poisoned
    }

    /// The engine was closed ([`Engine::close`](crate::Engine::close))
    /// before this call reached its storage: nothing was done.
    pub(crate) fn closed() -> Self {
        Self::new(StorageErrorKind::Closed, CLOSED)
    }

    /// Whether the engine was closed (see [`ErrorCode::EngineClosed`]).
    #[must_use]
    pub fn is_closed(&self) -> bool {
        self.kind == StorageErrorKind::Closed
    }
}

impl From<redb::Error> for StorageError {
    fn from(e: redb::Error) -> Self {
        use redb::Error as E;
        let kind = match &e {
            // redb refuses everything after a failed sync of its own: the
            // same state as the engine's poisoning.
            E::PreviousIo => return Self::poisoned(),
            E::Io(_) | E::Backend(_) => StorageErrorKind::Io,
            E::Corrupted(_)
            | E::UpgradeRequired(_)
            | E::UnorderedKey
            | E::TableTypeMismatch { .. }
            | E::TableIsMultimap(_)
            | E::TableIsNotMultimap(_)
            | E::TypeDefinitionChanged { .. }
            | E::TableDoesNotExist(_) => StorageErrorKind::Corruption,
            E::WouldBlock | E::DatabaseAlreadyOpen => StorageErrorKind::Busy,
            E::DatabaseClosed => StorageErrorKind::Closed,
            _ => StorageErrorKind::Other,
        };
        Self::new(kind, e.to_string())
    }
}

macro_rules! storage_from {
    ($($t:ty),* $(,)?) => {$(
        impl From<$t> for StorageError {
            fn from(e: $t) -> Self {
                redb::Error::from(e).into()
            }
        }
    )*};
}
storage_from!(
    redb::StorageError,
    redb::TableError,
    redb::TransactionError,
    redb::CommitError,
    redb::DatabaseError,
    redb::SetDurabilityError,
);

/// A token, session or context can no longer act: every operation of an
/// [`AppContext`](crate::AppContext) or [`Admin`](crate::Admin) can fail
/// with it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    /// Malformed, forged, wrong kind, wrong algorithm, for an unknown user,
    /// revoked by a password change (user tokens and sessions), or made
    /// for another admin password hash (admin tokens). The user or admin
    /// must log in again.
    #[error("invalid token")]
    InvalidToken,
    /// Past its `exp`.
    #[error("token expired")]
    TokenExpired,
    /// The app context itself was revoked: the admin rotated the app's API
    /// key, deactivated the app or removed the context's origin. The user's
    /// token is not at fault; authenticate the app again with
    /// [`Engine::app`](crate::Engine::app), whose error names the reason.
    #[error("the app context was revoked (key rotated, app deactivated or origin removed)")]
    AppContextRevoked,
    /// The engine was closed ([`Engine::close`](crate::Engine::close)).
    #[error("the engine was closed")]
    EngineClosed,
}

impl From<TokenError> for AuthError {
    fn from(e: TokenError) -> Self {
        match e {
            TokenError::Invalid => Self::InvalidToken,
            TokenError::Expired => Self::TokenExpired,
        }
    }
}

/// [`Engine::open`](crate::Engine::open) failed.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    /// The configuration is unusable; the reason says which field.
    #[error("invalid configuration: {0}")]
    InvalidConfig(&'static str),
    /// A JWT secret is too short or both are the same.
    #[error("invalid configuration: {0}")]
    WeakSecret(#[from] WeakSecretError),
    /// The configuration names no payment verifier
    /// ([`Config::payments`](crate::Config::payments) is `None`). There is
    /// no default, so that no engine approves every payment by accident.
    #[error(
        "invalid configuration: no payment verifier; set Config::payments to the host's \
         PaymentVerifier (or, for demos and tests only, `with_payments(SimulatedPayments::default())`)"
    )]
    NoPaymentVerifier,
    /// Another engine has this database file open.
    #[error("the database is already open by another engine or process")]
    DatabaseAlreadyOpen,
    /// The journal (`<file>-journal`) is not the one that continues this
    /// database; replaying it could overwrite newer state, so nothing was
    /// replayed and nothing changed. Set
    /// [`Config::discard_unmatched_journal`](crate::Config::discard_unmatched_journal)
    /// to set it aside and open without it.
    #[error("the journal does not continue this database ({0}); nothing was replayed")]
    JournalMismatch(JournalMismatch),
    /// The database exists but its journal does not: acknowledged writes
    /// it held would be lost. Nothing changed. Put the journal back, or set
    /// [`Config::discard_unmatched_journal`](crate::Config::discard_unmatched_journal)
    /// to open with a new, empty one.
    #[error("the database's journal is missing; nothing was opened")]
    JournalMissing,
    /// The journal has a damaged group at `offset` followed by intact
    /// groups of the generation being replayed: not a torn last write but
    /// corruption. Nothing was replayed and nothing changed;
    /// [`Config::discard_unmatched_journal`](crate::Config::discard_unmatched_journal)
    /// sets the journal aside (losing the writes it held).
    #[error(
        "the journal is corrupt: a damaged group at offset {offset} is followed by intact ones; nothing was replayed"
    )]
    JournalCorrupted { offset: u64 },
    /// The database file was written by an earlier format of seatbook
    /// (schema version `found`; this version reads `expected`). There is
    /// no migration: export and re-create the data.
    #[error(
        "the database was created by an unsupported format (schema version {found}, expected {expected})"
    )]
    UnsupportedFormat { found: u64, expected: u64 },
    /// The file could not be opened or read.
    #[error(transparent)]
    Storage(#[from] StorageError),
}

/// [`Engine::backup`](crate::Engine::backup) failed; no file was left at
/// the target.
#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    /// The target path, or the journal path next to it (`<target>-journal`),
    /// exists already. Backups never overwrite; this also refuses the
    /// engine's own database and journal.
    #[error("the backup target exists already")]
    TargetExists,
    /// Reading the database or writing the copy failed.
    #[error(transparent)]
    Storage(#[from] StorageError),
}

/// [`check`](crate::check) could not examine the database. A database that
/// is damaged is not an error: the [`CheckReport`](crate::CheckReport) says so.
#[derive(Debug, thiserror::Error)]
pub enum CheckError {
    /// There is no file at the path.
    #[error("no database file at that path")]
    DatabaseNotFound,
    /// A live engine (in this or another process) has the database open:
    /// only closed databases are checked.
    #[error("the database is open by a live engine; close it before checking")]
    DatabaseOpen,
    /// Copying the files to a temporary directory failed.
    #[error(transparent)]
    Storage(#[from] StorageError),
}

/// How a journal fails to continue its database (see
/// [`OpenError::JournalMismatch`]). Generations count the database's
/// checkpoints: the journal's generation must be the one after the last
/// checkpoint the database holds (or equal to it, when a crash came
/// between the checkpoint and the journal's restart).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum JournalMismatch {
    /// The journal belongs to another database (another unique id).
    #[error("it belongs to another database")]
    Foreign,
    /// The journal is older than the database's last checkpoint: its
    /// groups are superseded.
    #[error("journal generation {journal} is older than the database's checkpoint {database}")]
    Stale { journal: u64, database: u64 },
    /// The journal continues a later generation than the database has
    /// reached: the database is older than its journal (put back from a
    /// copy), so the writes between are missing.
    #[error(
        "journal generation {journal} is newer than the database's checkpoint {database} can continue"
    )]
    Newer { journal: u64, database: u64 },
    /// The database file is missing while its journal holds writes.
    #[error("the database file is missing but its journal holds writes")]
    WithoutDatabase,
}

/// Admin or user login failed. Unknown email and wrong password give the
/// same [`InvalidCredentials`](LoginError::InvalidCredentials).
#[derive(Debug, thiserror::Error)]
pub enum LoginError {
    #[error("invalid email or password")]
    InvalidCredentials,
    /// The app context was revoked or the engine closed.
    #[error(transparent)]
    Auth(#[from] AuthError),
    /// Too many password checks are running (see
    /// [`Config::password_work`](crate::Config::password_work)); nothing
    /// was checked. Retry later.
    #[error("too many password checks are running; retry later")]
    Busy,
    #[error(transparent)]
    InvalidInput(#[from] InvalidInput),
    /// The credentials were right but the token could not be signed; log
    /// in again.
    #[error("the login token could not be signed")]
    SigningFailed,
    #[error(transparent)]
    Storage(#[from] StorageError),
}

/// Signup failed.
#[derive(Debug, thiserror::Error)]
pub enum SignupError {
    #[error("an account with this email exists already")]
    EmailTaken,
    /// The app context was revoked or the engine closed.
    #[error(transparent)]
    Auth(#[from] AuthError),
    /// Too many password hashes are running (see
    /// [`Config::password_work`](crate::Config::password_work)); no account
    /// was created. Retry later.
    #[error("too many password checks are running; retry later")]
    Busy,
    #[error(transparent)]
    InvalidInput(#[from] InvalidInput),
    /// The password could not be hashed; no account was created.
    #[error("password hashing failed")]
    HashingFailed,
    /// The operating system's random source failed to give the new user
    /// an id; no account was created.
    #[error("the random generator failed")]
    RandomFailure,
    /// The account was created, but its first token could not be signed:
    /// log in to get one.
    #[error("the account was created but its token could not be signed")]
    SigningFailed,
    #[error(transparent)]
    Storage(#[from] StorageError),
}

/// A user's password change failed; nothing changed, except after
/// [`SigningFailed`](PasswordChangeError::SigningFailed).
#[derive(Debug, thiserror::Error)]
pub enum PasswordChangeError {
    /// The current password is wrong.
    #[error("invalid password")]
    InvalidCredentials,
    /// The session is expired or revoked, the app context was revoked or
    /// the engine closed.
    #[error(transparent)]
    Auth(#[from] AuthError),
    /// Too many password checks are running; retry later.
    #[error("too many password checks are running; retry later")]
    Busy,
    /// The new password is out of bounds (8..=128 characters).
    #[error(transparent)]
    InvalidInput(#[from] InvalidInput),
    /// The new password could not be hashed; nothing changed.
    #[error("password hashing failed")]
    HashingFailed,
    /// The password was changed (older tokens are revoked), but the new
    /// token could not be signed: log in with the new password.
    #[error("the password was changed but the new token could not be signed")]
    SigningFailed,
    #[error(transparent)]
    Storage(#[from] StorageError),
}

/// Authenticating `(app_id, api_key, origin)` failed.
#[derive(Debug, thiserror::Error)]
pub enum AppAuthError {
    /// Unknown app id or wrong key (deliberately indistinguishable).
    #[error("invalid app id or API key")]
    InvalidCredentials,
    #[error("the app is deactivated")]
    AppInactive,
    #[error("origin not allowed for this app")]
    OriginNotAllowed,
    #[error(transparent)]
    InvalidInput(#[from] InvalidInput),
    /// The engine was closed.
    #[error("the engine was closed")]
    EngineClosed,
}

/// An admin operation failed.
#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    #[error(transparent)]
    Auth(#[from] AuthError),
    #[error("app not found")]
    AppNotFound,
    #[error("an app with this id exists already")]
    AppAlreadyExists,
    #[error("seat {0} exists already")]
    SeatAlreadyExists(String),
    #[error("seat {0} not found")]
    SeatNotFound(String),
    #[error("seat {0} is held or booked")]
    SeatInUse(String),
    #[error("booking not found")]
    BookingNotFound,
    #[error("booking cannot be cancelled in its current state")]
    BookingNotCancellable,
    #[error("the engine's seat capacity is exhausted")]
    CapacityExceeded,
    /// Settling a refund: the record is not REFUND_DUE (not a refund
    /// record, or settled already).
    #[error("the booking record is not refund due")]
    RefundNotDue,
    #[error("entity {0} not found")]
    EntityNotFound(String),
    #[error("entity {0} exists already")]
    EntityAlreadyExists(String),
    /// The entity is closed: it takes no new seats, and its sale window
    /// can no longer change (closing is for good).
    #[error("entity {0} is closed")]
    EntityClosed(String),
    /// The entity is archived: it takes no new seats and no changes.
    #[error("entity {0} is archived")]
    EntityArchived(String),
    /// Archiving an entity that is still on sale: close it first.
    #[error("entity {0} is not closed")]
    EntityNotClosed(String),
    /// Archiving: a confirm is committing on one of the entity's seats.
    /// Nothing was archived; retry once it ended.
    #[error("entity {0} has a confirm in flight")]
    EntityBusy(String),
    #[error(transparent)]
    InvalidInput(#[from] InvalidInput),
    #[error("the operating system's random generator failed")]
    RandomFailure,
    #[error(transparent)]
    Storage(#[from] StorageError),
}

/// Why a seat blocked a reservation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SeatBlock {
    NotFound,
    Booked,
    Held,
}

/// A reserve failed; nothing was held and nothing was written.
#[derive(Debug, thiserror::Error)]
pub enum ReserveError {
    #[error(transparent)]
    Auth(#[from] AuthError),
    #[error("seat {0} not found")]
    SeatNotFound(String),
    #[error("seat {0} is already booked")]
    SeatBooked(String),
    #[error("seat {0} is held by someone else")]
    SeatHeld(String),
    /// The user already has `limit` live reservations in this app
    /// (`holds.max_active_per_user`); release one, confirm one or let one
    /// expire first.
    #[error("too many active reservations (at most {limit} per user)")]
    TooManyReservations { limit: usize },
    /// With these seats the user would hold more than `limit` seats of
    /// `entity_id` at once (`holds.max_held_seats_per_entity`).
    #[error("too many seats held in entity {entity_id} (at most {limit} per user)")]
    TooManySeatsHeld { entity_id: String, limit: usize },
    /// The sale of `entity_id` opens at `opens_at`; it is earlier now.
    #[error("the sale of entity {entity_id} has not opened yet")]
    SaleNotOpen {
        entity_id: String,
        opens_at: UnixMillis,
    },
    /// The sale of `entity_id` is over: its window ended, or the entity
    /// was closed.
    #[error("the sale of entity {entity_id} is closed")]
    SaleClosed { entity_id: String },
    #[error(transparent)]
    InvalidInput(#[from] InvalidInput),
    #[error("the operating system's random generator failed")]
    RandomFailure,
    #[error(transparent)]
    Storage(#[from] StorageError),
}

impl ReserveError {
    /// The seat that blocked the reservation, and why (for contention errors).
    #[must_use]
    pub fn blocking_seat(&self) -> Option<(&str, SeatBlock)> {
        match self {
            Self::SeatNotFound(s) => Some((s, SeatBlock::NotFound)),
            Self::SeatBooked(s) => Some((s, SeatBlock::Booked)),
            Self::SeatHeld(s) => Some((s, SeatBlock::Held)),
            _ => None,
        }
    }
}

/// Extend or release of a hold failed.
#[derive(Debug, thiserror::Error)]
pub enum HoldError {
    #[error(transparent)]
    Auth(#[from] AuthError),
    /// No such reservation for this user in this app (also for a token that
    /// belongs to someone else: existence is not revealed).
    #[error("reservation not found")]
    ReservationNotFound,
    #[error("reservation is no longer active")]
    ReservationNotActive,
    #[error("the hold has expired")]
    HoldExpired,
    #[error("extending would pass the maximum total hold time")]
    HoldLimitExceeded,
    #[error("a confirm of this reservation is in progress")]
    ConfirmInProgress,
    /// Extend only: the hold's entity `entity_id` does not sell now (closed,
    /// or outside its sale window), so its holds run to their end.
    #[error("the sale of entity {entity_id} is closed")]
    SaleClosed { entity_id: String },
    #[error(transparent)]
    InvalidInput(#[from] InvalidInput),
    #[error(transparent)]
    Storage(#[from] StorageError),
}

/// A confirm failed. [`PaymentDeclined`](ConfirmError::PaymentDeclined)
/// (seats released, reservation RELEASED, attempt recorded) and
/// [`RefundDue`](ConfirmError::RefundDue) (seats released, reservation
/// RELEASED unless it ended before, REFUND_DUE record) change state. A
/// confirm that got as far as asking the verifier leaves its payment id
/// bound to the reservation, whatever it returns; the other errors
/// change nothing else.
#[derive(Debug, thiserror::Error)]
pub enum ConfirmError {
    #[error(transparent)]
    Auth(#[from] AuthError),
    #[error("reservation not found")]
    ReservationNotFound,
    #[error("reservation is no longer active")]
    ReservationNotActive,
    #[error("the hold has expired")]
    HoldExpired,
    #[error("a confirm of this reservation is in progress")]
    ConfirmInProgress,
    #[error("amount {got} does not match the total price {expected}")]
    AmountMismatch { expected: u64, got: u64 },
    /// The verifier declined; the seats were released. `booking_id` names the
    /// recorded FAILED attempt. A retry with the same payment id gets this
    /// again (reason `declined earlier`).
    #[error("payment declined: {reason}")]
    PaymentDeclined { reason: String, booking_id: String },
    /// The reservation is bound to another payment id (confirmed with it,
    /// declined, or a confirm with it is pending).
    #[error("reservation already confirmed with another payment id")]
    PaymentConflict,
    /// The payment id was already presented for another reservation of
    /// this app (docs/design.md, invariant 8). Checked before the verifier
    /// is asked; nothing changed.
    #[error("payment id was already used for another reservation")]
    PaymentAlreadyUsed,
    /// The verifier approved the payment but the seats could not be booked
    /// (the hold was lost, the confirm deadline passed, storage failed):
    /// the approval is recorded durably as the REFUND_DUE booking record
    /// `booking_id`, the reservation is no longer active, and **the payment
    /// must be refunded**. A retry with the same payment id gets this again.
    #[error("payment approved but the seats could not be booked: refund due ({booking_id})")]
    RefundDue { booking_id: String },
    /// The verifier approved the payment, the seats could not be booked
    /// and even the refund-due record could not be written (storage
    /// failed): **the payment must be refunded** unless the booking shows
    /// up. The payment binding was durable before the verifier was asked,
    /// so reopening the engine settles it: the reservation is CONFIRMED
    /// with booking `booking_id` (if the booking's commit reached the
    /// journal after all), or `booking_id` is a REFUND_DUE record.
    #[error(
        "payment approved but neither booked nor recorded: refund due ({booking_id}); reopen the engine"
    )]
    RefundDueUnrecorded { booking_id: String },
    #[error(transparent)]
    InvalidInput(#[from] InvalidInput),
    #[error("the operating system's random generator failed")]
    RandomFailure,
    #[error(transparent)]
    Storage(#[from] StorageError),
}

/// A read-only query failed.
#[derive(Debug, thiserror::Error)]
pub enum QueryError {
    #[error(transparent)]
    Auth(#[from] AuthError),
    #[error("reservation not found")]
    ReservationNotFound,
    #[error("booking not found")]
    BookingNotFound,
    /// No entity with that id in this app.
    #[error("entity {0} not found")]
    EntityNotFound(String),
    #[error(transparent)]
    InvalidInput(#[from] InvalidInput),
    #[error(transparent)]
    Storage(#[from] StorageError),
}

/// Cancelling a booking failed.
#[derive(Debug, thiserror::Error)]
pub enum CancelError {
    #[error(transparent)]
    Auth(#[from] AuthError),
    #[error("booking not found")]
    BookingNotFound,
    #[error("booking cannot be cancelled in its current state")]
    BookingNotCancellable,
    /// The booking's entity (named) was archived: its seats are gone, and
    /// its bookings stay as they are.
    #[error("the booking's entity {0} is archived")]
    EntityArchived(String),
    #[error(transparent)]
    InvalidInput(#[from] InvalidInput),
    #[error(transparent)]
    Storage(#[from] StorageError),
}

impl From<CancelError> for AdminError {
    fn from(e: CancelError) -> Self {
        match e {
            CancelError::Auth(a) => Self::Auth(a),
            CancelError::BookingNotFound => Self::BookingNotFound,
            CancelError::BookingNotCancellable => Self::BookingNotCancellable,
            CancelError::EntityArchived(entity) => Self::EntityArchived(entity),
            CancelError::InvalidInput(i) => Self::InvalidInput(i),
            CancelError::Storage(s) => Self::Storage(s),
        }
    }
}

impl From<OriginError> for InvalidInput {
    fn from(_: OriginError) -> Self {
        InvalidInput::new(
            "origin",
            "must be scheme://host[:port] with scheme http or https",
        )
    }
}

/// Any seatbook error: what every operation error converts into.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Open(#[from] OpenError),
    #[error(transparent)]
    Login(#[from] LoginError),
    #[error(transparent)]
    Signup(#[from] SignupError),
    #[error(transparent)]
    PasswordChange(#[from] PasswordChangeError),
    #[error(transparent)]
    AppAuth(#[from] AppAuthError),
    #[error(transparent)]
    Auth(#[from] AuthError),
    #[error(transparent)]
    Admin(#[from] AdminError),
    #[error(transparent)]
    Reserve(#[from] ReserveError),
    #[error(transparent)]
    Hold(#[from] HoldError),
    #[error(transparent)]
    Confirm(#[from] ConfirmError),
    #[error(transparent)]
    Query(#[from] QueryError),
    #[error(transparent)]
    Cancel(#[from] CancelError),
    #[error(transparent)]
    Backup(#[from] BackupError),
    #[error(transparent)]
    Check(#[from] CheckError),
    #[error(transparent)]
    Storage(#[from] StorageError),
    #[error(transparent)]
    InvalidInput(#[from] InvalidInput),
}

/// Maps an error onto its one [`ErrorCode`].
pub trait HasErrorCode {
    /// The status code of this error.
    fn code(&self) -> ErrorCode;
}

impl HasErrorCode for AuthError {
    fn code(&self) -> ErrorCode {
        match self {
            Self::InvalidToken => ErrorCode::InvalidToken,
            Self::TokenExpired => ErrorCode::TokenExpired,
            Self::AppContextRevoked => ErrorCode::AppContextRevoked,
            Self::EngineClosed => ErrorCode::EngineClosed,
        }
    }
}

impl HasErrorCode for OpenError {
    fn code(&self) -> ErrorCode {
        match self {
            Self::InvalidConfig(_) | Self::WeakSecret(_) | Self::NoPaymentVerifier => {
                ErrorCode::InvalidConfig
            }
            Self::DatabaseAlreadyOpen => ErrorCode::DatabaseAlreadyOpen,
            Self::JournalMismatch(_) => ErrorCode::JournalMismatch,
            Self::JournalMissing => ErrorCode::JournalMissing,
            Self::JournalCorrupted { .. } => ErrorCode::JournalCorrupted,
            Self::UnsupportedFormat { .. } => ErrorCode::UnsupportedFormat,
            Self::Storage(e) => e.code(),
        }
    }
}

impl HasErrorCode for LoginError {
    fn code(&self) -> ErrorCode {
        match self {
            Self::Auth(a) => a.code(),
            Self::InvalidCredentials => ErrorCode::InvalidCredentials,
            Self::Busy => ErrorCode::PasswordWorkBusy,
            Self::InvalidInput(_) => ErrorCode::InvalidInput,
            Self::SigningFailed => ErrorCode::SigningFailed,
            Self::Storage(e) => e.code(),
        }
    }
}

impl HasErrorCode for PasswordChangeError {
    fn code(&self) -> ErrorCode {
        match self {
            Self::Auth(a) => a.code(),
            Self::InvalidCredentials => ErrorCode::InvalidCredentials,
            Self::Busy => ErrorCode::PasswordWorkBusy,
            Self::InvalidInput(_) => ErrorCode::InvalidInput,
            Self::HashingFailed => ErrorCode::HashingFailed,
            Self::SigningFailed => ErrorCode::SigningFailed,
            Self::Storage(e) => e.code(),
        }
    }
}

impl HasErrorCode for SignupError {
    fn code(&self) -> ErrorCode {
        match self {
            Self::Auth(a) => a.code(),
            Self::EmailTaken => ErrorCode::EmailTaken,
            Self::Busy => ErrorCode::PasswordWorkBusy,
            Self::InvalidInput(_) => ErrorCode::InvalidInput,
            Self::HashingFailed => ErrorCode::HashingFailed,
            Self::RandomFailure => ErrorCode::RandomFailure,
            Self::SigningFailed => ErrorCode::SigningFailed,
            Self::Storage(e) => e.code(),
        }
    }
}

impl HasErrorCode for AppAuthError {
    fn code(&self) -> ErrorCode {
        match self {
            Self::InvalidCredentials => ErrorCode::InvalidCredentials,
            Self::AppInactive => ErrorCode::AppInactive,
            Self::OriginNotAllowed => ErrorCode::OriginNotAllowed,
            Self::InvalidInput(_) => ErrorCode::InvalidInput,
            Self::EngineClosed => ErrorCode::EngineClosed,
        }
    }
}

impl HasErrorCode for AdminError {
    fn code(&self) -> ErrorCode {
        match self {
            Self::Auth(a) => a.code(),
            Self::AppNotFound => ErrorCode::AppNotFound,
            Self::AppAlreadyExists => ErrorCode::AppAlreadyExists,
            Self::SeatAlreadyExists(_) => ErrorCode::SeatAlreadyExists,
            Self::SeatNotFound(_) => ErrorCode::SeatNotFound,
            Self::SeatInUse(_) => ErrorCode::SeatInUse,
            Self::BookingNotFound => ErrorCode::BookingNotFound,
            Self::BookingNotCancellable => ErrorCode::BookingNotCancellable,
            Self::CapacityExceeded => ErrorCode::CapacityExceeded,
            Self::RefundNotDue => ErrorCode::RefundNotDue,
            Self::EntityNotFound(_) => ErrorCode::EntityNotFound,
            Self::EntityAlreadyExists(_) => ErrorCode::EntityAlreadyExists,
            Self::EntityClosed(_) => ErrorCode::EntityClosed,
            Self::EntityArchived(_) => ErrorCode::EntityArchived,
            Self::EntityNotClosed(_) => ErrorCode::EntityNotClosed,
            Self::EntityBusy(_) => ErrorCode::EntityBusy,
            Self::InvalidInput(_) => ErrorCode::InvalidInput,
            Self::RandomFailure => ErrorCode::RandomFailure,
            Self::Storage(e) => e.code(),
        }
    }
}

impl HasErrorCode for ReserveError {
    fn code(&self) -> ErrorCode {
        match self {
            Self::Auth(a) => a.code(),
            Self::SeatNotFound(_) => ErrorCode::SeatNotFound,
            Self::SeatBooked(_) => ErrorCode::SeatBooked,
            Self::SeatHeld(_) => ErrorCode::SeatHeld,
            Self::TooManyReservations { .. } => ErrorCode::TooManyReservations,
            Self::TooManySeatsHeld { .. } => ErrorCode::TooManySeatsHeld,
            Self::SaleNotOpen { .. } => ErrorCode::SaleNotOpen,
            Self::SaleClosed { .. } => ErrorCode::SaleClosed,
            Self::InvalidInput(_) => ErrorCode::InvalidInput,
            Self::RandomFailure => ErrorCode::RandomFailure,
            Self::Storage(e) => e.code(),
        }
    }
}

impl HasErrorCode for HoldError {
    fn code(&self) -> ErrorCode {
        match self {
            Self::Auth(a) => a.code(),
            Self::ReservationNotFound => ErrorCode::ReservationNotFound,
            Self::ReservationNotActive => ErrorCode::ReservationNotActive,
            Self::HoldExpired => ErrorCode::HoldExpired,
            Self::HoldLimitExceeded => ErrorCode::HoldLimitExceeded,
            Self::ConfirmInProgress => ErrorCode::ConfirmInProgress,
            Self::SaleClosed { .. } => ErrorCode::SaleClosed,
            Self::InvalidInput(_) => ErrorCode::InvalidInput,
            Self::Storage(e) => e.code(),
        }
    }
}

impl HasErrorCode for ConfirmError {
    fn code(&self) -> ErrorCode {
        match self {
            Self::Auth(a) => a.code(),
            Self::ReservationNotFound => ErrorCode::ReservationNotFound,
            Self::ReservationNotActive => ErrorCode::ReservationNotActive,
            Self::HoldExpired => ErrorCode::HoldExpired,
            Self::ConfirmInProgress => ErrorCode::ConfirmInProgress,
            Self::AmountMismatch { .. } => ErrorCode::AmountMismatch,
            Self::PaymentDeclined { .. } => ErrorCode::PaymentDeclined,
            Self::PaymentConflict => ErrorCode::PaymentConflict,
            Self::PaymentAlreadyUsed => ErrorCode::PaymentAlreadyUsed,
            Self::RefundDue { .. } => ErrorCode::RefundDue,
            Self::RefundDueUnrecorded { .. } => ErrorCode::RefundDueUnrecorded,
            Self::InvalidInput(_) => ErrorCode::InvalidInput,
            Self::RandomFailure => ErrorCode::RandomFailure,
            Self::Storage(e) => e.code(),
        }
    }
}

impl HasErrorCode for QueryError {
    fn code(&self) -> ErrorCode {
        match self {
            Self::Auth(a) => a.code(),
            Self::ReservationNotFound => ErrorCode::ReservationNotFound,
            Self::BookingNotFound => ErrorCode::BookingNotFound,
            Self::EntityNotFound(_) => ErrorCode::EntityNotFound,
            Self::InvalidInput(_) => ErrorCode::InvalidInput,
            Self::Storage(e) => e.code(),
        }
    }
}

impl HasErrorCode for CancelError {
    fn code(&self) -> ErrorCode {
        match self {
            Self::Auth(a) => a.code(),
            Self::BookingNotFound => ErrorCode::BookingNotFound,
            Self::BookingNotCancellable => ErrorCode::BookingNotCancellable,
            Self::EntityArchived(_) => ErrorCode::EntityArchived,
            Self::InvalidInput(_) => ErrorCode::InvalidInput,
            Self::Storage(e) => e.code(),
        }
    }
}

impl HasErrorCode for BackupError {
    fn code(&self) -> ErrorCode {
        match self {
            Self::TargetExists => ErrorCode::BackupTargetExists,
            Self::Storage(e) => e.code(),
        }
    }
}

impl HasErrorCode for CheckError {
    fn code(&self) -> ErrorCode {
        match self {
            Self::DatabaseNotFound => ErrorCode::DatabaseNotFound,
            Self::DatabaseOpen => ErrorCode::DatabaseAlreadyOpen,
            Self::Storage(e) => e.code(),
        }
    }
}

impl HasErrorCode for StorageError {
    fn code(&self) -> ErrorCode {
        match self.kind {
            StorageErrorKind::Poisoned => ErrorCode::StoragePoisoned,
            StorageErrorKind::Closed => ErrorCode::EngineClosed,
            StorageErrorKind::Corruption => ErrorCode::StorageCorrupted,
            StorageErrorKind::Io | StorageErrorKind::Busy | StorageErrorKind::Other => {
                ErrorCode::Storage
            }
        }
    }
}

impl HasErrorCode for InvalidInput {
    fn code(&self) -> ErrorCode {
        ErrorCode::InvalidInput
    }
}

impl HasErrorCode for Error {
    fn code(&self) -> ErrorCode {
        match self {
            Self::Open(e) => e.code(),
            Self::Login(e) => e.code(),
            Self::Signup(e) => e.code(),
            Self::PasswordChange(e) => e.code(),
            Self::AppAuth(e) => e.code(),
            Self::Auth(e) => e.code(),
            Self::Admin(e) => e.code(),
            Self::Reserve(e) => e.code(),
            Self::Hold(e) => e.code(),
            Self::Confirm(e) => e.code(),
            Self::Query(e) => e.code(),
            Self::Cancel(e) => e.code(),
            Self::Backup(e) => e.code(),
            Self::Check(e) => e.code(),
            Self::Storage(e) => e.code(),
            Self::InvalidInput(e) => e.code(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The poisoned state has its own code, whichever way it arises: the
    /// engine's own refusal or redb's after a failed sync of its own.
    #[test]
    fn the_poisoned_state_is_typed_and_has_its_own_code() {
        let own = StorageError::poisoned();
        assert!(own.is_poisoned());
        assert_eq!(own.code(), ErrorCode::StoragePoisoned);
        let redb: StorageError = redb::StorageError::PreviousIo.into();
        assert!(redb.is_poisoned());
        assert_eq!(
            ConfirmError::Storage(redb).code(),
            ErrorCode::StoragePoisoned
        );
        let other = StorageError::io("journal: Input/output error");
        assert!(!other.is_poisoned());
        assert_eq!(ReserveError::Storage(other).code(), ErrorCode::Storage);
    }

    /// Hashing, random-source and signing failures have their own
    /// variants and codes, never a storage error's (issue 16, point 4).
    #[test]
    fn hashing_random_and_signing_failures_have_their_own_codes() {
        assert_eq!(SignupError::HashingFailed.code(), ErrorCode::HashingFailed);
        assert_eq!(SignupError::RandomFailure.code(), ErrorCode::RandomFailure);
        assert_eq!(SignupError::SigningFailed.code(), ErrorCode::SigningFailed);
        assert_eq!(LoginError::SigningFailed.code(), ErrorCode::SigningFailed);
        assert_eq!(
            PasswordChangeError::HashingFailed.code(),
            ErrorCode::HashingFailed
        );
        assert_eq!(
            PasswordChangeError::SigningFailed.code(),
            ErrorCode::SigningFailed
        );
        assert_eq!(ErrorCode::HashingFailed as u32, 65);
        assert_eq!(ErrorCode::SigningFailed as u32, 66);
        for text in [
            SignupError::HashingFailed.to_string(),
            SignupError::RandomFailure.to_string(),
            SignupError::SigningFailed.to_string(),
        ] {
            assert!(!text.to_lowercase().contains("storage"), "{text}");
        }
    }

    /// redb's failures keep what they are: I/O, corruption, busy, closed,
    /// poisoned; everything else is `Other`. Poisoned, closed and
    /// corruption have codes of their own.
    #[test]
    fn redb_failures_map_to_their_kinds() {
        let cases: [(StorageError, StorageErrorKind, ErrorCode); 6] = [
            (
                redb::StorageError::Io(std::io::Error::other("EIO")).into(),
                StorageErrorKind::Io,
                ErrorCode::Storage,
            ),
            (
                redb::StorageError::Corrupted("bad page".into()).into(),
                StorageErrorKind::Corruption,
                ErrorCode::StorageCorrupted,
            ),
            (
                redb::DatabaseError::DatabaseAlreadyOpen.into(),
                StorageErrorKind::Busy,
                ErrorCode::Storage,
            ),
            (
                redb::StorageError::PreviousIo.into(),
                StorageErrorKind::Poisoned,
                ErrorCode::StoragePoisoned,
            ),
            (
                redb::StorageError::DatabaseClosed.into(),
                StorageErrorKind::Closed,
                ErrorCode::EngineClosed,
            ),
            (
                redb::StorageError::ValueTooLarge(1 << 40).into(),
                StorageErrorKind::Other,
                ErrorCode::Storage,
            ),
        ];
        for (error, kind, code) in cases {
            assert_eq!((error.kind(), error.code()), (kind, code), "{error}");
        }
        assert_eq!(StorageError::closed().kind(), StorageErrorKind::Closed);
        assert!(StorageError::closed().is_closed());
        let copy = StorageError::poisoned().duplicate();
        assert!(copy.is_poisoned());
        assert_eq!(copy.to_string(), StorageError::poisoned().to_string());
    }
}
