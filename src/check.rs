//! The offline check: can a closed database be opened, what would opening
//! do with its journal, and does it pass the audit?
//!
//! Owns [`check`] and [`CheckReport`]. It never writes to the operator's
//! files: it copies the database and its journal into a private temporary
//! directory and runs the normal open path there, so the verdict is the
//! one a real open would reach, not a second opinion. It holds a shared
//! lock on the journal while copying, so an engine cannot open the
//! database halfway through (and a live engine makes it refuse).
//!
//! The verdict comes from what the open returns, never from reading the
//! journal's format, so it stays right when that format changes:
//! 1. open with the journal: [`Recovery::AsIs`];
//! 2. else open without it (`discard_unmatched_journal`, or the journal
//!    copy deleted):
//!    [`Recovery::DiscardingJournal`], losing the writes only it held;
//! 3. else [`Recovery::NotRecoverable`].

use std::fs::OpenOptions;
use std::io;
use std::path::{Path, PathBuf};

use crate::auth::{Argon2Params, hash_password};
use crate::config::Config;
use crate::error::{CheckError, OpenError, StorageError};
use crate::payment::{PaymentOutcome, PaymentRequest, PaymentVerifier};
use crate::rules::audit::AuditReport;
use crate::rules::engine::Engine;
use crate::store::{
    Durability, OpenOptions as StorageOpenOptions, Storage, content_digest, journal_path,
};

/// The journal file next to the database, as found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JournalFile {
    /// No `<file>-journal`: a normal open refuses the database
    /// (`OpenError::JournalMissing`); opening with
    /// `Config::discard_unmatched_journal` starts a new one.
    Missing,
    /// Present, of this many bytes.
    Present { bytes: u64 },
}

/// Whether and how the database can be opened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Recovery {
    /// [`Engine::open`] succeeds on the files as they are (replaying the
    /// journal if [`CheckReport::replays_journal`] says so).
    AsIs,
    /// Opening with the journal fails, but the database file opens
    /// without it: open with `Config::discard_unmatched_journal` (which
    /// renames a journal that does not pair with the database aside), or,
    /// for a paired journal that fails to replay, move it aside by hand
    /// (keep it for analysis) and open with that option. Writes that only
    /// the journal held are lost.
    DiscardingJournal,
    /// The database file itself cannot be opened (see
    /// [`CheckReport::open_error`]): restore a backup.
    NotRecoverable,
}

/// What [`check`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckReport {
    pub journal: JournalFile,
    /// Opening changes rows: the journal holds writes the database file
    /// does not have yet, and a normal open replays them.
    pub replays_journal: bool,
    pub recovery: Recovery,
    /// Why the first failed open failed (`None` when [`Recovery::AsIs`]).
    pub open_error: Option<String>,
    /// The audit of the database as opened (`None` when not recoverable).
    pub audit: Option<AuditReport>,
}

impl CheckReport {
    /// True when the database opens as it is and its audit is clean.
    #[must_use]
    pub fn is_healthy(&self) -> bool {
        self.recovery == Recovery::AsIs && self.audit.as_ref().is_some_and(AuditReport::is_clean)
    }
}

/// Checks the CLOSED database at `path` and its journal (`path` +
/// `-journal`) without changing them: both are copied into a temporary
/// directory (under [`std::env::temp_dir`], so `TMPDIR` chooses it; it
/// needs room for a copy) and opened there as [`Engine::open`] would, then
/// audited. Reservations that expired by now are marked EXPIRED in the
/// copy first, as an open would.
///
/// # Errors
/// [`CheckError::DatabaseNotFound`] if there is no file at `path`;
/// [`CheckError::DatabaseOpen`] if a live engine has it open;
/// [`CheckError::Storage`] if the files cannot be copied.
pub fn check(path: impl AsRef<Path>) -> Result<CheckReport, CheckError> {
    let path = path.as_ref();
    match std::fs::metadata(path) {
        Ok(m) if m.is_file() => {}
        Ok(_) => return Err(CheckError::DatabaseNotFound),
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Err(CheckError::DatabaseNotFound),
        Err(e) => return Err(io(&e).into()),
    }
    let scratch = Scratch::new()?;
    let db = scratch.0.join("check.redb");
    let journal = copy_locked(path, &db)?;
    let mut report = CheckReport {
        journal,
        replays_journal: false,
        recovery: Recovery::AsIs,
        open_error: None,
        audit: None,
    };

    let before = redb::Database::open(&db)
        .map_err(StorageError::from)
        .and_then(|d| content_digest(&d));
    let before = match before {
        Ok(digest) => digest,
        Err(e) => {
            report.recovery = Recovery::NotRecoverable;
            report.open_error = Some(e.to_string());
            return Ok(report);
        }
    };
    match open_storage(&db) {
        Ok(storage) => {
            report.replays_journal = storage.content_digest().ok() != Some(before);
        }
        Err(e) => {
            report.open_error = Some(e.to_string());
            // What the host option `Config::discard_unmatched_journal`
            // does: set the journal aside, open without it. A journal that
            // pairs with the database but fails to replay is not covered
            // by the option; the verdict is the same (the operator sets
            // the journal aside by hand, losing the writes only it held).
            let opened = open_storage_discarding(&db, true).is_ok() || {
                let _ = std::fs::remove_file(journal_path(&db));
                open_storage_discarding(&db, true).is_ok()
            };
            if !opened {
                report.recovery = Recovery::NotRecoverable;
                return Ok(report);
            }
            report.recovery = Recovery::DiscardingJournal;
        }
    }
    match throwaway_config().and_then(|c| Engine::open(&db, c).map_err(|e| e.to_string())) {
        Ok(engine) => match engine.audit() {
            Ok(audit) => report.audit = Some(audit),
            Err(e) => fail_late(&mut report, e.to_string()),
        },
        Err(e) => fail_late(&mut report, e),
    }
    Ok(report)
}

/// The storage opened, but the engine could not load or audit it.
fn fail_late(report: &mut CheckReport, why: String) {
    report.recovery = Recovery::NotRecoverable;
    report.open_error.get_or_insert(why);
}

/// Opens (and, on drop, closes) the storage at `db` the way an engine does.
fn open_storage(db: &Path) -> Result<Storage, OpenError> {
    open_storage_discarding(db, false)
}

/// [`open_storage`], setting an unmatched journal aside if `discard`.
fn open_storage_discarding(db: &Path, discard: bool) -> Result<Storage, OpenError> {
    let mut options = StorageOpenOptions::new(Durability::Full, false);
    options.discard_unmatched_journal = discard;
    Storage::open(db, options)
}

/// Copies the database and its journal (if any) to `db` and `db`'s
/// journal path, holding a shared lock on the journal meanwhile: a live
/// engine holds it exclusively, so its presence is detected and an engine
/// cannot open the files until the copy is done.
fn copy_locked(path: &Path, db: &Path) -> Result<JournalFile, CheckError> {
    let journal = journal_path(path);
    let lock = match OpenOptions::new().read(true).open(&journal) {
        Ok(f) => Some(f),
        Err(e) if e.kind() == io::ErrorKind::NotFound => None,
        Err(e) => return Err(io(&e).into()),
    };
    let state = match &lock {
        None => JournalFile::Missing,
        Some(f) => {
            match f.try_lock_shared() {
                Ok(()) => {}
                Err(std::fs::TryLockError::WouldBlock) => return Err(CheckError::DatabaseOpen),
                Err(std::fs::TryLockError::Error(e)) => return Err(io(&e).into()),
            }
            let bytes = f.metadata().map_err(|e| io(&e))?.len();
            JournalFile::Present { bytes }
        }
    };
    std::fs::copy(path, db).map_err(|e| io(&e))?;
    if lock.is_some() {
        std::fs::copy(&journal, journal_path(db)).map_err(|e| io(&e))?;
    }
    drop(lock);
    Ok(state)
}

/// A configuration for the engine that opens the copy: random secrets and
/// an admin password nobody knows. It exists for a moment, on a copy.
fn throwaway_config() -> Result<Config, String> {
    let random = || {
        let (a, b) = (getrandom::u64(), getrandom::u64());
        match (a, b) {
            (Ok(a), Ok(b)) => Ok(format!("{a:016x}{b:016x}")),
            (Err(e), _) | (_, Err(e)) => Err(e.to_string()),
        }
    };
    let params = Argon2Params::default();
    let hash = hash_password(&random()?, &params).map_err(|e| e.to_string())?;
    let mut config = Config::new(
        "check@seatbook.invalid",
        hash,
        format!("admin-{}", random()?),
        format!("user-{}", random()?),
    );
    config.group_commit = false;
    // The check never confirms; a verifier that declines everything keeps
    // it that way even if a future audit path tried.
    Ok(config.with_payments(DeclineAll))
}

/// The throwaway engine's verifier: nothing is ever paid through a check.
struct DeclineAll;

impl PaymentVerifier for DeclineAll {
    fn verify(&self, _: &PaymentRequest<'_>) -> PaymentOutcome {
        PaymentOutcome::Declined("offline check: no payments".to_owned())
    }
}

/// A private temporary directory, removed with everything in it on drop.
struct Scratch(PathBuf);

impl Scratch {
    fn new() -> Result<Self, StorageError> {
        let nonce = getrandom::u64().map_err(|e| StorageError::other(format!("check: {e}")))?;
        let dir = std::env::temp_dir().join(format!("seatbook-check-{nonce:016x}"));
        std::fs::create_dir(&dir).map_err(|e| io(&e))?;
        Ok(Self(dir))
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn io(e: &io::Error) -> StorageError {
    StorageError::io(format!("check: {e}"))
}
