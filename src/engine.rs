//! The engine: opening, the shared state, sweeping and auditing.
//!
//! Owns [`Engine`] and the state every handle shares (`Inner`): storage,
//! lock table, the in-memory app/seat directory, token signer, counters and
//! the optional reaper thread. It wires the pieces together and rebuilds
//! memory from storage on open; the booking rules themselves live in
//! `booking`, app and user authentication in `app`, admin work in `admin`.

use std::path::Path;
use std::sync::atomic::AtomicU64;
use std::sync::mpsc;
use std::sync::{Arc, Weak};
use std::thread::JoinHandle;
use std::time::Duration;

use dashmap::DashMap;
use parking_lot::{Mutex, RwLock};

use crate::auth::{PasswordHasher, TokenSigner};
use crate::clock::{Clock, UnixMillis};
use crate::config::Config;
use crate::error::{OpenError, StorageError};
use crate::locks::{HoldId, LockTable, SeatKey, SeatState};
use crate::model::{ReservationStatus, Stats};
use crate::payment::PaymentVerifier;
use crate::stats::{Counter, Counters};
use crate::storage::fs::Vfs;
use crate::storage::{
    AppRecord, DEFAULT_JOURNAL_LIMIT, LoadedSeat, OpenFailure, ReservationRecord, Storage,
};

pub(crate) type FastMap<K, V> = DashMap<K, V, foldhash::fast::RandomState>;

/// A seat as the directory knows it: its lock-table key and price.
#[derive(Debug, Clone, Copy)]
pub(crate) struct SeatEntry {
    pub(crate) key: SeatKey,
    pub(crate) price_minor: u64,
    pub(crate) currency: [u8; 3],
}

/// One app's in-memory state.
#[derive(Debug)]
pub(crate) struct AppState {
    pub(crate) record: RwLock<AppRecord>,
    /// Bumped on every change of key, origins or active flag, so an
    /// authenticated context notices with one atomic load.
    pub(crate) generation: AtomicU64,
    pub(crate) seats: FastMap<Box<str>, SeatEntry>,
}

impl AppState {
    pub(crate) fn new(record: AppRecord) -> Self {
        Self::with_capacity(record, 0)
    }

    /// With room for `seats` seats (reopen knows how many).
    pub(crate) fn with_capacity(record: AppRecord, seats: usize) -> Self {
        Self {
            record: RwLock::new(record),
            generation: AtomicU64::new(0),
            seats: FastMap::with_capacity_and_hasher(seats, foldhash::fast::RandomState::default()),
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

pub(crate) struct Inner {
    pub(crate) storage: Storage,
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
}

impl Inner {
    pub(crate) fn now(&self) -> UnixMillis {
        self.clock.now_ms()
    }

    pub(crate) fn app_state(&self, app_id: &str) -> Option<Arc<AppState>> {
        self.apps.get(app_id).map(|a| Arc::clone(a.value()))
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
                return Ok(total);
            }
        }
    }

    /// Marks the given `(indexed expiry, id)` reservations EXPIRED if they
    /// are still ACTIVE, past their expiry at `now` and not pinned by a
    /// committing confirm, then frees whatever they still hold. Drops the
    /// index rows of those it expired and of those that no longer match
    /// their reservation (confirmed, released, extended: see
    /// [`WriteTx::put_reservation`](crate::storage::WriteTx::put_reservation)).
    pub(crate) fn expire(
        &self,
        due: &[(u64, u64)],
        now: UnixMillis,
    ) -> Result<Swept, StorageError> {
        if due.is_empty() {
            return Ok(Swept::default());
        }
        let (expired, dropped) = self.storage.write(|tx| {
            let mut expired: Vec<(u64, ReservationRecord)> = Vec::new();
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
                if let Some(app) = self.app_state(&rec.app_id)
                    && self.locks.is_pinned(&app.keys(&rec.seat_ids), HoldId(id))
                {
                    continue;
                }
                rec.status = ReservationStatus::Expired;
                tx.put_reservation(id, &rec)?;
                dropped.push((indexed, id));
                expired.push((id, rec));
            }
            tx.drop_holds(&dropped)?;
            Ok::<_, StorageError>((expired, dropped.len()))
        })?;
        for (id, rec) in &expired {
            if let Some(app) = self.app_state(&rec.app_id) {
                self.locks.release(&app.keys(&rec.seat_ids), HoldId(*id));
            }
        }
        self.counters.add(Counter::Expiries, expired.len() as u64);
        Ok(Swept {
            expired: expired.len(),
            dropped,
        })
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
/// `&Engine`). The file stays open until the engine and every handle made
/// from it ([`AppContext`](crate::AppContext), [`Admin`](crate::Admin)) are
/// dropped; a second engine on the same file gets
/// [`OpenError::DatabaseAlreadyOpen`].
pub struct Engine {
    pub(crate) inner: Arc<Inner>,
    reaper: Option<Reaper>,
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
    /// Checks the configuration first (JWT secrets of at least 32 bytes and
    /// different from each other, a parseable argon2 admin hash, sane hold
    /// bounds), then rebuilds the in-memory state: every seat's key, every
    /// booked seat, and the holds of ACTIVE reservations that have not
    /// expired. Reservations that expired while the engine was closed
    /// become EXPIRED.
    ///
    /// # Errors
    /// [`OpenError::InvalidConfig`] / [`OpenError::WeakSecret`] for a bad
    /// configuration, [`OpenError::DatabaseAlreadyOpen`] if another engine
    /// has the file, [`OpenError::Storage`] for I/O or corruption.
    pub fn open(path: impl AsRef<Path>, config: Config) -> Result<Self, OpenError> {
        Self::open_on(path.as_ref(), config, None, DEFAULT_JOURNAL_LIMIT)
    }

    /// [`open`](Self::open) with every file operation of the database and
    /// its journal going through `fs`, and a journal that checkpoints past
    /// `journal_limit` bytes. For the fault-injection tests (power-loss
    /// crash images, injected I/O errors); not part of the supported API.
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
        Self::open_on(path.as_ref(), config, Some(fs), journal_limit)
    }

    #[allow(clippy::too_many_lines)] // one linear story: check, open storage, rebuild memory
    fn open_on(
        path: &Path,
        config: Config,
        fs: Option<&dyn Vfs>,
        journal_limit: u64,
    ) -> Result<Self, OpenError> {
        let signer = TokenSigner::new(
            config.admin_jwt_secret.expose().as_bytes(),
            config.user_jwt_secret.expose().as_bytes(),
        )?;
        validate_config(&config)?;
        let hasher = PasswordHasher::new(config.argon2)
            .map_err(|_| OpenError::InvalidConfig("argon2 parameters"))?;
        let storage = Storage::open_with_limit(
            path,
            config.durability,
            config.group_commit,
            journal_limit,
            fs,
        )
        .map_err(|e| match e {
            OpenFailure::AlreadyOpen => OpenError::DatabaseAlreadyOpen,
            OpenFailure::Other(s) => OpenError::Storage(s),
        })?;
        let loaded = storage.load()?;
        let locks = LockTable::new(loaded.max_reservation_id + 1);
        let apps: FastMap<Box<str>, Arc<AppState>> = FastMap::default();
        for rec in loaded.apps {
            let n = loaded
                .seats
                .iter()
                .find(|(app_id, _)| *app_id == rec.app_id)
                .map_or(0, |(_, seats)| seats.len());
            apps.insert(
                rec.app_id.clone().into_boxed_str(),
                Arc::new(AppState::with_capacity(rec, n)),
            );
        }
        for (app_id, mut seats) in loaded.seats {
            let Some(app) = apps.get(app_id.as_str()).map(|a| Arc::clone(a.value())) else {
                return Err(OpenError::Storage(StorageError(format!(
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
        let payments = Arc::clone(&config.payments);
        let inner = Arc::new(Inner {
            storage,
            locks,
            apps,
            signer,
            hasher,
            counters: Counters::default(),
            clock,
            payments,
            config,
            admin_lock: Mutex::new(()),
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
        inner.sweep()?;
        let reaper = inner
            .config
            .reaper_interval
            .and_then(|every| Reaper::start(Arc::downgrade(&inner), every));
        Ok(Self { inner, reaper })
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
}

impl Drop for Engine {
    fn drop(&mut self) {
        if let Some(reaper) = self.reaper.take() {
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
