//! The typed write transaction: every durable mutation, its undo and redo logs.
//!
//! Owns how rows are written inside one redb write transaction, the undo
//! log that takes one closure's writes back, and the *redo* log that the
//! journal stores (and that [`WriteTx::replay`] applies on open). It must
//! never commit (that is [`RedbStore::write`](super::RedbStore::write)'s and
//! the combiner's job) and never decide booking rules.
//!
//! # A change is recorded once
//!
//! Every row changes through one primitive, [`WriteTx::put`] or
//! [`WriteTx::remove`] (and [`WriteTx::remove_in`] for bulk removals),
//! generic over the table ([`Journaled`]). The same call applies the row,
//! appends its redo record (the new value) and, while a closure's writes
//! are tracked, its undo record (the old value). Undo records have the
//! redo records' format and are applied by the same code as a replay
//! ([`WriteTx::apply`]), newest first. So the typed methods below only
//! say which rows a record touches; a new table is one line of
//! `journaled_tables!` (in [`schema`](super::schema)) and needs nothing here.
//!
//! # Redo records
//!
//! Every change appends one record: a tag (the table's code, with
//! [`DELETE`] set for a removal), the key as a `u32` length and bytes, and
//! for a put the value likewise (see [`Field`] for each type's bytes). A
//! removal is recorded only when it removed a row. A record carries the
//! row's whole new value, never a delta, so replaying a generation's groups
//! in order over a database that already holds some or all of them (and
//! nothing newer) ends in the same state as replaying them over one that
//! holds none.
//!
//! Tables are opened lazily, once per transaction, and kept open
//! ([`OpenTables`]): a commit batch runs dozens of closures in one
//! transaction, and reopening a table per row cost as much as the row itself.
//! The undo log's buffers are kept across closures: tracking a change
//! allocates nothing once they have grown.

use std::ops::RangeBounds;

use redb::{ReadableTable, ReadableTableMetadata, Table};

use super::records::{
    Field, app_key, decode, decode_user, encode, entity_prefix, pending_user_booking_key, seat_key,
    take_bytes, user_booking_key_of_pending, user_bookings_prefix,
};
use super::schema::{
    ActiveHolds, Apps, ArchivedEntities, ArchivedSeats, Bookings, Entities, EntitySeats, Journaled,
    META, OpenTables, PENDING_USER_BOOKINGS_MAX, Payments, PendingPayments, PendingUserBookings,
    RefundsDue, Reservations, SCHEMA_VERSION, SCHEMA_VERSION_KEY, Seats, TableFn, TableVisitor,
    UserBookings, UserEmails, Users, visit_every_table, with_tag,
};
use crate::error::StorageError;
use crate::model::{BookingStatus, UserId};
use crate::store::{
    AppRecord, ArchivedEntityRecord, BookingRecord, EntityRecord, PaymentRecord, PaymentState,
    ReservationRecord, SeatRecord, UserRecord,
};

/// Set in a tag: the record removes its key.
const DELETE: u8 = 0x80;

/// A key of table `T`, as redb hands it over.
type Key<'a, T> = <<T as Journaled>::K as redb::Value>::SelfType<'a>;
/// A value of table `T`, as redb hands it over.
type Val<'a, T> = <<T as Journaled>::V as redb::Value>::SelfType<'a>;

/// Appends one record of table `T`: a put of `value`, or (`None`) a removal.
fn push_record<T: Journaled>(out: &mut Vec<u8>, key: &Key<'_, T>, value: Option<&Val<'_, T>>) {
    out.push(if value.is_some() {
        T::TAG
    } else {
        T::TAG | DELETE
    });
    T::K::encode(key, out);
    if let Some(value) = value {
        T::V::encode(value, out);
    }
}

/// One record, parsed: its tag without [`DELETE`], its key, and its
/// value (`None` for a removal).
type Record<'a> = (u8, &'a [u8], Option<&'a [u8]>);

/// Splits the first record off `body`.
fn take_record(body: &[u8]) -> Result<(Record<'_>, &[u8]), StorageError> {
    let (&tag, rest) = body.split_first().ok_or_else(malformed)?;
    let (key, rest) = take_bytes(rest).ok_or_else(malformed)?;
    if tag & DELETE != 0 {
        return Ok(((tag & !DELETE, key, None), rest));
    }
    let (value, rest) = take_bytes(rest).ok_or_else(malformed)?;
    Ok(((tag, key, Some(value)), rest))
}

/// How to put back, newest first, every row the current closure changed:
/// records in the redo format holding each row's previous value (a
/// removal for a row that was absent).
#[derive(Default)]
struct UndoLog {
    records: Vec<u8>,
    /// Where each record starts in `records`.
    starts: Vec<usize>,
}

impl UndoLog {
    fn record<T: Journaled>(&mut self, key: &Key<'_, T>, old: Option<&Val<'_, T>>) {
        self.starts.push(self.records.len());
        push_record::<T>(&mut self.records, key, old);
    }

    fn clear(&mut self) {
        self.records.clear();
        self.starts.clear();
    }
}

/// A table of this transaction, opened on first use.
fn opened<'a, 't, T: Journaled>(
    txn: &'t redb::WriteTransaction,
    open: &'a mut OpenTables<'t>,
) -> Result<&'a mut Table<'t, T::K, T::V>, StorageError> {
    let slot = T::slot(open);
    if slot.is_none() {
        *slot = Some(txn.open_table(T::DEF)?);
    }
    Ok(slot.as_mut().expect("opened above"))
}

/// A write transaction with typed accessors.
///
/// Every mutation goes through the typed methods below, so when group
/// commit shares the transaction between callers, each closure's writes can
/// be undone on its own: while `tracking`, every change also records the
/// previous value of the row it changes.
pub(crate) struct WriteTx<'t> {
    txn: &'t redb::WriteTransaction,
    open: OpenTables<'t>,
    /// Recording undo records for the current closure.
    tracking: bool,
    undo: UndoLog,
    /// Redo records of this transaction's kept writes; `None` when nothing
    /// is journaled ([`Durability::None`](crate::store::Durability::None)).
    redo: Option<Vec<u8>>,
    /// Length of `redo` when the current closure began (its records are
    /// dropped with its writes when it fails).
    redo_mark: usize,
    /// Records in `redo`, and at `redo_mark` (checked against the bytes in
    /// debug builds: see [`take_redo`](Self::take_redo)).
    redo_records: usize,
    redo_records_mark: usize,
    /// A mutation failed inside redb: the transaction can no longer be
    /// trusted and must be aborted, whatever the closure returns.
    broken: bool,
}

impl<'t> WriteTx<'t> {
    /// `journaled`: record redo records for the journal.
    pub(super) fn new(txn: &'t redb::WriteTransaction, journaled: bool) -> Self {
        Self {
            txn,
            open: OpenTables::default(),
            tracking: false,
            undo: UndoLog::default(),
            redo: journaled.then(Vec::new),
            redo_mark: 0,
            redo_records: 0,
            redo_records_mark: 0,
            broken: false,
        }
    }

    /// The redo records of every kept write so far (empty when not
    /// journaled).
    pub(super) fn take_redo(&mut self) -> Vec<u8> {
        // Taken between closures only: a closure's records are kept or
        // dropped as a whole.
        assert!(!self.tracking, "redo taken while a closure is tracked");
        let redo = self.redo.as_mut().map(std::mem::take).unwrap_or_default();
        debug_assert_eq!(
            count_records(&redo),
            Ok(if self.redo.is_some() {
                self.redo_records
            } else {
                0
            }),
            "the redo bytes do not hold exactly the changes applied"
        );
        self.redo_mark = 0;
        self.redo_records = 0;
        self.redo_records_mark = 0;
        redo
    }

    /// A table of this transaction.
    fn table<T: Journaled>(&mut self) -> Result<&mut Table<'t, T::K, T::V>, StorageError> {
        opened::<T>(self.txn, &mut self.open)
    }

    /// Creates every table (so readers never meet a missing one) and
    /// checks the schema version.
    pub(super) fn ensure_schema(&mut self) -> Result<(), StorageError> {
        struct Create<'a>(&'a redb::WriteTransaction);
        impl TableVisitor for Create<'_> {
            fn visit<K: redb::Key + 'static, V: redb::Value + 'static>(
                &mut self,
                table: redb::TableDefinition<'static, K, V>,
            ) -> Result<(), StorageError> {
                self.0.open_table(table)?;
                Ok(())
            }
        }
        visit_every_table(&mut Create(self.txn))?;
        let mut meta = self.txn.open_table(META)?;
        let version = meta.get(SCHEMA_VERSION_KEY)?.map(|v| v.value());
        match version {
            None => {
                meta.insert(SCHEMA_VERSION_KEY, SCHEMA_VERSION)?;
                Ok(())
            }
            Some(SCHEMA_VERSION) => Ok(()),
            Some(other) => Err(StorageError::corrupt(format!(
                "database schema version {other} is not supported (expected {SCHEMA_VERSION})"
            ))),
        }
    }

    // ------------------------------------------------------------ reads

    pub(crate) fn app(&mut self, app_id: &str) -> Result<Option<AppRecord>, StorageError> {
        self.table::<Apps>()?
            .get(app_id)?
            .map(|v| decode(v.value()))
            .transpose()
    }

    pub(crate) fn user_by_email(
        &mut self,
        email: &str,
    ) -> Result<Option<(UserId, UserRecord)>, StorageError> {
        let Some(id) = self.table::<UserEmails>()?.get(email)?.map(|v| v.value()) else {
            return Ok(None);
        };
        let rec = self
            .table::<Users>()?
            .get(id)?
            .ok_or_else(|| StorageError::corrupt("email index without user"))?;
        Ok(Some((UserId(id), decode_user(rec.value())?)))
    }

    pub(crate) fn user(&mut self, id: UserId) -> Result<Option<UserRecord>, StorageError> {
        self.table::<Users>()?
            .get(id.0)?
            .map(|v| decode_user(v.value()))
            .transpose()
    }

    pub(crate) fn seat(
        &mut self,
        app: &str,
        seat: &str,
    ) -> Result<Option<SeatRecord>, StorageError> {
        self.table::<Seats>()?
            .get(seat_key(app, seat).as_str())?
            .map(|v| decode(v.value()))
            .transpose()
    }

    /// Entity `entity`'s record, live or archived.
    pub(crate) fn entity(
        &mut self,
        app: &str,
        entity: &str,
    ) -> Result<Option<EntityRecord>, StorageError> {
        let key = app_key(app, entity);
        if let Some(v) = self.table::<Entities>()?.get(key.as_str())? {
            return decode(v.value()).map(Some);
        }
        self.table::<ArchivedEntities>()?
            .get(key.as_str())?
            .map(|v| decode::<ArchivedEntityRecord>(v.value()).map(|a| a.record))
            .transpose()
    }

    pub(crate) fn reservation(
        &mut self,
        id: u64,
    ) -> Result<Option<ReservationRecord>, StorageError> {
        self.table::<Reservations>()?
            .get(id)?
            .map(|v| decode(v.value()))
            .transpose()
    }

    pub(crate) fn booking(
        &mut self,
        booking_id: &str,
    ) -> Result<Option<BookingRecord>, StorageError> {
        self.table::<Bookings>()?
            .get(booking_id)?
            .map(|v| decode(v.value()))
            .transpose()
    }

    pub(crate) fn payment(
        &mut self,
        app: &str,
        payment_id: &str,
    ) -> Result<Option<PaymentRecord>, StorageError> {
        self.table::<Payments>()?
            .get(app_key(app, payment_id).as_str())?
            .map(|v| decode(v.value()))
            .transpose()
    }

    // ------------------------------------------------------------- undo

    /// Starts (`true`) or stops recording how to undo the next writes.
    pub(super) fn track_undo(&mut self, on: bool) {
        self.tracking = on;
        self.undo.clear();
        self.redo_mark = self.redo.as_ref().map_or(0, Vec::len);
        self.redo_records_mark = self.redo_records;
    }

    pub(super) fn is_broken(&self) -> bool {
        self.broken
    }

    /// Puts back every row the closure since [`track_undo`](Self::track_undo)
    /// changed, newest first.
    pub(super) fn undo(&mut self) -> Result<(), StorageError> {
        if !std::mem::replace(&mut self.tracking, false) {
            return Ok(());
        }
        if let Some(redo) = self.redo.as_mut() {
            assert!(self.redo_mark <= redo.len(), "redo shrank under a closure");
            redo.truncate(self.redo_mark);
        }
        self.redo_records = self.redo_records_mark;
        let log = std::mem::take(&mut self.undo);
        let mut result = Ok(());
        for &start in log.starts.iter().rev() {
            result = take_record(&log.records[start..])
                .and_then(|((tag, key, value), _)| self.apply(tag, key, value));
            if result.is_err() {
                break;
            }
        }
        self.undo = log;
        self.undo.clear();
        if result.is_err() {
            self.broken = true;
        }
        result
    }

    // ------------------------------------------------------- primitive

    /// Writes one row of table `T`, and records the change: its redo
    /// record (the new value) and, while tracking, its undo record (the
    /// old value, or a removal if there was none). A redb failure marks
    /// the transaction broken.
    #[allow(clippy::needless_pass_by_value)] // `&str`, `&[u8]`, integers, `()`
    fn put<T: Journaled>(
        &mut self,
        key: Key<'_, T>,
        value: Val<'_, T>,
    ) -> Result<(), StorageError> {
        let table = opened::<T>(self.txn, &mut self.open).inspect_err(|_| self.broken = true)?;
        let old = match table.insert(&key, &value) {
            Ok(old) => old,
            Err(e) => {
                self.broken = true;
                return Err(e.into());
            }
        };
        if self.tracking {
            self.undo
                .record::<T>(&key, old.as_ref().map(redb::AccessGuard::value).as_ref());
        }
        drop(old);
        if let Some(redo) = self.redo.as_mut() {
            push_record::<T>(redo, &key, Some(&value));
            self.redo_records += 1;
        }
        Ok(())
    }

    /// Removes one row of table `T`; whether it was there. A removal that
    /// removed something is recorded as [`put`](Self::put) records a put.
    #[allow(clippy::needless_pass_by_value)] // as for `put`
    fn remove<T: Journaled>(&mut self, key: Key<'_, T>) -> Result<bool, StorageError> {
        let table = opened::<T>(self.txn, &mut self.open).inspect_err(|_| self.broken = true)?;
        let old = match table.remove(&key) {
            Ok(old) => old,
            Err(e) => {
                self.broken = true;
                return Err(e.into());
            }
        };
        let Some(old) = old else {
            return Ok(false);
        };
        if self.tracking {
            self.undo.record::<T>(&key, Some(&old.value()));
        }
        drop(old);
        if let Some(redo) = self.redo.as_mut() {
            push_record::<T>(redo, &key, None);
            self.redo_records += 1;
        }
        Ok(true)
    }

    /// Removes the rows of table `T` in `range` that `pick` picks, in one
    /// pass, each recorded as [`remove`](Self::remove) records one.
    fn remove_in<'a, T: Journaled>(
        &mut self,
        range: impl RangeBounds<Key<'a, T>> + 'a,
        mut pick: impl FnMut(&Key<'_, T>) -> bool,
    ) -> Result<(), StorageError> {
        let table = opened::<T>(self.txn, &mut self.open).inspect_err(|_| self.broken = true)?;
        let (tracking, undo, redo, records) = (
            self.tracking,
            &mut self.undo,
            &mut self.redo,
            &mut self.redo_records,
        );
        let kept = table.retain_in(range, |key, value| {
            if !pick(&key) {
                return true;
            }
            if tracking {
                undo.record::<T>(&key, Some(&value));
            }
            if let Some(redo) = redo.as_mut() {
                push_record::<T>(redo, &key, None);
                *records += 1;
            }
            false
        });
        kept.map_err(|e| {
            self.broken = true;
            e.into()
        })
    }

    // ------------------------------------------------------------- redo

    /// Applies a journal group's redo records, in order (opening replays
    /// the journal with this).
    pub(super) fn replay(&mut self, mut body: &[u8]) -> Result<(), StorageError> {
        while !body.is_empty() {
            let ((tag, key, value), rest) = take_record(body)?;
            body = rest;
            self.apply(tag, key, value)?;
        }
        Ok(())
    }

    /// Applies one record (a replayed redo record or an undo record),
    /// recording nothing.
    fn apply(&mut self, tag: u8, key: &[u8], value: Option<&[u8]>) -> Result<(), StorageError> {
        struct Apply<'x, 't> {
            tx: &'x mut WriteTx<'t>,
            key: &'x [u8],
            value: Option<&'x [u8]>,
        }
        impl TableFn for Apply<'_, '_> {
            type Out = Result<(), StorageError>;
            fn call<T: Journaled>(self) -> Self::Out {
                let key = T::K::decode(self.key).ok_or_else(malformed)?;
                let table = self.tx.table::<T>()?;
                match self.value {
                    Some(value) => {
                        let value = T::V::decode(value).ok_or_else(malformed)?;
                        drop(table.insert(&key, &value)?);
                    }
                    None => drop(table.remove(&key)?),
                }
                Ok(())
            }
        }
        with_tag(
            tag,
            Apply {
                tx: self,
                key,
                value,
            },
        )
        .unwrap_or_else(|| Err(malformed()))
    }

    // ------------------------------------------------------- mutations

    pub(crate) fn put_app(&mut self, rec: &AppRecord) -> Result<(), StorageError> {
        self.put::<Apps>(&rec.app_id, &encode(rec)?)
    }

    pub(crate) fn put_entity(
        &mut self,
        app: &str,
        entity: &str,
        rec: &EntityRecord,
    ) -> Result<(), StorageError> {
        self.put::<Entities>(&app_key(app, entity), &encode(rec)?)
    }

    /// Archives entity `entity`: its live record gives way to `archived`,
    /// and the rows of its seats `seat_ids` (every seat it has) and their
    /// index rows give way to archived-seat rows naming the entity.
    pub(crate) fn archive_entity(
        &mut self,
        app: &str,
        entity: &str,
        seat_ids: &[String],
        archived: &ArchivedEntityRecord,
    ) -> Result<(), StorageError> {
        let key = app_key(app, entity);
        self.remove::<Entities>(&key)?;
        self.put::<ArchivedEntities>(&key, &encode(archived)?)?;
        let prefix = entity_prefix(app, entity);
        for seat in seat_ids {
            let key = seat_key(app, seat);
            self.remove::<Seats>(&key)?;
            self.remove::<EntitySeats>(&format!("{prefix}{seat}"))?;
            self.put::<ArchivedSeats>(&key, entity)?;
        }
        Ok(())
    }

    /// The largest reservation id stored, if any.
    pub(crate) fn last_reservation_id(&mut self) -> Result<Option<u64>, StorageError> {
        Ok(self
            .table::<Reservations>()?
            .last()?
            .map(|(k, _)| k.value()))
    }

    /// Removes reservation `id` (`rec`, as stored) and its active-holds
    /// row. Stale rows of earlier expiries are the sweep's (they are due
    /// before the reservation ended).
    pub(crate) fn delete_reservation(
        &mut self,
        id: u64,
        rec: &ReservationRecord,
    ) -> Result<(), StorageError> {
        self.remove::<Reservations>(id)?;
        self.remove::<ActiveHolds>((rec.expires_at, id))?;
        Ok(())
    }

    /// Removes booking record `booking_id` (`rec`, as stored) and its rows
    /// in its user's index.
    pub(crate) fn delete_booking(
        &mut self,
        booking_id: &str,
        rec: &BookingRecord,
    ) -> Result<(), StorageError> {
        self.remove::<Bookings>(booking_id)?;
        let user_key = format!(
            "{}{booking_id}",
            user_bookings_prefix(&rec.app_id, rec.user_id)
        );
        self.remove::<UserBookings>(&user_key)?;
        self.remove::<PendingUserBookings>(&pending_user_booking_key(
            booking_id,
            &rec.app_id,
            rec.user_id,
        ))?;
        if rec.status == BookingStatus::RefundDue {
            self.remove::<RefundsDue>(&app_key(&rec.app_id, booking_id))?;
        }
        Ok(())
    }

    /// The entity of seat `seat` if its entity was archived.
    pub(crate) fn archived_seat(
        &mut self,
        app: &str,
        seat: &str,
    ) -> Result<Option<String>, StorageError> {
        Ok(self
            .table::<ArchivedSeats>()?
            .get(seat_key(app, seat).as_str())?
            .map(|v| v.value().to_owned()))
    }

    /// Rewrites an existing user's row (password change, rehash). The
    /// email must not change: the email index is left as it is.
    pub(crate) fn put_user(&mut self, id: UserId, rec: &UserRecord) -> Result<(), StorageError> {
        self.put::<Users>(id.0, &encode(rec)?)
    }

    pub(crate) fn insert_user(&mut self, id: UserId, rec: &UserRecord) -> Result<(), StorageError> {
        self.put::<Users>(id.0, &encode(rec)?)?;
        self.put::<UserEmails>(&rec.email, id.0)
    }

    pub(crate) fn put_seat(
        &mut self,
        app: &str,
        seat: &str,
        rec: &SeatRecord,
    ) -> Result<(), StorageError> {
        self.put::<Seats>(&seat_key(app, seat), &encode(rec)?)?;
        let index_key = format!("{}{seat}", entity_prefix(app, &rec.entity_id));
        self.put::<EntitySeats>(&index_key, ())
    }

    /// Rewrites a seat whose entity is unchanged (status, holder, booking):
    /// its entity-index row stays as it is, one b-tree page fewer per seat.
    pub(crate) fn update_seat(
        &mut self,
        app: &str,
        seat: &str,
        rec: &SeatRecord,
    ) -> Result<(), StorageError> {
        self.put::<Seats>(&seat_key(app, seat), &encode(rec)?)
    }

    pub(crate) fn delete_seat(&mut self, app: &str, seat: &str) -> Result<(), StorageError> {
        let Some(rec) = self.seat(app, seat)? else {
            return Ok(());
        };
        self.remove::<Seats>(&seat_key(app, seat))?;
        let index_key = format!("{}{seat}", entity_prefix(app, &rec.entity_id));
        self.remove::<EntitySeats>(&index_key)?;
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
        self.put::<Reservations>(id, &encode(rec)?)?;
        if rec.is_active() {
            self.put::<ActiveHolds>((rec.expires_at, id), ())?;
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
        self.remove_in::<ActiveHolds>(first..=last, |key| keys.binary_search(key).is_ok())
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
        self.put::<Payments>(&key, &encode(rec)?)?;
        if rec.state == PaymentState::Pending {
            self.put::<PendingPayments>(&key, ())
        } else {
            self.remove::<PendingPayments>(&key).map(drop)
        }
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
        self.put::<Bookings>(booking_id, &encode(rec)?)?;
        if rec.status == BookingStatus::RefundDue {
            self.put::<RefundsDue>(&app_key(&rec.app_id, booking_id), ())?;
        }
        if index_for_user {
            let key = pending_user_booking_key(booking_id, &rec.app_id, rec.user_id);
            self.put::<PendingUserBookings>(&key, ())?;
            if self.table::<PendingUserBookings>()?.len()? >= PENDING_USER_BOOKINGS_MAX {
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
        self.remove::<RefundsDue>(&app_key(app, booking_id))
            .map(drop)
    }

    /// Moves every pending user-booking entry into the user-bookings
    /// index (see [`PENDING_USER_BOOKINGS`](super::schema::PENDING_USER_BOOKINGS)).
    /// Inserted in key order, so consecutive inserts land in the same
    /// leaves, then the pending table is emptied in one pass; undone and
    /// journaled row by row like any other write.
    fn fold_pending_user_bookings(&mut self) -> Result<(), StorageError> {
        let mut folded = Vec::new();
        for row in self.table::<PendingUserBookings>()?.iter()? {
            folded.push(user_booking_key_of_pending(row?.0.value())?);
        }
        folded.sort_unstable();
        for key in &folded {
            self.put::<UserBookings>(key, ())?;
        }
        self.remove_in::<PendingUserBookings>(.., |_| true)
    }
}

/// The records in `redo`, or where its framing breaks.
fn count_records(mut redo: &[u8]) -> Result<usize, usize> {
    let len = redo.len();
    let mut n = 0;
    while !redo.is_empty() {
        redo = take_record(redo).map_err(|_| len - redo.len())?.1;
        n += 1;
    }
    Ok(n)
}

fn malformed() -> StorageError {
    StorageError::corrupt("malformed journal record")
}
