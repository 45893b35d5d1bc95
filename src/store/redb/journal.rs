//! The write-ahead journal: each durable commit costs one small append and
//! one `fdatasync`, however many b-tree pages redb touched.
//!
//! Owns the journal file (`<file>-journal`): its creation, header, groups,
//! their checksums, and deciding which groups belong to the database and
//! are newer than it. It never interprets a group's body (the row changes
//! are [`WriteTx`]'s business) and never touches the database file.
//!
//! # Why
//!
//! redb is copy-on-write: a durable commit of a batch of ~60 confirms
//! writes some 80 b-tree pages to free spots of the file and syncs them.
//! On the virtio disk we measured, that sync costs ~40 µs per scattered
//! page. The row changes of the same batch fit in ~25 KB. So a durable
//! commit here is: redb commits *non-durably* (in memory, no I/O), and the
//! batch's row changes go to this journal as one *group* in one write and
//! one `fdatasync`. Every few MiB of journal, one redb commit is made
//! durable instead (a *checkpoint*) and the journal starts over.
//!
//! # Format (version 3, magic `SBJRNL03`)
//!
//! - Header block (offset 0, 4 KiB): magic, the database's 128-bit id,
//!   generation, CRC-32.
//! - Groups from offset 4 KiB, each starting on a 4 KiB boundary: magic,
//!   database id, generation, body length, CRC-32 (of those fields and the
//!   body), body, zeros up to the next boundary. So an append never
//!   rewrites a block (or a sector) that holds an acknowledged group: a
//!   torn append can only damage its own, unacknowledged group.
//!
//! The file is zero-filled to its limit once, when created, so appends
//! overwrite allocated blocks: `fdatasync` then flushes data only, not the
//! file system's metadata (about half the cost of a sync that grows the
//! file, as measured here).
//!
//! Journals of the earlier formats (`SBJRNL02`, no database id) are never
//! read: their databases are refused before (see
//! [`RedbStore`](super::RedbStore) on schema versions).
//!
//! # Generations and pairing
//!
//! The database records in its `META` table its id and `C`, the last
//! generation its checkpoints contain. The generation is a counter, never
//! random: a checkpoint records `C = g` for the journal's generation `g`,
//! then the journal's header moves to `g + 1`. Opening compares the
//! journal's header `(id, g)` with the database's `(id, C)`:
//!
//! | journal header              | decision                                |
//! |-----------------------------|-----------------------------------------|
//! | other id                    | refused: [`Refusal::Mismatch`] (`Foreign`) |
//! | `g == C + 1`                | its groups are replayed (they are newer) |
//! | `g == C`                    | ignored: a checkpoint recorded them and the crash came before the header moved on; every group of `g` is in the database |
//! | `g < C`                     | refused (`Stale`): an older journal      |
//! | `g > C + 1`                 | refused (`Newer`): the database is older than its journal (put back from a copy) |
//! | unreadable (torn, zeroed)   | ignored when no group of `(id, C + 1)` follows: a header is written only after a checkpoint, before any group of its generation; refused as [`Refusal::Corrupted`] otherwise |
//!
//! Within the replayed generation, groups are read in order up to the
//! first one that is not whole (a torn last append: a commit that never
//! returned, ignored). If any whole group of the same database and
//! generation lies beyond that point, the damage is not a torn tail (an
//! append starts only after the previous one was synced) but corruption:
//! [`Refusal::Corrupted`], nothing replayed. (A group's body is opaque row
//! data; a forged group header inside one would need the database's random
//! id, which is never shown.)
//!
//! # Files and directories
//!
//! A journal is created whole under a temporary name (`<journal>.creating`:
//! header, zero fill, `fsync`), renamed into place, and the directory is
//! synced ([`sync_dir`]): with a strict POSIX model of power loss a new
//! file's directory entry is otherwise not durable. A journal that is set
//! aside is renamed to `<journal>.discarded-<unix ms>`, never deleted.
//! Every file operation here (open, create, read, write, sync, rename,
//! removal, directory sync, existence) goes through a [`Vfs`]:
//! [`RealFs`](super::fs::RealFs) in production, a fault-injecting layer in
//! the power-loss and I/O-error tests.
//!
//! [`WriteTx`]: super::WriteTx

use std::io;
use std::path::{Path, PathBuf};

use super::fs::{Vfs, VfsFile};

/// Alignment of the header and of every group (see the module's Format).
const BLOCK: u64 = 4096;
const HEADER_MAGIC: &[u8; 8] = b"SBJRNL03";
/// Header: magic, database id, generation, CRC.
const HEADER_LEN: usize = 8 + 16 + 8 + 4;
/// Group header: magic, database id, generation, body length, CRC.
const GROUP_MAGIC: &[u8; 4] = b"SBJG";
const GROUP_HEADER_LEN: usize = 4 + 16 + 8 + 4 + 4;

/// Journal size (header included) past which a commit checkpoints
/// instead of appending. A lone write's group takes one 4 KiB block, so
/// this is ~1,000 lone writes, or ~150 batches of 60 confirms, between
/// checkpoints; a checkpoint then writes and syncs the pages those writes
/// dirtied, a few ms here.
pub(crate) const DEFAULT_LIMIT: u64 = 4 << 20;

/// The journal file of a database file.
pub(crate) fn journal_path(db: &Path) -> PathBuf {
    with_suffix(db, "-journal")
}

/// `path` with `suffix` appended to its file name.
pub(crate) fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

/// Suffix of a file being created (database or journal): such a file is
/// only ever renamed into place once whole, and a leftover is removed.
pub(crate) const CREATING: &str = ".creating";

/// Why the journal could not be opened or created.
#[derive(Debug)]
pub(crate) enum JournalOpenError {
    /// Another handle has the journal (so the database) open.
    AlreadyOpen,
    Io(io::Error),
}

impl From<io::Error> for JournalOpenError {
    fn from(e: io::Error) -> Self {
        Self::Io(e)
    }
}

/// Why a journal's groups are not to be replayed into its database (see
/// the module's table).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Refusal {
    Mismatch(crate::error::JournalMismatch),
    /// A damaged group (at this offset) followed by whole groups of the
    /// generation being replayed.
    Corrupted {
        offset: u64,
    },
}

/// An open, locked journal. Not `Sync` on purpose: the storage keeps it
/// behind the mutex that orders commits.
pub(crate) struct Journal {
    file: Box<dyn VfsFile>,
    db_id: u128,
    generation: u64,
    /// Offset of the next group (a multiple of [`BLOCK`]).
    end: u64,
    limit: u64,
    /// Reused buffer for the next group.
    group: Vec<u8>,
    /// Set by [`recover`](Self::recover) when the header is at the
    /// generation the database says it checkpointed (see
    /// [`checkpoint_unfinished`](Self::checkpoint_unfinished)).
    checkpoint_unfinished: bool,
}

impl std::fmt::Debug for Journal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Journal")
            .field("generation", &self.generation)
            .field("end", &self.end)
            .field("limit", &self.limit)
            .finish_non_exhaustive()
    }
}

/// A journal being created under its temporary name, locked (see
/// [`Journal::begin_create`]).
pub(crate) struct Creating {
    file: Box<dyn VfsFile>,
    temp: PathBuf,
}

impl Creating {
    /// Writes the header of `(db_id, generation)`, zero-fills (with
    /// `preallocate`), syncs, renames the file into place and syncs the
    /// directory: a journal appears whole or not at all.
    pub(crate) fn finish(
        self,
        fs: &dyn Vfs,
        db: &Path,
        db_id: u128,
        generation: u64,
        limit: u64,
        preallocate: bool,
    ) -> Result<Journal, JournalOpenError> {
        let Self { file, temp } = self;
        file.set_len(0)?;
        let limit = limit.max(BLOCK * 2);
        write_header(&*file, db_id, generation)?;
        if preallocate {
            zero_fill(&*file, BLOCK, limit)?;
        } else {
            file.sync_all()?;
        }
        rename_durably(fs, &temp, &journal_path(db))?;
        Ok(Journal {
            file,
            db_id,
            generation,
            end: BLOCK,
            limit,
            group: Vec::new(),
            checkpoint_unfinished: false,
        })
    }
}

/// Locks `file` for this handle until it is closed: replay must never run
/// under a live engine in this or another process.
fn lock(file: &dyn VfsFile) -> Result<(), JournalOpenError> {
    if file.try_lock()? {
        Ok(())
    } else {
        Err(JournalOpenError::AlreadyOpen)
    }
}

#[cfg(test)]
thread_local! {
    /// File-system steps of this thread, in order (tests check that every
    /// rename is followed by a directory sync).
    pub(crate) static STEPS: std::cell::RefCell<Vec<String>> =
        const { std::cell::RefCell::new(Vec::new()) };
}

#[cfg(test)]
fn step(what: String) {
    STEPS.with(|s| s.borrow_mut().push(what));
}

#[cfg(not(test))]
#[allow(clippy::needless_pass_by_value)]
fn step(_: String) {}

/// The file name of `path`, for [`step`].
fn name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// Syncs the directory holding `path`, so that a file created, renamed or
/// removed there keeps its new name after a power loss.
pub(crate) fn sync_dir(fs: &dyn Vfs, path: &Path) -> io::Result<()> {
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    fs.sync_dir(dir)?;
    step("sync dir".into());
    Ok(())
}

/// Renames `from` to `to` and syncs their directory.
pub(crate) fn rename_durably(fs: &dyn Vfs, from: &Path, to: &Path) -> io::Result<()> {
    fs.rename(from, to)?;
    step(format!("rename {} -> {}", name(from), name(to)));
    sync_dir(fs, to)
}

/// Removes `path` if it exists (and syncs its directory if it did).
pub(crate) fn remove_if_present(fs: &dyn Vfs, path: &Path) -> io::Result<()> {
    match fs.remove_file(path) {
        Ok(()) => sync_dir(fs, path),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e),
    }
}

impl Journal {
    /// Opens and locks the existing journal of the database at `db`
    /// (`None`: there is none), changing nothing. The caller then calls
    /// [`recover`](Self::recover), replays, checkpoints and calls
    /// [`start_generation`](Self::start_generation) before the first
    /// [`append`](Self::append).
    pub(crate) fn open(
        fs: &dyn Vfs,
        db: &Path,
        limit: u64,
    ) -> Result<Option<Self>, JournalOpenError> {
        let file = match fs.open(&journal_path(db), false) {
            Ok(file) => file,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e.into()),
        };
        lock(&*file)?;
        Ok(Some(Self {
            file,
            db_id: 0,
            generation: 0,
            end: BLOCK,
            limit: limit.max(BLOCK * 2),
            group: Vec::new(),
            checkpoint_unfinished: false,
        }))
    }

    /// Zero-fills the file to its limit (for a journal that will be
    /// written; see the module's Format section). Only once the journal
    /// was accepted: a refused one is left as it was.
    pub(crate) fn preallocate(&self) -> io::Result<()> {
        let len = self.file.len()?;
        if len < self.limit {
            zero_fill(&*self.file, len, self.limit)?;
        }
        Ok(())
    }

    /// Creates the journal of the database `db_id` at `db`, locked, whose
    /// groups will be of `generation` (replacing any journal there):
    /// [`begin_create`](Self::begin_create) then [`Creating::finish`].
    pub(crate) fn create(
        fs: &dyn Vfs,
        db: &Path,
        db_id: u128,
        generation: u64,
        limit: u64,
        preallocate: bool,
    ) -> Result<Self, JournalOpenError> {
        Self::begin_create(fs, db)?.finish(fs, db, db_id, generation, limit, preallocate)
    }

    /// Opens and locks the temporary file a journal of `db` is created in
    /// (`<journal>.creating`, a leftover one reused). Whoever holds it is
    /// creating: [`JournalOpenError::AlreadyOpen`] if someone is.
    pub(crate) fn begin_create(fs: &dyn Vfs, db: &Path) -> Result<Creating, JournalOpenError> {
        let temp = with_suffix(&journal_path(db), CREATING);
        let file = fs.open(&temp, true)?;
        // The lock moves with the file when it is renamed into place.
        lock(&*file)?;
        Ok(Creating { file, temp })
    }

    /// Decides, for the database `db_id` whose checkpoints contain the
    /// generations up to `checkpointed`, what the journal holds for it
    /// (see the module's table): the bodies of the groups to replay,
    /// oldest first, or why none may be. On `Ok`, the journal's generation
    /// is the one the database holds once they are replayed (the next
    /// checkpoint records it).
    pub(crate) fn recover(
        &mut self,
        db_id: u128,
        checkpointed: u64,
    ) -> Result<Result<Vec<Vec<u8>>, Refusal>, JournalOpenError> {
        use crate::error::JournalMismatch;
        let bytes = read_all(&*self.file)?;
        self.db_id = db_id;
        self.generation = checkpointed;
        self.checkpoint_unfinished = false;
        let next = checkpointed.wrapping_add(1);
        let Some((id, generation)) = read_header(&bytes) else {
            // Torn or never written: nothing of the next generation can
            // have been appended behind it, unless the header was damaged
            // later.
            if let Some(offset) = find_group(&bytes, BLOCK as usize, db_id, next) {
                return Ok(Err(Refusal::Corrupted { offset }));
            }
            return Ok(Ok(Vec::new()));
        };
        let refuse = |m| Ok(Err(Refusal::Mismatch(m)));
        if id != db_id {
            return refuse(JournalMismatch::Foreign);
        }
        if generation == checkpointed {
            self.checkpoint_unfinished = true;
            return Ok(Ok(Vec::new()));
        }
        if generation < checkpointed {
            return refuse(JournalMismatch::Stale {
                journal: generation,
                database: checkpointed,
            });
        }
        if generation != next {
            return refuse(JournalMismatch::Newer {
                journal: generation,
                database: checkpointed,
            });
        }
        match read_groups(&bytes, db_id, generation) {
            Ok(groups) => {
                self.generation = generation;
                Ok(Ok(groups))
            }
            Err(offset) => Ok(Err(Refusal::Corrupted { offset })),
        }
    }

    /// Whether [`recover`](Self::recover) found the header still at the
    /// generation the database says it checkpointed: the last checkpoint
    /// committed (or its commit was attempted and the database file, as
    /// read now, claims it) but the journal never moved on. Either the
    /// process died between the checkpoint's sync and the new header, or
    /// that sync failed, in which case the file as read may hold pages the
    /// disk lacks (see `RedbStore::open`, which then rewrites the database).
    pub(crate) fn checkpoint_unfinished(&self) -> bool {
        self.checkpoint_unfinished
    }

    /// Whether the journal holds any whole group of its header's database
    /// and generation (a journal found where its database is missing).
    pub(crate) fn holds_groups(&self) -> io::Result<bool> {
        let bytes = read_all(&*self.file)?;
        Ok(read_header(&bytes).is_some_and(|(id, generation)| {
            find_group(&bytes, BLOCK as usize, id, generation).is_some()
        }))
    }

    /// Renames the journal of `db` aside, to `<journal>.discarded-<unix
    /// ms>` (with a counter should that name exist), syncs the directory
    /// and closes it. Returns the new name.
    pub(crate) fn discard(self, fs: &dyn Vfs, db: &Path) -> io::Result<PathBuf> {
        let path = journal_path(db);
        let ms = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis());
        let mut aside = with_suffix(&path, &format!(".discarded-{ms}"));
        let mut n = 1;
        while fs.exists(&aside)? {
            aside = with_suffix(&path, &format!(".discarded-{ms}-{n}"));
            n += 1;
        }
        rename_durably(fs, &path, &aside)?;
        drop(self);
        Ok(aside)
    }

    /// The generation whose groups the journal holds (or will hold, until
    /// [`start_generation`](Self::start_generation)).
    pub(crate) fn generation(&self) -> u64 {
        self.generation
    }

    /// Whether a group with a body of `body_len` bytes fits under the
    /// limit. When it does not, the commit must checkpoint instead.
    pub(crate) fn has_room(&self, body_len: usize) -> bool {
        self.end
            .saturating_add(padded(GROUP_HEADER_LEN as u64 + body_len as u64))
            <= self.limit
    }

    /// Appends one group and syncs it: when this returns `Ok`, the group
    /// survives a crash. The caller checks [`has_room`](Self::has_room)
    /// first.
    pub(crate) fn append(&mut self, body: &[u8]) -> io::Result<()> {
        // Release asserts (one comparison per commit): a group past the
        // limit would overwrite the preallocated tail's promise, an empty
        // one means a commit the caller should have skipped (see
        // `RedbStore::commit`).
        assert!(self.has_room(body.len()), "journal group past the limit");
        assert!(!body.is_empty(), "empty journal group");
        let body_len =
            u32::try_from(body.len()).map_err(|_| io::Error::other("journal group too large"))?;
        let group = &mut self.group;
        group.clear();
        group.extend_from_slice(GROUP_MAGIC);
        group.extend_from_slice(&self.db_id.to_le_bytes());
        group.extend_from_slice(&self.generation.to_le_bytes());
        group.extend_from_slice(&body_len.to_le_bytes());
        let mut hasher = crc32fast::Hasher::new();
        hasher.update(&group[..GROUP_HEADER_LEN - 4]);
        hasher.update(body);
        group.extend_from_slice(&hasher.finalize().to_le_bytes());
        group.extend_from_slice(body);
        // Zeros to the next block boundary: the next group starts on a
        // block of its own (see the module's Format section).
        let len = usize::try_from(padded(group.len() as u64)).map_err(io::Error::other)?;
        group.resize(len, 0);
        self.file.write_all_at(group, self.end)?;
        self.file.sync_data()?;
        self.end += group.len() as u64;
        debug_assert!(self.end.is_multiple_of(BLOCK), "a group ends mid-block");
        Ok(())
    }

    /// Begins the next generation (header written and synced): every group
    /// so far is dropped. Only after a checkpoint recorded the current
    /// generation in the database.
    pub(crate) fn start_generation(&mut self) -> io::Result<()> {
        // Generations only ever increase (a journal's groups are told from
        // older ones by it): a release assert, once per checkpoint.
        let next = self
            .generation
            .checked_add(1)
            .expect("journal generation overflow");
        write_header(&*self.file, self.db_id, next)?;
        self.generation = next;
        self.end = BLOCK;
        Ok(())
    }
}

/// `len` rounded up to whole blocks.
fn padded(len: u64) -> u64 {
    len.div_ceil(BLOCK).saturating_mul(BLOCK)
}

/// Extends the file with zeros from `from` to `to` bytes, and syncs it
/// with its new length, so later appends overwrite allocated blocks.
fn zero_fill(file: &dyn VfsFile, from: u64, to: u64) -> io::Result<()> {
    const CHUNK: usize = 1 << 20;
    let zeros = vec![0u8; CHUNK];
    let mut at = from;
    while at < to {
        let n = usize::try_from(to - at).map_or(CHUNK, |n| n.min(CHUNK));
        file.write_all_at(&zeros[..n], at)?;
        at += n as u64;
    }
    file.sync_all()
}

/// Writes and syncs the journal header.
fn write_header(file: &dyn VfsFile, db_id: u128, generation: u64) -> io::Result<()> {
    let mut header = [0u8; HEADER_LEN];
    header[..8].copy_from_slice(HEADER_MAGIC);
    header[8..24].copy_from_slice(&db_id.to_le_bytes());
    header[24..32].copy_from_slice(&generation.to_le_bytes());
    let crc = crc32fast::hash(&header[..32]);
    header[32..36].copy_from_slice(&crc.to_le_bytes());
    file.write_all_at(&header, 0)?;
    file.sync_data()
}

fn read_all(file: &dyn VfsFile) -> io::Result<Vec<u8>> {
    let len = file.len()?;
    let mut bytes = vec![0u8; usize::try_from(len).map_err(io::Error::other)?];
    file.read_exact_at(&mut bytes, 0)?;
    Ok(bytes)
}

/// The database id and generation of an intact header.
fn read_header(bytes: &[u8]) -> Option<(u128, u64)> {
    let header = bytes.get(..HEADER_LEN)?;
    let crc = u32::from_le_bytes(header[32..36].try_into().ok()?);
    if header[..8] != *HEADER_MAGIC || crc32fast::hash(&header[..32]) != crc {
        return None;
    }
    Some((
        u128::from_le_bytes(header[8..24].try_into().ok()?),
        u64::from_le_bytes(header[24..32].try_into().ok()?),
    ))
}

/// The bodies of the whole groups of `(db_id, generation)` from the first
/// block on, up to the first that is not whole; `Err(offset)` if a whole
/// one lies beyond that (corruption, not a torn tail).
fn read_groups(bytes: &[u8], db_id: u128, generation: u64) -> Result<Vec<Vec<u8>>, u64> {
    let mut groups = Vec::new();
    let mut at = BLOCK as usize;
    while let Some(body) = group_at(bytes, at, db_id, generation) {
        groups.push(body.to_vec());
        at += usize::try_from(padded((GROUP_HEADER_LEN + body.len()) as u64)).unwrap_or(usize::MAX);
    }
    match find_group(bytes, at.saturating_add(BLOCK as usize), db_id, generation) {
        Some(_) => Err(at as u64),
        None => Ok(groups),
    }
}

/// The offset of the first block at or after `from` (a block boundary)
/// where a whole group of `(db_id, generation)` starts.
fn find_group(bytes: &[u8], from: usize, db_id: u128, generation: u64) -> Option<u64> {
    (from..bytes.len())
        .step_by(BLOCK as usize)
        .find(|&at| group_at(bytes, at, db_id, generation).is_some())
        .map(|at| at as u64)
}

/// The body of the group at `at`, if it is whole and of `(db_id,
/// generation)`.
fn group_at(bytes: &[u8], at: usize, db_id: u128, generation: u64) -> Option<&[u8]> {
    let header = bytes.get(at..at.checked_add(GROUP_HEADER_LEN)?)?;
    if header[..4] != *GROUP_MAGIC
        || u128::from_le_bytes(header[4..20].try_into().ok()?) != db_id
        || u64::from_le_bytes(header[20..28].try_into().ok()?) != generation
    {
        return None;
    }
    let body_len = u32::from_le_bytes(header[28..32].try_into().ok()?) as usize;
    let crc = u32::from_le_bytes(header[32..36].try_into().ok()?);
    let start = at + GROUP_HEADER_LEN;
    let body = bytes.get(start..start.checked_add(body_len)?)?;
    let mut hasher = crc32fast::Hasher::new();
    hasher.update(&header[..GROUP_HEADER_LEN - 4]);
    hasher.update(body);
    (hasher.finalize() == crc).then_some(body)
}

#[cfg(test)]
mod tests {
    use std::fs::OpenOptions;
    use std::os::unix::fs::FileExt;

    use super::super::fs::RealFs;
    use super::*;
    use crate::error::JournalMismatch;

    const LIMIT: u64 = 64 << 10;
    const ID: u128 = 0x0123_4567_89ab_cdef_0123_4567_89ab_cdef;

    /// A new journal for database `ID` whose groups are of generation 1.
    fn create(path: &Path) -> Journal {
        Journal::create(&RealFs, path, ID, 1, LIMIT, true).unwrap()
    }

    /// Opens as the storage does, for a database of `id` that checkpointed
    /// `checkpointed`.
    fn recover(path: &Path, id: u128, checkpointed: u64) -> Result<Vec<Vec<u8>>, Refusal> {
        let mut journal = Journal::open(&RealFs, path, LIMIT).unwrap().unwrap();
        journal.recover(id, checkpointed).unwrap()
    }

    fn corrupt(path: &Path, at: u64, bytes: &[u8]) {
        OpenOptions::new()
            .write(true)
            .open(journal_path(path))
            .unwrap()
            .write_all_at(bytes, at)
            .unwrap();
    }

    #[test]
    fn appended_groups_come_back_in_order_and_a_torn_last_one_is_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("db");
        let mut journal = create(&path);
        journal.append(b"first").unwrap();
        journal.append(b"second").unwrap();
        let torn_at = journal.end;
        journal.append(b"third").unwrap();
        drop(journal);
        // Tear the last group's body: its commit never returned.
        corrupt(&path, torn_at + GROUP_HEADER_LEN as u64, b"X");
        assert_eq!(
            recover(&path, ID, 0).unwrap(),
            [b"first".to_vec(), b"second".to_vec()]
        );
    }

    /// A damaged group with a whole one of the same generation behind it
    /// is not a torn tail (appends are synced one after another).
    #[test]
    fn a_damaged_group_followed_by_a_whole_one_is_corruption() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("db");
        let mut journal = create(&path);
        journal.append(b"first").unwrap();
        let damaged_at = journal.end;
        journal.append(b"second").unwrap();
        journal.append(b"third").unwrap();
        drop(journal);
        corrupt(&path, damaged_at + GROUP_HEADER_LEN as u64, b"X");
        assert_eq!(
            recover(&path, ID, 0),
            Err(Refusal::Corrupted { offset: damaged_at })
        );
    }

    /// Every group starts on a block of its own, and an append leaves every
    /// byte of the blocks before it as it was.
    #[test]
    fn an_append_never_rewrites_a_block_holding_an_acknowledged_group() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("db");
        let mut journal = create(&path);
        for body in [
            &b"a"[..],
            &[7u8; 5000],
            b"bb",
            &[9u8; 4096 - GROUP_HEADER_LEN],
        ] {
            let at = journal.end;
            assert_eq!(at % BLOCK, 0, "a group starts mid-block at {at}");
            let before = std::fs::read(journal_path(&path)).unwrap();
            journal.append(body).unwrap();
            let after = std::fs::read(journal_path(&path)).unwrap();
            let at = usize::try_from(at).unwrap();
            assert_eq!(before[..at], after[..at], "an earlier block changed");
        }
        drop(journal);
        assert_eq!(recover(&path, ID, 0).unwrap().len(), 4);
    }

    /// The module's table, row by row.
    #[test]
    fn only_the_generation_after_the_checkpointed_one_of_the_same_database_is_replayed() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("db");
        let mut journal = Journal::create(&RealFs, &path, ID, 5, LIMIT, true).unwrap();
        journal.append(b"g5").unwrap();
        drop(journal);
        assert_eq!(recover(&path, ID, 4).unwrap(), [b"g5".to_vec()]);
        assert_eq!(recover(&path, ID, 5).unwrap(), Vec::<Vec<u8>>::new());
        assert_eq!(
            recover(&path, ID, 6),
            Err(Refusal::Mismatch(JournalMismatch::Stale {
                journal: 5,
                database: 6
            }))
        );
        assert_eq!(
            recover(&path, ID, 3),
            Err(Refusal::Mismatch(JournalMismatch::Newer {
                journal: 5,
                database: 3
            }))
        );
        assert_eq!(
            recover(&path, ID + 1, 4),
            Err(Refusal::Mismatch(JournalMismatch::Foreign))
        );
    }

    /// A header still at the generation the database checkpointed (the
    /// `g == C` row) marks the last checkpoint unfinished; the next one
    /// (`g == C + 1`, the normal state) does not.
    #[test]
    fn a_header_at_the_checkpointed_generation_marks_the_checkpoint_unfinished() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("db");
        drop(Journal::create(&RealFs, &path, ID, 5, LIMIT, true).unwrap());
        for (checkpointed, unfinished) in [(4, false), (5, true), (4, false)] {
            let mut journal = Journal::open(&RealFs, &path, LIMIT).unwrap().unwrap();
            assert!(journal.recover(ID, checkpointed).unwrap().is_ok());
            assert_eq!(
                journal.checkpoint_unfinished(),
                unfinished,
                "C = {checkpointed}"
            );
        }
    }

    /// The header moves on only after a checkpoint: the groups behind a
    /// header that did not are older (in the database), never replayed;
    /// but a group of the generation that follows the checkpoint behind
    /// an unreadable header means the header was damaged later.
    #[test]
    fn an_unreadable_header_is_ignored_unless_groups_of_the_next_generation_follow() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("db");
        let mut journal = create(&path);
        journal.append(b"g1").unwrap();
        drop(journal);
        corrupt(&path, 0, &[0; HEADER_LEN]);
        // Generation 1 is checkpointed: its group is in the database.
        assert_eq!(recover(&path, ID, 1).unwrap(), Vec::<Vec<u8>>::new());
        // Generation 1 is not: the header was lost after its group.
        assert_eq!(
            recover(&path, ID, 0),
            Err(Refusal::Corrupted { offset: BLOCK })
        );
    }

    #[test]
    fn older_groups_behind_a_new_generation_are_never_returned() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("db");
        let mut journal = create(&path);
        journal.append(b"old1").unwrap();
        journal.append(b"old2").unwrap();
        drop(journal);
        let mut journal = Journal::open(&RealFs, &path, LIMIT).unwrap().unwrap();
        assert_eq!(journal.recover(ID, 0).unwrap().unwrap().len(), 2);
        // The storage checkpoints generation 1 here.
        journal.start_generation().unwrap();
        journal.append(b"new1").unwrap();
        drop(journal);
        assert_eq!(recover(&path, ID, 1).unwrap(), [b"new1".to_vec()]);
    }

    #[test]
    fn the_journal_stays_within_its_limit() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("db");
        let mut journal = create(&path);
        let body = [7u8; 1000];
        let mut appended = 0;
        while journal.has_room(body.len()) {
            journal.append(&body).unwrap();
            appended += 1;
        }
        assert_eq!(appended, LIMIT / BLOCK - 1, "one block per group");
        let len = std::fs::metadata(journal_path(&path)).unwrap().len();
        assert_eq!(
            len, LIMIT,
            "the file is zero-filled to its limit, no further"
        );
        journal.start_generation().unwrap();
        assert!(
            journal.has_room(body.len()),
            "a new generation starts empty"
        );
    }

    #[test]
    fn a_second_open_is_refused_while_the_first_is_live() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("db");
        let _first = create(&path);
        assert!(matches!(
            Journal::open(&RealFs, &path, LIMIT),
            Err(JournalOpenError::AlreadyOpen)
        ));
    }

    /// Created whole under a temporary name (a leftover one is reused),
    /// renamed into place; a missing journal is reported as such.
    #[test]
    fn creation_goes_through_a_temporary_name_and_leaves_none() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("db");
        assert!(Journal::open(&RealFs, &path, LIMIT).unwrap().is_none());
        let temp = with_suffix(&journal_path(&path), CREATING);
        std::fs::write(&temp, [0xAB; 10]).unwrap();
        let journal = create(&path);
        assert!(!temp.exists());
        assert!(!journal.holds_groups().unwrap());
        drop(journal);
        assert_eq!(recover(&path, ID, 0).unwrap(), Vec::<Vec<u8>>::new());
    }
}
