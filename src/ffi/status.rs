//! The status code every C function returns: a one-to-one mirror of
//! [`ErrorCode`], same names (prefixed `SEATBOOK_`), same values.
//!
//! Owns [`seatbook_status`] and its conversions. The matches below are
//! exhaustive on purpose (this module is inside the crate, so
//! `#[non_exhaustive]` does not apply): a new `ErrorCode` variant does not
//! compile until it has its C twin here.

use std::ffi::c_char;

use crate::ErrorCode;

/// The result of every seatbook call. `SEATBOOK_OK` (0) is success; every
/// other value is a failure whose text `seatbook_last_error_message()`
/// returns. The values are those of the Rust `ErrorCode` and never change.
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum seatbook_status {
    /// Success.
    SEATBOOK_OK = 0,
    /// An argument failed validation (id syntax, length, range, a string over 64 KiB).
    SEATBOOK_INVALID_INPUT = 1,
    /// The configuration was refused at open (weak secret, bad hash, bounds).
    SEATBOOK_INVALID_CONFIG = 2,
    /// Another engine (in this or another process) has the database open.
    SEATBOOK_DATABASE_ALREADY_OPEN = 3,
    /// The storage layer failed (I/O, corruption). Nothing was acknowledged.
    SEATBOOK_STORAGE = 4,
    /// Wrong email/password, or wrong app id/API key.
    SEATBOOK_INVALID_CREDENTIALS = 5,
    /// A token is malformed, forged, of the wrong kind or for another app.
    SEATBOOK_INVALID_TOKEN = 6,
    /// A token has expired.
    SEATBOOK_TOKEN_EXPIRED = 7,
    /// The app is deactivated.
    SEATBOOK_APP_INACTIVE = 8,
    /// The request's origin is not among the app's allowed origins.
    SEATBOOK_ORIGIN_NOT_ALLOWED = 9,
    /// No app with that id.
    SEATBOOK_APP_NOT_FOUND = 10,
    /// An app with that id exists already.
    SEATBOOK_APP_ALREADY_EXISTS = 11,
    /// A user with that email exists already.
    SEATBOOK_EMAIL_TAKEN = 12,
    /// No seat with that id in this app (`seatbook_last_error_seat()` names it).
    SEATBOOK_SEAT_NOT_FOUND = 13,
    /// A seat with that id exists already in this app.
    SEATBOOK_SEAT_ALREADY_EXISTS = 14,
    /// The seat is booked (`seatbook_last_error_seat()` names it).
    SEATBOOK_SEAT_BOOKED = 15,
    /// The seat is held by another reservation (`seatbook_last_error_seat()` names it).
    SEATBOOK_SEAT_HELD = 16,
    /// No reservation for that token in this app for this user.
    SEATBOOK_RESERVATION_NOT_FOUND = 17,
    /// The reservation is no longer active (confirmed, expired, released).
    SEATBOOK_RESERVATION_NOT_ACTIVE = 18,
    /// The hold expired (or was taken over) before the operation.
    SEATBOOK_HOLD_EXPIRED = 19,
    /// Extending would pass the maximum total hold time.
    SEATBOOK_HOLD_LIMIT_EXCEEDED = 20,
    /// A confirm of the same reservation is committing right now.
    SEATBOOK_CONFIRM_IN_PROGRESS = 21,
    /// The amount differs from the seats' total price.
    SEATBOOK_AMOUNT_MISMATCH = 22,
    /// The payment verifier declined the payment (seats released).
    SEATBOOK_PAYMENT_DECLINED = 23,
    /// The reservation was confirmed with another payment id.
    SEATBOOK_PAYMENT_CONFLICT = 24,
    /// No booking with that id in this app.
    SEATBOOK_BOOKING_NOT_FOUND = 25,
    /// The booking is not in a state that allows cancelling.
    SEATBOOK_BOOKING_NOT_CANCELLABLE = 26,
    /// The seat is held or booked, so it cannot be removed.
    SEATBOOK_SEAT_IN_USE = 27,
    /// The engine's seat capacity is exhausted.
    SEATBOOK_CAPACITY_EXCEEDED = 28,
    /// The operating system's random generator failed.
    SEATBOOK_RANDOM_FAILURE = 29,
    /// The payment id was already presented for another reservation of
    /// this app; the verifier was not asked.
    SEATBOOK_PAYMENT_ALREADY_USED = 30,
    /// The payment was approved but the seats could not be booked: it is
    /// recorded as a REFUND_DUE booking record and must be refunded.
    SEATBOOK_REFUND_DUE = 31,
    /// The payment was approved but neither booked nor recorded (storage
    /// failed): it must be refunded; reopening the engine records it.
    SEATBOOK_REFUND_DUE_UNRECORDED = 32,
    /// The booking record is not REFUND_DUE (not a refund, or settled already).
    SEATBOOK_REFUND_NOT_DUE = 33,
    /// The user already has the most live reservations allowed
    /// (`max_active_per_user`); nothing was held.
    SEATBOOK_TOO_MANY_RESERVATIONS = 38,
    /// The user would hold more seats of one entity than allowed
    /// (`max_held_seats_per_entity`); nothing was held.
    SEATBOOK_TOO_MANY_SEATS_HELD = 39,
    /// The app handle was revoked after it was made (API key rotated, app
    /// deactivated or its origin removed): authenticate the app again
    /// with `seatbook_engine_app()`, which names the reason. The user's
    /// token is not at fault.
    SEATBOOK_APP_CONTEXT_REVOKED = 41,
    /// Too many password hashes/verifies are running and this one waited
    /// `seatbook_config.password_work_max_wait_ms` without a turn. Nothing
    /// changed; retry later.
    SEATBOOK_PASSWORD_WORK_BUSY = 42,
    /// The journal beside the database does not continue it (another
    /// database's, older, newer, or its database is missing); nothing was
    /// replayed or changed. See `seatbook_config.discard_unmatched_journal`.
    SEATBOOK_JOURNAL_MISMATCH = 47,
    /// The database's journal is missing; nothing was opened or changed.
    SEATBOOK_JOURNAL_MISSING = 48,
    /// The journal has a damaged group followed by intact ones (corruption,
    /// not a torn last write); nothing was replayed or changed.
    SEATBOOK_JOURNAL_CORRUPTED = 49,
    /// The database was created by an earlier, unsupported file format.
    SEATBOOK_UNSUPPORTED_FORMAT = 50,
    /// An earlier commit failed (e.g. a failed sync): the engine refuses
    /// every write until it is closed and reopened, which recovers every
    /// acknowledged write. Nothing was done.
    SEATBOOK_STORAGE_POISONED = 53,
    /// A backup's target path (or its `-journal`) exists already; nothing
    /// was written.
    SEATBOOK_BACKUP_TARGET_EXISTS = 56,
    /// No database file at the path given to `seatbook_check()`.
    SEATBOOK_DATABASE_NOT_FOUND = 57,
    /// Stored data is not what it must be (a record that does not decode,
    /// a file that is not this engine's). Retrying will not help: run
    /// `seatbook_check()` or restore a backup.
    SEATBOOK_STORAGE_CORRUPTED = 60,
    /// Hashing a password failed (the salt's random source failed);
    /// nothing changed. Retry later.
    SEATBOOK_HASHING_FAILED = 65,
    /// A token could not be signed; the operation's own change is made
    /// (a signup's account exists, a password change is done): log in
    /// for a new token.
    SEATBOOK_SIGNING_FAILED = 66,
    /// The entity's sale window has not opened yet; nothing was held.
    SEATBOOK_SALE_NOT_OPEN = 67,
    /// The entity's sales ended (window over, or entity closed); nothing was held.
    SEATBOOK_SALE_CLOSED = 68,
    /// No entity with that id in this app.
    SEATBOOK_ENTITY_NOT_FOUND = 69,
    /// An entity with that id exists already in this app.
    SEATBOOK_ENTITY_ALREADY_EXISTS = 70,
    /// The entity is closed: no new seats, no change to its sale.
    SEATBOOK_ENTITY_CLOSED = 71,
    /// The entity is archived: no seats, no changes; its bookings can no
    /// longer be cancelled.
    SEATBOOK_ENTITY_ARCHIVED = 72,
    /// Archiving an entity that is still on sale: close it first.
    SEATBOOK_ENTITY_NOT_CLOSED = 73,
    /// Archiving: a confirm is committing on one of the entity's seats;
    /// nothing archived, retry.
    SEATBOOK_ENTITY_BUSY = 74,
    /// A required pointer argument was NULL.
    SEATBOOK_NULL_PARAMETER = 100,
    /// A string argument was not valid UTF-8.
    SEATBOOK_INVALID_UTF8 = 101,
    /// A panic was caught at the C boundary (a bug; please report it).
    SEATBOOK_PANIC = 102,
    /// The handle was used after its engine was closed.
    SEATBOOK_ENGINE_CLOSED = 103,
    /// A handle of another kind was passed (e.g. an admin handle where an
    /// app handle is expected); nothing was done.
    SEATBOOK_INVALID_HANDLE = 104,
}

use seatbook_status::{
    SEATBOOK_AMOUNT_MISMATCH, SEATBOOK_APP_ALREADY_EXISTS, SEATBOOK_APP_CONTEXT_REVOKED,
    SEATBOOK_APP_INACTIVE, SEATBOOK_APP_NOT_FOUND, SEATBOOK_BACKUP_TARGET_EXISTS,
    SEATBOOK_BOOKING_NOT_CANCELLABLE, SEATBOOK_BOOKING_NOT_FOUND, SEATBOOK_CAPACITY_EXCEEDED,
    SEATBOOK_CONFIRM_IN_PROGRESS, SEATBOOK_DATABASE_ALREADY_OPEN, SEATBOOK_DATABASE_NOT_FOUND,
    SEATBOOK_EMAIL_TAKEN, SEATBOOK_ENGINE_CLOSED, SEATBOOK_ENTITY_ALREADY_EXISTS,
    SEATBOOK_ENTITY_ARCHIVED, SEATBOOK_ENTITY_BUSY, SEATBOOK_ENTITY_CLOSED,
    SEATBOOK_ENTITY_NOT_CLOSED, SEATBOOK_ENTITY_NOT_FOUND, SEATBOOK_HASHING_FAILED,
    SEATBOOK_HOLD_EXPIRED, SEATBOOK_HOLD_LIMIT_EXCEEDED, SEATBOOK_INVALID_CONFIG,
    SEATBOOK_INVALID_CREDENTIALS, SEATBOOK_INVALID_HANDLE, SEATBOOK_INVALID_INPUT,
    SEATBOOK_INVALID_TOKEN, SEATBOOK_INVALID_UTF8, SEATBOOK_JOURNAL_CORRUPTED,
    SEATBOOK_JOURNAL_MISMATCH, SEATBOOK_JOURNAL_MISSING, SEATBOOK_NULL_PARAMETER, SEATBOOK_OK,
    SEATBOOK_ORIGIN_NOT_ALLOWED, SEATBOOK_PANIC, SEATBOOK_PASSWORD_WORK_BUSY,
    SEATBOOK_PAYMENT_ALREADY_USED, SEATBOOK_PAYMENT_CONFLICT, SEATBOOK_PAYMENT_DECLINED,
    SEATBOOK_RANDOM_FAILURE, SEATBOOK_REFUND_DUE, SEATBOOK_REFUND_DUE_UNRECORDED,
    SEATBOOK_REFUND_NOT_DUE, SEATBOOK_RESERVATION_NOT_ACTIVE, SEATBOOK_RESERVATION_NOT_FOUND,
    SEATBOOK_SALE_CLOSED, SEATBOOK_SALE_NOT_OPEN, SEATBOOK_SEAT_ALREADY_EXISTS,
    SEATBOOK_SEAT_BOOKED, SEATBOOK_SEAT_HELD, SEATBOOK_SEAT_IN_USE, SEATBOOK_SEAT_NOT_FOUND,
    SEATBOOK_SIGNING_FAILED, SEATBOOK_STORAGE, SEATBOOK_STORAGE_CORRUPTED,
    SEATBOOK_STORAGE_POISONED, SEATBOOK_TOKEN_EXPIRED, SEATBOOK_TOO_MANY_RESERVATIONS,
    SEATBOOK_TOO_MANY_SEATS_HELD, SEATBOOK_UNSUPPORTED_FORMAT,
};

impl seatbook_status {
    /// Every status, in value order.
    pub const ALL: [Self; 61] = [
        SEATBOOK_OK,
        SEATBOOK_INVALID_INPUT,
        SEATBOOK_INVALID_CONFIG,
        SEATBOOK_DATABASE_ALREADY_OPEN,
        SEATBOOK_STORAGE,
        SEATBOOK_INVALID_CREDENTIALS,
        SEATBOOK_INVALID_TOKEN,
        SEATBOOK_TOKEN_EXPIRED,
        SEATBOOK_APP_INACTIVE,
        SEATBOOK_ORIGIN_NOT_ALLOWED,
        SEATBOOK_APP_NOT_FOUND,
        SEATBOOK_APP_ALREADY_EXISTS,
        SEATBOOK_EMAIL_TAKEN,
        SEATBOOK_SEAT_NOT_FOUND,
        SEATBOOK_SEAT_ALREADY_EXISTS,
        SEATBOOK_SEAT_BOOKED,
        SEATBOOK_SEAT_HELD,
        SEATBOOK_RESERVATION_NOT_FOUND,
        SEATBOOK_RESERVATION_NOT_ACTIVE,
        SEATBOOK_HOLD_EXPIRED,
        SEATBOOK_HOLD_LIMIT_EXCEEDED,
        SEATBOOK_CONFIRM_IN_PROGRESS,
        SEATBOOK_AMOUNT_MISMATCH,
        SEATBOOK_PAYMENT_DECLINED,
        SEATBOOK_PAYMENT_CONFLICT,
        SEATBOOK_BOOKING_NOT_FOUND,
        SEATBOOK_BOOKING_NOT_CANCELLABLE,
        SEATBOOK_SEAT_IN_USE,
        SEATBOOK_CAPACITY_EXCEEDED,
        SEATBOOK_RANDOM_FAILURE,
        SEATBOOK_PAYMENT_ALREADY_USED,
        SEATBOOK_REFUND_DUE,
        SEATBOOK_REFUND_DUE_UNRECORDED,
        SEATBOOK_REFUND_NOT_DUE,
        SEATBOOK_TOO_MANY_RESERVATIONS,
        SEATBOOK_TOO_MANY_SEATS_HELD,
        SEATBOOK_APP_CONTEXT_REVOKED,
        SEATBOOK_PASSWORD_WORK_BUSY,
        SEATBOOK_JOURNAL_MISMATCH,
        SEATBOOK_JOURNAL_MISSING,
        SEATBOOK_JOURNAL_CORRUPTED,
        SEATBOOK_UNSUPPORTED_FORMAT,
        SEATBOOK_STORAGE_POISONED,
        SEATBOOK_BACKUP_TARGET_EXISTS,
        SEATBOOK_DATABASE_NOT_FOUND,
        SEATBOOK_STORAGE_CORRUPTED,
        SEATBOOK_HASHING_FAILED,
        SEATBOOK_SIGNING_FAILED,
        SEATBOOK_SALE_NOT_OPEN,
        SEATBOOK_SALE_CLOSED,
        SEATBOOK_ENTITY_NOT_FOUND,
        SEATBOOK_ENTITY_ALREADY_EXISTS,
        SEATBOOK_ENTITY_CLOSED,
        SEATBOOK_ENTITY_ARCHIVED,
        SEATBOOK_ENTITY_NOT_CLOSED,
        SEATBOOK_ENTITY_BUSY,
        SEATBOOK_NULL_PARAMETER,
        SEATBOOK_INVALID_UTF8,
        SEATBOOK_PANIC,
        SEATBOOK_ENGINE_CLOSED,
        SEATBOOK_INVALID_HANDLE,
    ];

    /// The Rust code this status mirrors.
    #[must_use]
    pub const fn error_code(self) -> ErrorCode {
        match self {
            SEATBOOK_OK => ErrorCode::Ok,
            SEATBOOK_INVALID_INPUT => ErrorCode::InvalidInput,
            SEATBOOK_INVALID_CONFIG => ErrorCode::InvalidConfig,
            SEATBOOK_DATABASE_ALREADY_OPEN => ErrorCode::DatabaseAlreadyOpen,
            SEATBOOK_STORAGE => ErrorCode::Storage,
            SEATBOOK_INVALID_CREDENTIALS => ErrorCode::InvalidCredentials,
            SEATBOOK_INVALID_TOKEN => ErrorCode::InvalidToken,
            SEATBOOK_TOKEN_EXPIRED => ErrorCode::TokenExpired,
            SEATBOOK_APP_INACTIVE => ErrorCode::AppInactive,
            SEATBOOK_ORIGIN_NOT_ALLOWED => ErrorCode::OriginNotAllowed,
            SEATBOOK_APP_NOT_FOUND => ErrorCode::AppNotFound,
            SEATBOOK_APP_ALREADY_EXISTS => ErrorCode::AppAlreadyExists,
            SEATBOOK_EMAIL_TAKEN => ErrorCode::EmailTaken,
            SEATBOOK_SEAT_NOT_FOUND => ErrorCode::SeatNotFound,
            SEATBOOK_SEAT_ALREADY_EXISTS => ErrorCode::SeatAlreadyExists,
            SEATBOOK_SEAT_BOOKED => ErrorCode::SeatBooked,
            SEATBOOK_SEAT_HELD => ErrorCode::SeatHeld,
            SEATBOOK_RESERVATION_NOT_FOUND => ErrorCode::ReservationNotFound,
            SEATBOOK_RESERVATION_NOT_ACTIVE => ErrorCode::ReservationNotActive,
            SEATBOOK_HOLD_EXPIRED => ErrorCode::HoldExpired,
            SEATBOOK_HOLD_LIMIT_EXCEEDED => ErrorCode::HoldLimitExceeded,
            SEATBOOK_CONFIRM_IN_PROGRESS => ErrorCode::ConfirmInProgress,
            SEATBOOK_AMOUNT_MISMATCH => ErrorCode::AmountMismatch,
            SEATBOOK_PAYMENT_DECLINED => ErrorCode::PaymentDeclined,
            SEATBOOK_PAYMENT_CONFLICT => ErrorCode::PaymentConflict,
            SEATBOOK_BOOKING_NOT_FOUND => ErrorCode::BookingNotFound,
            SEATBOOK_BOOKING_NOT_CANCELLABLE => ErrorCode::BookingNotCancellable,
            SEATBOOK_SEAT_IN_USE => ErrorCode::SeatInUse,
            SEATBOOK_CAPACITY_EXCEEDED => ErrorCode::CapacityExceeded,
            SEATBOOK_RANDOM_FAILURE => ErrorCode::RandomFailure,
            SEATBOOK_PAYMENT_ALREADY_USED => ErrorCode::PaymentAlreadyUsed,
            SEATBOOK_REFUND_DUE => ErrorCode::RefundDue,
            SEATBOOK_REFUND_DUE_UNRECORDED => ErrorCode::RefundDueUnrecorded,
            SEATBOOK_REFUND_NOT_DUE => ErrorCode::RefundNotDue,
            SEATBOOK_TOO_MANY_RESERVATIONS => ErrorCode::TooManyReservations,
            SEATBOOK_TOO_MANY_SEATS_HELD => ErrorCode::TooManySeatsHeld,
            SEATBOOK_APP_CONTEXT_REVOKED => ErrorCode::AppContextRevoked,
            SEATBOOK_PASSWORD_WORK_BUSY => ErrorCode::PasswordWorkBusy,
            SEATBOOK_JOURNAL_MISMATCH => ErrorCode::JournalMismatch,
            SEATBOOK_JOURNAL_MISSING => ErrorCode::JournalMissing,
            SEATBOOK_JOURNAL_CORRUPTED => ErrorCode::JournalCorrupted,
            SEATBOOK_UNSUPPORTED_FORMAT => ErrorCode::UnsupportedFormat,
            SEATBOOK_STORAGE_POISONED => ErrorCode::StoragePoisoned,
            SEATBOOK_BACKUP_TARGET_EXISTS => ErrorCode::BackupTargetExists,
            SEATBOOK_DATABASE_NOT_FOUND => ErrorCode::DatabaseNotFound,
            SEATBOOK_STORAGE_CORRUPTED => ErrorCode::StorageCorrupted,
            SEATBOOK_HASHING_FAILED => ErrorCode::HashingFailed,
            SEATBOOK_SIGNING_FAILED => ErrorCode::SigningFailed,
            SEATBOOK_SALE_NOT_OPEN => ErrorCode::SaleNotOpen,
            SEATBOOK_SALE_CLOSED => ErrorCode::SaleClosed,
            SEATBOOK_ENTITY_NOT_FOUND => ErrorCode::EntityNotFound,
            SEATBOOK_ENTITY_ALREADY_EXISTS => ErrorCode::EntityAlreadyExists,
            SEATBOOK_ENTITY_CLOSED => ErrorCode::EntityClosed,
            SEATBOOK_ENTITY_ARCHIVED => ErrorCode::EntityArchived,
            SEATBOOK_ENTITY_NOT_CLOSED => ErrorCode::EntityNotClosed,
            SEATBOOK_ENTITY_BUSY => ErrorCode::EntityBusy,
            SEATBOOK_NULL_PARAMETER => ErrorCode::NullParameter,
            SEATBOOK_INVALID_UTF8 => ErrorCode::InvalidUtf8,
            SEATBOOK_PANIC => ErrorCode::Panic,
            SEATBOOK_ENGINE_CLOSED => ErrorCode::EngineClosed,
            SEATBOOK_INVALID_HANDLE => ErrorCode::InvalidHandle,
        }
    }

    /// The C status of a Rust code (exhaustive: no code is left out).
    #[must_use]
    pub const fn from_error_code(code: ErrorCode) -> Self {
        match code {
            ErrorCode::Ok => SEATBOOK_OK,
            ErrorCode::InvalidInput => SEATBOOK_INVALID_INPUT,
            ErrorCode::InvalidConfig => SEATBOOK_INVALID_CONFIG,
            ErrorCode::DatabaseAlreadyOpen => SEATBOOK_DATABASE_ALREADY_OPEN,
            ErrorCode::Storage => SEATBOOK_STORAGE,
            ErrorCode::InvalidCredentials => SEATBOOK_INVALID_CREDENTIALS,
            ErrorCode::InvalidToken => SEATBOOK_INVALID_TOKEN,
            ErrorCode::TokenExpired => SEATBOOK_TOKEN_EXPIRED,
            ErrorCode::AppInactive => SEATBOOK_APP_INACTIVE,
            ErrorCode::OriginNotAllowed => SEATBOOK_ORIGIN_NOT_ALLOWED,
            ErrorCode::AppNotFound => SEATBOOK_APP_NOT_FOUND,
            ErrorCode::AppAlreadyExists => SEATBOOK_APP_ALREADY_EXISTS,
            ErrorCode::EmailTaken => SEATBOOK_EMAIL_TAKEN,
            ErrorCode::SeatNotFound => SEATBOOK_SEAT_NOT_FOUND,
            ErrorCode::SeatAlreadyExists => SEATBOOK_SEAT_ALREADY_EXISTS,
            ErrorCode::SeatBooked => SEATBOOK_SEAT_BOOKED,
            ErrorCode::SeatHeld => SEATBOOK_SEAT_HELD,
            ErrorCode::ReservationNotFound => SEATBOOK_RESERVATION_NOT_FOUND,
            ErrorCode::ReservationNotActive => SEATBOOK_RESERVATION_NOT_ACTIVE,
            ErrorCode::HoldExpired => SEATBOOK_HOLD_EXPIRED,
            ErrorCode::HoldLimitExceeded => SEATBOOK_HOLD_LIMIT_EXCEEDED,
            ErrorCode::ConfirmInProgress => SEATBOOK_CONFIRM_IN_PROGRESS,
            ErrorCode::AmountMismatch => SEATBOOK_AMOUNT_MISMATCH,
            ErrorCode::PaymentDeclined => SEATBOOK_PAYMENT_DECLINED,
            ErrorCode::PaymentConflict => SEATBOOK_PAYMENT_CONFLICT,
            ErrorCode::BookingNotFound => SEATBOOK_BOOKING_NOT_FOUND,
            ErrorCode::BookingNotCancellable => SEATBOOK_BOOKING_NOT_CANCELLABLE,
            ErrorCode::SeatInUse => SEATBOOK_SEAT_IN_USE,
            ErrorCode::CapacityExceeded => SEATBOOK_CAPACITY_EXCEEDED,
            ErrorCode::RandomFailure => SEATBOOK_RANDOM_FAILURE,
            ErrorCode::PaymentAlreadyUsed => SEATBOOK_PAYMENT_ALREADY_USED,
            ErrorCode::RefundDue => SEATBOOK_REFUND_DUE,
            ErrorCode::RefundDueUnrecorded => SEATBOOK_REFUND_DUE_UNRECORDED,
            ErrorCode::RefundNotDue => SEATBOOK_REFUND_NOT_DUE,
            ErrorCode::TooManyReservations => SEATBOOK_TOO_MANY_RESERVATIONS,
            ErrorCode::TooManySeatsHeld => SEATBOOK_TOO_MANY_SEATS_HELD,
            ErrorCode::AppContextRevoked => SEATBOOK_APP_CONTEXT_REVOKED,
            ErrorCode::PasswordWorkBusy => SEATBOOK_PASSWORD_WORK_BUSY,
            ErrorCode::JournalMismatch => SEATBOOK_JOURNAL_MISMATCH,
            ErrorCode::JournalMissing => SEATBOOK_JOURNAL_MISSING,
            ErrorCode::JournalCorrupted => SEATBOOK_JOURNAL_CORRUPTED,
            ErrorCode::UnsupportedFormat => SEATBOOK_UNSUPPORTED_FORMAT,
            ErrorCode::StoragePoisoned => SEATBOOK_STORAGE_POISONED,
            ErrorCode::BackupTargetExists => SEATBOOK_BACKUP_TARGET_EXISTS,
            ErrorCode::DatabaseNotFound => SEATBOOK_DATABASE_NOT_FOUND,
            ErrorCode::StorageCorrupted => SEATBOOK_STORAGE_CORRUPTED,
            ErrorCode::HashingFailed => SEATBOOK_HASHING_FAILED,
            ErrorCode::SigningFailed => SEATBOOK_SIGNING_FAILED,
            ErrorCode::SaleNotOpen => SEATBOOK_SALE_NOT_OPEN,
            ErrorCode::SaleClosed => SEATBOOK_SALE_CLOSED,
            ErrorCode::EntityNotFound => SEATBOOK_ENTITY_NOT_FOUND,
            ErrorCode::EntityAlreadyExists => SEATBOOK_ENTITY_ALREADY_EXISTS,
            ErrorCode::EntityClosed => SEATBOOK_ENTITY_CLOSED,
            ErrorCode::EntityArchived => SEATBOOK_ENTITY_ARCHIVED,
            ErrorCode::EntityNotClosed => SEATBOOK_ENTITY_NOT_CLOSED,
            ErrorCode::EntityBusy => SEATBOOK_ENTITY_BUSY,
            ErrorCode::NullParameter => SEATBOOK_NULL_PARAMETER,
            ErrorCode::InvalidUtf8 => SEATBOOK_INVALID_UTF8,
            ErrorCode::Panic => SEATBOOK_PANIC,
            ErrorCode::EngineClosed => SEATBOOK_ENGINE_CLOSED,
            ErrorCode::InvalidHandle => SEATBOOK_INVALID_HANDLE,
        }
    }

    /// The status with this numeric value, if any.
    #[must_use]
    pub fn from_u32(value: u32) -> Option<Self> {
        Self::ALL.iter().copied().find(|s| *s as u32 == value)
    }

    /// The C name, e.g. `"SEATBOOK_SEAT_HELD"`.
    #[must_use]
    pub const fn name(self) -> &'static std::ffi::CStr {
        match self {
            SEATBOOK_OK => c"SEATBOOK_OK",
            SEATBOOK_INVALID_INPUT => c"SEATBOOK_INVALID_INPUT",
            SEATBOOK_INVALID_CONFIG => c"SEATBOOK_INVALID_CONFIG",
            SEATBOOK_DATABASE_ALREADY_OPEN => c"SEATBOOK_DATABASE_ALREADY_OPEN",
            SEATBOOK_STORAGE => c"SEATBOOK_STORAGE",
            SEATBOOK_INVALID_CREDENTIALS => c"SEATBOOK_INVALID_CREDENTIALS",
            SEATBOOK_INVALID_TOKEN => c"SEATBOOK_INVALID_TOKEN",
            SEATBOOK_TOKEN_EXPIRED => c"SEATBOOK_TOKEN_EXPIRED",
            SEATBOOK_APP_INACTIVE => c"SEATBOOK_APP_INACTIVE",
            SEATBOOK_ORIGIN_NOT_ALLOWED => c"SEATBOOK_ORIGIN_NOT_ALLOWED",
            SEATBOOK_APP_NOT_FOUND => c"SEATBOOK_APP_NOT_FOUND",
            SEATBOOK_APP_ALREADY_EXISTS => c"SEATBOOK_APP_ALREADY_EXISTS",
            SEATBOOK_EMAIL_TAKEN => c"SEATBOOK_EMAIL_TAKEN",
            SEATBOOK_SEAT_NOT_FOUND => c"SEATBOOK_SEAT_NOT_FOUND",
            SEATBOOK_SEAT_ALREADY_EXISTS => c"SEATBOOK_SEAT_ALREADY_EXISTS",
            SEATBOOK_SEAT_BOOKED => c"SEATBOOK_SEAT_BOOKED",
            SEATBOOK_SEAT_HELD => c"SEATBOOK_SEAT_HELD",
            SEATBOOK_RESERVATION_NOT_FOUND => c"SEATBOOK_RESERVATION_NOT_FOUND",
            SEATBOOK_RESERVATION_NOT_ACTIVE => c"SEATBOOK_RESERVATION_NOT_ACTIVE",
            SEATBOOK_HOLD_EXPIRED => c"SEATBOOK_HOLD_EXPIRED",
            SEATBOOK_HOLD_LIMIT_EXCEEDED => c"SEATBOOK_HOLD_LIMIT_EXCEEDED",
            SEATBOOK_CONFIRM_IN_PROGRESS => c"SEATBOOK_CONFIRM_IN_PROGRESS",
            SEATBOOK_AMOUNT_MISMATCH => c"SEATBOOK_AMOUNT_MISMATCH",
            SEATBOOK_PAYMENT_DECLINED => c"SEATBOOK_PAYMENT_DECLINED",
            SEATBOOK_PAYMENT_CONFLICT => c"SEATBOOK_PAYMENT_CONFLICT",
            SEATBOOK_BOOKING_NOT_FOUND => c"SEATBOOK_BOOKING_NOT_FOUND",
            SEATBOOK_BOOKING_NOT_CANCELLABLE => c"SEATBOOK_BOOKING_NOT_CANCELLABLE",
            SEATBOOK_SEAT_IN_USE => c"SEATBOOK_SEAT_IN_USE",
            SEATBOOK_CAPACITY_EXCEEDED => c"SEATBOOK_CAPACITY_EXCEEDED",
            SEATBOOK_RANDOM_FAILURE => c"SEATBOOK_RANDOM_FAILURE",
            SEATBOOK_PAYMENT_ALREADY_USED => c"SEATBOOK_PAYMENT_ALREADY_USED",
            SEATBOOK_REFUND_DUE => c"SEATBOOK_REFUND_DUE",
            SEATBOOK_REFUND_DUE_UNRECORDED => c"SEATBOOK_REFUND_DUE_UNRECORDED",
            SEATBOOK_REFUND_NOT_DUE => c"SEATBOOK_REFUND_NOT_DUE",
            SEATBOOK_TOO_MANY_RESERVATIONS => c"SEATBOOK_TOO_MANY_RESERVATIONS",
            SEATBOOK_TOO_MANY_SEATS_HELD => c"SEATBOOK_TOO_MANY_SEATS_HELD",
            SEATBOOK_APP_CONTEXT_REVOKED => c"SEATBOOK_APP_CONTEXT_REVOKED",
            SEATBOOK_PASSWORD_WORK_BUSY => c"SEATBOOK_PASSWORD_WORK_BUSY",
            SEATBOOK_JOURNAL_MISMATCH => c"SEATBOOK_JOURNAL_MISMATCH",
            SEATBOOK_JOURNAL_MISSING => c"SEATBOOK_JOURNAL_MISSING",
            SEATBOOK_JOURNAL_CORRUPTED => c"SEATBOOK_JOURNAL_CORRUPTED",
            SEATBOOK_UNSUPPORTED_FORMAT => c"SEATBOOK_UNSUPPORTED_FORMAT",
            SEATBOOK_STORAGE_POISONED => c"SEATBOOK_STORAGE_POISONED",
            SEATBOOK_BACKUP_TARGET_EXISTS => c"SEATBOOK_BACKUP_TARGET_EXISTS",
            SEATBOOK_DATABASE_NOT_FOUND => c"SEATBOOK_DATABASE_NOT_FOUND",
            SEATBOOK_STORAGE_CORRUPTED => c"SEATBOOK_STORAGE_CORRUPTED",
            SEATBOOK_HASHING_FAILED => c"SEATBOOK_HASHING_FAILED",
            SEATBOOK_SIGNING_FAILED => c"SEATBOOK_SIGNING_FAILED",
            SEATBOOK_SALE_NOT_OPEN => c"SEATBOOK_SALE_NOT_OPEN",
            SEATBOOK_SALE_CLOSED => c"SEATBOOK_SALE_CLOSED",
            SEATBOOK_ENTITY_NOT_FOUND => c"SEATBOOK_ENTITY_NOT_FOUND",
            SEATBOOK_ENTITY_ALREADY_EXISTS => c"SEATBOOK_ENTITY_ALREADY_EXISTS",
            SEATBOOK_ENTITY_CLOSED => c"SEATBOOK_ENTITY_CLOSED",
            SEATBOOK_ENTITY_ARCHIVED => c"SEATBOOK_ENTITY_ARCHIVED",
            SEATBOOK_ENTITY_NOT_CLOSED => c"SEATBOOK_ENTITY_NOT_CLOSED",
            SEATBOOK_ENTITY_BUSY => c"SEATBOOK_ENTITY_BUSY",
            SEATBOOK_NULL_PARAMETER => c"SEATBOOK_NULL_PARAMETER",
            SEATBOOK_INVALID_UTF8 => c"SEATBOOK_INVALID_UTF8",
            SEATBOOK_PANIC => c"SEATBOOK_PANIC",
            SEATBOOK_ENGINE_CLOSED => c"SEATBOOK_ENGINE_CLOSED",
            SEATBOOK_INVALID_HANDLE => c"SEATBOOK_INVALID_HANDLE",
        }
    }
}

impl From<ErrorCode> for seatbook_status {
    fn from(code: ErrorCode) -> Self {
        Self::from_error_code(code)
    }
}

/// The name of a status value as a static string (e.g.
/// `"SEATBOOK_SEAT_HELD"`), or `"SEATBOOK_UNKNOWN_STATUS"` for a value that
/// is not a status. Never NULL; never free it. Thread-safe.
#[unsafe(no_mangle)]
pub extern "C" fn seatbook_status_name(status: u32) -> *const c_char {
    seatbook_status::from_u32(status)
        .map_or(c"SEATBOOK_UNKNOWN_STATUS", seatbook_status::name)
        .as_ptr()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mapping_is_one_to_one_with_identical_values() {
        let mut seen = std::collections::HashSet::new();
        for s in seatbook_status::ALL {
            let code = s.error_code();
            assert_eq!(s as u32, code as u32, "{s:?}");
            assert_eq!(seatbook_status::from(code), s);
            assert!(seen.insert(s as u32), "duplicate value {}", s as u32);
            assert!(s.name().to_str().unwrap().starts_with("SEATBOOK_"));
            assert_eq!(seatbook_status::from_u32(s as u32), Some(s));
        }
        assert_eq!(seatbook_status::from_u32(99), None);
        assert!(
            seatbook_status::ALL
                .windows(2)
                .all(|w| (w[0] as u32) < (w[1] as u32))
        );
    }
}
