//! The typed write transaction: every durable mutation, its undo and redo logs.
//!
//! Owns how rows are written inside one redb write transaction, the undo
//! log that takes one closure's writes back, and the *redo* log that the
//! journal stores (and that [`WriteTx::replay`] applies on open). It must
//! never commit (that is [`RedbStore::write`](super::RedbStore::write)'s and
//! the combiner's job) and never decide booking rules.
//!
//! # Redo records
//!
//! Every mutation appends one record: a tag (the table's code, with
//! [`DELETE`] set for a removal), the key as a `u32` length and bytes, and
//! for a put the value likewise. Keys are the table's key bytes (UTF-8 for
//! strings, little-endian integers). A record carries the row's whole new
//! value, never a delta, so replaying a generation's groups in order over
//! a database that already holds some or all of them (and nothing newer)
//! ends in the same state as replaying them over one that holds none.
//!
//! Tables are opened lazily, once per transaction, and kept open: a
//! commit batch runs dozens of closures in one transaction, and reopening
//! a table per row cost as much as the row itself.

use redb::{ReadableTable, ReadableTableMetadata, Table};

use super::records::{
    app_key, decode, decode_user, encode, entity_prefix, pending_user_booking_key, seat_key,
    user_booking_key_of_pending,
};
use super::schema::{
    ACTIVE_HOLDS, APPS, BOOKINGS, ENTITY_SEATS, META, PAYMENTS, PENDING_PAYMENTS,
    PENDING_USER_BOOKINGS, PENDING_USER_BOOKINGS_MAX, REFUNDS_DUE, RESERVATIONS, SCHEMA_VERSION,
    SEATS, USER_BOOKINGS, USER_EMAILS, USERS,
};
use crate::error::StorageError;
use crate::model::{BookingStatus, ReservationStatus, UserId};
use crate::store::{
    AppRecord, BookingRecord, PaymentRecord, PaymentState, ReservationRecord, SeatRecord,
    UserRecord,
};

type StrBytes<'t> = Table<'t, &'static str, &'static [u8]>;
type StrUnit<'t> = Table<'t, &'static str, ()>;

/// The `&str`-keyed tables with byte values.
#[derive(Clone, Copy)]
enum BytesTable {
    Apps,
    Seats,
    Bookings,
    Payments,
}

/// The `&str`-keyed index tables (unit values).
#[derive(Clone, Copy)]
enum IndexTable {
    EntitySeats,
    UserBookings,
    PendingUserBookings,
    PendingPayments,
    RefundsDue,
}

/// Redo record tags: one per table. Stored in journals: never renumber.
const T_APPS: u8 = 1;
const T_USERS: u8 = 2;
const T_USER_EMAILS: u8 = 3;
const T_SEATS: u8 = 4;
const T_ENTITY_SEATS: u8 = 5;
const T_RESERVATIONS: u8 = 6;
const T_ACTIVE_HOLDS: u8 = 7;
const T_BOOKINGS: u8 = 8;
const T_USER_BOOKINGS: u8 = 9;
const T_PENDING_USER_BOOKINGS: u8 = 10;
const T_PAYMENTS: u8 = 11;
const T_PENDING_PAYMENTS: u8 = 12;
const T_REFUNDS_DUE: u8 = 13;
/// Set in a tag: the record removes its key.
const DELETE: u8 = 0x80;

impl BytesTable {
    fn tag(self) -> u8 {
        match self {
            Self::Apps => T_APPS,
            Self::Seats => T_SEATS,
            Self::Bookings => T_BOOKINGS,
            Self::Payments => T_PAYMENTS,
        }
    }
}

impl IndexTable {
    fn tag(self) -> u8 {
        match self {
            Self::EntitySeats => T_ENTITY_SEATS,
            Self::UserBookings => T_USER_BOOKINGS,
            Self::PendingUserBookings => T_PENDING_USER_BOOKINGS,
            Self::PendingPayments => T_PENDING_PAYMENTS,
            Self::RefundsDue => T_REFUNDS_DUE,
        }
    }
}

fn hold_key_bytes((expires_at, id): (u64, u64)) -> [u8; 16] {
    let mut key = [0u8; 16];
    key[..8].copy_from_slice(&expires_at.to_le_bytes());
    key[8..].copy_from_slice(&id.to_le_bytes());
    key
}

/// How to put one row back as it was before a closure changed it.
enum Undo {
    Bytes {
        table: BytesTable,
        key: String,
        old: Option<Vec<u8>>,
    },
    Index {
        table: IndexTable,
        key: String,
        existed: bool,
    },
    User {
        id: u128,
        old: Option<Vec<u8>>,
    },
    Email {
        email: String,
        old: Option<u128>,
    },
    Reservation {
        id: u64,
        old: Option<Vec<u8>>,
    },
    Hold {
        key: (u64, u64),
        existed: bool,
    },
    /// Several rows removed by one bulk operation, undone in reverse.
    Many(Vec<Undo>),
}

/// Tables opened so far in this transaction.
#[derive(Default)]
struct Open<'t> {
    apps: Option<StrBytes<'t>>,
    users: Option<Table<'t, u128, &'static [u8]>>,
    user_emails: Option<Table<'t, &'static str, u128>>,
    seats: Option<StrBytes<'t>>,
    entity_seats: Option<StrUnit<'t>>,
    reservations: Option<Table<'t, u64, &'static [u8]>>,
    active_holds: Option<Table<'t, (u64, u64), ()>>,
    bookings: Option<StrBytes<'t>>,
    user_bookings: Option<StrUnit<'t>>,
    pending_user_bookings: Option<StrUnit<'t>>,
    payments: Option<StrBytes<'t>>,
    pending_payments: Option<StrUnit<'t>>,
    refunds_due: Option<StrUnit<'t>>,
}

/// A write transaction with typed accessors.
///
/// Every mutation goes through the typed methods below, so when group
/// commit shares the transaction between callers, each closure's writes can
/// be undone on its own: while `undo` is `Some`, every mutation first
/// records the previous value of the row it changes.
pub(crate) struct WriteTx<'t> {
    txn: &'t redb::WriteTransaction,
    open: Open<'t>,
    undo: Option<Vec<Undo>>,
    /// Redo records of this transaction's kept writes; `None` when nothing
    /// is journaled ([`Durability::None`](super::Durability::None)).
    redo: Option<Vec<u8>>,
    /// Length of `redo` when the current closure began (its records are
    /// dropped with its writes when it fails).
    redo_mark: usize,
    /// A mutation failed inside redb: the transaction can no longer be
    /// trusted and must be aborted, whatever the closure returns.
    broken: bool,
}

macro_rules! lazily_opened {
    ($($name:ident: $def:ident => $ty:ty;)*) => {$(
        fn $name(&mut self) -> Result<&mut $ty, StorageError> {
            if self.open.$name.is_none() {
                self.open.$name = Some(self.txn.open_table($def)?);
            }
            Ok(self.open.$name.as_mut().expect("opened above"))
        }
    )*};
}

impl<'t> WriteTx<'t> {
    /// `journaled`: record redo records for the journal.
    pub(super) fn new(txn: &'t redb::WriteTransaction, journaled: bool) -> Self {
        Self {
            txn,
            open: Open::default(),
            undo: None,
            redo: journaled.then(Vec::new),
            redo_mark: 0,
            broken: false,
        }
    }

    /// The redo records of every kept write so far (empty when not
    /// journaled).
    pub(super) fn take_redo(&mut self) -> Vec<u8> {
        self.redo_mark = 0;
        self.redo.as_mut().map(std::mem::take).unwrap_or_default()
    }

    lazily_opened! {
        apps: APPS => StrBytes<'t>;
        users: USERS => Table<'t, u128, &'static [u8]>;
        user_emails: USER_EMAILS => Table<'t, &'static str, u128>;
        seats: SEATS => StrBytes<'t>;
        entity_seats: ENTITY_SEATS => StrUnit<'t>;
        reservations: RESERVATIONS => Table<'t, u64, &'static [u8]>;
        active_holds: ACTIVE_HOLDS => Table<'t, (u64, u64), ()>;
        bookings: BOOKINGS => StrBytes<'t>;
        user_bookings: USER_BOOKINGS => StrUnit<'t>;
        pending_user_bookings: PENDING_USER_BOOKINGS => StrUnit<'t>;
        payments: PAYMENTS => StrBytes<'t>;
        pending_payments: PENDING_PAYMENTS => StrUnit<'t>;
        refunds_due: REFUNDS_DUE => StrUnit<'t>;
    }

    fn bytes_table(&mut self, table: BytesTable) -> Result<&mut StrBytes<'t>, StorageError> {
        match table {
            BytesTable::Apps => self.apps(),
            BytesTable::Seats => self.seats(),
            BytesTable::Bookings => self.bookings(),
            BytesTable::Payments => self.payments(),
        }
    }

    fn index_table(&mut self, table: IndexTable) -> Result<&mut StrUnit<'t>, StorageError> {
        match table {
            IndexTable::EntitySeats => self.entity_seats(),
            IndexTable::UserBookings => self.user_bookings(),
            IndexTable::PendingUserBookings => self.pending_user_bookings(),
            IndexTable::PendingPayments => self.pending_payments(),
            IndexTable::RefundsDue => self.refunds_due(),
        }
    }

    /// Creates every table (so readers never meet a missing one) and
    /// checks the schema version.
    pub(super) fn ensure_schema(&mut self) -> Result<(), StorageError> {
        self.apps()?;
        self.users()?;
        self.user_emails()?;
        self.seats()?;
        self.entity_seats()?;
        self.reservations()?;
        self.active_holds()?;
        self.bookings()?;
        self.user_bookings()?;
        self.pending_user_bookings()?;
        self.payments()?;
        self.pending_payments()?;
        self.refunds_due()?;
        let mut meta = self.txn.open_table(META)?;
        let version = meta.get("schema_version")?.map(|v| v.value());
        match version {
            None => {
                meta.insert("schema_version", SCHEMA_VERSION)?;
                Ok(())
            }
            Some(SCHEMA_VERSION) => Ok(()),
            Some(other) => Err(StorageError(format!(
                "database schema version {other} is not supported (expected {SCHEMA_VERSION})"
            ))),
        }
    }

    // ------------------------------------------------------------ reads

    pub(crate) fn app(&mut self, app_id: &str) -> Result<Option<AppRecord>, StorageError> {
        self.apps()?
            .get(app_id)?
            .map(|v| decode(v.value()))
            .transpose()
    }

    pub(crate) fn user_by_email(
        &mut self,
        email: &str,
    ) -> Result<Option<(UserId, UserRecord)>, StorageError> {
        let Some(id) = self.user_emails()?.get(email)?.map(|v| v.value()) else {
            return Ok(None);
        };
        let rec = self
            .users()?
            .get(id)?
            .ok_or_else(|| StorageError("email index without user".into()))?;
        Ok(Some((UserId(id), decode_user(rec.value())?)))
    }

    pub(crate) fn user(&mut self, id: UserId) -> Result<Option<UserRecord>, StorageError> {
        self.users()?
            .get(id.0)?
            .map(|v| decode_user(v.value()))
            .transpose()
    }

    pub(crate) fn seat(
        &mut self,
        app: &str,
        seat: &str,
    ) -> Result<Option<SeatRecord>, StorageError> {
        self.seats()?
            .get(seat_key(app, seat).as_str())?
            .map(|v| decode(v.value()))
            .transpose()
    }

    pub(crate) fn reservation(
        &mut self,
        id: u64,
    ) -> Result<Option<ReservationRecord>, StorageError> {
        self.reservations()?
            .get(id)?
            .map(|v| decode(v.value()))
            .transpose()
    }

    pub(crate) fn booking(
        &mut self,
        booking_id: &str,
    ) -> Result<Option<BookingRecord>, StorageError> {
        self.bookings()?
            .get(booking_id)?
            .map(|v| decode(v.value()))
            .transpose()
    }

    pub(crate) fn payment(
        &mut self,
        app: &str,
        payment_id: &str,
    ) -> Result<Option<PaymentRecord>, StorageError> {
        self.payments()?
            .get(app_key(app, payment_id).as_str())?
            .map(|v| decode(v.value()))
            .transpose()
    }

    // ------------------------------------------------------------- undo

    /// Starts (`true`) or stops recording how to undo the next writes.
    pub(super) fn track_undo(&mut self, on: bool) {
        self.undo = on.then(Vec::new);
        self.redo_mark = self.redo.as_ref().map_or(0, Vec::len);
    }

    pub(super) fn is_broken(&self) -> bool {
        self.broken
    }

    /// Puts back every row the closure since [`track_undo`](Self::track_undo)
    /// changed, newest first.
    pub(super) fn undo(&mut self) -> Result<(), StorageError> {
        let Some(log) = self.undo.take() else {
            return Ok(());
        };
        if let Some(redo) = self.redo.as_mut() {
            redo.truncate(self.redo_mark);
        }
        let result = self.apply_undo(log);
        if result.is_err() {
            self.broken = true;
        }
        result
    }

    fn apply_undo(&mut self, log: Vec<Undo>) -> Result<(), StorageError> {
        for entry in log.into_iter().rev() {
            match entry {
                Undo::Bytes { table, key, old } => {
                    let t = self.bytes_table(table)?;
                    match old {
                        Some(v) => drop(t.insert(key.as_str(), v.as_slice())?),
                        None => drop(t.remove(key.as_str())?),
                    }
                }
                Undo::Index {
                    table,
                    key,
                    existed,
                } => {
                    let t = self.index_table(table)?;
                    if existed {
                        t.insert(key.as_str(), ())?;
                    } else {
                        t.remove(key.as_str())?;
                    }
                }
                Undo::User { id, old } => {
                    let t = self.users()?;
                    match old {
                        Some(v) => drop(t.insert(id, v.as_slice())?),
                        None => drop(t.remove(id)?),
                    }
                }
                Undo::Email { email, old } => {
                    let t = self.user_emails()?;
                    match old {
                        Some(v) => drop(t.insert(email.as_str(), v)?),
                        None => drop(t.remove(email.as_str())?),
                    }
                }
                Undo::Reservation { id, old } => {
                    let t = self.reservations()?;
                    match old {
                        Some(v) => drop(t.insert(id, v.as_slice())?),
                        None => drop(t.remove(id)?),
                    }
                }
                Undo::Hold { key, existed } => {
                    let t = self.active_holds()?;
                    if existed {
                        t.insert(key, ())?;
                    } else {
                        t.remove(key)?;
                    }
                }
                Undo::Many(entries) => self.apply_undo(entries)?,
            }
        }
        Ok(())
    }

    /// Runs one mutation; a redb failure marks the transaction broken.
    fn mutate<T>(
        &mut self,
        op: impl FnOnce(&mut Self, bool) -> Result<(T, Option<Undo>), StorageError>,
    ) -> Result<T, StorageError> {
        let track = self.undo.is_some();
        match op(self, track) {
            Ok((value, undo)) => {
                if let (Some(log), Some(entry)) = (self.undo.as_mut(), undo) {
                    log.push(entry);
                }
                Ok(value)
            }
            Err(e) => {
                self.broken = true;
                Err(e)
            }
        }
    }

    // ------------------------------------------------------------- redo

    fn log_put(&mut self, tag: u8, key: &[u8], value: &[u8]) {
        if let Some(redo) = self.redo.as_mut() {
            redo.push(tag);
            push_bytes(redo, key);
            push_bytes(redo, value);
        }
    }

    fn log_delete(&mut self, tag: u8, key: &[u8]) {
        if let Some(redo) = self.redo.as_mut() {
            redo.push(tag | DELETE);
            push_bytes(redo, key);
        }
    }

    /// Applies a journal group's redo records, in order (opening replays
    /// the journal with this).
    pub(super) fn replay(&mut self, mut body: &[u8]) -> Result<(), StorageError> {
        while let Some((&tag, rest)) = body.split_first() {
            let (key, rest) = take_bytes(rest)?;
            body = rest;
            let value = if tag & DELETE == 0 {
                let (value, rest) = take_bytes(body)?;
                body = rest;
                Some(value)
            } else {
                None
            };
            self.replay_record(tag & !DELETE, key, value)?;
        }
        Ok(())
    }

    fn replay_record(
        &mut self,
        table: u8,
        key: &[u8],
        value: Option<&[u8]>,
    ) -> Result<(), StorageError> {
        let text = || std::str::from_utf8(key).map_err(|_| malformed());
        match table {
            T_APPS | T_SEATS | T_BOOKINGS | T_PAYMENTS => {
                let t = self.bytes_table(match table {
                    T_APPS => BytesTable::Apps,
                    T_SEATS => BytesTable::Seats,
                    T_BOOKINGS => BytesTable::Bookings,
                    _ => BytesTable::Payments,
                })?;
                match value {
                    Some(v) => drop(t.insert(text()?, v)?),
                    None => drop(t.remove(text()?)?),
                }
            }
            T_ENTITY_SEATS
            | T_USER_BOOKINGS
            | T_PENDING_USER_BOOKINGS
            | T_PENDING_PAYMENTS
            | T_REFUNDS_DUE => {
                let t = self.index_table(match table {
                    T_ENTITY_SEATS => IndexTable::EntitySeats,
                    T_USER_BOOKINGS => IndexTable::UserBookings,
                    T_PENDING_USER_BOOKINGS => IndexTable::PendingUserBookings,
                    T_PENDING_PAYMENTS => IndexTable::PendingPayments,
                    _ => IndexTable::RefundsDue,
                })?;
                match value {
                    Some(_) => drop(t.insert(text()?, ())?),
                    None => drop(t.remove(text()?)?),
                }
            }
            T_USERS => {
                let id = u128::from_le_bytes(key.try_into().map_err(|_| malformed())?);
                let t = self.users()?;
                match value {
                    Some(v) => drop(t.insert(id, v)?),
                    None => drop(t.remove(id)?),
                }
            }
            T_USER_EMAILS => {
                let t = self.user_emails()?;
                match value {
                    Some(v) => {
                        let id = u128::from_le_bytes(v.try_into().map_err(|_| malformed())?);
                        drop(t.insert(text()?, id)?);
                    }
                    None => drop(t.remove(text()?)?),
                }
            }
            T_RESERVATIONS => {
                let id = u64::from_le_bytes(key.try_into().map_err(|_| malformed())?);
                let t = self.reservations()?;
                match value {
                    Some(v) => drop(t.insert(id, v)?),
                    None => drop(t.remove(id)?),
                }
            }
            T_ACTIVE_HOLDS => {
                let key: [u8; 16] = key.try_into().map_err(|_| malformed())?;
                let expires_at = u64::from_le_bytes(key[..8].try_into().expect("8 bytes"));
                let id = u64::from_le_bytes(key[8..].try_into().expect("8 bytes"));
                let t = self.active_holds()?;
                match value {
                    Some(_) => drop(t.insert((expires_at, id), ())?),
                    None => drop(t.remove((expires_at, id))?),
                }
            }
            _ => return Err(malformed()),
        }
        Ok(())
    }

    // ------------------------------------------------------- mutations

    fn put_bytes(
        &mut self,
        table: BytesTable,
        key: &str,
        value: &[u8],
    ) -> Result<(), StorageError> {
        self.mutate(|tx, track| {
            let old = tx.bytes_table(table)?.insert(key, value)?;
            let undo = track.then(|| Undo::Bytes {
                table,
                key: key.to_owned(),
                old: old.map(|v| v.value().to_vec()),
            });
            Ok(((), undo))
        })?;
        self.log_put(table.tag(), key.as_bytes(), value);
        Ok(())
    }

    /// Removes a row; returns its old value.
    fn remove_bytes(
        &mut self,
        table: BytesTable,
        key: &str,
    ) -> Result<Option<Vec<u8>>, StorageError> {
        self.mutate(|tx, track| {
            let old = tx
                .bytes_table(table)?
                .remove(key)?
                .map(|v| v.value().to_vec());
            let undo = (track && old.is_some()).then(|| Undo::Bytes {
                table,
                key: key.to_owned(),
                old: old.clone(),
            });
            Ok((old, undo))
        })
        .inspect(|old| {
            if old.is_some() {
                self.log_delete(table.tag(), key.as_bytes());
            }
        })
    }

    fn set_index(
        &mut self,
        table: IndexTable,
        key: &str,
        present: bool,
    ) -> Result<(), StorageError> {
        self.mutate(|tx, track| {
            let t = tx.index_table(table)?;
            let existed = if present {
                t.insert(key, ())?.is_some()
            } else {
                t.remove(key)?.is_some()
            };
            let undo = (track && existed != present).then(|| Undo::Index {
                table,
                key: key.to_owned(),
                existed,
            });
            Ok(((), undo))
        })?;
        if present {
            self.log_put(table.tag(), key.as_bytes(), &[]);
        } else {
            self.log_delete(table.tag(), key.as_bytes());
        }
        Ok(())
    }

    fn index_hold(&mut self, key: (u64, u64)) -> Result<(), StorageError> {
        self.mutate(|tx, track| {
            let existed = tx.active_holds()?.insert(key, ())?.is_some();
            Ok((
                (),
                (track && !existed).then_some(Undo::Hold { key, existed }),
            ))
        })?;
        self.log_put(T_ACTIVE_HOLDS, &hold_key_bytes(key), &[]);
        Ok(())
    }

    pub(crate) fn put_app(&mut self, rec: &AppRecord) -> Result<(), StorageError> {
        self.put_bytes(BytesTable::Apps, &rec.app_id, &encode(rec)?)
    }

    /// Rewrites an existing user's row (password change, rehash). The
    /// email must not change: the email index is left as it is.
    pub(crate) fn put_user(&mut self, id: UserId, rec: &UserRecord) -> Result<(), StorageError> {
        let value = encode(rec)?;
        self.mutate(|tx, track| {
            let old = tx
                .users()?
                .insert(id.0, value.as_slice())?
                .map(|v| v.value().to_vec());
            Ok(((), track.then_some(Undo::User { id: id.0, old })))
        })?;
        self.log_put(T_USERS, &id.0.to_le_bytes(), &value);
        Ok(())
    }

    pub(crate) fn insert_user(&mut self, id: UserId, rec: &UserRecord) -> Result<(), StorageError> {
        let value = encode(rec)?;
        self.mutate(|tx, track| {
            let old = tx
                .users()?
                .insert(id.0, value.as_slice())?
                .map(|v| v.value().to_vec());
            Ok(((), track.then_some(Undo::User { id: id.0, old })))
        })?;
        self.log_put(T_USERS, &id.0.to_le_bytes(), &value);
        self.mutate(|tx, track| {
            let old = tx
                .user_emails()?
                .insert(rec.email.as_str(), id.0)?
                .map(|v| v.value());
            let undo = track.then(|| Undo::Email {
                email: rec.email.clone(),
                old,
            });
            Ok(((), undo))
        })?;
        self.log_put(T_USER_EMAILS, rec.email.as_bytes(), &id.0.to_le_bytes());
        Ok(())
    }

    pub(crate) fn put_seat(
        &mut self,
        app: &str,
        seat: &str,
        rec: &SeatRecord,
    ) -> Result<(), StorageError> {
        self.put_bytes(BytesTable::Seats, &seat_key(app, seat), &encode(rec)?)?;
        let index_key = format!("{}{seat}", entity_prefix(app, &rec.entity_id));
        self.set_index(IndexTable::EntitySeats, &index_key, true)
    }

    /// Rewrites a seat whose entity is unchanged (status, holder, booking):
    /// its entity-index row stays as it is, one b-tree page fewer per seat.
    pub(crate) fn update_seat(
        &mut self,
        app: &str,
        seat: &str,
        rec: &SeatRecord,
    ) -> Result<(), StorageError> {
        self.put_bytes(BytesTable::Seats, &seat_key(app, seat), &encode(rec)?)
    }

    pub(crate) fn delete_seat(&mut self, app: &str, seat: &str) -> Result<(), StorageError> {
        let removed = self
            .remove_bytes(BytesTable::Seats, &seat_key(app, seat))?
            .map(|v| decode::<SeatRecord>(&v));
        if let Some(rec) = removed {
            let rec = rec?;
            let index_key = format!("{}{seat}", entity_prefix(app, &rec.entity_id));
            self.set_index(IndexTable::EntitySeats, &index_key, false)?;
        }
        Ok(())
    }

    /// Stores a reservation; while it is ACTIVE, also indexes it under its
    /// expiry in the active-holds index.
    ///
    /// Never removes an index row. A reservation that is confirmed,
    /// released or extended leaves its old row behind, and
    /// [`drop_holds`](Self::drop_holds) removes it in bulk once its expiry
    /// is due (the sweep tells live rows from stale ones by the
    /// reservation). Why: the index is small, so redb rebuilds a whole leaf
    /// for every single-row removal; on the confirm path that was 6 % of
    /// the group committer's time.
    pub(crate) fn put_reservation(
        &mut self,
        id: u64,
        rec: &ReservationRecord,
    ) -> Result<(), StorageError> {
        let value = encode(rec)?;
        self.mutate(|tx, track| {
            let old = tx
                .reservations()?
                .insert(id, value.as_slice())?
                .map(|v| v.value().to_vec());
            Ok(((), track.then_some(Undo::Reservation { id, old })))
        })?;
        self.log_put(T_RESERVATIONS, &id.to_le_bytes(), &value);
        if rec.status == ReservationStatus::Active {
            self.index_hold((rec.expires_at, id))?;
        }
        Ok(())
    }

    /// Removes these `(expiry, id)` rows from the active-holds index in one
    /// pass over their key range (rows not listed are kept).
    pub(crate) fn drop_holds(&mut self, keys: &[(u64, u64)]) -> Result<(), StorageError> {
        let mut keys = keys.to_vec();
        keys.sort_unstable();
        keys.dedup();
        let (Some(&first), Some(&last)) = (keys.first(), keys.last()) else {
            return Ok(());
        };
        let removed = self.mutate(|tx, track| {
            let mut removed = Vec::new();
            tx.active_holds()?.retain_in(first..=last, |key, ()| {
                let listed = keys.binary_search(&key).is_ok();
                if listed {
                    removed.push(key);
                }
                !listed
            })?;
            let undo = track.then(|| {
                Undo::Many(
                    removed
                        .iter()
                        .map(|&key| Undo::Hold { key, existed: true })
                        .collect(),
                )
            });
            Ok((removed, undo))
        })?;
        for key in removed {
            self.log_delete(T_ACTIVE_HOLDS, &hold_key_bytes(key));
        }
        Ok(())
    }

    /// Stores a payment binding; while it is [`PaymentState::Pending`] it
    /// is also listed in the pending-payments index, and removed from it
    /// when it changes to an outcome.
    pub(crate) fn put_payment(
        &mut self,
        app: &str,
        payment_id: &str,
        rec: &PaymentRecord,
    ) -> Result<(), StorageError> {
        let key = app_key(app, payment_id);
        self.put_bytes(BytesTable::Payments, &key, &encode(rec)?)?;
        self.set_index(
            IndexTable::PendingPayments,
            &key,
            rec.state == PaymentState::Pending,
        )
    }

    /// Stores a booking record. A REFUND_DUE record is also listed in the
    /// refunds-due index (and leaves it when its status changes: see
    /// [`settle_refund`](Self::settle_refund)).
    pub(crate) fn put_booking(
        &mut self,
        booking_id: &str,
        rec: &BookingRecord,
        index_for_user: bool,
    ) -> Result<(), StorageError> {
        self.put_bytes(BytesTable::Bookings, booking_id, &encode(rec)?)?;
        if rec.status == BookingStatus::RefundDue {
            self.set_index(
                IndexTable::RefundsDue,
                &app_key(&rec.app_id, booking_id),
                true,
            )?;
        }
        if index_for_user {
            let key = pending_user_booking_key(booking_id, &rec.app_id, rec.user_id);
            self.set_index(IndexTable::PendingUserBookings, &key, true)?;
            if self.pending_user_bookings()?.len()? >= PENDING_USER_BOOKINGS_MAX {
                self.fold_pending_user_bookings()?;
            }
        }
        Ok(())
    }

    /// Takes a booking record off the refunds-due index (its refund was
    /// settled); the caller stores its new status.
    pub(crate) fn settle_refund(
        &mut self,
        app: &str,
        booking_id: &str,
    ) -> Result<(), StorageError> {
        self.set_index(IndexTable::RefundsDue, &app_key(app, booking_id), false)
    }

    /// Moves every pending user-booking entry into the user-bookings
    /// index (see [`PENDING_USER_BOOKINGS`]). Inserted in key order, so
    /// consecutive inserts land in the same leaves, then the pending table
    /// is emptied in one pass; undone and journaled row by row like any
    /// other write.
    fn fold_pending_user_bookings(&mut self) -> Result<(), StorageError> {
        let mut pending = Vec::new();
        for row in self.pending_user_bookings()?.iter()? {
            pending.push(row?.0.value().to_owned());
        }
        let mut folded = pending
            .iter()
            .map(|key| user_booking_key_of_pending(key))
            .collect::<Result<Vec<_>, _>>()?;
        folded.sort_unstable();
        for key in &folded {
            self.set_index(IndexTable::UserBookings, key, true)?;
        }
        self.mutate(|tx, track| {
            tx.pending_user_bookings()?.retain(|_, ()| false)?;
            let undo = track.then(|| {
                Undo::Many(
                    pending
                        .iter()
                        .map(|key| Undo::Index {
                            table: IndexTable::PendingUserBookings,
                            key: key.clone(),
                            existed: true,
                        })
                        .collect(),
                )
            });
            Ok(((), undo))
        })?;
        for key in &pending {
            self.log_delete(T_PENDING_USER_BOOKINGS, key.as_bytes());
        }
        Ok(())
    }
}

fn push_bytes(out: &mut Vec<u8>, bytes: &[u8]) {
    // Keys and values are bounded far below 4 GiB (validated ids, records
    // of a few hundred bytes), so the length always fits.
    debug_assert!(u32::try_from(bytes.len()).is_ok(), "redo field over 4 GiB");
    let len = u32::try_from(bytes.len()).unwrap_or(u32::MAX);
    out.extend_from_slice(&len.to_le_bytes());
    out.extend_from_slice(bytes);
}

fn take_bytes(input: &[u8]) -> Result<(&[u8], &[u8]), StorageError> {
    let (len, rest) = input.split_at_checked(4).ok_or_else(malformed)?;
    let len = u32::from_le_bytes(len.try_into().map_err(|_| malformed())?) as usize;
    rest.split_at_checked(len).ok_or_else(malformed)
}

fn malformed() -> StorageError {
    StorageError("malformed journal record".into())
}
