//! Engine state: what every handle of one opened engine shares.
//!
//! Owns `Inner` — the directory of apps and their seats ([`AppState`],
//! [`SeatEntry`]), the lock table, the storage handle
//! ([`ClosableStorage`]), the configuration, the token signer, the
//! password hasher, the counters, the closed flag and the user-generation
//! cache — and rebuilds it from storage on open (`open`). Rules reach it
//! only through the small API below (methods, not fields).
//!
//! It must never carry a booking rule: it does not decide whether a hold
//! may be taken, kept, extended or expired, what a reservation's status
//! means or what an audit checks. Those live in `crate::rules`, which uses
//! this module; this module never uses `crate::rules`.

mod closable;
pub(crate) mod gates;
pub(crate) mod ledger;
mod open;
pub(crate) mod stats;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use dashmap::DashMap;
use parking_lot::{Mutex, MutexGuard, RwLock};

use crate::auth::{PasswordHasher, TokenSigner};
use crate::clock::{Clock, UnixMillis};
use crate::config::Config;
use crate::locks::{LockTable, SeatKey};
use crate::model::UserId;
use crate::payment::PaymentVerifier;
use crate::store::AppRecord;

pub(crate) use closable::ClosableStorage;
use gates::{EntityGate, Gates, Sale};
use ledger::{Entities, Ledger};
use stats::Counters;

pub(crate) type FastMap<K, V> = DashMap<K, V, foldhash::fast::RandomState>;

/// A seat as the directory knows it: its lock-table key, price and entity.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct SeatEntry {
    pub(crate) key: SeatKey,
    pub(crate) price_minor: u64,
    pub(crate) currency: [u8; 3],
    /// Its entity's number in [`AppState::entities`].
    pub(crate) entity: u32,
}

/// One app's in-memory state: its record, its seats, its entity names and
/// its users' holds. Read and changed through the methods below.
#[derive(Debug)]
pub(crate) struct AppState {
    record: RwLock<AppRecord>,
    /// Bumped on every change of key, origins or active flag, so an
    /// authenticated context notices with one atomic load.
    generation: AtomicU64,
    seats: FastMap<Box<str>, SeatEntry>,
    /// The names of its entities (of its seats, and those with a record).
    entities: RwLock<Entities>,
    /// Each entity's sale, by entity number.
    gates: Gates,
    /// Live holds per user, for the hold quotas.
    holds: Ledger,
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
            gates: Gates::default(),
            holds: Ledger::default(),
        }
    }

    /// The app's stored record, as last written.
    pub(crate) fn record(&self) -> parking_lot::RwLockReadGuard<'_, AppRecord> {
        self.record.read()
    }

    /// Replaces the record (after it was stored) and moves the generation,
    /// so every context re-validates on its next call.
    pub(crate) fn replace_record(&self, record: AppRecord) {
        *self.record.write() = record;
        self.generation.fetch_add(1, Ordering::AcqRel);
    }

    /// The generation: moves on every change of key, origins or active
    /// flag, and on close.
    #[inline]
    pub(crate) fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// The directory entry of seat `seat_id`, if the app has it.
    #[inline]
    pub(crate) fn seat(&self, seat_id: &str) -> Option<SeatEntry> {
        self.seats.get(seat_id).map(|e| *e)
    }

    /// Adds a seat to the directory (its key is already in the lock table).
    pub(crate) fn add_seat(&self, seat_id: Box<str>, entry: SeatEntry) {
        self.seats.insert(seat_id, entry);
    }

    /// Drops a seat from the directory (after its removal committed).
    pub(crate) fn remove_seat(&self, seat_id: &str) {
        self.seats.remove(seat_id);
    }

    /// The number of entity `name`, new or known (under the admin lock, or
    /// while opening), with its gate; `None` past the gates' capacity.
    pub(crate) fn intern_entity(&self, name: &str) -> Option<u32> {
        let mut entities = self.entities.write();
        let known = entities.id(name);
        let id = known.unwrap_or_else(|| entities.next_id());
        self.gates.ensure(id)?;
        if known.is_none() {
            entities.intern(name);
        }
        Some(id)
    }

    /// The names of every interned entity, in number order.
    pub(crate) fn entity_names(&self) -> Vec<String> {
        self.entities.read().names().map(str::to_owned).collect()
    }

    /// The number a new entity would get (under the admin lock).
    pub(crate) fn next_entity_number(&self) -> u32 {
        self.entities.read().next_id()
    }

    /// One past the highest entity number in use or given back.
    pub(crate) fn entity_numbers(&self) -> u32 {
        self.entities.read().numbers()
    }

    /// Forgets entity number `id` once it is archived (under the admin
    /// lock, its gate reset): the number serves the next new entity.
    pub(crate) fn forget_entity(&self, id: u32) {
        self.entities.write().release(id);
    }

    /// Allocates the gate of entity number `id` (opening).
    pub(crate) fn ensure_gate(&self, id: u32) -> Option<EntityGate<'_>> {
        self.gates.ensure(id)
    }

    /// The sale of entity number `id` for the early check, `None` when
    /// there is nothing to check (see `gates`).
    #[inline]
    pub(crate) fn early_sale(&self, id: u32) -> Option<Sale> {
        self.gates.early(id)
    }

    /// The number of entity `name`, if the app has it.
    pub(crate) fn entity_id(&self, name: &str) -> Option<u32> {
        self.entities.read().id(name)
    }

    /// The gate of entity number `id` (every interned entity has one).
    #[inline]
    pub(crate) fn gate(&self, id: u32) -> Option<EntityGate<'_>> {
        self.gates.get(id)
    }

    /// The name of entity number `id`.
    pub(crate) fn entity_name(&self, id: u32) -> String {
        self.entities.read().name(id).to_owned()
    }

    /// The users' holds, for the hold quotas.
    #[inline]
    pub(crate) fn holds(&self) -> &Ledger {
        &self.holds
    }

    /// Lock-table keys of a reservation's seats (seats since removed are skipped).
    pub(crate) fn keys(&self, seat_ids: &[String]) -> Vec<SeatKey> {
        seat_ids
            .iter()
            .filter_map(|s| self.seats.get(s.as_str()).map(|e| e.key))
            .collect()
    }
}

/// Source of [`Inner::instance`] values: unique within the process.
static INSTANCES: AtomicU64 = AtomicU64::new(1);

/// The state one opened engine shares between its handles. Built by
/// [`Inner::open`]; read and changed by the rules through its methods.
pub(crate) struct Inner {
    storage: ClosableStorage,
    /// Set by [`Inner::mark_closed`]; every context checks it on its next call.
    closed: AtomicBool,
    /// Unique per opened engine in this process: a
    /// [`UserSession`](crate::UserSession) carries the instance that
    /// verified it; `user_generations` vouches only for sessions of this
    /// instance, others are checked against the stored user record.
    instance: u64,
    /// The token generation of every user whose password changed since
    /// open, or whose token was verified with a generation above 0 (only
    /// ever raised). Sessions older than this are revoked; users never
    /// seen here have generation 0.
    user_generations: FastMap<UserId, u32>,
    /// Whether `user_generations` has any entry, so the per-call session
    /// check is one atomic load for engines without password changes.
    any_generation: AtomicBool,
    locks: LockTable,
    apps: FastMap<Box<str>, Arc<AppState>>,
    signer: TokenSigner,
    hasher: PasswordHasher,
    counters: Counters,
    clock: Arc<dyn Clock>,
    payments: Arc<dyn PaymentVerifier>,
    config: Config,
    /// Serialises admin changes to apps and seats (rare), so that storage
    /// and the directory change in the same order.
    admin_lock: Mutex<()>,
    /// Reservations whose confirm is in flight in this engine (from its
    /// pin to its last write). Recovery of pending payments leaves these
    /// to their confirm.
    confirming: FastMap<u64, ()>,
    /// The first reservation id a purge has not examined since open:
    /// those below it were kept for good (confirmed, or tied to money) or
    /// removed, so the next purge starts here.
    purge_cursor: AtomicU64,
    /// Serialises purges (the admin's and the reaper's).
    purge_lock: Mutex<()>,
}

impl Inner {
    #[inline]
    pub(crate) fn now(&self) -> UnixMillis {
        self.clock.now_ms()
    }

    #[inline]
    pub(crate) fn storage(&self) -> &ClosableStorage {
        &self.storage
    }

    #[inline]
    pub(crate) fn locks(&self) -> &LockTable {
        &self.locks
    }

    #[inline]
    pub(crate) fn counters(&self) -> &Counters {
        &self.counters
    }

    #[inline]
    pub(crate) fn config(&self) -> &Config {
        &self.config
    }

    #[inline]
    pub(crate) fn signer(&self) -> &TokenSigner {
        &self.signer
    }

    #[inline]
    pub(crate) fn hasher(&self) -> &PasswordHasher {
        &self.hasher
    }

    #[inline]
    pub(crate) fn payments(&self) -> &dyn PaymentVerifier {
        &*self.payments
    }

    /// This engine's process-unique instance number.
    #[inline]
    pub(crate) fn instance(&self) -> u64 {
        self.instance
    }

    #[inline]
    pub(crate) fn app_state(&self, app_id: &str) -> Option<Arc<AppState>> {
        self.apps.get(app_id).map(|a| Arc::clone(a.value()))
    }

    /// Adds a new app to the directory (under [`admin_lock`](Self::admin_lock)).
    pub(crate) fn add_app(&self, app: AppState) {
        let app_id = app.record.read().app_id.clone().into_boxed_str();
        self.apps.insert(app_id, Arc::new(app));
    }

    /// How many apps the directory holds.
    pub(crate) fn app_count(&self) -> usize {
        self.apps.len()
    }

    /// Serialises admin changes to apps and seats.
    pub(crate) fn admin_lock(&self) -> MutexGuard<'_, ()> {
        self.admin_lock.lock()
    }

    #[inline]
    pub(crate) fn is_closed(&self) -> bool {
        self.closed.load(Ordering::Acquire)
    }

    /// Marks the engine closed and moves every app's generation (contexts
    /// re-check only when it moves). False if it was closed already.
    pub(crate) fn mark_closed(&self) -> bool {
        if self.closed.swap(true, Ordering::AcqRel) {
            return false;
        }
        for app in &self.apps {
            app.generation.fetch_add(1, Ordering::AcqRel);
        }
        // (The only write of `generation` outside `replace_record`.)
        true
    }

    /// Waits for storage accesses in progress, then releases the storage.
    pub(crate) fn release_storage(&self) {
        self.storage.close();
    }

    /// Notes that a confirm of reservation `id` is in flight.
    pub(crate) fn confirm_started(&self, id: u64) {
        self.confirming.insert(id, ());
    }

    /// Notes that the confirm of reservation `id` ended.
    pub(crate) fn confirm_ended(&self, id: u64) {
        self.confirming.remove(&id);
    }

    /// Where the next purge starts, and the lock purges run under.
    pub(crate) fn purge_cursor(&self) -> (&AtomicU64, MutexGuard<'_, ()>) {
        (&self.purge_cursor, self.purge_lock.lock())
    }

    /// Whether a confirm of reservation `id` is in flight.
    pub(crate) fn is_confirming(&self, id: u64) -> bool {
        self.confirming.contains_key(&id)
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
}

impl std::fmt::Debug for Inner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Inner")
            .field("storage", &self.storage)
            .field("locks", &self.locks)
            .field("apps", &self.apps.len())
            .finish_non_exhaustive()
    }
}
