//! The file layer under the storage: every open, read, write, `set_len`,
//! sync, rename, removal and directory sync of the journal goes through a
//! [`Vfs`], and so does every access to the database file when a layer is
//! injected ([`Engine::open_with_fs`](crate::Engine::open_with_fs)).
//!
//! Owns the [`Vfs`] and [`VfsFile`] traits, [`RealFs`] (the operating
//! system's files) and [`VfsBackend`] (redb's `StorageBackend` over a
//! [`VfsFile`]). It never interprets what is written: formats belong to the
//! journal and to redb.
//!
//! # Why
//!
//! Tests replace the layer with one that records every write and sync and
//! builds what a disk could hold after a power loss at any instant, or that
//! fails the n-th I/O with `EIO` or `ENOSPC` (see `docs/reliability.md`,
//! "Fault model"). Production keeps redb's own `FileBackend` for the
//! database file when no layer is injected: its locking (a second opener
//! gets `DatabaseAlreadyOpen`) and its speed stay exactly as they were.
//! The journal always goes through the layer; [`RealFs`] costs one
//! indirect call per operation, nothing measurable next to a sync.

use std::fmt::Debug;
use std::fs::{File, OpenOptions};
use std::io;
use std::ops::Bound;
use std::os::unix::fs::FileExt;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};

/// A file system: the operations the storage performs on paths.
///
/// Implementations must be `Send + Sync`; the storage calls them from any
/// thread. Every method reports failures as [`io::Error`]s, which the
/// storage turns into typed errors.
#[doc(hidden)]
pub trait Vfs: Debug + Send + Sync + 'static {
    /// Opens `path` for reading and writing, creating it (empty) if it is
    /// missing and `create` is set.
    ///
    /// # Errors
    /// `NotFound` if it is missing and `create` is not set; any I/O error.
    fn open(&self, path: &Path, create: bool) -> io::Result<Box<dyn VfsFile>>;

    /// Renames `from` to `to`, replacing `to` (atomically, as `rename(2)`).
    ///
    /// # Errors
    /// Any I/O error.
    fn rename(&self, from: &Path, to: &Path) -> io::Result<()>;

    /// Removes the file at `path`.
    ///
    /// # Errors
    /// Any I/O error.
    fn remove_file(&self, path: &Path) -> io::Result<()>;

    /// Makes the directory entries of `dir` durable (creations, renames and
    /// removals in it), as `fsync` of the directory does.
    ///
    /// # Errors
    /// Any I/O error.
    fn sync_dir(&self, dir: &Path) -> io::Result<()>;

    /// Whether a file exists at `path`.
    ///
    /// # Errors
    /// Any I/O error other than the file's absence.
    fn exists(&self, path: &Path) -> io::Result<bool>;
}

/// An open file of a [`Vfs`]. Positional reads and writes only, so one
/// handle is shared by threads without a cursor.
#[doc(hidden)]
#[allow(clippy::len_without_is_empty)] // a file's length, not a collection's
pub trait VfsFile: Debug + Send + Sync {
    /// Fills `buf` from `offset`.
    ///
    /// # Errors
    /// `UnexpectedEof` past the end; any I/O error.
    fn read_exact_at(&self, buf: &mut [u8], offset: u64) -> io::Result<()>;

    /// Writes all of `buf` at `offset` (not durable until a sync).
    ///
    /// # Errors
    /// Any I/O error (`ENOSPC` included); part of `buf` may be written.
    fn write_all_at(&self, buf: &[u8], offset: u64) -> io::Result<()>;

    /// The file's length.
    ///
    /// # Errors
    /// Any I/O error.
    fn len(&self) -> io::Result<u64>;

    /// Truncates or extends (with zeros) to `len`.
    ///
    /// # Errors
    /// Any I/O error.
    fn set_len(&self, len: u64) -> io::Result<()>;

    /// Makes the file's data durable (`fdatasync`).
    ///
    /// # Errors
    /// Any I/O error. After an error, nothing written before it may be
    /// assumed durable, not even by a later sync that succeeds.
    fn sync_data(&self) -> io::Result<()>;

    /// Makes the file's data and metadata durable (`fsync`).
    ///
    /// # Errors
    /// As [`sync_data`](Self::sync_data).
    fn sync_all(&self) -> io::Result<()>;

    /// Takes the exclusive advisory lock of the file without waiting:
    /// `Ok(false)` if another handle holds it. Released by
    /// [`unlock`](Self::unlock) or when the handle is dropped.
    ///
    /// # Errors
    /// Any I/O error.
    fn try_lock(&self) -> io::Result<bool>;

    /// Releases the lock taken by [`try_lock`](Self::try_lock).
    ///
    /// # Errors
    /// Any I/O error.
    fn unlock(&self) -> io::Result<()>;
}

/// The operating system's file system.
#[doc(hidden)]
#[derive(Debug, Clone, Copy, Default)]
pub struct RealFs;

impl Vfs for RealFs {
    fn open(&self, path: &Path, create: bool) -> io::Result<Box<dyn VfsFile>> {
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(create)
            .truncate(false)
            .open(path)?;
        Ok(Box::new(RealFile(file)))
    }

    fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        std::fs::rename(from, to)
    }

    fn remove_file(&self, path: &Path) -> io::Result<()> {
        std::fs::remove_file(path)
    }

    fn sync_dir(&self, dir: &Path) -> io::Result<()> {
        File::open(dir)?.sync_all()
    }

    fn exists(&self, path: &Path) -> io::Result<bool> {
        path.try_exists()
    }
}

/// A [`File`] of [`RealFs`].
#[derive(Debug)]
struct RealFile(File);

impl VfsFile for RealFile {
    fn read_exact_at(&self, buf: &mut [u8], offset: u64) -> io::Result<()> {
        self.0.read_exact_at(buf, offset)
    }

    fn write_all_at(&self, buf: &[u8], offset: u64) -> io::Result<()> {
        self.0.write_all_at(buf, offset)
    }

    fn len(&self) -> io::Result<u64> {
        Ok(self.0.metadata()?.len())
    }

    fn set_len(&self, len: u64) -> io::Result<()> {
        self.0.set_len(len)
    }

    fn sync_data(&self) -> io::Result<()> {
        self.0.sync_data()
    }

    fn sync_all(&self) -> io::Result<()> {
        self.0.sync_all()
    }

    fn try_lock(&self) -> io::Result<bool> {
        match self.0.try_lock() {
            Ok(()) => Ok(true),
            Err(std::fs::TryLockError::WouldBlock) => Ok(false),
            Err(std::fs::TryLockError::Error(e)) => Err(e),
        }
    }

    fn unlock(&self) -> io::Result<()> {
        self.0.unlock()
    }
}

/// redb's storage over a [`VfsFile`], for a database file opened through
/// an injected layer. Locks the whole file (the only range redb asks for
/// in its exclusive-writer mode), so a second opener is refused as with
/// redb's own `FileBackend`.
#[derive(Debug)]
pub(crate) struct VfsBackend {
    file: Box<dyn VfsFile>,
    locked: AtomicBool,
}

impl VfsBackend {
    pub(crate) fn new(file: Box<dyn VfsFile>) -> Self {
        Self {
            file,
            locked: AtomicBool::new(false),
        }
    }
}

fn whole(start: Bound<u64>, end: Bound<u64>) -> bool {
    matches!(start, Bound::Unbounded | Bound::Included(0)) && end == Bound::Unbounded
}

impl redb::StorageBackend for VfsBackend {
    fn len(&self) -> io::Result<u64> {
        self.file.len()
    }

    fn read(&self, offset: u64, out: &mut [u8]) -> io::Result<()> {
        self.file.read_exact_at(out, offset)
    }

    fn set_len(&self, len: u64) -> io::Result<()> {
        self.file.set_len(len)
    }

    fn sync_data(&self) -> io::Result<()> {
        self.file.sync_data()
    }

    fn write(&self, offset: u64, data: &[u8]) -> io::Result<()> {
        self.file.write_all_at(data, offset)
    }

    fn close(&self) -> io::Result<()> {
        if self.locked.swap(false, Ordering::AcqRel) {
            self.file.unlock()?;
        }
        Ok(())
    }

    fn try_lock_range(
        &self,
        start: Bound<u64>,
        end: Bound<u64>,
    ) -> Result<bool, redb::BackendError> {
        if !whole(start, end) {
            return Err(redb::BackendError::Unsupported);
        }
        let got = self.file.try_lock().map_err(redb::BackendError::Io)?;
        if got {
            self.locked.store(true, Ordering::Release);
        }
        Ok(got)
    }

    fn unlock_range(&self, start: Bound<u64>, end: Bound<u64>) -> Result<(), redb::BackendError> {
        if !whole(start, end) {
            return Err(redb::BackendError::Unsupported);
        }
        if self.locked.swap(false, Ordering::AcqRel) {
            self.file.unlock().map_err(redb::BackendError::Io)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn real_files_lock_exclusively_and_round_trip_data() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        let fs = RealFs;
        assert!(!fs.exists(&path).unwrap());
        let a = fs.open(&path, true).unwrap();
        let b = fs.open(&path, false).unwrap();
        assert!(a.try_lock().unwrap());
        assert!(!b.try_lock().unwrap(), "a second handle must be refused");
        a.write_all_at(b"hello", 3).unwrap();
        a.sync_data().unwrap();
        assert_eq!(b.len().unwrap(), 8);
        let mut buf = [0u8; 8];
        b.read_exact_at(&mut buf, 0).unwrap();
        assert_eq!(&buf, b"\0\0\0hello");
        a.unlock().unwrap();
        assert!(b.try_lock().unwrap());
        let moved = dir.path().join("g");
        fs.rename(&path, &moved).unwrap();
        fs.sync_dir(dir.path()).unwrap();
        assert!(fs.exists(&moved).unwrap() && !fs.exists(&path).unwrap());
        fs.remove_file(&moved).unwrap();
        assert!(fs.open(&moved, false).is_err());
    }
}
