//! Online backup: a consistent, self-contained copy of a live engine's
//! database, written while the engine keeps serving writes.
//!
//! Owns the file protocol of a backup: refuse an existing target, write
//! the copy under a temporary name next to it, make it durable, link it
//! into place without ever overwriting, sync the directory. Which rows
//! make up the copy is the storage's business
//! ([`Storage::backup_into`]): one redb read snapshot, so a backup never
//! holds a lock that writers wait for.
//!
//! # The copy's identity and journal
//!
//! The snapshot holds every commit the engine made visible, including the
//! ones that so far are durable only through the journal; the copy is then
//! committed with full durability. So it holds everything by itself and
//! has nothing to replay. It is a database of its own: a new random
//! database id ([`Storage::backup_into`] sets it), and an empty journal of
//! its own that continues its checkpointed generation, created whole and
//! renamed into place before the database is linked, so the copy never
//! appears without its journal. The live engine's journal can never be
//! replayed into the copy: it is another database's, and refused at open.
//! A target whose `-journal` exists is refused.
//!
//! Linking into place needs a file system with hard links (every Unix
//! one); elsewhere the backup fails with a storage error and leaves nothing.

use std::fs::File;
use std::io;
use std::path::{Path, PathBuf};

use crate::error::{BackupError, StorageError};
use crate::store::fs::RealFs;
use crate::store::journal::{DEFAULT_LIMIT, Journal, JournalOpenError};
use crate::store::{Storage, journal_path};

/// Writes the backup of `storage` to `target` (see [`crate::Engine::backup`]).
pub(crate) fn run(storage: &Storage, target: &Path) -> Result<(), BackupError> {
    if exists(target)? || exists(&journal_path(target))? {
        return Err(BackupError::TargetExists);
    }
    let name = target
        .file_name()
        .ok_or_else(|| io_error("the target has no file name"))?;
    let dir = match target.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let nonce = getrandom::u64().map_err(|e| io_error(&e.to_string()))?;
    let mut temp_name = std::ffi::OsString::from(".");
    temp_name.push(name);
    temp_name.push(format!(".backup-{nonce:016x}"));
    let temp = TempFile(dir.join(temp_name));

    let copy = redb::Database::builder()
        .create(&temp.0)
        .map_err(StorageError::from)?;
    let written = storage.backup_into(&copy)?;
    drop(copy);
    // The commit was durable; this covers the file's length too.
    File::open(&temp.0).and_then(|f| f.sync_all()).map_err(io)?;

    // The copy's own empty journal, continuing its generation, goes into
    // place first (created whole under a temporary name, renamed, the
    // directory synced): a database never appears without its journal,
    // and an empty journal left alone by a crash here is reused by the
    // next backup or open.
    Journal::create(
        &RealFs,
        target,
        written.db_id,
        written.checkpointed.wrapping_add(1),
        DEFAULT_LIMIT,
        false,
    )
    .map_err(|e| match e {
        JournalOpenError::AlreadyOpen => BackupError::TargetExists,
        JournalOpenError::Io(e) => io(e).into(),
    })?;

    // `hard_link` never replaces an existing file, unlike `rename`: a
    // target created since the check above is refused, not overwritten.
    match std::fs::hard_link(&temp.0, target) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
            return Err(BackupError::TargetExists);
        }
        Err(e) => return Err(io(e).into()),
    }
    sync_dir(&dir)?;
    drop(temp);
    sync_dir(&dir)?;
    Ok(())
}

/// Removes the temporary file when dropped (after a failure, or once it
/// is linked into place).
struct TempFile(PathBuf);

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

fn exists(path: &Path) -> Result<bool, StorageError> {
    // A dangling symlink counts: linking over it would fail anyway.
    match std::fs::symlink_metadata(path) {
        Ok(_) => Ok(true),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(io(e)),
    }
}

fn sync_dir(dir: &Path) -> Result<(), StorageError> {
    File::open(dir).and_then(|d| d.sync_all()).map_err(io)
}

fn io(e: io::Error) -> StorageError {
    #![allow(clippy::needless_pass_by_value)] // used as `map_err(io)`
    StorageError::io(format!("backup: {e}"))
}

fn io_error(why: &str) -> StorageError {
    StorageError::io(format!("backup: {why}"))
}
