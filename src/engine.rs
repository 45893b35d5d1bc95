//! The engine: opening, the shared state, sweeping and auditing.
//!
//! Owns [`Engine`] and the state every handle shares (`Inner`): storage,
//! lock table, the in-memory app/seat directory, token signer, counters and
//! the optional reaper thread. It wires the pieces together and rebuilds
//! memory from storage on open; the booking rules themselves live in
//! `booking`, app and user authentication in `app`, admin work in `admin`.

use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Weak};
use std::thread::JoinHandle;
use std::time::Duration;

use dashmap::DashMap;
use parking_lot::{Mutex, RwLock};

use crate::auth::{PasswordHasher, TokenSigner};
use crate::clock::{Clock, UnixMillis};
use crate::config::Config;
use crate::error::{BackupError, OpenError, StorageError};
use crate::locks::{HoldId, LockTable, SeatKey, SeatState};
use crate::model::{BookingStatus, ReservationStatus, Stats, UserId};
use crate::payment::PaymentVerifier;
use crate::quota::{Entities, Ledger};
use crate::stats::{Counter, Counters};
use crate::store::fs::Vfs;
use crate::store::{
    AppRecord, BookingRecord, LoadedSeat, OpenOptions, PaymentState, ReadTx, ReservationRecord,
    Storage, WriteTx,
};

pub(crate) type FastMap<K, V> = DashMap<K, V, foldhash::fast::RandomState>;

/// A seat as the directory knows it: its lock-table key, price and entity.
#[derive(Debug, Clone, Copy)]
pub(crate) struct SeatEntry {
    pub(crate) key: SeatKey,
    pub(crate) price_minor: u64,
    pub(crate) currency: [u8; 3],
    /// Its entity's number in [`AppState::entities`].
    pub(crate) entity: u32,
}

/// One app's in-memory state.
#[derive(Debug)]
pub(crate) struct AppState {
    pub(crate) record: RwLock<AppRecord>,
    /// Bumped on every change of key, origins or active flag, so an
    /// authenticated context notices with one atomic load.
    pub(crate) generation: AtomicU64,
    pub(crate) seats: FastMap<Box<str>, SeatEntry>,
    /// The names of the entities its seats belong to.
    pub(crate) entities: RwLock<Entities>,
    /// Live holds per user, for the hold quotas.
    pub(crate) holds: Ledger,
}

impl AppState {
    pub(crate) fn new(record: AppRecord) -> Self {
        Self::with_capacity(record, 0, Entities::default())
    }

    /// With room for `seats` seats (reopen knows how many) and the
    /// entity names loaded with them.
    pub(crate) fn with_capacity(record: AppRecord, seats: usize, entities: Entities) -> Self {
        Self {
            record: RwLock::new(record),
            generation: AtomicU64::new(0),
            seats: FastMap::with_capacity_and_hasher(seats, foldhash::fast::RandomState::default()),
            entities: RwLock::new(entities),
            holds: Ledger::default(),
        }
    }

    /// Lock-table keys of a reservation's seats (seats since removed are skipped).
    pub(crate) fn keys(&self, seat_ids: &[String]) -> Vec<SeatKey> {
        seat_ids
            .iter()
            .filter_map(|s| self.seats.get(s.as_str()).map(|e| e.key))
            .collect()
    }
}

/// The storage of an engine that [`Engine::close`] can release while
/// contexts still hold the rest of the engine's state.
///
/// Every access takes a read lock for as long as it uses the storage (a
/// read transaction is begun under it and then lives on its own; a write
/// holds it until committed); close takes the write lock, so it waits for
/// accesses in progress, then drops the storage, which checkpoints and
/// releases the journal and the database file. Accesses after that fail
/// with [`StorageError::closed`] (code `EngineClosed`).
pub(crate) struct ClosableStorage(RwLock<Option<Storage>>);

impl ClosableStorage {
    fn closed() -> StorageError {
        StorageError::closed()
    }

    pub(crate) fn read(&self) -> Result<ReadTx, StorageError> {
        // Recursive: an access never waits behind a pending close while
        // another access of the same thread holds the lock.
        self.0
            .read_recursive()
            .as_ref()
            .ok_or_else(Self::closed)?
            .read()
    }

    pub(crate) fn write<T, E>(
        &self,
        f: impl FnOnce(&mut WriteTx<'_>) -> Result<T, E> + Send,
    ) -> Result<T, E>
    where
        T: Send,
        E: From<StorageError> + Send,
    {
        let guard = self.0.read_recursive();
        let storage = guard.as_ref().ok_or_else(|| E::from(Self::closed()))?;
        storage.write(f)
    }

    /// Runs `f` on the open storage; a close waits until it returns.
    pub(crate) fn with<T>(&self, f: impl FnOnce(&Storage) -> T) -> Result<T, StorageError> {
        let guard = self.0.read_recursive();
        Ok(f(guard.as_ref().ok_or_else(Self::closed)?))
    }

    /// Waits for accesses in progress, then drops the storage.
    fn close(&self) {
        let storage = self.0.write().take();
        drop(storage);
    }
}

impl std::fmt::Debug for ClosableStorage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &*self.0.read_recursive() {
            Some(s) => s.fmt(f),
            None => f.write_str("Storage(closed)"),
        }
    }
}

/// Source of [`Inner::instance`] values: unique within the process.
static INSTANCES: AtomicU64 = AtomicU64::new(1);

pub(crate) struct Inner {
    pub(crate) storage: ClosableStorage,
    /// Set by [`Engine::close`]; every context checks it on its next call.
    pub(crate) closed: AtomicBool,
    /// Unique per opened engine in this process: a
    /// [`UserSession`](crate::UserSession) carries the instance that
    /// verified it; `user_generations` vouches only for sessions of this
    /// instance, others are checked against the stored user record.
    pub(crate) instance: u64,
    /// The token generation of every user whose password changed since
    /// open, or whose token was verified with a generation above 0 (only
    /// ever raised). Sessions older than this are revoked; users never
    /// seen here have generation 0.
    pub(crate) user_generations: FastMap<UserId, u32>,
    /// Whether `user_generations` has any entry, so the per-call session
    /// check is one atomic load for engines without password changes.
    pub(crate) any_generation: AtomicBool,
    pub(crate) locks: LockTable,
    pub(crate) apps: FastMap<Box<str>, Arc<AppState>>,
    pub(crate) signer: TokenSigner,
    pub(crate) hasher: PasswordHasher,
    pub(crate) counters: Counters,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) payments: Arc<dyn PaymentVerifier>,
    pub(crate) config: Config,
    /// Serialises admin changes to apps and seats (rare), so that storage
    /// and the directory change in the same order.
    pub(crate) admin_lock: Mutex<()>,
    /// Reservations whose confirm is in flight in this engine (from its
    /// pin to its last write). Recovery of pending payments
    /// ([`Inner::resolve_pending_payments`]) leaves these to their confirm.
    pub(crate) confirming: FastMap<u64, ()>,
}

impl Inner {
    pub(crate) fn now(&self) -> UnixMillis {
        self.clock.now_ms()
    }

    pub(crate) fn app_state(&self, app_id: &str) -> Option<Arc<AppState>> {
        self.apps.get(app_id).map(|a| Arc::clone(a.value()))
    }

    pub(crate) fn is_closed(&self) -> bool {
        self.closed.load(Ordering::Acquire)
    }

    /// The user's current token generation as far as this engine knows
    /// (see `user_generations`).
    pub(crate) fn user_generation(&self, user: UserId) -> u32 {
        if !self.any_generation.load(Ordering::Acquire) {
            return 0;
        }
        self.user_generations.get(&user).map_or(0, |g| *g)
    }

    /// Raises the user's known generation to at least `generation`.
    pub(crate) fn raise_user_generation(&self, user: UserId, generation: u32) {
        if generation == 0 {
            return;
        }
        let mut entry = self.user_generations.entry(user).or_insert(0);
        if *entry < generation {
            *entry = generation;
        }
        drop(entry);
        self.any_generation.store(true, Ordering::Release);
    }

    /// Marks ACTIVE reservations whose expiry has passed as EXPIRED and frees
    /// their holds, skipping any whose confirm is committing, and drops the
    /// due rows of the active-holds index. Returns how many it expired.
    pub(crate) fn sweep(&self) -> Result<usize, StorageError> {
        const BATCH: usize = 1024;
        let mut total = 0;
        loop {
            let now = self.now();
            let due = self.storage.read()?.expired_holds(now, BATCH)?;
            let swept = self.expire(&due, now)?;
            total += swept.expired;
            // A full batch whose rows were all kept (pinned) would loop
            // forever; stop when nothing moved.
            if due.len() < BATCH || swept.dropped == 0 {
                self.resolve_pending_payments()?;
                return Ok(total);
            }
        }
    }

    /// Turns every payment binding that is still pending although its
    /// reservation ended (expired, released) and no confirm of it is in
    /// flight into a REFUND_DUE booking record. Returns how many.
    ///
    /// Such a binding means the verifier was asked and its answer was never
    /// recorded: the engine crashed or its storage failed after the
    /// binding's commit, or the verifier panicked. The answer may have been
    /// an approval, so the payment is listed as refund due (SPEC section 4,
    /// invariant 9): the operator checks it with the payment provider and
    /// refunds what was captured. A binding whose reservation is still
    /// ACTIVE is left alone: the buyer may still retry the confirm, which
    /// asks the verifier again.
    pub(crate) fn resolve_pending_payments(&self) -> Result<usize, StorageError> {
        let pending = self.storage.read()?.pending_payments()?;
        if pending.is_empty() {
            return Ok(0);
        }
        let now = self.now();
        self.storage.write(|tx| {
            let mut resolved = 0;
            for (app, payment_id) in &pending {
                let Some(mut binding) = tx.payment(app, payment_id)? else {
                    continue;
                };
                if binding.state != PaymentState::Pending
                    || self.confirming.contains_key(&binding.reservation_id)
                {
                    continue;
                }
                let Some(res) = tx.reservation(binding.reservation_id)? else {
                    continue;
                };
                if res.status == ReservationStatus::Active {
                    continue;
                }
                binding.state = PaymentState::RefundDue;
                tx.put_payment(app, payment_id, &binding)?;
                let record = BookingRecord {
                    app_id: res.app_id,
                    user_id: res.user_id,
                    seat_ids: res.seat_ids,
                    reservation_id: binding.reservation_id,
                    payment_id: payment_id.clone(),
                    amount_minor: res.total_minor,
                    currency: res.currency,
                    status: BookingStatus::RefundDue,
                    created_at: now,
                    cancelled_at: None,
                };
                tx.put_booking(&binding.booking_id, &record, true)?;
                resolved += 1;
            }
            Ok(resolved)
        })
    }

    /// Marks the given `(indexed expiry, id)` reservations EXPIRED if they
    /// are still ACTIVE, past their expiry at `now` and not pinned by a
    /// confirm in flight (a pin past its deadline no longer counts), and
    /// frees whatever they still hold. Drops the
    /// index rows of those it expired and of those that no longer match
    /// their reservation (confirmed, released, extended: see
    /// [`WriteTx::put_reservation`](crate::store::WriteTx::put_reservation)).
    pub(crate) fn expire(
        &self,
        due: &[(u64, u64)],
        now: UnixMillis,
    ) -> Result<Swept, StorageError> {
        if due.is_empty() {
            return Ok(Swept::default());
        }
        let (expired, dropped) = self.storage.write(|tx| {
            let mut expired: Vec<u64> = Vec::new();
            let mut dropped = Vec::new();
            for &(indexed, id) in due {
                let Some(mut rec) = tx.reservation(id)? else {
                    dropped.push((indexed, id));
                    continue;
                };
                if rec.status != ReservationStatus::Active || rec.expires_at != indexed {
                    dropped.push((indexed, id));
                    continue;
                }
                if rec.expires_at > now {
                    continue;
                }
                // Freed together with the pin check, so a confirm can not
                // pin in between: it finds its hold lost instead. Should
                // this transaction fail, the seats are free all the same,
                // as they were anyway (the hold is past its expiry).
                if let Some(app) = self.app_state(&rec.app_id) {
                    if self
                        .locks
                        .release_unpinned(&app.keys(&rec.seat_ids), HoldId(id), now)
                        .is_err()
                    {
                        continue;
                    }
                    app.holds.forget(rec.user_id, HoldId(id));
                }
                rec.status = ReservationStatus::Expired;
                tx.put_reservation(id, &rec)?;
                dropped.push((indexed, id));
                expired.push(id);
            }
            tx.drop_holds(&dropped)?;
            Ok::<_, StorageError>((expired, dropped.len()))
        })?;
        self.counters.add(Counter::Expiries, expired.len() as u64);
        Ok(Swept {
            expired: expired.len(),
            dropped,
        })
    }
}

impl Inner {
    /// Records the holds just restored on open in their users' quota
    /// ledgers (by the seats each one got back), so a reopen gives nobody
    /// a fresh allowance.
    fn restore_quotas(&self, active: &[(u64, ReservationRecord)], now: UnixMillis) {
        for (id, rec) in active {
            let Some(app) = self.app_state(&rec.app_id) else {
                continue;
            };
            let hold = HoldId(*id);
            let (keys, entities): (Vec<SeatKey>, Vec<u32>) = rec
                .seat_ids
                .iter()
                .filter_map(|s| app.seats.get(s.as_str()).map(|e| (e.key, e.entity)))
                .filter(|&(key, _)| {
                    matches!(self.locks.state(key, now),
                        SeatState::Held { holder, .. } if holder == hold)
                })
                .unzip();
            app.holds.restore(rec.user_id, hold, &keys, &entities);
        }
    }
}

/// What one [`Inner::expire`] call did.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct Swept {
    /// Reservations marked EXPIRED.
    pub(crate) expired: usize,
    /// Active-holds index rows removed (expired or stale).
    pub(crate) dropped: usize,
}

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
            .field("storage", &self.inner.storage)
            .field("locks", &self.inner.locks)
            .field("apps", &self.inner.apps.len())
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

    #[allow(clippy::too_many_lines)] // one linear story: check the config, open, load, sweep
    fn open_on(
        path: &Path,
        config: Config,
        fs: Option<&dyn Vfs>,
        journal_limit: Option<u64>,
    ) -> Result<Self, OpenError> {
        let signer = TokenSigner::new(
            config.admin_jwt_secret.expose().as_bytes(),
            config.user_jwt_secret.expose().as_bytes(),
        )?;
        validate_config(&config)?;
        let payments = config
            .payments
            .clone()
            .ok_or(OpenError::NoPaymentVerifier)?;
        let hasher = PasswordHasher::new(config.argon2, config.password_work)
            .map_err(|_| OpenError::InvalidConfig("argon2 parameters"))?;
        let defaults = OpenOptions::new(config.durability, config.group_commit);
        let storage = Storage::open(
            path,
            OpenOptions {
                discard_unmatched_journal: config.discard_unmatched_journal,
                fs,
                journal_limit: journal_limit.unwrap_or(defaults.journal_limit),
                ..defaults
            },
        )?;
        let mut loaded = storage.load()?;
        let locks = LockTable::new(loaded.max_reservation_id + 1);
        let apps: FastMap<Box<str>, Arc<AppState>> = FastMap::default();
        for rec in loaded.apps {
            let group = loaded.seats.iter_mut().find(|g| g.0 == rec.app_id);
            let (n, names) =
                group.map_or((0, Vec::new()), |g| (g.1.len(), std::mem::take(&mut g.2)));
            apps.insert(
                rec.app_id.clone().into_boxed_str(),
                Arc::new(AppState::with_capacity(rec, n, Entities::from_names(names))),
            );
        }
        for (app_id, mut seats, _) in loaded.seats {
            let Some(app) = apps.get(app_id.as_str()).map(|a| Arc::clone(a.value())) else {
                return Err(OpenError::Storage(StorageError::corrupt(format!(
                    "seat of unknown app {app_id}"
                ))));
            };
            let insert = |part: Vec<LoadedSeat>| -> Result<(), OpenError> {
                for seat in part {
                    let key = locks.add_seat(seat.booked).ok_or(OpenError::InvalidConfig(
                        "more seats than the lock table holds",
                    ))?;
                    app.seats.insert(
                        seat.seat_id,
                        SeatEntry {
                            key,
                            price_minor: seat.price_minor,
                            currency: seat.currency,
                            entity: seat.entity,
                        },
                    );
                }
                Ok(())
            };
            // Large directories fill from two threads (both structures are
            // concurrent; seat keys need no particular order).
            if seats.len() < 65_536 {
                insert(seats)?;
            } else {
                let second = seats.split_off(seats.len() / 2);
                std::thread::scope(|s| {
                    let helper = s.spawn(|| insert(second));
                    let first = insert(seats);
                    let second = helper.join().unwrap_or(Err(OpenError::InvalidConfig(
                        "seat directory build panicked",
                    )));
                    first.and(second)
                })?;
            }
        }
        let clock = Arc::clone(&config.clock);
        let inner = Arc::new(Inner {
            storage: ClosableStorage(RwLock::new(Some(storage))),
            closed: AtomicBool::new(false),
            instance: INSTANCES.fetch_add(1, Ordering::Relaxed),
            user_generations: FastMap::default(),
            any_generation: AtomicBool::new(false),
            locks,
            apps,
            signer,
            hasher,
            counters: Counters::default(),
            clock,
            payments,
            config,
            admin_lock: Mutex::new(()),
            confirming: FastMap::default(),
        });
        let now = inner.now();
        let mut active = loaded.active;
        active.sort_by_key(|(id, _)| *id);
        for (id, rec) in &active {
            if rec.status == ReservationStatus::Active
                && rec.expires_at > now
                && let Some(app) = inner.app_state(&rec.app_id)
            {
                for key in app.keys(&rec.seat_ids) {
                    if inner.locks.state(key, now) != SeatState::Booked {
                        inner.locks.restore(key, HoldId(*id), rec.expires_at);
                    }
                }
            }
        }
        inner.restore_quotas(&active, now);
        inner.sweep()?;
        Ok(Self::started(inner))
    }

    /// The engine around `inner`, with its reaper if one is configured.
    fn started(inner: Arc<Inner>) -> Self {
        let reaper = inner
            .config
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
        self.inner.sweep()
    }

    /// Counters since this engine was opened.
    #[must_use]
    pub fn stats(&self) -> Stats {
        self.inner.counters.snapshot()
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
        if self.inner.closed.swap(true, Ordering::AcqRel) {
            return;
        }
        // Contexts re-check only when their app's generation moves.
        for app in &self.inner.apps {
            app.generation.fetch_add(1, Ordering::AcqRel);
        }
        if let Some(reaper) = self.reaper.lock().take() {
            reaper.stop();
        }
        self.inner.storage.close();
    }

    /// Whether [`close`](Self::close) was called.
    #[must_use]
    pub fn is_closed(&self) -> bool {
        self.inner.is_closed()
    }

    /// Reads the whole database back and checks the booking invariants
    /// (SPEC section 4: 1, 2, 4 and the lock table's agreement with
    /// storage). Costs a full scan: for tests, demos and operators, not the
    /// hot path.
    ///
    /// # Errors
    /// [`StorageError`] if the database cannot be read.
    pub fn audit(&self) -> Result<crate::audit::AuditReport, StorageError> {
        crate::audit::run(&self.inner)
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
            .storage
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

fn validate_config(config: &Config) -> Result<(), OpenError> {
    let h = &config.holds;
    if !PasswordHasher::is_valid_phc(config.admin_password_hash.expose()) {
        return Err(OpenError::InvalidConfig(
            "admin_password_hash is not an argon2 PHC string",
        ));
    }
    if !PasswordHasher::is_bounded_admin_phc(config.admin_password_hash.expose()) {
        return Err(OpenError::InvalidConfig(
            "admin_password_hash costs more than m=262144 (256 MiB), t=64, p=16",
        ));
    }
    if !config.password_work.is_valid() {
        return Err(OpenError::InvalidConfig(
            "password_work: max_concurrent must be 1..=1024 and max_wait at most 60 s",
        ));
    }
    if crate::validate::email(&config.admin_email).is_err() {
        return Err(OpenError::InvalidConfig("admin_email is not a valid email"));
    }
    if h.min_ttl < Duration::from_millis(10)
        || h.min_ttl > h.default_ttl
        || h.default_ttl > h.max_ttl
        || h.max_ttl > h.max_total
    {
        return Err(OpenError::InvalidConfig(
            "hold TTLs must satisfy 10ms <= min <= default <= max <= max_total",
        ));
    }
    if h.max_total > Duration::from_secs(7 * 24 * 3600) {
        return Err(OpenError::InvalidConfig(
            "holds.max_total is at most 7 days",
        ));
    }
    if h.confirm_deadline < Duration::from_millis(1)
        || h.confirm_deadline > Duration::from_secs(3600)
    {
        return Err(OpenError::InvalidConfig(
            "holds.confirm_deadline must be 1ms..=1h",
        ));
    }
    if h.max_active_per_user == 0 || h.max_held_seats_per_entity == 0 {
        return Err(OpenError::InvalidConfig(
            "holds.max_active_per_user and holds.max_held_seats_per_entity must be at least 1 (usize::MAX for no limit)",
        ));
    }
    if h.max_seats == 0 || h.max_seats > crate::locks::MAX_SEATS_PER_HOLD {
        return Err(OpenError::InvalidConfig("holds.max_seats must be 1..=64"));
    }
    if config.max_seats_per_bulk == 0 || config.max_seats_per_bulk > 100_000 {
        return Err(OpenError::InvalidConfig(
            "max_seats_per_bulk must be 1..=100000",
        ));
    }
    if config.admin_token_ttl < Duration::from_secs(1)
        || config.user_token_ttl < Duration::from_secs(1)
    {
        return Err(OpenError::InvalidConfig(
            "token lifetimes must be at least 1 s",
        ));
    }
    if config
        .reaper_interval
        .is_some_and(|d| d < Duration::from_millis(1))
    {
        return Err(OpenError::InvalidConfig(
            "reaper_interval must be at least 1 ms",
        ));
    }
    Ok(())
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
                    let _ = inner.sweep();
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
