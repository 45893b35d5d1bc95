//! Opening the redb store: creating a database atomically, checking its
//! identity and schema version, replaying its journal, and checkpointing.
//!
//! Owns what happens between a path and a usable [`RedbStore`]. It must
//! never decide which journal groups belong to the database (that is
//! [`journal`]'s business) nor interpret their records ([`WriteTx`]'s).

use std::path::Path;
use std::sync::atomic::AtomicBool;

use redb::{Database, ReadableTable};

use super::schema::{
    ARCHIVED_ENTITIES, ARCHIVED_SEATS, CHECKPOINTED_GENERATION, DB_ID_HIGH, DB_ID_LOW, ENTITIES,
    META, SCHEMA_VERSION, SCHEMA_VERSION_KEY, UPGRADABLE_SCHEMA_VERSIONS,
};
use super::{RedbStore, WriteTx, commit, fs, journal};
use crate::error::{OpenError, StorageError};
use crate::store::Durability;

/// The database id and checkpointed generation of a closed database.
#[cfg(test)]
pub(crate) fn identity_of(path: &Path) -> (u128, u64) {
    let db = Database::open(path).unwrap();
    let txn = redb::ReadableDatabase::begin_read(&db).unwrap();
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
    getrandom::fill(&mut id).map_err(|e| StorageError::other(format!("random id: {e}")))?;
    let id = u128::from_le_bytes(id);
    let mut meta = txn.open_table(META)?;
    meta.insert(DB_ID_HIGH, (id >> 64) as u64)?;
    meta.insert(DB_ID_LOW, id as u64)?;
    let checkpointed = meta
        .get(CHECKPOINTED_GENERATION)?
        .map(|v| v.value())
        .ok_or_else(|| StorageError::corrupt("backup: the database has no checkpoint record"))?;
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
    /// redb's page cache size (`Config::page_cache_bytes`).
    pub(crate) cache_bytes: usize,
}

impl OpenOptions<'_> {
    pub(crate) fn new(durability: Durability, group_commit: bool) -> Self {
        Self {
            durability,
            group_commit,
            journal_limit: journal::DEFAULT_LIMIT,
            discard_unmatched_journal: false,
            fs: None,
            cache_bytes: 1024 * 1024 * 1024,
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
        let mut builder = redb::Builder::new();
        builder.set_cache_size(self.cache_bytes);
        match self.fs {
            None if create => builder.create(path),
            None => builder.open(path),
            Some(fs) => {
                let file = fs.open(path, create).map_err(|e| {
                    OpenError::Storage(StorageError::io(format!("database file: {e}")))
                })?;
                builder.create_with_backend(fs::VfsBackend::new(file))
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
    OpenError::Storage(StorageError::io(format!("journal: {e}")))
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
    pub(super) static CRASH_AT: std::cell::Cell<Option<&'static str>> = const { std::cell::Cell::new(None) };
}

#[cfg(test)]
fn crash_point(step: &'static str) -> Result<(), OpenError> {
    if CRASH_AT.with(std::cell::Cell::get) == Some(step) {
        return Err(OpenError::Storage(StorageError::io(format!(
            "crash at {step}"
        ))));
    }
    Ok(())
}

#[cfg(not(test))]
#[allow(clippy::unnecessary_wraps)]
fn crash_point(_: &'static str) -> Result<(), OpenError> {
    Ok(())
}

impl RedbStore {
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
                            OpenError::Storage(StorageError::io(format!("database file: {e}")))
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
        let mut meta = txn.open_table(META).map_err(storage)?;
        let version = meta
            .get(SCHEMA_VERSION_KEY)
            .map_err(storage)?
            .map(|v| v.value());
        if version.is_some_and(|v| UPGRADABLE_SCHEMA_VERSIONS.contains(&v)) {
            // Committed with the open's checkpoint, or not at all.
            txn.open_table(ENTITIES).map_err(storage)?;
            txn.open_table(ARCHIVED_ENTITIES).map_err(storage)?;
            txn.open_table(ARCHIVED_SEATS).map_err(storage)?;
            meta.insert(SCHEMA_VERSION_KEY, SCHEMA_VERSION)
                .map_err(storage)?;
        }
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
            _ => Err(OpenError::Storage(StorageError::corrupt(
                "database without its id or checkpoint record",
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
            .map_err(|e| OpenError::Storage(StorageError::other(format!("random id: {e}"))))?;
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
