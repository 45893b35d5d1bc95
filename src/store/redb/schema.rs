//! The redb schema: every table, its redo tag, the `META` keys and the
//! schema version.
//!
//! Owns the list of tables. Code that treats every table alike (backup,
//! the offline check, the schema's creation, journal replay) takes it
//! from here, so a new table is added in this file only. It must never
//! know what a row means (that is [`records`](super::records)'s business)
//! nor write one (that is [`write`](super::write)'s).

use redb::TableDefinition;

use crate::error::StorageError;

pub(super) const META: TableDefinition<&str, u64> = TableDefinition::new("meta");
pub(super) const APPS: TableDefinition<&str, &[u8]> = TableDefinition::new("apps");
pub(super) const USERS: TableDefinition<u128, &[u8]> = TableDefinition::new("users");
pub(super) const USER_EMAILS: TableDefinition<&str, u128> = TableDefinition::new("user_emails");
pub(super) const SEATS: TableDefinition<&str, &[u8]> = TableDefinition::new("seats");
pub(super) const ENTITY_SEATS: TableDefinition<&str, ()> = TableDefinition::new("entity_seats");
pub(super) const RESERVATIONS: TableDefinition<u64, &[u8]> = TableDefinition::new("reservations");
/// `(expires_at, reservation_id)` of every ACTIVE reservation: sweeps and
/// reopen read only the holds that matter, in expiry order. Rows are only
/// added on the write path; a reservation confirmed, released or extended
/// leaves its old row until the sweep drops it once due (see
/// `WriteTx::put_reservation`), so readers check the row against the
/// reservation.
pub(super) const ACTIVE_HOLDS: TableDefinition<(u64, u64), ()> =
    TableDefinition::new("active_holds");
pub(super) const BOOKINGS: TableDefinition<&str, &[u8]> = TableDefinition::new("bookings");
pub(super) const USER_BOOKINGS: TableDefinition<&str, ()> = TableDefinition::new("user_bookings");
/// New entries of [`USER_BOOKINGS`], keyed `booking_id SEP app SEP user`,
/// folded into it once [`PENDING_USER_BOOKINGS_MAX`] have gathered.
///
/// Why: `USER_BOOKINGS` keeps each user's bookings together, so a batch of
/// confirms by 60 buyers dirtied 60 of its pages, 49 of the 78 pages a
/// batch wrote. Booking ids grow with their reservation ids, so new
/// entries here share the table's last page; a fold then touches each
/// user's page once for up to 512 bookings. Listing a user's bookings
/// reads their range of `USER_BOOKINGS` plus this table (at most 512 rows).
pub(super) const PENDING_USER_BOOKINGS: TableDefinition<&str, ()> =
    TableDefinition::new("user_bookings_pending");
/// See [`PENDING_USER_BOOKINGS`].
pub(super) const PENDING_USER_BOOKINGS_MAX: u64 = 512;
/// Payment bindings, keyed `app SEP payment_id`: the reservation a payment
/// id was first presented for (SPEC section 4, invariant 8) and what became
/// of it. Written before the verifier is asked; never removed.
pub(super) const PAYMENTS: TableDefinition<&str, &[u8]> = TableDefinition::new("payments");
/// `app SEP payment_id` of every binding still [`PaymentState::Pending`](crate::store::PaymentState::Pending):
/// the verifier was asked and no outcome is recorded yet. Small (confirms
/// in flight, or interrupted by a crash); recovery reads it whole.
pub(super) const PENDING_PAYMENTS: TableDefinition<&str, ()> =
    TableDefinition::new("payments_pending");
/// `app SEP booking_id` of every booking record in status
/// [`BookingStatus::RefundDue`](crate::model::BookingStatus::RefundDue) (an approved payment that booked nothing).
pub(super) const REFUNDS_DUE: TableDefinition<&str, ()> = TableDefinition::new("refunds_due");

/// Code that treats every table alike (backup, offline check) visits them
/// through [`visit_every_table`], so the list lives here, next to the
/// definitions. A new table must be added to it: [`RedbStore::backup_into`](super::RedbStore::backup_into)
/// refuses a database holding a table this list does not name.
pub(crate) trait TableVisitor {
    fn visit<K: redb::Key + 'static, V: redb::Value + 'static>(
        &mut self,
        table: TableDefinition<'static, K, V>,
    ) -> Result<(), StorageError>;
}

/// Calls `visitor` once for every table of the schema.
pub(crate) fn visit_every_table(visitor: &mut impl TableVisitor) -> Result<(), StorageError> {
    visitor.visit(META)?;
    visitor.visit(APPS)?;
    visitor.visit(USERS)?;
    visitor.visit(USER_EMAILS)?;
    visitor.visit(SEATS)?;
    visitor.visit(ENTITY_SEATS)?;
    visitor.visit(RESERVATIONS)?;
    visitor.visit(ACTIVE_HOLDS)?;
    visitor.visit(BOOKINGS)?;
    visitor.visit(USER_BOOKINGS)?;
    visitor.visit(PENDING_USER_BOOKINGS)?;
    visitor.visit(PAYMENTS)?;
    visitor.visit(PENDING_PAYMENTS)?;
    visitor.visit(REFUNDS_DUE)
}

/// Version 2: the database's unique id and the journal's pairing (see
/// [`journal`](super::journal)). A database of version 1 is refused with
/// [`OpenError::UnsupportedFormat`](crate::error::OpenError::UnsupportedFormat):
/// there were no production users, so there is no migration.
pub(super) const SCHEMA_VERSION: u64 = 2;

/// `META` key: the last journal generation whose groups the database
/// file contains (written by every checkpoint; see [`journal`](super::journal)'s
/// Generations section).
pub(super) const CHECKPOINTED_GENERATION: &str = "journal_checkpoint";
/// `META` keys: the database's unique id, random, set at creation (two
/// halves: `META` holds `u64`s). Every journal header and group carries it.
pub(super) const DB_ID_HIGH: &str = "db_id_high";
pub(super) const DB_ID_LOW: &str = "db_id_low";
pub(super) const SCHEMA_VERSION_KEY: &str = "schema_version";
