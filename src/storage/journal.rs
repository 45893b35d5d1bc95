//! The write-ahead journal: each durable commit costs one small append and
//! one `fdatasync`, however many b-tree pages redb touched.
//!
//! Owns the journal file (`<file>-journal`): its header, its groups, their
//! checksums, and finding the groups that are to be replayed. It never
//! interprets a group's body (the row changes are [`WriteTx`]'s business)
//! and never touches the database file.
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
//! # Format
//!
//! - Header block (offset 0, 4 KiB): magic, generation, CRC-32.
//! - Groups, back to back from offset 4 KiB: magic, generation, body
//!   length, CRC-32 (of those fields and the body), body.
//!
//! The file is zero-filled to its limit once, when created, so appends
//! overwrite allocated blocks: `fdatasync` then flushes data only, not the
//! file system's metadata (about half the cost of a sync that grows the
//! file, as measured here).
//!
//! # Recovery
//!
//! Opening returns the bodies of the current generation's groups, in order,
//! up to the first group that is torn or of another generation (a commit
//! that never returned, or a leftover of an earlier generation). Whether
//! they still have to be replayed is the storage's decision: it records in
//! each checkpoint which generation the database already contains (see
//! [`Storage`](super::Storage)). A new generation begins after every
//! checkpoint; after an unreadable header (new file, or torn while a
//! generation began) the generation is random, so no older group can pass
//! for a current one.
//!
//! [`WriteTx`]: super::WriteTx

use std::io;
use std::path::{Path, PathBuf};

use super::fs::{Vfs, VfsFile};

/// Header block at offset 0: magic, generation, CRC.
const HEADER_LEN: u64 = 4096;
const HEADER_MAGIC: &[u8; 8] = b"SBJRNL02";
/// Group header: magic, generation, body length, CRC.
const GROUP_MAGIC: &[u8; 4] = b"SBJR";
const GROUP_HEADER_LEN: usize = 4 + 8 + 4 + 4;

/// Journal size (header included) past which a commit checkpoints
/// instead of appending. At ~450 bytes per written row this is ~9,000
/// writes between checkpoints; a checkpoint then writes and syncs the
/// pages those writes dirtied, a few ms here.
pub(crate) const DEFAULT_LIMIT: u64 = 4 << 20;

/// The journal file of a database file.
pub(crate) fn journal_path(db: &Path) -> PathBuf {
    let mut name = db.as_os_str().to_owned();
    name.push("-journal");
    PathBuf::from(name)
}

/// Why the journal could not be opened.
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

/// What opening found in the journal.
pub(crate) struct Recovered {
    /// The generation of an intact header (`None`: new or unreadable).
    pub(crate) generation: Option<u64>,
    /// Bodies of that generation's intact groups, oldest first.
    pub(crate) groups: Vec<Vec<u8>>,
}

/// An open, locked journal. Not `Sync` on purpose: the storage keeps it
/// behind the mutex that orders commits.
pub(crate) struct Journal {
    file: Box<dyn VfsFile>,
    generation: u64,
    /// Offset of the next group.
    end: u64,
    limit: u64,
    /// Reused buffer for the next group.
    group: Vec<u8>,
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

impl Journal {
    /// Opens (creating if missing) and locks the journal of the database
    /// at `db`, and reads what it holds. The caller replays what is needed,
    /// checkpoints, then calls [`start_generation`](Self::start_generation)
    /// before the first [`append`](Self::append).
    ///
    /// `preallocate`: zero-fill the file to its limit now (for a journal
    /// that will be written; see the module's Format section). Every file
    /// operation goes through `fs`.
    pub(crate) fn open(
        fs: &dyn Vfs,
        db: &Path,
        limit: u64,
        preallocate: bool,
    ) -> Result<(Self, Recovered), JournalOpenError> {
        let file = fs.open(&journal_path(db), true)?;
        // Held until the file is closed: replay must never run under a
        // live engine in this or another process.
        if !file.try_lock()? {
            return Err(JournalOpenError::AlreadyOpen);
        }
        let limit = limit.max(HEADER_LEN * 2);
        let recovered = read_groups(&*file)?;
        // A random generation after an unreadable header: no group of an
        // earlier generation still in the file can carry it.
        let generation = match recovered.generation {
            Some(g) => g,
            None => getrandom::u64().map_err(|e| io::Error::other(e.to_string()))?,
        };
        let len = file.len()?;
        if preallocate && len < limit {
            zero_fill(&*file, len, limit)?;
        }
        let journal = Self {
            file,
            generation,
            end: HEADER_LEN,
            limit,
            group: Vec::new(),
        };
        Ok((journal, recovered))
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
            .saturating_add(GROUP_HEADER_LEN as u64)
            .saturating_add(body_len as u64)
            <= self.limit
    }

    /// Appends one group and syncs it: when this returns `Ok`, the group
    /// survives a crash. The caller checks [`has_room`](Self::has_room)
    /// first.
    pub(crate) fn append(&mut self, body: &[u8]) -> io::Result<()> {
        let body_len =
            u32::try_from(body.len()).map_err(|_| io::Error::other("journal group too large"))?;
        let group = &mut self.group;
        group.clear();
        group.extend_from_slice(GROUP_MAGIC);
        group.extend_from_slice(&self.generation.to_le_bytes());
        group.extend_from_slice(&body_len.to_le_bytes());
        let mut hasher = crc32fast::Hasher::new();
        hasher.update(&group[..16]);
        hasher.update(body);
        group.extend_from_slice(&hasher.finalize().to_le_bytes());
        group.extend_from_slice(body);
        self.file.write_all_at(group, self.end)?;
        self.file.sync_data()?;
        self.end += group.len() as u64;
        Ok(())
    }

    /// Begins the next generation (header written and synced): every group
    /// so far is dropped. Only after a checkpoint made them unnecessary.
    pub(crate) fn start_generation(&mut self) -> io::Result<()> {
        let next = self.generation.wrapping_add(1);
        write_header(&*self.file, next)?;
        self.generation = next;
        self.end = HEADER_LEN;
        Ok(())
    }
}

/// Extends the file with zeros to `to` bytes, and syncs it with its new
/// length, so later appends overwrite allocated blocks.
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

/// Writes and syncs the journal header of `generation`.
fn write_header(file: &dyn VfsFile, generation: u64) -> io::Result<()> {
    let mut header = [0u8; 20];
    header[..8].copy_from_slice(HEADER_MAGIC);
    header[8..16].copy_from_slice(&generation.to_le_bytes());
    let crc = crc32fast::hash(&header[..16]);
    header[16..20].copy_from_slice(&crc.to_le_bytes());
    file.write_all_at(&header, 0)?;
    file.sync_data()
}

/// The generation in a journal header, if it is intact.
fn read_header(bytes: &[u8]) -> Option<u64> {
    let header = bytes.get(..20)?;
    let crc = u32::from_le_bytes(header[16..20].try_into().ok()?);
    (header[..8] == *HEADER_MAGIC && crc32fast::hash(&header[..16]) == crc)
        .then(|| u64::from_le_bytes(header[8..16].try_into().expect("8 bytes")))
}

/// The header's generation and the bodies of its intact groups.
fn read_groups(file: &dyn VfsFile) -> io::Result<Recovered> {
    let len = file.len()?;
    let mut bytes = vec![0u8; usize::try_from(len).map_err(io::Error::other)?];
    file.read_exact_at(&mut bytes, 0)?;
    let Some(generation) = read_header(&bytes) else {
        return Ok(Recovered {
            generation: None,
            groups: Vec::new(),
        });
    };
    let mut groups = Vec::new();
    let mut at = usize::try_from(HEADER_LEN).map_err(io::Error::other)?;
    while let Some(body) = group_at(&bytes, at, generation) {
        groups.push(body.to_vec());
        at += GROUP_HEADER_LEN + body.len();
    }
    Ok(Recovered {
        generation: Some(generation),
        groups,
    })
}

/// The body of the group at `at`, if it is whole and of `generation`.
fn group_at(bytes: &[u8], at: usize, generation: u64) -> Option<&[u8]> {
    let header = bytes.get(at..at.checked_add(GROUP_HEADER_LEN)?)?;
    if header[..4] != *GROUP_MAGIC
        || u64::from_le_bytes(header[4..12].try_into().ok()?) != generation
    {
        return None;
    }
    let body_len = u32::from_le_bytes(header[12..16].try_into().ok()?) as usize;
    let crc = u32::from_le_bytes(header[16..20].try_into().ok()?);
    let start = at + GROUP_HEADER_LEN;
    let body = bytes.get(start..start.checked_add(body_len)?)?;
    let mut hasher = crc32fast::Hasher::new();
    hasher.update(&header[..16]);
    hasher.update(body);
    (hasher.finalize() == crc).then_some(body)
}

#[cfg(test)]
mod tests {
    use std::fs::OpenOptions;
    use std::os::unix::fs::FileExt;

    use super::super::fs::RealFs;
    use super::*;

    const LIMIT: u64 = 64 << 10;

    fn open(path: &Path) -> (Journal, Recovered) {
        Journal::open(&RealFs, path, LIMIT, true).unwrap()
    }

    /// Opens as the storage does: the caller has checkpointed whatever it
    /// recovered, so a new generation begins.
    fn reopen(path: &Path) -> (Journal, Vec<Vec<u8>>) {
        let (mut journal, recovered) = open(path);
        journal.start_generation().unwrap();
        (journal, recovered.groups)
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
    fn appended_groups_come_back_in_order_and_a_torn_one_is_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("db");
        let (mut journal, _) = reopen(&path);
        journal.append(b"first").unwrap();
        journal.append(b"second").unwrap();
        let torn_at = journal.end;
        journal.append(b"third").unwrap();
        drop(journal);
        // Tear the last group's body: its commit never returned.
        corrupt(&path, torn_at + GROUP_HEADER_LEN as u64, b"X");

        let (_, recovered) = open(&path);
        assert_eq!(recovered.groups, [b"first".to_vec(), b"second".to_vec()]);
    }

    #[test]
    fn groups_of_an_older_generation_are_never_returned() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("db");
        let (mut journal, _) = reopen(&path);
        journal.append(b"old1").unwrap();
        journal.append(b"old2").unwrap();
        drop(journal);
        // The next generation's first group overwrites the old first
        // group; the old second one stays behind it.
        let (mut journal, replayed) = reopen(&path);
        assert_eq!(replayed, [b"old1".to_vec(), b"old2".to_vec()]);
        journal.append(b"new1").unwrap();
        drop(journal);

        let (_, recovered) = open(&path);
        assert_eq!(recovered.groups, [b"new1".to_vec()]);
    }

    /// A header torn while a generation began leaves older groups behind
    /// it; the generation chosen next must not match theirs, or a group
    /// lined up behind the new ones would come back.
    #[test]
    fn groups_behind_a_torn_header_are_never_returned() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("db");
        let (mut journal, _) = reopen(&path);
        journal.append(b"AAAA").unwrap();
        journal.append(b"BBBB").unwrap();
        drop(journal);
        corrupt(&path, 0, &[0; 20]);

        let (mut journal, recovered) = open(&path);
        assert_eq!(recovered.generation, None);
        assert!(recovered.groups.is_empty());
        journal.start_generation().unwrap();
        // Same size as the first old group, so the second old group sits
        // right behind the new one.
        journal.append(b"CCCC").unwrap();
        drop(journal);

        let (_, recovered) = open(&path);
        assert_eq!(recovered.groups, [b"CCCC".to_vec()]);
    }

    #[test]
    fn the_journal_stays_within_its_limit() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("db");
        let (mut journal, _) = reopen(&path);
        let body = [7u8; 1000];
        let mut appended = 0;
        while journal.has_room(body.len()) {
            journal.append(&body).unwrap();
            appended += 1;
        }
        assert!(appended > 10, "only {appended} groups fit");
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
        let _first = open(&path);
        assert!(matches!(
            Journal::open(&RealFs, &path, LIMIT, true),
            Err(JournalOpenError::AlreadyOpen)
        ));
    }
}
