//! Durable state in one redb file and its write-ahead journal.
//!
//! Owns the table layout, the record encodings and the commit path:
//! [`write`](mod@write) (typed mutations, their undo and redo logs), [`commit`]
//! (group commit) and [`journal`] (what a commit costs on disk, and which
//! journal continues which database), and the database file's atomic
//! creation. It
//! answers "what is stored" and "store this atomically"; it must never
//! decide booking rules (who may hold, what may be confirmed) and never
//! look at the lock table. Keeping it this narrow is what lets another
//! backend (SPEC section 8) replace it later.
//!
//! Records are postcard-encoded serde structs in `&[u8]` values, so a record
//! that fails to decode is reported as a storage error, never a panic.
//! Composite keys join validated ids with `0x1F` (unit separator), which the
//! id charset excludes, so prefix ranges list an app's or an entity's rows.

mod backup;
mod commit;
pub(crate) mod fs;
pub(crate) mod journal;
mod write;

pub(crate) use backup::content_digest;
pub(crate) use journal::journal_path;
pub(crate) use write::WriteTx;

use std::collections::HashMap;
use std::panic::{self, AssertUnwindSafe};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};

use redb::{
    Database, Durability as RedbDurability, ReadableDatabase, ReadableTable, ReadableTableMetadata,
    TableDefinition,
};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::clock::UnixMillis;
use crate::error::{OpenError, StorageError};
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
/// reopen read only the holds that matter, in expiry order. Rows are only
/// added on the write path; a reservation confirmed, released or extended
/// leaves its old row until the sweep drops it once due (see
/// `WriteTx::put_reservation`), so readers check the row against the
/// reservation.
const ACTIVE_HOLDS: TableDefinition<(u64, u64), ()> = TableDefinition::new("active_holds");
const BOOKINGS: TableDefinition<&str, &[u8]> = TableDefinition::new("bookings");
const USER_BOOKINGS: TableDefinition<&str, ()> = TableDefinition::new("user_bookings");
/// New entries of [`USER_BOOKINGS`], keyed `booking_id SEP app SEP user`,
/// folded into it once [`PENDING_USER_BOOKINGS_MAX`] have gathered.
///
/// Why: `USER_BOOKINGS` keeps each user's bookings together, so a batch of
/// confirms by 60 buyers dirtied 60 of its pages, 49 of the 78 pages a
/// batch wrote. Booking ids grow with their reservation ids, so new
/// entries here share the table's last page; a fold then touches each
/// user's page once for up to 512 bookings. Listing a user's bookings
/// reads their range of `USER_BOOKINGS` plus this table (at most 512 rows).
const PENDING_USER_BOOKINGS: TableDefinition<&str, ()> =
    TableDefinition::new("user_bookings_pending");
/// See [`PENDING_USER_BOOKINGS`].
const PENDING_USER_BOOKINGS_MAX: u64 = 512;
/// Payment bindings, keyed `app SEP payment_id`: the reservation a payment
/// id was first presented for (SPEC section 4, invariant 8) and what became
/// of it. Written before the verifier is asked; never removed.
const PAYMENTS: TableDefinition<&str, &[u8]> = TableDefinition::new("payments");
/// `app SEP payment_id` of every binding still [`PaymentState::Pending`]:
/// the verifier was asked and no outcome is recorded yet. Small (confirms
/// in flight, or interrupted by a crash); recovery reads it whole.
const PENDING_PAYMENTS: TableDefinition<&str, ()> = TableDefinition::new("payments_pending");
/// `app SEP booking_id` of every booking record in status
/// [`BookingStatus::RefundDue`] (an approved payment that booked nothing).
const REFUNDS_DUE: TableDefinition<&str, ()> = TableDefinition::new("refunds_due");

/// Code that treats every table alike (backup, offline check) visits them
/// through [`visit_every_table`], so the list lives here, next to the
/// definitions. A new table must be added to it: [`Storage::backup_into`]
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
/// [`journal`]). A database of version 1 is refused with
/// [`OpenError::UnsupportedFormat`]: there were no production users, so
/// there is no migration.
const SCHEMA_VERSION: u64 = 2;

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
    /// Bumped by every password change; user tokens carry the generation
    /// they were issued under, and older ones no longer verify. Records
    /// written before this field existed decode with 0 (see
    /// [`decode_user`]).
    pub(crate) token_generation: u32,
}

/// A [`UserRecord`] as written before `token_generation` existed
/// (postcard is positional, so the shorter encoding needs its own type).
#[derive(serde::Deserialize)]
struct UserRecordV1 {
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

/// What became of a payment id presented for a reservation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
pub(crate) enum PaymentState {
    /// Bound; the verifier was (or is being) asked; no outcome recorded.
    Pending,
    /// Approved and booked: the SUCCESS booking `booking_id`.
    Booked,
    /// Declined: the FAILED attempt `booking_id`.
    Declined,
    /// Approved (or of unknown outcome after a crash) and not booked: the
    /// REFUND_DUE record `booking_id`.
    RefundDue,
}

/// A payment id's binding to the reservation it was first presented for.
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub(crate) struct PaymentRecord {
    pub(crate) reservation_id: u64,
    /// Chosen when binding, so that whatever the outcome, its record
    /// (SUCCESS, FAILED or REFUND_DUE) has this id and nothing fallible
    /// but the commit sits between the verifier's answer and the record.
    pub(crate) booking_id: String,
    pub(crate) state: PaymentState,
    pub(crate) presented_at: UnixMillis,
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
    // Sized for a booking or reservation record: growing from empty
    // reallocated five times per record.
    postcard::to_extend(value, Vec::with_capacity(256))
        .map_err(|e| StorageError(format!("encode: {e}")))
}

fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, StorageError> {
    postcard::from_bytes(bytes).map_err(|e| StorageError(format!("corrupt record: {e}")))
}

fn decode_borrowed<'a, T: serde::Deserialize<'a>>(bytes: &'a [u8]) -> Result<T, StorageError> {
    postcard::from_bytes(bytes).map_err(|e| StorageError(format!("corrupt record: {e}")))
}

pub(crate) fn seat_key(app: &str, seat: &str) -> String {
    format!("{app}{SEP}{seat}")
}

/// The [`PAYMENTS`] and [`PENDING_PAYMENTS`] key of a payment id (and the
/// [`REFUNDS_DUE`] key of a booking id).
fn app_key(app: &str, id: &str) -> String {
    format!("{app}{SEP}{id}")
}

fn entity_prefix(app: &str, entity: &str) -> String {
    format!("{app}{SEP}{entity}{SEP}")
}

fn user_bookings_prefix(app: &str, user: UserId) -> String {
    format!("{app}{SEP}{user}{SEP}")
}

/// The [`PENDING_USER_BOOKINGS`] key of a booking.
fn pending_user_booking_key(booking_id: &str, app: &str, user: UserId) -> String {
    format!("{booking_id}{SEP}{app}{SEP}{user}")
}

/// The [`USER_BOOKINGS`] key of a [`PENDING_USER_BOOKINGS`] key.
fn user_booking_key_of_pending(pending: &str) -> Result<String, StorageError> {
    let mut parts = pending.splitn(3, SEP);
    match (parts.next(), parts.next(), parts.next()) {
        (Some(booking), Some(app), Some(user)) => Ok(format!("{app}{SEP}{user}{SEP}{booking}")),
        _ => Err(StorageError("corrupt pending user-booking key".into())),
    }
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
    /// Every seat, grouped by app (`app_id`, its seats in id order, the
    /// names of its entities numbered as [`LoadedSeat::entity`] numbers them).
    pub(crate) seats: Vec<(String, Vec<LoadedSeat>, Vec<Box<str>>)>,
    /// Every ACTIVE reservation.
    pub(crate) active: Vec<(u64, ReservationRecord)>,
    /// Largest reservation id ever stored (0 if none).
    pub(crate) max_reservation_id: u64,
}

/// The part of a seat the in-memory directory keeps.
pub(crate) struct LoadedSeat {
    pub(crate) seat_id: Box<str>,
    pub(crate) price_minor: u64,
    pub(crate) currency: [u8; 3],
    pub(crate) booked: bool,
    /// Its entity: an index into its app's entity names.
    pub(crate) entity: u32,
}

/// The leading fields of a [`SeatRecord`], decoded without allocating
/// (postcard is positional: same order and types, borrowed strings).
/// Reopen decodes every seat, so this is most of its cost.
#[derive(serde::Deserialize)]
struct SeatHead<'a> {
    #[serde(borrow)]
    entity_id: &'a str,
    price_minor: u64,
    currency: [u8; 3],
    #[serde(borrow)]
    _attributes: AttributesRef<'a>,
    status: SeatStatus,
}

#[derive(serde::Deserialize)]
struct AttributesRef<'a> {
    #[serde(borrow)]
    _section: Option<&'a str>,
    #[serde(borrow)]
    _row: Option<&'a str>,
    #[serde(borrow)]
    _category: Option<&'a str>,
}

/// The redb database and its journal. `Send + Sync`.
pub(crate) struct Storage {
    db: Database,
    durability: Durability,
    /// Orders commits with their journal groups (a group is appended
    /// before its commit is made visible, under this lock). Held open
    /// (and locked) in every mode; written only with [`Durability::Full`].
    journal: parking_lot::Mutex<journal::Journal>,
    /// `Some` when concurrent writes share commits (see [`commit`]).
    combiner: Option<commit::Combiner>,
    /// Set when a commit failed after its outcome could no longer be
    /// taken back, or anything on the write path panicked (see
    /// [`write`](Self::write)): every later write is refused until the
    /// engine is reopened (which replays the journal).
    failed: AtomicBool,
    /// Test hook: the next journaled commit panics after its append.
    #[cfg(test)]
    panic_after_append: AtomicBool,
}

impl std::fmt::Debug for Storage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Storage")
            .field("durability", &self.durability)
            .field("group_commit", &self.combiner.is_some())
            .finish_non_exhaustive()
    }
}

/// `META` key: the last journal generation whose groups the database
/// file contains (written by every checkpoint; see [`journal`]'s
/// Generations section).
const CHECKPOINTED_GENERATION: &str = "journal_checkpoint";
/// `META` keys: the database's unique id, random, set at creation (two
/// halves: `META` holds `u64`s). Every journal header and group carries it.
const DB_ID_HIGH: &str = "db_id_high";
const DB_ID_LOW: &str = "db_id_low";
const SCHEMA_VERSION_KEY: &str = "schema_version";

/// The database id and checkpointed generation of a closed database.
#[cfg(test)]
pub(crate) fn identity_of(path: &Path) -> (u128, u64) {
    let db = Database::open(path).unwrap();
    let txn = db.begin_read().unwrap();
    let meta = txn.open_table(META).unwrap();
    let get = |key: &str| meta.get(key).unwrap().unwrap().value();
    (
        (u128::from(get(DB_ID_HIGH)) << 64) | u128::from(get(DB_ID_LOW)),
        get(CHECKPOINTED_GENERATION),
    )
}

/// Gives the database being written by `txn` (a copy of another) a new
/// random id, and returns it with the copy's checkpointed generation.
pub(crate) fn rebrand(txn: &redb::WriteTransaction) -> Result<(u128, u64), StorageError> {
    let mut id = [0u8; 16];
    getrandom::fill(&mut id).map_err(|e| StorageError(format!("random id: {e}")))?;
    let id = u128::from_le_bytes(id);
    let mut meta = txn.open_table(META)?;
    meta.insert(DB_ID_HIGH, (id >> 64) as u64)?;
    meta.insert(DB_ID_LOW, id as u64)?;
    let checkpointed = meta
        .get(CHECKPOINTED_GENERATION)?
        .map(|v| v.value())
        .ok_or_else(|| StorageError("backup: the database has no checkpoint record".into()))?;
    Ok((id, checkpointed))
}

/// How to open the storage.
#[derive(Debug, Clone, Copy)]
pub(crate) struct OpenOptions<'a> {
    pub(crate) durability: Durability,
    /// Concurrent writes share one commit (see [`commit`]).
    pub(crate) group_commit: bool,
    /// Journal size limit (tests use small ones to force checkpoints).
    pub(crate) journal_limit: u64,
    /// Set a journal that does not continue the database aside instead of
    /// refusing to open (see `Config::discard_unmatched_journal`).
    pub(crate) discard_unmatched_journal: bool,
    /// The file layer (see [`fs`]). `None`, production: the journal and
    /// every other file operation go through [`fs::RealFs`], and the
    /// database file through redb's own file backend (its locking and
    /// speed unchanged). `Some` (the fault-injection tests): every file
    /// operation of the database, its journal and their temporary files
    /// goes through the layer, the database file via [`fs::VfsBackend`].
    pub(crate) fs: Option<&'a dyn fs::Vfs>,
}

impl OpenOptions<'_> {
    pub(crate) fn new(durability: Durability, group_commit: bool) -> Self {
        Self {
            durability,
            group_commit,
            journal_limit: journal::DEFAULT_LIMIT,
            discard_unmatched_journal: false,
            fs: None,
        }
    }

    /// The layer every journal and directory operation goes through.
    fn vfs(&self) -> &dyn fs::Vfs {
        self.fs.unwrap_or(&fs::RealFs)
    }

    /// Opens the database file at `path` (`create`: creating it if
    /// missing): with redb's own file backend, or through the injected
    /// layer.
    fn database(&self, path: &Path, create: bool) -> Result<Database, OpenError> {
        match self.fs {
            None if create => Database::create(path),
            None => Database::open(path),
            Some(fs) => {
                let file = fs
                    .open(path, create)
                    .map_err(|e| OpenError::Storage(StorageError(format!("database file: {e}"))))?;
                redb::Builder::new().create_with_backend(fs::VfsBackend::new(file))
            }
        }
        .map_err(database_error)
    }
}

fn journal_error(e: journal::JournalOpenError) -> OpenError {
    match e {
        journal::JournalOpenError::AlreadyOpen => OpenError::DatabaseAlreadyOpen,
        journal::JournalOpenError::Io(e) => io_error(&e),
    }
}

fn io_error(e: &std::io::Error) -> OpenError {
    OpenError::Storage(StorageError(format!("journal: {e}")))
}

fn database_error(e: redb::DatabaseError) -> OpenError {
    match e {
        redb::DatabaseError::DatabaseAlreadyOpen => OpenError::DatabaseAlreadyOpen,
        other => OpenError::Storage(other.into()),
    }
}

fn storage<E: Into<StorageError>>(e: E) -> OpenError {
    OpenError::Storage(e.into())
}

impl From<journal::Refusal> for OpenError {
    fn from(r: journal::Refusal) -> Self {
        match r {
            journal::Refusal::Mismatch(m) => Self::JournalMismatch(m),
            journal::Refusal::Corrupted { offset } => Self::JournalCorrupted { offset },
        }
    }
}

#[cfg(test)]
thread_local! {
    /// Test hook: makes the named step of a database creation fail as a
    /// crash there would (the files stay as they are at that point).
    static CRASH_AT: std::cell::Cell<Option<&'static str>> = const { std::cell::Cell::new(None) };
}

#[cfg(test)]
fn crash_point(step: &'static str) -> Result<(), OpenError> {
    if CRASH_AT.with(std::cell::Cell::get) == Some(step) {
        return Err(OpenError::Storage(StorageError(format!("crash at {step}"))));
    }
    Ok(())
}

#[cfg(not(test))]
#[allow(clippy::unnecessary_wraps)]
fn crash_point(_: &'static str) -> Result<(), OpenError> {
    Ok(())
}

impl Storage {
    /// Opens the file; `group_commit` makes concurrent writes share one
    /// commit (and one fsync) instead of taking one each.
    #[cfg(test)]
    pub(crate) fn open_with(
        path: &Path,
        durability: Durability,
        group_commit: bool,
    ) -> Result<Self, OpenError> {
        Self::open(path, OpenOptions::new(durability, group_commit))
    }

    /// [`open_with`](Self::open_with) with a journal size limit (tests use
    /// small ones to force checkpoints).
    #[cfg(test)]
    pub(crate) fn open_with_limit(
        path: &Path,
        durability: Durability,
        group_commit: bool,
        journal_limit: u64,
    ) -> Result<Self, OpenError> {
        Self::open(
            path,
            OpenOptions {
                journal_limit,
                ..OpenOptions::new(durability, group_commit)
            },
        )
    }

    /// Opens the database at `path` and its journal, creating both if the
    /// database does not exist.
    ///
    /// Opening replays the journal when it continues the database (see
    /// [`journal`]'s Generations section): its groups are applied in one
    /// durable transaction (a checkpoint), and a new generation begins. A
    /// journal that does not continue the database (another database's,
    /// older, newer, missing, corrupt) is never replayed: the open fails
    /// with a typed [`OpenError`] and changes nothing, or, with
    /// `discard_unmatched_journal`, the journal is renamed aside and a new
    /// one created.
    ///
    /// Creating is atomic: see [`create`](Self::create). Leftover
    /// temporary files of a creation that crashed are removed here.
    pub(crate) fn open(path: &Path, options: OpenOptions<'_>) -> Result<Self, OpenError> {
        let preallocate = options.durability == Durability::Full;
        let vfs = options.vfs();
        let (db, journal) = if vfs.exists(path).map_err(|e| io_error(&e))? {
            // The journal is locked first: it must never be replayed under
            // a live engine.
            let journal =
                journal::Journal::open(vfs, path, options.journal_limit).map_err(journal_error)?;
            let db = options.database(path, false)?;
            (db, journal)
        } else {
            match Self::create(path, options)? {
                Some((db, journal)) => (db, Some(journal)),
                // Another engine created it meanwhile.
                None => return Self::open(path, options),
            }
        };
        // Both are ours: no creation is under way (it would hold one).
        for leftover in [
            journal::with_suffix(path, journal::CREATING),
            journal::with_suffix(&journal::journal_path(path), journal::CREATING),
        ] {
            journal::remove_if_present(vfs, &leftover).map_err(|e| io_error(&e))?;
        }
        let txn = db.begin_write().map_err(storage)?;
        let journal = {
            let (db_id, checkpointed) = Self::identity(&txn)?;
            let mut tx = WriteTx::new(&txn, false);
            tx.ensure_schema().map_err(OpenError::Storage)?;
            let recovered = match journal {
                Some(mut journal) => match journal.recover(db_id, checkpointed) {
                    Ok(Ok(groups)) => Ok((journal, groups)),
                    Ok(Err(refusal)) => Err((Some(journal), OpenError::from(refusal))),
                    Err(e) => return Err(journal_error(e)),
                },
                None => Err((None, OpenError::JournalMissing)),
            };
            match recovered {
                Ok((journal, groups)) => {
                    if journal.checkpoint_unfinished() {
                        rewrite_through_page_cache(vfs, path).map_err(|e| {
                            OpenError::Storage(StorageError(format!("database file: {e}")))
                        })?;
                    }
                    for group in &groups {
                        tx.replay(group).map_err(OpenError::Storage)?;
                    }
                    if preallocate {
                        journal.preallocate().map_err(|e| io_error(&e))?;
                    }
                    journal
                }
                Err((_, refused)) if !options.discard_unmatched_journal => return Err(refused),
                Err((unmatched, _)) => {
                    if let Some(journal) = unmatched {
                        journal.discard(vfs, path).map_err(|e| io_error(&e))?;
                    }
                    // Its first generation follows the checkpoint; the
                    // checkpoint below records it (nothing to replay).
                    journal::Journal::create(
                        vfs,
                        path,
                        db_id,
                        checkpointed.wrapping_add(1),
                        options.journal_limit,
                        preallocate,
                    )
                    .map_err(journal_error)?
                }
            }
        };
        let mut journal = journal;
        Self::checkpoint(txn, &mut journal).map_err(OpenError::Storage)?;
        Ok(Self {
            db,
            durability: options.durability,
            journal: parking_lot::Mutex::new(journal),
            combiner: options.group_commit.then(commit::Combiner::default),
            failed: AtomicBool::new(false),
            #[cfg(test)]
            panic_after_append: AtomicBool::new(false),
        })
    }

    /// The database's id and last checkpointed generation; refuses a
    /// database of another schema version.
    fn identity(txn: &redb::WriteTransaction) -> Result<(u128, u64), OpenError> {
        let meta = txn.open_table(META).map_err(storage)?;
        let get = |key: &str| -> Result<Option<u64>, OpenError> {
            Ok(meta.get(key).map_err(storage)?.map(|v| v.value()))
        };
        let version = get(SCHEMA_VERSION_KEY)?;
        if version != Some(SCHEMA_VERSION) {
            return Err(OpenError::UnsupportedFormat {
                found: version.unwrap_or(0),
                expected: SCHEMA_VERSION,
            });
        }
        match (
            get(DB_ID_HIGH)?,
            get(DB_ID_LOW)?,
            get(CHECKPOINTED_GENERATION)?,
        ) {
            (Some(high), Some(low), Some(checkpointed)) => {
                Ok(((u128::from(high) << 64) | u128::from(low), checkpointed))
            }
            _ => Err(OpenError::Storage(StorageError(
                "database without its id or checkpoint record".into(),
            ))),
        }
    }

    /// Creates the database at `path` and its journal, atomically: the
    /// database is written whole under a temporary name
    /// (`<file>.creating`: tables, schema version, unique id, a durable
    /// commit), the journal is created (see [`journal`]'s Files section),
    /// and only then is the database renamed into place and the directory
    /// synced. A crash at any point leaves no database (its leftovers are
    /// removed by the next open) or a whole, empty one.
    ///
    /// A journal already at the journal's path (its database deleted, or
    /// a creation that crashed after renaming it) is replaced if it holds
    /// no write; otherwise the open is refused
    /// ([`JournalMismatch::WithoutDatabase`](crate::JournalMismatch)), or
    /// the journal set aside with `discard_unmatched_journal`.
    ///
    /// `None`: the database appeared meanwhile (another engine created it).
    fn create(
        path: &Path,
        options: OpenOptions<'_>,
    ) -> Result<Option<(Database, journal::Journal)>, OpenError> {
        let vfs = options.vfs();
        // Held by whoever is creating: one creation at a time.
        let creating = journal::Journal::begin_create(vfs, path).map_err(journal_error)?;
        if vfs.exists(path).map_err(|e| io_error(&e))? {
            return Ok(None);
        }
        if let Some(orphan) = journal::Journal::open(vfs, path, 0).map_err(journal_error)?
            && orphan.holds_groups().map_err(|e| io_error(&e))?
        {
            if !options.discard_unmatched_journal {
                return Err(OpenError::JournalMismatch(
                    crate::error::JournalMismatch::WithoutDatabase,
                ));
            }
            orphan.discard(vfs, path).map_err(|e| io_error(&e))?;
        }
        let temp = journal::with_suffix(path, journal::CREATING);
        journal::remove_if_present(vfs, &temp).map_err(|e| io_error(&e))?;
        let mut id = [0u8; 16];
        getrandom::fill(&mut id)
            .map_err(|e| OpenError::Storage(StorageError(format!("random id: {e}"))))?;
        let id = u128::from_le_bytes(id);
        {
            let db = options.database(&temp, true)?;
            let txn = db.begin_write().map_err(storage)?;
            {
                let mut meta = txn.open_table(META).map_err(storage)?;
                for (key, value) in [
                    (SCHEMA_VERSION_KEY, SCHEMA_VERSION),
                    (DB_ID_HIGH, (id >> 64) as u64),
                    (DB_ID_LOW, id as u64),
                    (CHECKPOINTED_GENERATION, 0),
                ] {
                    meta.insert(key, value).map_err(storage)?;
                }
            }
            WriteTx::new(&txn, false)
                .ensure_schema()
                .map_err(OpenError::Storage)?;
            // Durable: redb's default for a commit.
            txn.commit().map_err(storage)?;
        }
        crash_point("database written")?;
        let preallocate = options.durability == Durability::Full;
        let journal = creating
            .finish(vfs, path, id, 1, options.journal_limit, preallocate)
            .map_err(journal_error)?;
        crash_point("journal in place")?;
        journal::rename_durably(vfs, &temp, path).map_err(|e| io_error(&e))?;
        let db = options.database(path, false)?;
        Ok(Some((db, journal)))
    }

    /// Runs `f` in one write transaction and commits it with the configured
    /// durability. If `f` fails (or panics), nothing it wrote is kept.
    ///
    /// Every durable change goes through here. With group commit on, `f`
    /// may share its transaction with other threads' closures and may run
    /// on another caller's thread (hence `Send`): one thread runs the
    /// queued closures back to back in one redb transaction, which commits
    /// once (one journal sync), and every caller returns only after that
    /// commit is durable. A closure that fails has its own writes undone
    /// before the next one runs (see [`commit`]).
    ///
    /// A [`StorageError`] from the commit itself (an I/O error) leaves the
    /// outcome open: the writes may be in the journal and come back when
    /// the engine is reopened. Every later write then fails until reopen.
    ///
    /// A panic anywhere on this path (in `f`, in encoding a row, in redb,
    /// in the journal) *poisons* the storage the moment it happens: the
    /// transaction it happened in is never committed (batch mates get a
    /// [`StorageError`]), `f`'s caller gets the panic, and every later
    /// write fails with a [`StorageError`] until the engine is reopened
    /// (which replays the journal, where nothing of that transaction is).
    /// Why not undo the panicking closure and go on, as for an `Err`: a
    /// panic can stop a [`WriteTx`] between a row's change and its undo
    /// record, and nothing half-applied may ever be committed.
    pub(crate) fn write<T, E>(
        &self,
        f: impl FnOnce(&mut WriteTx<'_>) -> Result<T, E> + Send,
    ) -> Result<T, E>
    where
        T: Send,
        E: From<StorageError> + Send,
    {
        let f = |tx: &mut WriteTx<'_>| {
            panic::catch_unwind(AssertUnwindSafe(|| f(tx))).unwrap_or_else(|payload| {
                self.fail();
                panic::resume_unwind(payload)
            })
        };
        let outcome = panic::catch_unwind(AssertUnwindSafe(|| match &self.combiner {
            Some(combiner) => combiner.write(
                || self.begin(),
                |txn, redo| self.commit(txn, redo),
                self.journaled(),
                f,
            ),
            None => self.write_alone(f),
        }));
        outcome.unwrap_or_else(|payload| {
            self.fail();
            panic::resume_unwind(payload)
        })
    }

    fn journaled(&self) -> bool {
        self.durability == Durability::Full
    }

    fn begin(&self) -> Result<redb::WriteTransaction, StorageError> {
        if self.failed.load(Ordering::Acquire) {
            return Err(StorageError::poisoned());
        }
        let mut txn = self.db.begin_write()?;
        // Durable commits are made durable by the journal (or by raising a
        // checkpoint's durability in `commit`).
        txn.set_durability(RedbDurability::None)?;
        Ok(txn)
    }

    /// Makes a transaction's writes durable (with [`Durability::Full`])
    /// and visible. `redo` is the transaction's redo records.
    ///
    /// Normally the group goes to the journal (one write, one sync) and
    /// only then does redb commit, in memory. When the journal is full, or
    /// the group would not fit, this commit is a *checkpoint* instead: redb
    /// commits durably (which makes every earlier non-durable commit
    /// durable too) and records that the database holds the journal's
    /// generation, which is then started over. A crash between those two
    /// steps replays nothing: the record says the groups are already in.
    ///
    /// Refused (the transaction aborted) once the storage is poisoned,
    /// also when that happened during this transaction; a panic inside
    /// poisons it (see [`write`](Self::write)).
    fn commit(&self, txn: redb::WriteTransaction, redo: &[u8]) -> Result<(), StorageError> {
        if self.failed.load(Ordering::Acquire) {
            let _ = txn.abort();
            return Err(StorageError::poisoned());
        }
        panic::catch_unwind(AssertUnwindSafe(|| self.commit_unguarded(txn, redo))).unwrap_or_else(
            |_| {
                self.fail();
                Err(StorageError(
                    "the commit panicked: reopen the engine".into(),
                ))
            },
        )
    }

    fn commit_unguarded(
        &self,
        txn: redb::WriteTransaction,
        redo: &[u8],
    ) -> Result<(), StorageError> {
        // Every change goes through `WriteTx`, which records it: no
        // records, nothing to make durable (a closure that found nothing
        // to do, or whose writes were all undone).
        if !self.journaled() || redo.is_empty() {
            return Ok(txn.commit()?);
        }
        let mut journal = self.journal.lock();
        if journal.has_room(redo.len()) {
            if let Err(e) = journal.append(redo) {
                // The group may reach the disk all the same: its outcome
                // is open until reopen, and nothing may commit after it.
                self.fail();
                let _ = txn.abort();
                return Err(StorageError(format!("journal write failed: {e}")));
            }
            #[cfg(test)]
            assert!(
                !self.panic_after_append.load(Ordering::Relaxed),
                "injected: panic between the journal append and redb's commit"
            );
            return txn.commit().map_err(|e| {
                self.fail();
                e.into()
            });
        }
        let checkpoint = Self::checkpoint(txn, &mut journal);
        if checkpoint.is_err() {
            self.fail();
        }
        checkpoint
    }

    /// Commits `txn` durably, recording that the database now holds the
    /// journal's generation, and starts the next generation.
    fn checkpoint(
        mut txn: redb::WriteTransaction,
        journal: &mut journal::Journal,
    ) -> Result<(), StorageError> {
        txn.set_durability(RedbDurability::Immediate)?;
        txn.open_table(META)?
            .insert(CHECKPOINTED_GENERATION, journal.generation())?;
        txn.commit()?;
        journal
            .start_generation()
            .map_err(|e| StorageError(format!("journal: {e}")))
    }

    fn fail(&self) {
        self.failed.store(true, Ordering::Release);
    }

    /// One transaction, one commit, for this caller alone.
    fn write_alone<T, E>(&self, f: impl FnOnce(&mut WriteTx<'_>) -> Result<T, E>) -> Result<T, E>
    where
        E: From<StorageError>,
    {
        let txn = self.begin()?;
        let mut tx = WriteTx::new(&txn, self.journaled());
        let result = f(&mut tx);
        let redo = tx.take_redo();
        drop(tx);
        match result {
            Ok(value) => {
                self.commit(txn, &redo)?;
                Ok(value)
            }
            Err(e) => {
                // Abort errors are moot: the transaction is dropped either way.
                let _ = txn.abort();
                Err(e)
            }
        }
    }

    /// Drops without the closing checkpoint, as a crash would: the tests'
    /// stand-in for SIGKILL (with the database file put back to a synced
    /// state by the test).
    #[cfg(test)]
    pub(crate) fn drop_as_if_crashed(self) {
        self.failed.store(true, Ordering::Release);
    }

    /// Makes every later write fail, as a failed commit does (tests of
    /// what a confirm does when storage fails after the verifier approved).
    #[cfg(test)]
    pub(crate) fn fail_for_tests(&self) {
        self.fail();
    }

    /// Commits since open that carried at least one write (tests and benches).
    #[cfg(test)]
    pub(crate) fn commits(&self) -> u64 {
        self.combiner.as_ref().map_or(0, commit::Combiner::commits)
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
        let seat_table = tx.open_table(SEATS)?;
        let mut seats: Vec<(String, Vec<LoadedSeat>, Vec<Box<str>>)> = Vec::new();
        let mut group_len = usize::try_from(seat_table.len()?).unwrap_or(0);
        // Entity numbers of the current app; seats of one entity mostly
        // come in a run, so the last one is tried before the map.
        let mut entity_ids: HashMap<Box<str>, u32> = HashMap::new();
        let mut last_entity: Option<u32> = None;
        for row in seat_table.iter()? {
            let (k, v) = row?;
            let key = k.value();
            let Some((app, seat)) = key.split_once(SEP) else {
                return Err(StorageError("corrupt seat key".into()));
            };
            let head: SeatHead<'_> = decode_borrowed(v.value())?;
            if seats.last().is_none_or(|(a, _, _)| a != app) {
                // Sized for the rest of the table: apps are few, seats many.
                seats.push((app.to_owned(), Vec::with_capacity(group_len), Vec::new()));
                entity_ids.clear();
                last_entity = None;
            }
            let (_, group, entities) = seats.last_mut().expect("pushed above");
            let entity = match last_entity {
                Some(id) if *entities[id as usize] == *head.entity_id => id,
                _ => {
                    if let Some(&id) = entity_ids.get(head.entity_id) {
                        id
                    } else {
                        let id = u32::try_from(entities.len()).unwrap_or(u32::MAX);
                        entities.push(head.entity_id.into());
                        entity_ids.insert(head.entity_id.into(), id);
                        id
                    }
                }
            };
            last_entity = Some(entity);
            group.push(LoadedSeat {
                seat_id: seat.into(),
                price_minor: head.price_minor,
                currency: head.currency,
                booked: head.status == SeatStatus::Booked,
                entity,
            });
            group_len = group_len.saturating_sub(1);
        }
        let reservations = tx.open_table(RESERVATIONS)?;
        let mut active = Vec::new();
        for row in tx.open_table(ACTIVE_HOLDS)?.iter()? {
            let (k, _) = row?;
            let (indexed, id) = k.value();
            // Rows of confirmed, released or extended reservations wait
            // there for the sweep (see `WriteTx::put_reservation`).
            let rec = reservations
                .get(id)?
                .ok_or_else(|| StorageError("active hold without reservation".into()))?;
            let rec = decode::<ReservationRecord>(rec.value())?;
            if rec.status == ReservationStatus::Active && rec.expires_at == indexed {
                active.push((id, rec));
            }
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

/// Reads the database file and writes every byte back, then syncs it.
///
/// When: opening found the journal's header still at the generation the
/// database file says it checkpointed ([`journal::Journal::checkpoint_unfinished`],
/// the `g == C` row of [`journal`]'s table): the last checkpoint never
/// started the next generation. Either the process died right after the
/// checkpoint's sync (then this is harmless), or that sync failed (or the
/// journal's header write after it did, with the engine then poisoned and
/// reopened in the same boot). After a failed sync the kernel may have
/// marked the unwritten pages clean while still showing them to every
/// reader in this boot (PostgreSQL's "fsyncgate"): no later sync would
/// write them, the `g == C` rule ignores the journal's groups (the file as
/// read claims to hold them), and the next checkpoint would restart the
/// journal over a disk that lacks them. Writing the bytes back dirties
/// every page again, so the sync below makes the file as read durable,
/// whatever the page cache held. The contents do not change (redb has
/// written nothing since it opened the file: the open's write transaction
/// commits later), and this runs only in that rare state. Every other row
/// of the table needs nothing: `g == C + 1` replays its groups through a
/// durable commit, and an unreadable header without groups behind it is
/// only written after a checkpoint whose sync succeeded.
fn rewrite_through_page_cache(fs: &dyn fs::Vfs, path: &Path) -> std::io::Result<()> {
    const CHUNK: u64 = 1 << 20;
    let file = fs.open(path, false)?;
    let len = file.len()?;
    let mut buf = Vec::new();
    let mut at = 0;
    while at < len {
        let n = (len - at).min(CHUNK);
        buf.resize(usize::try_from(n).map_err(std::io::Error::other)?, 0);
        file.read_exact_at(&mut buf, at)?;
        file.write_all_at(&buf, at)?;
        at += n;
    }
    file.sync_data()
}

impl Drop for Storage {
    /// Closing checkpoints, so the next open has nothing to replay. Best
    /// effort: should it fail, the next open replays the journal instead.
    fn drop(&mut self) {
        if !self.journaled() || self.failed.load(Ordering::Acquire) {
            return;
        }
        if let Ok(txn) = self.db.begin_write() {
            let _ = Self::checkpoint(txn, &mut self.journal.lock());
        }
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
                .ok_or_else(|| StorageError("email index without user".into()))?;
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
                    .ok_or_else(|| StorageError("corrupt pending payment key".into()))?;
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seat_head_decodes_the_leading_fields_of_a_seat_record() {
        let rec = SeatRecord {
            entity_id: "E1".into(),
            price_minor: 12_345,
            currency: *b"EUR",
            attributes: SeatAttributes {
                section: Some("A".into()),
                row: None,
                category: Some("VIP".into()),
            },
            status: SeatStatus::Booked,
            booked_by: Some(UserId(9)),
            booking_id: Some("BK-1".into()),
        };
        let bytes = encode(&rec).unwrap();
        let head: SeatHead<'_> = decode_borrowed(&bytes).unwrap();
        assert_eq!(head.price_minor, 12_345);
        assert_eq!(head.currency, *b"EUR");
        assert_eq!(head.status, SeatStatus::Booked);
    }

    #[test]
    fn prefix_range_covers_exactly_the_prefix() {
        let p = entity_prefix("app", "E1");
        let end = prefix_end(&p);
        let inside = format!("{p}zzzz");
        let sibling = entity_prefix("app", "E10");
        assert!(p.as_str() <= inside.as_str() && inside.as_str() < end.as_str());
        assert!(!(p.as_str() <= sibling.as_str() && sibling.as_str() < end.as_str()));
    }

    pub(super) fn seat(entity: &str, status: SeatStatus) -> SeatRecord {
        SeatRecord {
            entity_id: entity.into(),
            price_minor: 100,
            currency: *b"EUR",
            attributes: SeatAttributes::default(),
            status,
            booked_by: None,
            booking_id: None,
        }
    }

    pub(super) fn reservation(expires_at: u64, status: ReservationStatus) -> ReservationRecord {
        ReservationRecord {
            app_id: "app".into(),
            user_id: UserId(7),
            seat_ids: vec!["S1".into()],
            token_hash: [3; 32],
            total_minor: 100,
            currency: *b"EUR",
            created_at: 0,
            expires_at,
            status,
            booking_id: None,
            payment_id: None,
        }
    }

    fn open(path: &Path, limit: u64) -> Storage {
        Storage::open_with_limit(path, Durability::Full, false, limit)
            .unwrap_or_else(|_| panic!("open"))
    }

    /// Every kind of row change, written after open and then lost by the
    /// database file (as a crash loses redb's non-durable commits), comes
    /// back from the journal on reopen.
    #[test]
    fn reopen_replays_every_kind_of_row_change_the_database_file_lost() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.redb");
        let s = open(&path, journal::DEFAULT_LIMIT);
        let at_open = std::fs::read(&path).unwrap();
        let app = AppRecord {
            app_id: "app".into(),
            name: "App".into(),
            allowed_origins: vec!["https://a.example".into()],
            active: true,
            api_key_hash: [1; 32],
            created_at: 1,
            updated_at: 2,
        };
        let user = UserRecord {
            email: "a@b.example".into(),
            password_hash: "$argon2id$stub".into(),
            created_at: 3,
            token_generation: 0,
        };
        let changed = UserRecord {
            password_hash: "$argon2id$changed".into(),
            token_generation: 2,
            ..user.clone()
        };
        let booking = BookingRecord {
            app_id: "app".into(),
            user_id: UserId(7),
            seat_ids: vec!["S1".into()],
            reservation_id: 1,
            payment_id: "pay-1".into(),
            amount_minor: 100,
            currency: *b"EUR",
            status: BookingStatus::Success,
            created_at: 4,
            cancelled_at: None,
        };
        s.write(|tx| {
            tx.put_app(&app)?;
            tx.insert_user(UserId(7), &user)?;
            tx.put_seat("app", "S1", &seat("E1", SeatStatus::Available))?;
            tx.put_seat("app", "S2", &seat("E1", SeatStatus::Available))?;
            tx.put_reservation(1, &reservation(500, ReservationStatus::Active))?;
            tx.put_reservation(2, &reservation(600, ReservationStatus::Active))
        })
        .unwrap();
        s.write(|tx| {
            tx.delete_seat("app", "S2")?;
            tx.update_seat("app", "S1", &seat("E1", SeatStatus::Booked))?;
            tx.put_reservation(1, &reservation(500, ReservationStatus::Confirmed))?;
            tx.drop_holds(&[(500, 1)])?;
            tx.put_user(UserId(7), &changed)?;
            tx.put_booking("BK-1", &booking, true)
        })
        .unwrap();
        s.drop_as_if_crashed();
        std::fs::write(&path, at_open).unwrap();

        let s = open(&path, journal::DEFAULT_LIMIT);
        let r = s.read().unwrap();
        assert_eq!(
            r.app("app").unwrap().unwrap().allowed_origins,
            app.allowed_origins
        );
        let (id, found) = r.user_by_email("a@b.example").unwrap().unwrap();
        assert_eq!((id, found.created_at), (UserId(7), 3));
        assert_eq!(found.token_generation, 2);
        assert_eq!(
            r.user(UserId(7)).unwrap().unwrap().password_hash,
            "$argon2id$changed"
        );
        assert_eq!(
            r.seat("app", "S1").unwrap().unwrap().status,
            SeatStatus::Booked
        );
        assert!(r.seat("app", "S2").unwrap().is_none());
        let listed: Vec<String> = r
            .entity_seats("app", "E1")
            .unwrap()
            .into_iter()
            .map(|(id, _)| id)
            .collect();
        assert_eq!(listed, ["S1"]);
        assert_eq!(
            r.reservation(1).unwrap().unwrap().status,
            ReservationStatus::Confirmed
        );
        let holds: Vec<(u64, u64)> = r.expired_holds(u64::MAX, 10).unwrap();
        assert_eq!(holds, [(600, 2)], "only reservation 2 is still ACTIVE");
        assert_eq!(r.booking("BK-1").unwrap().unwrap().payment_id, "pay-1");
        assert_eq!(r.user_booking_ids("app", UserId(7)).unwrap(), ["BK-1"]);
    }

    /// A crash after a checkpoint's durable commit but before the journal
    /// began its next generation: the old groups are still there, and
    /// replaying them over the newer file would take back the rows the
    /// checkpointing commit changed.
    #[test]
    fn a_crash_inside_a_checkpoint_never_reverts_the_checkpointing_commit() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.redb");
        let journal_file = journal::journal_path(&path);
        let s = open(&path, 0);
        let mut expires_at = 0;
        loop {
            expires_at += 1;
            let before = std::fs::read(&journal_file).unwrap();
            s.write(|tx| {
                tx.put_reservation(1, &reservation(expires_at, ReservationStatus::Released))
            })
            .unwrap();
            let after = std::fs::read(&journal_file).unwrap();
            if after[..36] != before[..36] {
                // This commit checkpointed. Crash now, as if before the
                // journal's new header was written: the old one is back,
                // and the database file is as the checkpoint synced it.
                let synced = std::fs::read(&path).unwrap();
                s.drop_as_if_crashed();
                std::fs::write(&journal_file, &before).unwrap();
                std::fs::write(&path, synced).unwrap();
                break;
            }
            assert!(expires_at < 100, "no checkpoint happened");
        }
        assert!(
            expires_at > 1,
            "the journal held groups before the checkpoint"
        );

        let s = open(&path, 0);
        let r = s.read().unwrap();
        assert_eq!(r.reservation(1).unwrap().unwrap().expires_at, expires_at);
    }

    /// A user's bookings are listed the same whether their index entries
    /// are still pending or folded into the index, and across reopen.
    #[test]
    fn user_bookings_are_listed_before_and_after_the_pending_entries_fold() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.redb");
        let s = open(&path, journal::DEFAULT_LIMIT);
        let booking = |app: &str, user: u128| BookingRecord {
            app_id: app.into(),
            user_id: UserId(user),
            seat_ids: vec!["S1".into()],
            reservation_id: 1,
            payment_id: "pay".into(),
            amount_minor: 100,
            currency: *b"EUR",
            status: BookingStatus::Success,
            created_at: 4,
            cancelled_at: None,
        };
        let pending_rows = |s: &Storage| {
            let tx = s.db.begin_read().unwrap();
            tx.open_table(PENDING_USER_BOOKINGS).unwrap().len().unwrap()
        };
        // Users 1 and 2 in app "a", user 1 in app "b"; ids not in write order.
        let mut expected: [Vec<String>; 3] = Default::default();
        let total = PENDING_USER_BOOKINGS_MAX as usize + 100;
        let mut folded = false;
        for i in 0..total {
            let id = format!("BK-{:06}", (i * 7919) % 1_000_000);
            let (slot, app, user) = [(0, "a", 1), (1, "a", 2), (2, "b", 1)][i % 3];
            s.write(|tx| tx.put_booking(&id, &booking(app, user), true))
                .unwrap();
            expected[slot].push(id);
            folded |= pending_rows(&s) < (i + 1) as u64;
            if i % 97 == 0 || i == total - 1 {
                let r = s.read().unwrap();
                for (slot, app, user) in [(0, "a", 1), (1, "a", 2), (2, "b", 1)] {
                    let mut want = expected[slot].clone();
                    want.sort();
                    assert_eq!(r.user_booking_ids(app, UserId(user)).unwrap(), want);
                }
            }
        }
        assert!(folded, "the pending entries never folded");
        assert!(pending_rows(&s) < PENDING_USER_BOOKINGS_MAX);
        drop(s);
        let s = open(&path, journal::DEFAULT_LIMIT);
        let r = s.read().unwrap();
        let mut want = expected[1].clone();
        want.sort();
        assert_eq!(r.user_booking_ids("a", UserId(2)).unwrap(), want);
    }

    /// A crash at any step of a creation leaves no database (and the next
    /// open creates a whole one) or a whole, empty one.
    #[test]
    fn a_creation_interrupted_at_any_step_leaves_no_database_or_a_whole_one() {
        for step in ["database written", "journal in place"] {
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("t.redb");
            CRASH_AT.with(|c| c.set(Some(step)));
            let crashed = Storage::open_with(&path, Durability::Full, false);
            CRASH_AT.with(|c| c.set(None));
            assert!(crashed.is_err(), "{step}");
            assert!(
                !path.exists(),
                "a partial database is in place after {step}"
            );
            let s = open(&path, journal::DEFAULT_LIMIT);
            s.write(|tx| tx.put_reservation(1, &reservation(500, ReservationStatus::Active)))
                .unwrap();
            drop(s);
            let s = open(&path, journal::DEFAULT_LIMIT);
            assert!(
                s.read().unwrap().reservation(1).unwrap().is_some(),
                "{step}"
            );
            let mut names: Vec<String> = std::fs::read_dir(dir.path())
                .unwrap()
                .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect();
            names.sort();
            assert_eq!(names, ["t.redb", "t.redb-journal"], "{step}");
        }
    }

    /// Both files are renamed into place from their temporary names, the
    /// journal first, and each rename is followed by a directory sync
    /// (without which a power loss may lose the new name).
    #[test]
    fn creation_renames_the_journal_then_the_database_and_syncs_the_directory_after_each() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.redb");
        journal::STEPS.with(|s| s.borrow_mut().clear());
        drop(open(&path, journal::DEFAULT_LIMIT));
        let steps = journal::STEPS.with(|s| s.borrow().clone());
        assert_eq!(
            steps,
            [
                "rename t.redb-journal.creating -> t.redb-journal",
                "sync dir",
                "rename t.redb.creating -> t.redb",
                "sync dir",
            ]
        );
    }

    /// A database of the previous format (schema version 1, no id) is
    /// refused with a typed error, and left as it was.
    #[test]
    fn a_database_of_the_previous_format_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.redb");
        {
            let db = Database::create(&path).unwrap();
            let txn = db.begin_write().unwrap();
            txn.open_table(META)
                .unwrap()
                .insert(SCHEMA_VERSION_KEY, 1)
                .unwrap();
            txn.commit().unwrap();
        }
        std::fs::write(journal::journal_path(&path), [0u8; 8192]).unwrap();
        let err = Storage::open_with(&path, Durability::Full, false).unwrap_err();
        assert!(
            matches!(
                err,
                OpenError::UnsupportedFormat {
                    found: 1,
                    expected: 2
                }
            ),
            "{err:?}"
        );
    }

    /// A panic inside a write closure, after it changed a row, poisons the
    /// storage: the panic reaches its caller, nothing of it is kept, every
    /// later write fails with a `StorageError`, and a reopen (which
    /// replays the journal) brings back only what was acknowledged.
    #[test]
    fn a_panic_in_a_write_closure_poisons_the_storage_until_reopen() {
        for group in [false, true] {
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("t.redb");
            let s = Storage::open_with(&path, Durability::Full, group).unwrap();
            s.write(|tx| tx.put_reservation(1, &reservation(500, ReservationStatus::Active)))
                .unwrap();
            let panicked = panic::catch_unwind(AssertUnwindSafe(|| {
                s.write(|tx| -> Result<(), StorageError> {
                    tx.put_reservation(2, &reservation(600, ReservationStatus::Active))?;
                    panic!("injected: panic after a row changed")
                })
            }));
            assert!(panicked.is_err(), "the panic reaches its caller");
            assert!(s.read().unwrap().reservation(2).unwrap().is_none());
            let later =
                s.write(|tx| tx.put_reservation(3, &reservation(700, ReservationStatus::Active)));
            assert!(later.is_err(), "a write after the panic was accepted");
            drop(s);
            let s = Storage::open_with(&path, Durability::Full, group).unwrap();
            let r = s.read().unwrap();
            assert!(r.reservation(1).unwrap().is_some(), "group {group}");
            assert!(r.reservation(2).unwrap().is_none(), "group {group}");
            assert!(r.reservation(3).unwrap().is_none(), "group {group}");
            s.write(|tx| tx.put_reservation(4, &reservation(800, ReservationStatus::Active)))
                .unwrap();
        }
    }

    /// A panic inside the commit itself, between the journal append and
    /// redb's commit, is a typed error for the caller (its outcome open:
    /// the group is durable) and poisons the storage: nothing commits
    /// after a group the database does not hold.
    #[test]
    fn a_panic_inside_the_commit_poisons_the_storage_until_reopen() {
        for group in [false, true] {
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("t.redb");
            let s = Storage::open_with(&path, Durability::Full, group).unwrap();
            s.panic_after_append.store(true, Ordering::Relaxed);
            let failed =
                s.write(|tx| tx.put_reservation(1, &reservation(500, ReservationStatus::Active)));
            s.panic_after_append.store(false, Ordering::Relaxed);
            assert!(failed.is_err(), "group {group}");
            assert!(s.read().unwrap().reservation(1).unwrap().is_none());
            let later =
                s.write(|tx| tx.put_reservation(2, &reservation(600, ReservationStatus::Active)));
            assert!(later.is_err(), "a write after the panic was accepted");
            drop(s);
            // The group reached the journal before the panic: reopen
            // replays it; the refused write never got there.
            let s = Storage::open_with(&path, Durability::Full, group).unwrap();
            let r = s.read().unwrap();
            assert!(r.reservation(1).unwrap().is_some(), "group {group}");
            assert!(r.reservation(2).unwrap().is_none(), "group {group}");
        }
    }

    /// Closing checkpoints: the next open has no journal to replay.
    #[test]
    fn a_clean_close_leaves_nothing_to_replay() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.redb");
        let s = open(&path, journal::DEFAULT_LIMIT);
        s.write(|tx| tx.put_reservation(1, &reservation(500, ReservationStatus::Active)))
            .unwrap();
        drop(s);
        let journal = journal::Journal::open(&fs::RealFs, &path, journal::DEFAULT_LIMIT)
            .unwrap_or_else(|_| panic!("journal"))
            .unwrap();
        assert!(!journal.holds_groups().unwrap());
        drop(journal);
        let s = open(&path, journal::DEFAULT_LIMIT);
        assert!(s.read().unwrap().reservation(1).unwrap().is_some());
    }

    /// `put_reservation` only ever adds active-holds rows; `drop_holds`
    /// removes exactly the rows listed, whatever lies between them.
    #[test]
    fn hold_rows_are_added_by_puts_and_removed_only_when_listed() {
        let dir = tempfile::tempdir().unwrap();
        let s = open(&dir.path().join("t.redb"), journal::DEFAULT_LIMIT);
        s.write(|tx| {
            for id in 1..=4 {
                tx.put_reservation(id, &reservation(100 * id, ReservationStatus::Active))?;
            }
            // Extended, then confirmed: both rows stay.
            tx.put_reservation(1, &reservation(900, ReservationStatus::Active))?;
            tx.put_reservation(2, &reservation(200, ReservationStatus::Confirmed))
        })
        .unwrap();
        let rows = |s: &Storage| s.read().unwrap().expired_holds(u64::MAX, 100).unwrap();
        assert_eq!(rows(&s), [(100, 1), (200, 2), (300, 3), (400, 4), (900, 1)]);
        s.write(|tx| tx.drop_holds(&[(900, 1), (100, 1), (400, 4), (100, 1), (500, 5)]))
            .unwrap();
        assert_eq!(rows(&s), [(200, 2), (300, 3)]);
    }

    #[test]
    fn user_records_of_the_first_layout_decode_with_generation_zero() {
        #[derive(Serialize)]
        struct V1<'a> {
            email: &'a str,
            password_hash: &'a str,
            created_at: UnixMillis,
        }
        let bytes = encode(&V1 {
            email: "old@b.example",
            password_hash: "$argon2id$old",
            created_at: 9,
        })
        .unwrap();
        let rec = decode_user(&bytes).unwrap();
        assert_eq!(
            (rec.email.as_str(), rec.created_at, rec.token_generation),
            ("old@b.example", 9, 0)
        );
        assert!(decode_user(&bytes[..bytes.len() - 1]).is_err());
    }
}
