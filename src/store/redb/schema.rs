//! The redb schema: every table, its redo tag, the `META` keys and the
//! schema version.
//!
//! Owns the list of tables. Code that treats every table alike (backup,
//! the offline check, the schema's creation, journal replay) takes it
//! from here, so a new table is added in this file only. It must never
//! know what a row means (that is [`records`](super::records)'s business)
//! nor write one (that is [`write`](super::write)'s).

use redb::{Table, TableDefinition};

use super::records::Field;

use crate::error::StorageError;

/// `META`: schema version, database id, checkpointed generation (see the
/// keys below). Written only by opening and checkpoints, never journaled.
pub(super) const META: TableDefinition<&str, u64> = TableDefinition::new("meta");

/// A journaled table: its definition, its redo tag, and where a write
/// transaction keeps it open. Generated for every table of
/// `journaled_tables!`; [`WriteTx`](super::WriteTx)'s one primitive
/// (`put`/`remove`) writes any of them and records the change.
pub(super) trait Journaled: 'static {
    type K: Field + redb::Key;
    type V: Field;
    /// Its redo records' tag. Stored in journals: never renumber.
    const TAG: u8;
    const DEF: TableDefinition<'static, Self::K, Self::V>;
    /// Where a write transaction keeps it open.
    fn slot<'a, 't>(open: &'a mut OpenTables<'t>) -> &'a mut Option<Table<'t, Self::K, Self::V>>;
}

/// Something to do with one journaled table, chosen by its tag at run
/// time (journal replay, undo): see [`with_tag`].
pub(super) trait TableFn {
    type Out;
    fn call<T: Journaled>(self) -> Self::Out;
}

/// The journaled tables. Adding a table is one line here: its definition,
/// its tag, its slot in [`OpenTables`], its place in
/// [`visit_every_table`] (hence backups, the offline check and the
/// schema's creation) and in replay all follow.
macro_rules! journaled_tables {
    ($(
        $(#[$doc:meta])*
        $konst:ident / $marker:ident / $field:ident: $k:ty => $v:ty = $name:literal, tag $tag:literal;
    )*) => {
        $(
            $(#[$doc])*
            pub(super) const $konst: TableDefinition<'static, $k, $v> = TableDefinition::new($name);
            #[doc = concat!("The journaled table [`", stringify!($konst), "`].")]
            pub(super) struct $marker;
            impl Journaled for $marker {
                type K = $k;
                type V = $v;
                const TAG: u8 = $tag;
                const DEF: TableDefinition<'static, $k, $v> = $konst;
                fn slot<'a, 't>(open: &'a mut OpenTables<'t>) -> &'a mut Option<Table<'t, $k, $v>> {
                    &mut open.$field
                }
            }
        )*

        /// The journaled tables a write transaction has opened so far
        /// (each at most once per transaction: a batch runs dozens of
        /// closures, and reopening a table per row cost as much as the row).
        #[derive(Default)]
        pub(super) struct OpenTables<'t> {
            $($field: Option<Table<'t, $k, $v>>,)*
        }

        /// Calls `f` with the journaled table whose tag is `tag`; `None`
        /// if no table has it.
        pub(super) fn with_tag<F: TableFn>(tag: u8, f: F) -> Option<F::Out> {
            match tag {
                $($tag => Some(f.call::<$marker>()),)*
                _ => None,
            }
        }

        /// Calls `visitor` once for every table of the schema.
        pub(crate) fn visit_every_table(visitor: &mut impl TableVisitor) -> Result<(), StorageError> {
            visitor.visit(META)?;
            $(visitor.visit($konst)?;)*
            Ok(())
        }
    };
}

journaled_tables! {
    APPS / Apps / apps: &'static str => &'static [u8] = "apps", tag 1;
    USERS / Users / users: u128 => &'static [u8] = "users", tag 2;
    USER_EMAILS / UserEmails / user_emails: &'static str => u128 = "user_emails", tag 3;
    SEATS / Seats / seats: &'static str => &'static [u8] = "seats", tag 4;
    ENTITY_SEATS / EntitySeats / entity_seats: &'static str => () = "entity_seats", tag 5;
    RESERVATIONS / Reservations / reservations: u64 => &'static [u8] = "reservations", tag 6;
    /// `(expires_at, reservation_id)` of every ACTIVE reservation: sweeps and
    /// reopen read only the holds that matter, in expiry order. Rows are only
    /// added on the write path; a reservation confirmed, released or extended
    /// leaves its old row until the sweep drops it once due (see
    /// `WriteTx::put_reservation`), so readers check the row against the
    /// reservation.
    ACTIVE_HOLDS / ActiveHolds / active_holds: (u64, u64) => () = "active_holds", tag 7;
    BOOKINGS / Bookings / bookings: &'static str => &'static [u8] = "bookings", tag 8;
    USER_BOOKINGS / UserBookings / user_bookings: &'static str => () = "user_bookings", tag 9;
    /// New entries of [`USER_BOOKINGS`], keyed `booking_id SEP app SEP user`,
    /// folded into it once [`PENDING_USER_BOOKINGS_MAX`] have gathered.
    ///
    /// Why: `USER_BOOKINGS` keeps each user's bookings together, so a batch of
    /// confirms by 60 buyers dirtied 60 of its pages, 49 of the 78 pages a
    /// batch wrote. Booking ids grow with their reservation ids, so new
    /// entries here share the table's last page; a fold then touches each
    /// user's page once for up to 512 bookings. Listing a user's bookings
    /// reads their range of `USER_BOOKINGS` plus this table (at most 512 rows).
    PENDING_USER_BOOKINGS / PendingUserBookings / pending_user_bookings:
        &'static str => () = "user_bookings_pending", tag 10;
    /// Payment bindings, keyed `app SEP payment_id`: the reservation a payment
    /// id was first presented for (docs/design.md, invariant 8) and what became
    /// of it. Written before the verifier is asked; never removed.
    PAYMENTS / Payments / payments: &'static str => &'static [u8] = "payments", tag 11;
    /// `app SEP payment_id` of every binding still
    /// [`PaymentState::Pending`](crate::store::PaymentState::Pending): the
    /// verifier was asked and no outcome is recorded yet. Small (confirms
    /// in flight, or interrupted by a crash); recovery reads it whole.
    PENDING_PAYMENTS / PendingPayments / pending_payments:
        &'static str => () = "payments_pending", tag 12;
    /// `app SEP booking_id` of every booking record in status
    /// [`BookingStatus::RefundDue`](crate::model::BookingStatus::RefundDue)
    /// (an approved payment that booked nothing).
    REFUNDS_DUE / RefundsDue / refunds_due: &'static str => () = "refunds_due", tag 13;
    /// Entity records, keyed `app SEP entity_id` (schema version 3): the
    /// entities on sale or closed, which opening loads.
    ENTITIES / Entities / entities: &'static str => &'static [u8] = "entities", tag 14;
    /// Archived entities, keyed `app SEP entity_id` (schema version 4):
    /// each one's record and its figures when archived. Apart from
    /// [`ENTITIES`] so that opening reads the live entities only, however
    /// many were archived.
    ARCHIVED_ENTITIES / ArchivedEntities / archived_entities:
        &'static str => &'static [u8] = "entities_archived", tag 15;
    /// The seats of archived entities, keyed `app SEP seat_id`, each to its
    /// entity's id (schema version 4): what is left of a seat row once its
    /// entity is archived. Seat ids stay unique within an app for good, so
    /// a booking's seat ids never name two seats; never loaded on open.
    ARCHIVED_SEATS / ArchivedSeats / archived_seats: &'static str => &'static str = "seats_archived", tag 16;
}

/// See [`PENDING_USER_BOOKINGS`].
pub(super) const PENDING_USER_BOOKINGS_MAX: u64 = 512;

/// Code that treats every table alike (backup, offline check, the
/// schema's creation) visits them through [`visit_every_table`], which
/// `journaled_tables!` generates from the same list as the tables:
/// [`RedbStore::backup_into`](super::RedbStore::backup_into) refuses a
/// database holding a table this list does not name.
pub(crate) trait TableVisitor {
    fn visit<K: redb::Key + 'static, V: redb::Value + 'static>(
        &mut self,
        table: TableDefinition<'static, K, V>,
    ) -> Result<(), StorageError>;
}

/// Version 4: the archived-entities and archived-seats tables. Versions 2 (the database's
/// unique id and the journal's pairing, see [`journal`](super::journal))
/// and 3 (the entities table) are upgraded in place on open: the missing
/// tables are created and the version raised, in the open's first write
/// transaction; their rows and journal are the same.
/// A database of version 1 is refused with
/// [`OpenError::UnsupportedFormat`](crate::error::OpenError::UnsupportedFormat):
/// there were no production users, so there is no migration from it. A
/// later version is refused too, so an older build never runs a database
/// whose rules (sale windows, closed or archived entities) it would not
/// enforce.
pub(super) const SCHEMA_VERSION: u64 = 4;

/// The versions upgraded in place to [`SCHEMA_VERSION`] on open.
pub(super) const UPGRADABLE_SCHEMA_VERSIONS: [u64; 2] = [2, 3];

/// `META` key: the last journal generation whose groups the database
/// file contains (written by every checkpoint; see [`journal`](super::journal)'s
/// Generations section).
pub(super) const CHECKPOINTED_GENERATION: &str = "journal_checkpoint";
/// `META` keys: the database's unique id, random, set at creation (two
/// halves: `META` holds `u64`s). Every journal header and group carries it.
pub(super) const DB_ID_HIGH: &str = "db_id_high";
pub(super) const DB_ID_LOW: &str = "db_id_low";
pub(super) const SCHEMA_VERSION_KEY: &str = "schema_version";
