//! Read snapshots of the redb store with typed accessors.
//!
//! Owns how each record is found (keys, index ranges). It must never
//! write.

use redb::{ReadableDatabase, ReadableTable};

use super::RedbStore;
use super::records::{
    SEP, app_key, decode, decode_user, entity_prefix, prefix_end, seat_key, user_bookings_prefix,
};
use super::schema::{
    ACTIVE_HOLDS, APPS, ARCHIVED_ENTITIES, BOOKINGS, ENTITIES, ENTITY_SEATS, PAYMENTS,
    PENDING_PAYMENTS, PENDING_USER_BOOKINGS, REFUNDS_DUE, RESERVATIONS, SEATS, USER_BOOKINGS,
    USER_EMAILS, USERS,
};
use crate::clock::UnixMillis;
use crate::error::StorageError;
use crate::model::UserId;
use crate::store::{
    AppRecord, ArchivedEntityRecord, BookingRecord, EntityRecord, PaymentRecord, ReservationRecord,
    SeatRecord, UserRecord,
};

impl RedbStore {
    pub(crate) fn read(&self) -> Result<ReadTx, StorageError> {
        Ok(ReadTx {
            inner: self.db.begin_read()?,
        })
    }
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
                .ok_or_else(|| StorageError::corrupt("email index without user"))?;
            Ok(Some((UserId(id), decode_user(rec.value())?)))
        }

        pub(crate) fn user(&self, id: UserId) -> Result<Option<UserRecord>, StorageError> {
            let t = self.inner.open_table(USERS)?;
            t.get(id.0)?.map(|v| decode_user(v.value())).transpose()
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

        /// Entity `entity`'s record, live or archived.
        pub(crate) fn entity(
            &self,
            app: &str,
            entity: &str,
        ) -> Result<Option<EntityRecord>, StorageError> {
            let key = app_key(app, entity);
            if let Some(v) = self.inner.open_table(ENTITIES)?.get(key.as_str())? {
                return decode(v.value()).map(Some);
            }
            Ok(self.archived_entity(app, entity)?.map(|a| a.record))
        }

        /// Archived entity `entity`, with its figures.
        pub(crate) fn archived_entity(
            &self,
            app: &str,
            entity: &str,
        ) -> Result<Option<ArchivedEntityRecord>, StorageError> {
            let t = self.inner.open_table(ARCHIVED_ENTITIES)?;
            t.get(app_key(app, entity).as_str())?
                .map(|v| decode(v.value()))
                .transpose()
        }

        /// Every entity record of one app, live and archived, in
        /// entity-id order.
        pub(crate) fn entities(
            &self,
            app: &str,
        ) -> Result<Vec<(String, EntityRecord)>, StorageError> {
            let prefix = format!("{app}{SEP}");
            let end = prefix_end(&prefix);
            let mut out = self.live_entities(app)?;
            for row in self
                .inner
                .open_table(ARCHIVED_ENTITIES)?
                .range(prefix.as_str()..end.as_str())?
            {
                let (k, v) = row?;
                let archived: ArchivedEntityRecord = decode(v.value())?;
                out.push((k.value()[prefix.len()..].to_owned(), archived.record));
            }
            out.sort_by(|a, b| a.0.cmp(&b.0));
            Ok(out)
        }

        /// The entity records of one app that are not archived, in
        /// entity-id order.
        pub(crate) fn live_entities(
            &self,
            app: &str,
        ) -> Result<Vec<(String, EntityRecord)>, StorageError> {
            let prefix = format!("{app}{SEP}");
            let end = prefix_end(&prefix);
            let mut out = Vec::new();
            for row in self
                .inner
                .open_table(ENTITIES)?
                .range(prefix.as_str()..end.as_str())?
            {
                let (k, v) = row?;
                out.push((k.value()[prefix.len()..].to_owned(), decode(v.value())?));
            }
            Ok(out)
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
                    .ok_or_else(|| StorageError::corrupt("entity index without seat"))?;
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
            let suffix = format!("{SEP}{app}{SEP}{user}");
            for row in self.inner.open_table(PENDING_USER_BOOKINGS)?.iter()? {
                let (k, _) = row?;
                if let Some(booking) = k.value().strip_suffix(suffix.as_str()) {
                    out.push(booking.to_owned());
                }
            }
            out.sort_unstable();
            Ok(out)
        }

        /// The binding of a payment id in an app.
        pub(crate) fn payment(
            &self,
            app: &str,
            payment_id: &str,
        ) -> Result<Option<PaymentRecord>, StorageError> {
            let t = self.inner.open_table(PAYMENTS)?;
            t.get(app_key(app, payment_id).as_str())?
                .map(|v| decode(v.value()))
                .transpose()
        }

        /// `(app, payment_id)` of every binding still pending.
        pub(crate) fn pending_payments(&self) -> Result<Vec<(String, String)>, StorageError> {
            let mut out = Vec::new();
            for row in self.inner.open_table(PENDING_PAYMENTS)?.iter()? {
                let (k, _) = row?;
                let (app, id) = k
                    .value()
                    .split_once(SEP)
                    .ok_or_else(|| StorageError::corrupt("corrupt pending payment key"))?;
                out.push((app.to_owned(), id.to_owned()));
            }
            Ok(out)
        }

        /// Ids of an app's REFUND_DUE booking records, in id order.
        pub(crate) fn refund_due_ids(&self, app: &str) -> Result<Vec<String>, StorageError> {
            let prefix = app_key(app, "");
            let end = prefix_end(&prefix);
            let mut out = Vec::new();
            for row in self
                .inner
                .open_table(REFUNDS_DUE)?
                .range(prefix.as_str()..end.as_str())?
            {
                out.push(row?.0.value()[prefix.len()..].to_owned());
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
                    .ok_or_else(|| StorageError::corrupt("corrupt seat key"))?;
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

        /// Up to `limit` reservations from id `first` on, in id order.
        pub(crate) fn reservations_from(
            &self,
            first: u64,
            limit: usize,
        ) -> Result<Vec<(u64, ReservationRecord)>, StorageError> {
            let mut out = Vec::new();
            for row in self
                .inner
                .open_table(RESERVATIONS)?
                .range(first..)?
                .take(limit)
            {
                let (k, v) = row?;
                out.push((k.value(), decode(v.value())?));
            }
            Ok(out)
        }

        /// Active-holds rows due at `now`, `(indexed expiry, id)`: ACTIVE
        /// reservations past their expiry, and rows their reservation left
        /// behind (see [`ACTIVE_HOLDS`]).
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

#[allow(dead_code)] // some getters serve only tests and audits
impl ReadTx {
    getters!();
}
