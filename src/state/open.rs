//! Opening: the state rebuilt from storage.
//!
//! Owns [`Inner::open`] and the configuration check. It loads what
//! storage holds into memory (apps, seats, booked seats) and must never
//! apply a booking rule: restoring holds and expiring overdue
//! reservations are the rules' part of opening (`rules::expiry`).

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use parking_lot::Mutex;

use super::gates::Sale;
use super::ledger::Entities;
use super::stats::Counters;
use super::{AppState, ClosableStorage, FastMap, INSTANCES, Inner, SeatEntry};
use crate::auth::{PasswordHasher, TokenSigner};
use crate::config::Config;
use crate::error::{OpenError, StorageError};
use crate::locks::LockTable;
use crate::model::EntityStatus;
use crate::store::fs::Vfs;
use crate::store::{EntityRecord, LoadedSeat, OpenOptions, ReservationRecord, Storage};

impl Inner {
    /// Checks `config`, opens the storage at `path` and rebuilds the
    /// directory and the lock table's seats from it (booked seats
    /// included, holds not). Returns the state and the reservations the
    /// storage lists as active (their holds are for the rules to restore).
    ///
    /// # Errors
    /// As [`Engine::open`](crate::Engine::open).
    #[allow(clippy::too_many_lines)] // one linear story: check the config, open, load
    pub(crate) fn open(
        path: &Path,
        config: Config,
        fs: Option<&dyn Vfs>,
        journal_limit: Option<u64>,
    ) -> Result<(Self, Vec<(u64, ReservationRecord)>), OpenError> {
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
                cache_bytes: config.page_cache_bytes,
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
        for app in &apps {
            let records = loaded
                .entities
                .iter()
                .filter(|(a, _, _)| **a == **app.key());
            gate_entities(app.value(), records)?;
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
        let inner = Inner {
            storage: ClosableStorage::new(storage),
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
            purge_cursor: std::sync::atomic::AtomicU64::new(0),
            purge_lock: Mutex::new(()),
        };
        Ok((inner, loaded.active))
    }
}

/// Gives every entity of `app` its gate: those its seats name (already
/// interned, on sale without a window unless a record says otherwise) and
/// those with a record, whose sale the record sets.
fn gate_entities<'a>(
    app: &AppState,
    records: impl Iterator<Item = &'a (String, String, EntityRecord)>,
) -> Result<(), OpenError> {
    let too_many = || OpenError::Storage(StorageError::corrupt("more entities than an app holds"));
    for id in 0..app.entity_numbers() {
        app.ensure_gate(id).ok_or_else(too_many)?;
    }
    for (_, entity_id, rec) in records {
        let id = app.intern_entity(entity_id).ok_or_else(too_many)?;
        let gate = app.gate(id).ok_or_else(too_many)?;
        gate.change().set(Sale {
            closed: rec.status != EntityStatus::OnSale,
            opens_at: rec.sale_opens_at,
            closes_at: rec.sale_closes_at,
        });
    }
    Ok(())
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
    if config.page_cache_bytes < 1024 * 1024 {
        return Err(OpenError::InvalidConfig(
            "page_cache_bytes must be at least 1 MiB",
        ));
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
    if config.purge_after.is_some_and(|d| d < h.max_total) {
        return Err(OpenError::InvalidConfig(
            "purge_after must be at least holds.max_total",
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
