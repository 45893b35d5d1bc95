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
    /// An earlier commit failed after its outcome could no longer be taken
    /// back (a failed sync, say): every write is refused until the engine
    /// is reopened. See [`StorageError::is_poisoned`].
    StoragePoisoned = 53,
    /// A required pointer argument was NULL (C only).
    NullParameter = 100,
    /// A string argument was not valid UTF-8 (C only).
    InvalidUtf8 = 101,
    /// A panic was caught at the C boundary (a bug; please report it).
    Panic = 102,
    /// The handle was used after its engine was closed (C only).
    EngineClosed = 103,
    /// A handle of another kind was passed (C only), e.g. an admin handle
    /// where an app handle is expected.
    InvalidHandle = 104,
}

/// A storage failure. The message comes from redb, the journal or the
/// operating system; it never holds user data.
///
/// One kind is told apart: [`is_poisoned`](Self::is_poisoned), the engine
/// refusing writes after an earlier commit failed (code
/// [`ErrorCode::StoragePoisoned`]); every other one is
/// [`ErrorCode::Storage`].
#[derive(Debug, thiserror::Error)]
#[error("storage error: {0}")]
pub struct StorageError(pub(crate) String);

/// The message of the poisoned state (see [`StorageError::poisoned`]).
const POISONED: &str = "an earlier commit failed: reopen the engine";

impl StorageError {
    /// The engine refuses writes: an earlier commit failed after its
    /// outcome could no longer be taken back (a failed journal or database
    /// sync, say). A failed sync is never retried: the kernel may have
    /// dropped the writes it covered while still showing them to this
    /// process (PostgreSQL's "fsyncgate"), so a later sync that succeeds
    /// would prove nothing. Reopening the engine recovers every
    /// acknowledged write from the journal.
    pub(crate) fn poisoned() -> Self {
        Self(POISONED.to_owned())
    }

    /// Whether this is the poisoned state (see [`ErrorCode::StoragePoisoned`]):
    /// nothing was done, and nothing will be until the engine is reopened.
    #[must_use]
    pub fn is_poisoned(&self) -> bool {
        self.0 == POISONED
    }
}

macro_rules! storage_from {
    ($($t:ty),* $(,)?) => {$(
        impl From<$t> for StorageError {
            fn from(e: $t) -> Self {
                // redb refuses everything after a failed sync of its own:
                // the same state as the engine's poisoning.
                let e: redb::Error = e.into();
                if matches!(e, redb::Error::PreviousIo) {
                    StorageError::poisoned()
                } else {
                    StorageError(e.to_string())
                }
            }
        }
    )*};
}
storage_from!(
    redb::Error,
    redb::StorageError,
    redb::TableError,
    redb::TransactionError,
    redb::CommitError,
    redb::DatabaseError,
    redb::SetDurabilityError,
);

/// Failure to authenticate a token (admin or user).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    /// Malformed, forged, wrong kind, wrong algorithm, or for an unknown user.
    #[error("invalid token")]
    InvalidToken,
    /// Past its `exp`.
    #[error("token expired")]
    TokenExpired,
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
    /// Another engine has this database file open.
    #[error("the database is already open by another engine or process")]
    DatabaseAlreadyOpen,
    /// The file could not be opened or read.
    #[error(transparent)]
    Storage(#[from] StorageError),
}

/// Admin or user login failed. Unknown email and wrong password give the
/// same [`InvalidCredentials`](LoginError::InvalidCredentials).
#[derive(Debug, thiserror::Error)]
pub enum LoginError {
    #[error("invalid email or password")]
    InvalidCredentials,
    /// The app context was revoked (key rotated, app deactivated).
    #[error(transparent)]
    Auth(#[from] AuthError),
    #[error(transparent)]
    InvalidInput(#[from] InvalidInput),
    #[error(transparent)]
    Storage(#[from] StorageError),
}

/// Signup failed.
#[derive(Debug, thiserror::Error)]
pub enum SignupError {
    #[error("an account with this email exists already")]
    EmailTaken,
    /// The app context was revoked (key rotated, app deactivated).
    #[error(transparent)]
    Auth(#[from] AuthError),
    #[error(transparent)]
    InvalidInput(#[from] InvalidInput),
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
    #[error(transparent)]
    InvalidInput(#[from] InvalidInput),
    #[error(transparent)]
    Storage(#[from] StorageError),
}

/// A confirm failed. Only [`PaymentDeclined`](ConfirmError::PaymentDeclined)
/// changes state (seats released, reservation RELEASED, attempt recorded).
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
    /// recorded FAILED attempt.
    #[error("payment declined: {reason}")]
    PaymentDeclined { reason: String, booking_id: String },
    #[error("reservation already confirmed with another payment id")]
    PaymentConflict,
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
        }
    }
}

impl HasErrorCode for OpenError {
    fn code(&self) -> ErrorCode {
        match self {
            Self::InvalidConfig(_) | Self::WeakSecret(_) => ErrorCode::InvalidConfig,
            Self::DatabaseAlreadyOpen => ErrorCode::DatabaseAlreadyOpen,
            Self::Storage(e) => e.code(),
        }
    }
}

impl HasErrorCode for LoginError {
    fn code(&self) -> ErrorCode {
        match self {
            Self::Auth(a) => a.code(),
            Self::InvalidCredentials => ErrorCode::InvalidCredentials,
            Self::InvalidInput(_) => ErrorCode::InvalidInput,
            Self::Storage(e) => e.code(),
        }
    }
}

impl HasErrorCode for SignupError {
    fn code(&self) -> ErrorCode {
        match self {
            Self::Auth(a) => a.code(),
            Self::EmailTaken => ErrorCode::EmailTaken,
            Self::InvalidInput(_) => ErrorCode::InvalidInput,
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
            Self::InvalidInput(_) => ErrorCode::InvalidInput,
            Self::Storage(e) => e.code(),
        }
    }
}

impl HasErrorCode for StorageError {
    fn code(&self) -> ErrorCode {
        if self.is_poisoned() {
            ErrorCode::StoragePoisoned
        } else {
            ErrorCode::Storage
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
            Self::AppAuth(e) => e.code(),
            Self::Auth(e) => e.code(),
            Self::Admin(e) => e.code(),
            Self::Reserve(e) => e.code(),
            Self::Hold(e) => e.code(),
            Self::Confirm(e) => e.code(),
            Self::Query(e) => e.code(),
            Self::Cancel(e) => e.code(),
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
        let other = StorageError("journal: Input/output error".into());
        assert!(!other.is_poisoned());
        assert_eq!(ReserveError::Storage(other).code(), ErrorCode::Storage);
    }
}
