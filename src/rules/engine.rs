//! The engine handle: opening, closing, sweeping, auditing, backups.
//!
//! Owns [`Engine`], the host's handle on one opened database, and its
//! optional reaper thread. Opening is the state's rebuild from storage
//! (`state::open`) followed by the rules' part (`expiry`: restore the
//! live holds, expire the overdue); every later call goes to the rules
//! or to the state's API. It holds no rule and no state of its own but
//! the reaper: app and user authentication live in `app`, the admin's
//! operations in `admin`, booking in `booking`.

use std::path::Path;
use std::sync::mpsc;
use std::sync::{Arc, Weak};
use std::thread::JoinHandle;
use std::time::Duration;

use parking_lot::Mutex;

use super::audit::{self, AuditReport};
use super::{expiry, retention};
use crate::clock::UnixMillis;
use crate::config::Config;
use crate::error::{BackupError, OpenError, StorageError};
use crate::model::{SeatKeys, Stats};
use crate::state::Inner;
use crate::store::fs::Vfs;

/// An open seat-booking engine on one redb file.
///
/// `Send + Sync`: share one engine between all threads (`Arc<Engine>` or
/// `&Engine`).
///
/// **Closing.** [`close`](Self::close) closes the engine for good: every
/// [`AppContext`](crate::AppContext) and [`Admin`](crate::Admin) made from
/// it answers [`AuthError::EngineClosed`](crate::AuthError::EngineClosed)
/// from then on, and the file is released once the calls already running
/// return, so the same path can be reopened. **Dropping** an engine does
/// not close it while a context or admin made from it is alive: they keep
/// the engine's state, the file stays open and a reopen of the same path
/// gets [`OpenError::DatabaseAlreadyOpen`] until the last of them is
/// dropped too (only the background reaper stops at once). Call `close()`
/// when the file must be released at a known point.
pub struct Engine {
    pub(crate) inner: Arc<Inner>,
    reaper: Mutex<Option<Reaper>>,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("storage", self.inner.storage())
            .field("locks", self.inner.locks())
            .field("apps", &self.inner.app_count())
            .finish_non_exhaustive()
    }
}

impl Engine {
    /// Opens (or creates) the engine's database at `path`, and its
    /// write-ahead journal at `path` + `-journal`, which opening replays
    /// (keep the two files together; see the README's durability section).
    ///
    /// Checks the configuration first (a named payment verifier, JWT
    /// secrets of at least 32 bytes and different from each other, a
    /// parseable argon2 admin hash, sane hold bounds), then rebuilds the in-memory state: every seat's key, every
    /// booked seat, and the holds of ACTIVE reservations that have not
    /// expired. Reservations that expired while the engine was closed
    /// become EXPIRED.
    ///
    /// The journal is replayed only if it continues this database (same
    /// database id, the generation after its last checkpoint); otherwise
    /// the open is refused and nothing changes, unless
    /// [`Config::discard_unmatched_journal`] is set. Creating a new
    /// database is atomic (see the README's durability section).
    ///
    /// # Errors
    /// [`OpenError::NoPaymentVerifier`] if `config.payments` is `None`,
    /// [`OpenError::InvalidConfig`] / [`OpenError::WeakSecret`] for a bad
    /// configuration, [`OpenError::DatabaseAlreadyOpen`] if another engine
    /// has the file, [`OpenError::JournalMismatch`] /
    /// [`OpenError::JournalMissing`] / [`OpenError::JournalCorrupted`] for a
    /// journal that does not continue the database,
    /// [`OpenError::UnsupportedFormat`] for a database of an earlier
    /// format, [`OpenError::Storage`] for I/O or corruption.
    pub fn open(path: impl AsRef<Path>, config: Config) -> Result<Self, OpenError> {
        Self::open_on(path.as_ref(), config, None, None)
    }

    /// [`open`](Self::open) with every file operation of the database, its
    /// journal and their temporary files going through `fs`, and a journal
    /// that checkpoints past `journal_limit` bytes. For the fault-injection
    /// tests (power-loss crash images, injected I/O errors); not part of
    /// the supported API.
    ///
    /// # Errors
    /// As [`open`](Self::open).
    #[doc(hidden)]
    pub fn open_with_fs(
        path: impl AsRef<Path>,
        config: Config,
        fs: &dyn Vfs,
        journal_limit: u64,
    ) -> Result<Self, OpenError> {
        Self::open_on(path.as_ref(), config, Some(fs), Some(journal_limit))
    }

    fn open_on(
        path: &Path,
        config: Config,
        fs: Option<&dyn Vfs>,
        journal_limit: Option<u64>,
    ) -> Result<Self, OpenError> {
        let (inner, active) = Inner::open(path, config, fs, journal_limit)?;
        let inner = Arc::new(inner);
        expiry::restore_holds(&inner, active);
        expiry::sweep(&inner)?;
        Ok(Self::started(inner))
    }

    /// The engine around `inner`, with its reaper if one is configured.
    fn started(inner: Arc<Inner>) -> Self {
        let reaper = inner
            .config()
            .reaper_interval
            .and_then(|every| Reaper::start(Arc::downgrade(&inner), every));
        Self {
            inner,
            reaper: Mutex::new(reaper),
        }
    }

    /// Marks every ACTIVE reservation past its expiry as EXPIRED and frees
    /// its seats (holds are already free for others the instant they expire;
    /// this makes the durable record agree). Returns how many expired.
    ///
    /// # Errors
    /// [`StorageError`] if the database fails; nothing is half-done.
    pub fn sweep_expired(&self) -> Result<usize, StorageError> {
        expiry::sweep(&self.inner)
    }

    /// Counters since this engine was opened.
    #[must_use]
    pub fn stats(&self) -> Stats {
        self.inner.counters().snapshot()
    }

    /// The lock table's seat keys now: how many serve a seat, and how many
    /// were ever handed out (the table's high-water mark, at most
    /// 16,777,215). Removing seats and archiving entities give keys back
    /// for new seats, so an engine that archives its past entities keeps
    /// both bounded by its live seats.
    #[must_use]
    pub fn seat_keys(&self) -> SeatKeys {
        let locks = self.inner.locks();
        SeatKeys {
            live: locks.live_seats() as u64,
            allocated: locks.seat_count() as u64,
        }
    }

    /// The engine's clock reading (milliseconds since the Unix epoch).
    #[must_use]
    pub fn now(&self) -> UnixMillis {
        self.inner.now()
    }

    /// Closes the engine: afterwards every [`AppContext`](crate::AppContext)
    /// and [`Admin`](crate::Admin) made from it, and the engine's own
    /// operations, answer [`AuthError::EngineClosed`](crate::AuthError::EngineClosed)
    /// ([`AppAuthError::EngineClosed`](crate::AppAuthError::EngineClosed)
    /// from [`app`](Self::app); a storage error saying the engine is closed
    /// from [`sweep_expired`](Self::sweep_expired) and [`audit`](Self::audit)).
    ///
    /// Waits for storage accesses in progress, then checkpoints and releases
    /// the journal and the database file; a read transaction still open in
    /// a running call holds the file until that call returns. A call that
    /// was already past its context check when `close` began either
    /// completes or fails with `EngineClosed` (as its own error, or as a
    /// storage error whose code is `EngineClosed` if it reached storage
    /// after the release); nothing is half-done either way. The engine's
    /// own calls that reach storage (`sweep_expired`, `audit`, `backup`)
    /// fail the same way. Idempotent; holds and counters are not persisted (reservations
    /// are, and reopen restores their holds).
    pub fn close(&self) {
        if !self.inner.mark_closed() {
            return;
        }
        if let Some(reaper) = self.reaper.lock().take() {
            reaper.stop();
        }
        self.inner.release_storage();
    }

    /// Whether [`close`](Self::close) was called.
    #[must_use]
    pub fn is_closed(&self) -> bool {
        self.inner.is_closed()
    }

    /// Reads the whole database back and checks the booking invariants
    /// (docs/design.md: invariants 1, 2, 4 and 11, the lock table's agreement with
    /// storage). Costs a full scan: for tests, demos and operators, not the
    /// hot path.
    ///
    /// # Errors
    /// [`StorageError`] if the database cannot be read.
    pub fn audit(&self) -> Result<AuditReport, StorageError> {
        audit::run(&self.inner)
    }

    /// Writes a consistent copy of the database to `target` while the
    /// engine keeps serving: the copy is one read snapshot, holding every
    /// write acknowledged before the call and no part of a write that was
    /// not. Writers are never blocked by it (a snapshot is not a lock),
    /// though the file may grow while the backup runs, since redb keeps
    /// the snapshot's pages until it ends.
    ///
    /// The copy is a self-contained database of its own (a new database
    /// id) with its own empty journal (`<target>-journal`): it opens like
    /// any database (`Engine::open(target, config)`), with nothing to
    /// replay. The journal is put in place first; the copy is written under
    /// a temporary name next to `target`, committed and synced, then linked
    /// into place and the directory synced, so `target` either does not
    /// exist or is complete. Restore both files together. See the
    /// README's "Backup and restore" section.
    ///
    /// # Errors
    /// [`BackupError::TargetExists`] if `target` or `<target>-journal`
    /// exists (backups never overwrite, so the engine's own files are
    /// refused too); [`BackupError::Storage`] if reading or writing fails
    /// (nothing is left at `target`), also after [`close`](Self::close).
    pub fn backup(&self, target: impl AsRef<Path>) -> Result<(), BackupError> {
        self.inner
            .storage()
            .with(|storage| crate::backup::run(storage, target.as_ref()))?
    }
}

impl Drop for Engine {
    fn drop(&mut self) {
        if let Some(reaper) = self.reaper.get_mut().take() {
            reaper.stop();
        }
    }
}

/// The optional background sweeper. It holds only a weak reference, so it
/// never keeps the database open by itself.
struct Reaper {
    stop: mpsc::Sender<()>,
    thread: JoinHandle<()>,
}

impl Reaper {
    /// `None` if the thread could not be spawned (the host can still sweep
    /// on demand).
    fn start(inner: Weak<Inner>, every: Duration) -> Option<Self> {
        let (stop, stopped) = mpsc::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("seatbook-reaper".into())
            .spawn(move || {
                while let Err(mpsc::RecvTimeoutError::Timeout) = stopped.recv_timeout(every) {
                    let Some(inner) = inner.upgrade() else { return };
                    // A failed sweep is retried on the next tick; the holds
                    // are already free in memory, only the record lags.
                    let _ = expiry::sweep(&inner);
                    retention::purge_if_configured(&inner);
                }
            })
            .ok();
        thread.map(|thread| Self { stop, thread })
    }

    fn stop(self) {
        let _ = self.stop.send(());
        let _ = self.thread.join();
    }
}
