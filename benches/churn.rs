//! Entity churn (issue 17): an engine that creates, sells out, closes and
//! archives entity after entity keeps its seat keys, its heap and its
//! resident memory flat, and reopens in a time set by its live entities,
//! not by its history.
//!
//! - The run: `CHURN_ENTITIES` entities (default 1 000) of 1 000 seats
//!   each, `LIVE` (10) on sale at a time; each is sold out (50 seats per
//!   reservation, then confirmed), closed and archived once `LIVE` newer
//!   ones exist. Every 100 entities it records the live and allocated seat
//!   keys, the heap bytes held (a counting allocator), the resident set
//!   (`/proc/self/statm`) and the database file's size, to
//!   `target/seatbook-bench/churn.txt`. `Durability::None`: the figures
//!   are about memory and keys, not fsync. It runs twice: first with a
//!   32 MiB page cache (`Config::page_cache_bytes`), so that the heap
//!   shows the engine's own memory plus a bounded cache, then with the
//!   default 1 GiB cache, which holds the file's pages as it grows (its
//!   resident set includes what the first run's allocator kept).
//!   Three minutes pass between entities and the sweep runs, as in a
//!   running engine.
//! - `churn/reopen/{history,fresh}`: `Engine::open` (and close) of the
//!   churned database (1 000 entities, 10 live) and of one built with the
//!   10 live entities only, no history; their ratio is the cost of
//!   history at open.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use seatbook::{
    Admin, AppContext, Durability, Engine, HoldsOnClose, ManualClock, NewSeat, UserSession,
};
use seatbook_testkit::bench::{self, APP_ID, CountingAllocator, ENTITY_SEATS, record};
use seatbook_testkit::fixtures::{EVENT_ORIGIN, admin, create_app, seat};

#[global_allocator]
static ALLOCATOR: CountingAllocator = CountingAllocator;

/// Entities on sale at any time.
const LIVE: usize = 10;
/// Seats per reservation while selling out.
const PER_HOLD: usize = 50;

fn entities() -> usize {
    std::env::var("CHURN_ENTITIES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000)
}

/// The bounded page cache of the first run.
const SMALL_CACHE: usize = 32 * 1024 * 1024;

fn open(path: &Path, clock: &ManualClock, cache: Option<usize>) -> Engine {
    let mut config = bench::config(Durability::None, true, Arc::new(clock.clone()));
    if let Some(bytes) = cache {
        config.page_cache_bytes = bytes;
    }
    Engine::open(path, config).expect("open")
}

/// Resident set size in bytes.
fn rss() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages: u64 = statm
        .split_whitespace()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .unwrap_or(0);
    pages * 4096
}

fn mib(bytes: u64) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}

fn entity(e: usize) -> String {
    format!("SHOW-{e:06}")
}

/// Creates entity `e`'s seats and sells every one of them.
fn create_and_sell_out(admin: &Admin, app: &AppContext, buyer: &UserSession, e: usize) {
    let id = entity(e);
    let seats: Vec<NewSeat> = (0..ENTITY_SEATS)
        .map(|i| seat(&format!("{id}-S{i:04}"), 5_000))
        .collect();
    admin.create_seats(APP_ID, &id, &seats).expect("seats");
    for chunk in seats.chunks(PER_HOLD) {
        let ids: Vec<&str> = chunk.iter().map(|s| s.seat_id.as_str()).collect();
        let r = app.reserve(buyer, &ids, None).expect("reserve");
        app.confirm(
            buyer,
            r.token.expose(),
            &format!("pay-{}", r.info.reservation_id),
            r.info.total_minor,
        )
        .expect("confirm");
    }
}

/// Closes and archives entity `e`.
fn retire(admin: &Admin, e: usize) {
    let id = entity(e);
    admin
        .close_entity(APP_ID, &id, HoldsOnClose::Release)
        .expect("close");
    admin.archive_entity(APP_ID, &id).expect("archive");
}

/// Builds a database of `total` entities with `LIVE` live at the end,
/// archiving as it goes when `archive`; records the figures every 100
/// entities under `label`.
fn build(path: &Path, total: usize, label: &str, cache: Option<usize>) {
    let clock = ManualClock::default();
    let engine = open(path, &clock, cache);
    let created = create_app(&admin(&engine), APP_ID, EVENT_ORIGIN);
    let app = engine
        .app(APP_ID, created.api_key.expose(), EVENT_ORIGIN)
        .expect("app");
    let buyer = bench::buyers(&app, 1).remove(0);
    let started = Instant::now();
    for e in 0..total {
        // A fresh admin token: the clock runs past their lifetime.
        let admin = admin(&engine);
        create_and_sell_out(&admin, &app, &buyer, e);
        if e >= LIVE {
            retire(&admin, e - LIVE);
        }
        // Time passes between shows: the sweep drops the active-hold index
        // rows of confirmed reservations once their expiry is due, as it
        // does in a running engine (reaper, or `sweep_expired`).
        clock.advance(Duration::from_secs(180));
        engine.sweep_expired().expect("sweep");
        if (e + 1) % 100 == 0 || e + 1 == total {
            let keys = engine.seat_keys();
            let file = std::fs::metadata(path).map_or(0, |m| m.len());
            record(
                "churn.txt",
                &format!(
                    "{label}: entities {:>5} | seats ever {:>9} | seat keys live {:>6} allocated {:>6} | heap {:>7.1} MiB | rss {:>7.1} MiB | file {:>7.1} MiB | {:.0} s",
                    e + 1,
                    (e + 1) * ENTITY_SEATS,
                    keys.live,
                    keys.allocated,
                    mib(CountingAllocator::live().max(0) as u64),
                    mib(rss()),
                    mib(file),
                    started.elapsed().as_secs_f64(),
                ),
            );
        }
    }
    let report = engine.audit().expect("audit");
    assert!(report.is_clean(), "{:?}", report.violations);
    engine.close();
}

struct Databases {
    _dir: tempfile::TempDir,
    history: PathBuf,
    fresh: PathBuf,
}

fn databases() -> Databases {
    let dir = tempfile::tempdir().expect("temp dir");
    let history = dir.path().join("history.redb");
    let fresh = dir.path().join("fresh.redb");
    let total = entities().max(LIVE + 1);
    record(
        "churn.txt",
        &format!("# churn {total} entities x {ENTITY_SEATS} seats, {LIVE} live"),
    );
    let bounded = dir.path().join("bounded.redb");
    build(&bounded, total, "cache 32 MiB", Some(SMALL_CACHE));
    build(&history, total, "cache 1 GiB", None);
    build(&fresh, LIVE, "fresh", None);
    Databases {
        _dir: dir,
        history,
        fresh,
    }
}

fn reopen(c: &mut Criterion) {
    let dbs = databases();
    let clock = ManualClock::default();
    let mut group = c.benchmark_group("churn/reopen");
    group
        .sample_size(10)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(5));
    for (name, path) in [("history", &dbs.history), ("fresh", &dbs.fresh)] {
        group.bench_function(name, |b| {
            b.iter(|| {
                let engine = open(path, &clock, None);
                assert_eq!(engine.seat_keys().live, (LIVE * ENTITY_SEATS) as u64);
                engine.close();
            });
        });
    }
    group.finish();
}

criterion_group!(benches, reopen);
criterion_main!(benches);
