//! Durable state in one redb file.
//!
//! Owns the table layout, the record encodings and the commit path. It
//! answers "what is stored" and "store this atomically"; it must never
//! decide booking rules (who may hold, what may be confirmed) and never
//! look at the lock table. Keeping it this narrow is what lets another
//! backend (SPEC section 8) replace it later.
//!
//! Records are postcard-encoded serde structs in `&[u8]` values, so a record
//! that fails to decode is reported as a storage error, never a panic.
//! Composite keys join validated ids with `0x1F` (unit separator), which the
//! id charset excludes, so prefix ranges list an app's or an entity's rows.

use std::path::Path;

use redb::{
    Database, Durability as RedbDurability, ReadableDatabase, ReadableTable, TableDefinition,
};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::clock::UnixMillis;
use crate::error::StorageError;
use crate::model::{BookingStatus, ReservationStatus, SeatAttributes, UserId};

const SEP: char = '\u{1f}';

const META: TableDefinition<&str, u64> = TableDefinition::new("meta");
const APPS: TableDefinition<&str, &[u8]> = TableDefinition::new("apps");
const USERS: TableDefinition<u128, &[u8]> = TableDefinition::new("users");
const USER_EMAILS: TableDefinition<&str, u128> = TableDefinition::new("user_emails");
const SEATS: TableDefinition<&str, &[u8]> = TableDefinition::new("seats");
const ENTITY_SEATS: TableDefinition<&str, ()> = TableDefinition::new("entity_seats");
const RESERVATIONS: TableDefinition<u64, &[u8]> = TableDefinition::new("reservations");
/// `(expires_at, reservation_id)` of every ACTIVE reservation: sweeps and
/// reopen read only the holds that matter, in expiry order.
const ACTIVE_HOLDS: TableDefinition<(u64, u64), ()> = TableDefinition::new("active_holds");
const BOOKINGS: TableDefinition<&str, &[u8]> = TableDefinition::new("bookings");
const USER_BOOKINGS: TableDefinition<&str, ()> = TableDefinition::new("user_bookings");

const SCHEMA_VERSION: u64 = 1;

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

fn encode<T: Serialize>(value: &T) -> Result<Vec<u8>, StorageError> {
    postcard::to_allocvec(value).map_err(|e| StorageError(format!("encode: {e}")))
}

fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, StorageError> {
    postcard::from_bytes(bytes).map_err(|e| StorageError(format!("corrupt record: {e}")))
}

pub(crate) fn seat_key(app: &str, seat: &str) -> String {
    format!("{app}{SEP}{seat}")
}

fn entity_prefix(app: &str, entity: &str) -> String {
    format!("{app}{SEP}{entity}{SEP}")
}

fn user_bookings_prefix(app: &str, user: UserId) -> String {
    format!("{app}{SEP}{user}{SEP}")
}

/// The end of a prefix range: the prefix with its last separator bumped.
fn prefix_end(prefix: &str) -> String {
    let mut end = prefix[..prefix.len() - SEP.len_utf8()].to_owned();
    end.push('\u{20}');
    end
}

/// What the engine needs to rebuild its memory on open.
pub(crate) struct LoadedState {
    pub(crate) apps: Vec<AppRecord>,
    /// `(app_id, seat_id, price, currency, booked)` for every seat.
    pub(crate) seats: Vec<(String, String, u64, [u8; 3], bool)>,
    /// Every ACTIVE reservation.
    pub(crate) active: Vec<(u64, ReservationRecord)>,
    /// Largest reservation id ever stored (0 if none).
    pub(crate) max_reservation_id: u64,
}

/// The redb database. `Send + Sync`.
pub(crate) struct Storage {
    db: Database,
    durability: Durability,
}

impl std::fmt::Debug for Storage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Storage")
            .field("durability", &self.durability)
            .finish_non_exhaustive()
    }
}

/// Error of opening the file: already open, or anything else.
pub(crate) enum OpenFailure {
    AlreadyOpen,
    Other(StorageError),
}

impl Storage {
    pub(crate) fn open(path: &Path, durability: Durability) -> Result<Self, OpenFailure> {
        let db = Database::create(path).map_err(|e| match e {
            redb::DatabaseError::DatabaseAlreadyOpen => OpenFailure::AlreadyOpen,
            other => OpenFailure::Other(other.into()),
        })?;
        let storage = Self { db, durability };
        storage
            .write(|tx| {
                // Creates every table, so readers never meet a missing one.
                tx.inner.open_table(APPS)?;
                tx.inner.open_table(USERS)?;
                tx.inner.open_table(USER_EMAILS)?;
                tx.inner.open_table(SEATS)?;
                tx.inner.open_table(ENTITY_SEATS)?;
                tx.inner.open_table(RESERVATIONS)?;
                tx.inner.open_table(ACTIVE_HOLDS)?;
                tx.inner.open_table(BOOKINGS)?;
                tx.inner.open_table(USER_BOOKINGS)?;
                let mut meta = tx.inner.open_table(META)?;
                let version = meta.get("schema_version")?.map(|v| v.value());
                match version {
                    None => {
                        meta.insert("schema_version", SCHEMA_VERSION)?;
                    }
                    Some(SCHEMA_VERSION) => {}
                    Some(other) => {
                        return Err(StorageError(format!(
                            "database schema version {other} is not supported (expected {SCHEMA_VERSION})"
                        )));
                    }
                }
                Ok(())
            })
            .map_err(OpenFailure::Other)?;
        Ok(storage)
    }

    /// Runs `f` in one write transaction and commits it with the configured
    /// durability. If `f` fails, nothing it wrote is kept.
    ///
    /// Every durable change goes through here: it is the one place a future
    /// group commit batches many callers' closures into one fsync.
    pub(crate) fn write<T, E>(&self, f: impl FnOnce(&mut WriteTx) -> Result<T, E>) -> Result<T, E>
    where
        E: From<StorageError>,
    {
        let mut inner = self.db.begin_write().map_err(StorageError::from)?;
        let durability = match self.durability {
            Durability::Full => RedbDurability::Immediate,
            Durability::None => RedbDurability::None,
        };
        inner
            .set_durability(durability)
            .map_err(StorageError::from)?;
        let mut tx = WriteTx { inner };
        match f(&mut tx) {
            Ok(value) => {
                tx.inner.commit().map_err(StorageError::from)?;
                Ok(value)
            }
            Err(e) => {
                // Abort errors are moot: the transaction is dropped either way.
                let _ = tx.inner.abort();
                Err(e)
            }
        }
    }

    pub(crate) fn read(&self) -> Result<ReadTx, StorageError> {
        Ok(ReadTx {
            inner: self.db.begin_read()?,
        })
    }

    /// Reads everything the engine keeps in memory.
    pub(crate) fn load(&self) -> Result<LoadedState, StorageError> {
        let tx = self.db.begin_read()?;
        let mut apps = Vec::new();
        for row in tx.open_table(APPS)?.iter()? {
            let (_, v) = row?;
            apps.push(decode::<AppRecord>(v.value())?);
        }
        let mut seats = Vec::new();
        for row in tx.open_table(SEATS)?.iter()? {
            let (k, v) = row?;
            let key = k.value();
            let Some((app, seat)) = key.split_once(SEP) else {
                return Err(StorageError("corrupt seat key".into()));
            };
            let rec = decode::<SeatRecord>(v.value())?;
            seats.push((
                app.to_owned(),
                seat.to_owned(),
                rec.price_minor,
                rec.currency,
                rec.status == SeatStatus::Booked,
            ));
        }
        let reservations = tx.open_table(RESERVATIONS)?;
        let mut active = Vec::new();
        for row in tx.open_table(ACTIVE_HOLDS)?.iter()? {
            let (k, _) = row?;
            let (_, id) = k.value();
            let rec = reservations
                .get(id)?
                .ok_or_else(|| StorageError("active hold without reservation".into()))?;
            active.push((id, decode::<ReservationRecord>(rec.value())?));
        }
        let max_reservation_id = reservations.last()?.map_or(0, |(k, _)| k.value());
        Ok(LoadedState {
            apps,
            seats,
            active,
            max_reservation_id,
        })
    }
}

/// A write transaction with typed accessors.
pub(crate) struct WriteTx {
    inner: redb::WriteTransaction,
}

/// A read snapshot with typed accessors.
pub(crate) struct ReadTx {
    inner: redb::ReadTransaction,
}

macro_rules! getters {
    () => {
        pub(crate) fn app(&self, app_id: &str) -> Result<Option<AppRecord>, StorageError> {
            let t = self.inner.open_table(APPS)?;
            t.get(app_id)?.map(|v| decode(v.value())).transpose()
        }

        pub(crate) fn user_by_email(
            &self,
            email: &str,
        ) -> Result<Option<(UserId, UserRecord)>, StorageError> {
            let Some(id) = self
                .inner
                .open_table(USER_EMAILS)?
                .get(email)?
                .map(|v| v.value())
            else {
                return Ok(None);
            };
            let users = self.inner.open_table(USERS)?;
            let rec = users
                .get(id)?
                .ok_or_else(|| StorageError("email index without user".into()))?;
            Ok(Some((UserId(id), decode(rec.value())?)))
        }

        pub(crate) fn seat(
            &self,
            app: &str,
            seat: &str,
        ) -> Result<Option<SeatRecord>, StorageError> {
            let t = self.inner.open_table(SEATS)?;
            t.get(seat_key(app, seat).as_str())?
                .map(|v| decode(v.value()))
                .transpose()
        }

        pub(crate) fn reservation(
            &self,
            id: u64,
        ) -> Result<Option<ReservationRecord>, StorageError> {
            let t = self.inner.open_table(RESERVATIONS)?;
            t.get(id)?.map(|v| decode(v.value())).transpose()
        }

        pub(crate) fn booking(
            &self,
            booking_id: &str,
        ) -> Result<Option<BookingRecord>, StorageError> {
            let t = self.inner.open_table(BOOKINGS)?;
            t.get(booking_id)?.map(|v| decode(v.value())).transpose()
        }

        /// Seats of one entity, in seat-id order.
        pub(crate) fn entity_seats(
            &self,
            app: &str,
            entity: &str,
        ) -> Result<Vec<(String, SeatRecord)>, StorageError> {
            let prefix = entity_prefix(app, entity);
            let end = prefix_end(&prefix);
            let index = self.inner.open_table(ENTITY_SEATS)?;
            let seats = self.inner.open_table(SEATS)?;
            let mut out = Vec::new();
            for row in index.range(prefix.as_str()..end.as_str())? {
                let (k, _) = row?;
                let seat_id = &k.value()[prefix.len()..];
                let rec = seats
                    .get(seat_key(app, seat_id).as_str())?
                    .ok_or_else(|| StorageError("entity index without seat".into()))?;
                out.push((seat_id.to_owned(), decode(rec.value())?));
            }
            Ok(out)
        }

        /// Booking ids of one user in one app, in id order.
        pub(crate) fn user_booking_ids(
            &self,
            app: &str,
            user: UserId,
        ) -> Result<Vec<String>, StorageError> {
            let prefix = user_bookings_prefix(app, user);
            let end = prefix_end(&prefix);
            let index = self.inner.open_table(USER_BOOKINGS)?;
            let mut out = Vec::new();
            for row in index.range(prefix.as_str()..end.as_str())? {
                let (k, _) = row?;
                out.push(k.value()[prefix.len()..].to_owned());
            }
            Ok(out)
        }

        /// Every app, in id order.
        pub(crate) fn apps(&self) -> Result<Vec<AppRecord>, StorageError> {
            let mut out = Vec::new();
            for row in self.inner.open_table(APPS)?.iter()? {
                out.push(decode(row?.1.value())?);
            }
            Ok(out)
        }

        /// Every seat of every app with its key parts (for audits and tests).
        pub(crate) fn all_seats(&self) -> Result<Vec<(String, String, SeatRecord)>, StorageError> {
            let mut out = Vec::new();
            for row in self.inner.open_table(SEATS)?.iter()? {
                let (k, v) = row?;
                let key = k.value();
                let (app, seat) = key
                    .split_once(SEP)
                    .ok_or_else(|| StorageError("corrupt seat key".into()))?;
                out.push((app.to_owned(), seat.to_owned(), decode(v.value())?));
            }
            Ok(out)
        }

        pub(crate) fn all_bookings(&self) -> Result<Vec<(String, BookingRecord)>, StorageError> {
            let mut out = Vec::new();
            for row in self.inner.open_table(BOOKINGS)?.iter()? {
                let (k, v) = row?;
                out.push((k.value().to_owned(), decode(v.value())?));
            }
            Ok(out)
        }

        pub(crate) fn all_reservations(
            &self,
        ) -> Result<Vec<(u64, ReservationRecord)>, StorageError> {
            let mut out = Vec::new();
            for row in self.inner.open_table(RESERVATIONS)?.iter()? {
                let (k, v) = row?;
                out.push((k.value(), decode(v.value())?));
            }
            Ok(out)
        }

        /// ACTIVE reservations whose expiry is at or before `now`.
        pub(crate) fn expired_holds(
            &self,
            now: UnixMillis,
            limit: usize,
        ) -> Result<Vec<(u64, u64)>, StorageError> {
            let t = self.inner.open_table(ACTIVE_HOLDS)?;
            let mut out = Vec::new();
            for row in t.range((0, 0)..=(now, u64::MAX))?.take(limit) {
                out.push(row?.0.value());
            }
            Ok(out)
        }
    };
}

// Not every getter is needed on both transaction kinds.
#[allow(dead_code)]
impl ReadTx {
    getters!();
}

#[allow(dead_code)]
impl WriteTx {
    getters!();

    pub(crate) fn put_app(&mut self, rec: &AppRecord) -> Result<(), StorageError> {
        self.inner
            .open_table(APPS)?
            .insert(rec.app_id.as_str(), encode(rec)?.as_slice())?;
        Ok(())
    }

    pub(crate) fn insert_user(&mut self, id: UserId, rec: &UserRecord) -> Result<(), StorageError> {
        self.inner
            .open_table(USERS)?
            .insert(id.0, encode(rec)?.as_slice())?;
        self.inner
            .open_table(USER_EMAILS)?
            .insert(rec.email.as_str(), id.0)?;
        Ok(())
    }

    pub(crate) fn put_seat(
        &mut self,
        app: &str,
        seat: &str,
        rec: &SeatRecord,
    ) -> Result<(), StorageError> {
        self.inner
            .open_table(SEATS)?
            .insert(seat_key(app, seat).as_str(), encode(rec)?.as_slice())?;
        let index_key = format!("{}{seat}", entity_prefix(app, &rec.entity_id));
        self.inner
            .open_table(ENTITY_SEATS)?
            .insert(index_key.as_str(), ())?;
        Ok(())
    }

    pub(crate) fn delete_seat(&mut self, app: &str, seat: &str) -> Result<(), StorageError> {
        let removed = self
            .inner
            .open_table(SEATS)?
            .remove(seat_key(app, seat).as_str())?
            .map(|v| decode::<SeatRecord>(v.value()));
        if let Some(rec) = removed {
            let rec = rec?;
            let index_key = format!("{}{seat}", entity_prefix(app, &rec.entity_id));
            self.inner
                .open_table(ENTITY_SEATS)?
                .remove(index_key.as_str())?;
        }
        Ok(())
    }

    /// Stores a reservation and keeps the active-holds index in step with
    /// its status and expiry. `previous_expiry` is the stored expiry before
    /// this write, if the reservation was ACTIVE.
    pub(crate) fn put_reservation(
        &mut self,
        id: u64,
        rec: &ReservationRecord,
        previous_expiry: Option<UnixMillis>,
    ) -> Result<(), StorageError> {
        self.inner
            .open_table(RESERVATIONS)?
            .insert(id, encode(rec)?.as_slice())?;
        let mut active = self.inner.open_table(ACTIVE_HOLDS)?;
        if let Some(old) = previous_expiry {
            active.remove((old, id))?;
        }
        if rec.status == ReservationStatus::Active {
            active.insert((rec.expires_at, id), ())?;
        }
        Ok(())
    }

    pub(crate) fn put_booking(
        &mut self,
        booking_id: &str,
        rec: &BookingRecord,
        index_for_user: bool,
    ) -> Result<(), StorageError> {
        self.inner
            .open_table(BOOKINGS)?
            .insert(booking_id, encode(rec)?.as_slice())?;
        if index_for_user {
            let key = format!(
                "{}{booking_id}",
                user_bookings_prefix(&rec.app_id, rec.user_id)
            );
            self.inner
                .open_table(USER_BOOKINGS)?
                .insert(key.as_str(), ())?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefix_range_covers_exactly_the_prefix() {
        let p = entity_prefix("app", "E1");
        let end = prefix_end(&p);
        let inside = format!("{p}zzzz");
        let sibling = entity_prefix("app", "E10");
        assert!(p.as_str() <= inside.as_str() && inside.as_str() < end.as_str());
        assert!(!(p.as_str() <= sibling.as_str() && sibling.as_str() < end.as_str()));
    }
}
