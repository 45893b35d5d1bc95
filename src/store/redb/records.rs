//! How records and keys are encoded in the redb tables: postcard for the
//! records of [`crate::store`], `0x1F`-joined ids for composite keys.
//!
//! Owns the byte layouts of values and keys (and the older layouts still
//! decoded). It must never open a table or decide what is written.

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::clock::UnixMillis;
use crate::error::StorageError;
use crate::model::UserId;
use crate::store::{SeatStatus, UserRecord};

/// Joins the ids of a composite key (the id charset excludes it).
pub(super) const SEP: char = '\u{1f}';

/// A [`UserRecord`] as written before `token_generation` existed
/// (postcard is positional, so the shorter encoding needs its own type).
#[derive(serde::Deserialize)]
pub(super) struct UserRecordV1 {
    email: String,
    password_hash: String,
    created_at: UnixMillis,
}

/// Decodes a user record of either layout.
pub(crate) fn decode_user(bytes: &[u8]) -> Result<UserRecord, StorageError> {
    if let Ok(rec) = postcard::from_bytes::<UserRecord>(bytes) {
        return Ok(rec);
    }
    let old: UserRecordV1 = decode(bytes)?;
    Ok(UserRecord {
        email: old.email,
        password_hash: old.password_hash,
        created_at: old.created_at,
        token_generation: 0,
    })
}

pub(super) fn encode<T: Serialize>(value: &T) -> Result<Vec<u8>, StorageError> {
    // Sized for a booking or reservation record: growing from empty
    // reallocated five times per record.
    postcard::to_extend(value, Vec::with_capacity(256))
        .map_err(|e| StorageError(format!("encode: {e}")))
}

pub(super) fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, StorageError> {
    postcard::from_bytes(bytes).map_err(|e| StorageError(format!("corrupt record: {e}")))
}

pub(super) fn decode_borrowed<'a, T: serde::Deserialize<'a>>(
    bytes: &'a [u8],
) -> Result<T, StorageError> {
    postcard::from_bytes(bytes).map_err(|e| StorageError(format!("corrupt record: {e}")))
}

pub(crate) fn seat_key(app: &str, seat: &str) -> String {
    format!("{app}{SEP}{seat}")
}

/// The [`PAYMENTS`](super::schema::PAYMENTS) and [`PENDING_PAYMENTS`](super::schema::PENDING_PAYMENTS) key of a payment id (and the
/// [`REFUNDS_DUE`](super::schema::REFUNDS_DUE) key of a booking id).
pub(super) fn app_key(app: &str, id: &str) -> String {
    format!("{app}{SEP}{id}")
}

pub(super) fn entity_prefix(app: &str, entity: &str) -> String {
    format!("{app}{SEP}{entity}{SEP}")
}

pub(super) fn user_bookings_prefix(app: &str, user: UserId) -> String {
    format!("{app}{SEP}{user}{SEP}")
}

/// The [`PENDING_USER_BOOKINGS`](super::schema::PENDING_USER_BOOKINGS) key of a booking.
pub(super) fn pending_user_booking_key(booking_id: &str, app: &str, user: UserId) -> String {
    format!("{booking_id}{SEP}{app}{SEP}{user}")
}

/// The [`USER_BOOKINGS`](super::schema::USER_BOOKINGS) key of a [`PENDING_USER_BOOKINGS`](super::schema::PENDING_USER_BOOKINGS) key.
pub(super) fn user_booking_key_of_pending(pending: &str) -> Result<String, StorageError> {
    let mut parts = pending.splitn(3, SEP);
    match (parts.next(), parts.next(), parts.next()) {
        (Some(booking), Some(app), Some(user)) => Ok(format!("{app}{SEP}{user}{SEP}{booking}")),
        _ => Err(StorageError("corrupt pending user-booking key".into())),
    }
}

/// The end of a prefix range: the prefix with its last separator bumped.
pub(super) fn prefix_end(prefix: &str) -> String {
    let mut end = prefix[..prefix.len() - SEP.len_utf8()].to_owned();
    end.push('\u{20}');
    end
}

/// The leading fields of a [`SeatRecord`](crate::store::SeatRecord), decoded without allocating
/// (postcard is positional: same order and types, borrowed strings).
/// Reopen decodes every seat, so this is most of its cost.
#[derive(serde::Deserialize)]
pub(super) struct SeatHead<'a> {
    #[serde(borrow)]
    pub(super) entity_id: &'a str,
    pub(super) price_minor: u64,
    pub(super) currency: [u8; 3],
    #[serde(borrow)]
    pub(super) _attributes: AttributesRef<'a>,
    pub(super) status: SeatStatus,
}

#[derive(serde::Deserialize)]
pub(super) struct AttributesRef<'a> {
    #[serde(borrow)]
    _section: Option<&'a str>,
    #[serde(borrow)]
    _row: Option<&'a str>,
    #[serde(borrow)]
    _category: Option<&'a str>,
}
