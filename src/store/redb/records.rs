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
        .map_err(|e| StorageError::other(format!("encode: {e}")))
}

pub(super) fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, StorageError> {
    postcard::from_bytes(bytes).map_err(|e| StorageError::corrupt(format!("corrupt record: {e}")))
}

pub(super) fn decode_borrowed<'a, T: serde::Deserialize<'a>>(
    bytes: &'a [u8],
) -> Result<T, StorageError> {
    postcard::from_bytes(bytes).map_err(|e| StorageError::corrupt(format!("corrupt record: {e}")))
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
        _ => Err(StorageError::corrupt("corrupt pending user-booking key")),
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

/// How a key or value of a journaled table is written in redo (and undo)
/// records: a `u32` length, then the bytes (UTF-8 for strings,
/// little-endian integers, `expires_at` then `id` for an active-holds key,
/// nothing for a unit value). Stored in journals: never change a layout.
pub(super) trait Field: redb::Value + 'static {
    /// Appends `value`'s length and bytes to `out`.
    fn encode(value: &Self::SelfType<'_>, out: &mut Vec<u8>);
    /// The value of `bytes`; `None` if they are not one.
    fn decode(bytes: &[u8]) -> Option<Self::SelfType<'_>>;
}

impl Field for &'static str {
    fn encode(value: &&str, out: &mut Vec<u8>) {
        push_bytes(out, value.as_bytes());
    }
    fn decode(bytes: &[u8]) -> Option<&str> {
        std::str::from_utf8(bytes).ok()
    }
}

impl Field for &'static [u8] {
    fn encode(value: &&[u8], out: &mut Vec<u8>) {
        push_bytes(out, value);
    }
    fn decode(bytes: &[u8]) -> Option<&[u8]> {
        Some(bytes)
    }
}

impl Field for () {
    fn encode((): &(), out: &mut Vec<u8>) {
        push_bytes(out, &[]);
    }
    /// Whatever the bytes (they are always empty): replay never refused a
    /// unit value.
    fn decode(_: &[u8]) -> Option<()> {
        Some(())
    }
}

impl Field for u64 {
    fn encode(value: &u64, out: &mut Vec<u8>) {
        push_bytes(out, &value.to_le_bytes());
    }
    fn decode(bytes: &[u8]) -> Option<u64> {
        bytes.try_into().ok().map(u64::from_le_bytes)
    }
}

impl Field for u128 {
    fn encode(value: &u128, out: &mut Vec<u8>) {
        push_bytes(out, &value.to_le_bytes());
    }
    fn decode(bytes: &[u8]) -> Option<u128> {
        bytes.try_into().ok().map(u128::from_le_bytes)
    }
}

impl Field for (u64, u64) {
    fn encode(&(expires_at, id): &(u64, u64), out: &mut Vec<u8>) {
        let mut key = [0u8; 16];
        key[..8].copy_from_slice(&expires_at.to_le_bytes());
        key[8..].copy_from_slice(&id.to_le_bytes());
        push_bytes(out, &key);
    }
    fn decode(bytes: &[u8]) -> Option<(u64, u64)> {
        let (expires_at, id) = bytes.split_at_checked(8)?;
        Some((
            u64::from_le_bytes(expires_at.try_into().ok()?),
            u64::from_le_bytes(id.try_into().ok()?),
        ))
    }
}

/// Appends a redo field: its `u32` length, then its bytes.
pub(super) fn push_bytes(out: &mut Vec<u8>, bytes: &[u8]) {
    // Keys and values are bounded far below 4 GiB (validated ids, records
    // of a few hundred bytes), so the length always fits.
    debug_assert!(u32::try_from(bytes.len()).is_ok(), "redo field over 4 GiB");
    let len = u32::try_from(bytes.len()).unwrap_or(u32::MAX);
    out.extend_from_slice(&len.to_le_bytes());
    out.extend_from_slice(bytes);
}

/// Splits a redo field off the front of `input`: `(field, rest)`.
pub(super) fn take_bytes(input: &[u8]) -> Option<(&[u8], &[u8])> {
    let (len, rest) = input.split_at_checked(4)?;
    let len = u32::from_le_bytes(len.try_into().ok()?) as usize;
    rest.split_at_checked(len)
}
