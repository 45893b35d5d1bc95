//! The benches' fixtures and measuring helpers (`benches/`): engines on
//! temporary files, seats in bulk, buyers, a hot seat, a multi-threaded
//! timing loop, percentiles and the figures file.
//!
//! Every engine here uses the kit's base config
//! ([`base_config`](crate::fixtures::base_config), cheap argon2): the
//! benches measure seat booking, not password hashing.

use std::io::Write as _;
use std::path::PathBuf;
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use seatbook::{AppContext, Clock, Config, Durability, Engine, NewSeat, UserSession};

use crate::fixtures::{
    EVENT_ORIGIN as ORIGIN, USER_PASSWORD, admin, base_config, create_app, seat,
};

pub const APP_ID: &str = "bench-app";

/// A global allocator that forwards to the system's and counts the heap
/// bytes held; a bench that measures memory installs it with
/// `#[global_allocator] static A: CountingAllocator = CountingAllocator;`
/// and reads [`CountingAllocator::live`].
pub struct CountingAllocator;

static LIVE_HEAP: std::sync::atomic::AtomicIsize = std::sync::atomic::AtomicIsize::new(0);

impl CountingAllocator {
    /// Heap bytes currently allocated through this allocator.
    pub fn live() -> isize {
        LIVE_HEAP.load(std::sync::atomic::Ordering::Relaxed)
    }
}

// SAFETY: forwards every call to the system allocator unchanged and only
// counts the sizes.
unsafe impl std::alloc::GlobalAlloc for CountingAllocator {
    unsafe fn alloc(&self, layout: std::alloc::Layout) -> *mut u8 {
        LIVE_HEAP.fetch_add(layout.size() as isize, std::sync::atomic::Ordering::Relaxed);
        // SAFETY: same contract as the caller's.
        unsafe { std::alloc::System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: std::alloc::Layout) {
        LIVE_HEAP.fetch_sub(layout.size() as isize, std::sync::atomic::Ordering::Relaxed);
        // SAFETY: same contract as the caller's.
        unsafe { std::alloc::System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: std::alloc::Layout, new_size: usize) -> *mut u8 {
        LIVE_HEAP.fetch_add(
            new_size as isize - layout.size() as isize,
            std::sync::atomic::Ordering::Relaxed,
        );
        // SAFETY: same contract as the caller's.
        unsafe { std::alloc::System.realloc(ptr, layout, new_size) }
    }
}

/// Seats per entity in every fixture (the list-entity benchmark lists one).
pub const ENTITY_SEATS: usize = 1_000;

pub fn config(durability: Durability, group_commit: bool, clock: Arc<dyn Clock>) -> Config {
    let mut config = base_config(clock, durability);
    config.group_commit = group_commit;
    config.max_seats_per_bulk = 100_000;
    config.holds.max_seats = 64;
    // One bench buyer holds thousands of seats: no hold quotas (the
    // quota ledger still records every hold).
    config.holds.max_active_per_user = usize::MAX;
    config.holds.max_held_seats_per_entity = usize::MAX;
    config
}

pub fn seat_id(i: usize) -> String {
    format!("E{:05}-S{i:07}", i / ENTITY_SEATS)
}

pub fn entity_id(e: usize) -> String {
    format!("E{e:05}")
}

/// Creates the bench app (if missing) and `n` seats, `ENTITY_SEATS` per
/// entity, ids from [`seat_id`]. Returns the app's API key.
pub fn populate(engine: &Engine, n: usize) -> String {
    let admin = admin(engine);
    let created = create_app(&admin, APP_ID, ORIGIN);
    let mut start = 0;
    while start < n {
        let end = (start + ENTITY_SEATS).min(n);
        let seats: Vec<NewSeat> = (start..end).map(|i| seat(&seat_id(i), 5_000)).collect();
        admin
            .create_seats(APP_ID, &entity_id(start / ENTITY_SEATS), &seats)
            .expect("create seats");
        start = end;
    }
    created.api_key.expose().to_owned()
}

pub fn app(engine: &Engine, api_key: &str) -> AppContext {
    engine.app(APP_ID, api_key, ORIGIN).expect("app auth")
}

/// `n` signed-up users, as sessions.
pub fn buyers(app: &AppContext, n: usize) -> Vec<UserSession> {
    (0..n)
        .map(|i| {
            let token = app
                .signup(&format!("buyer{i}@bench.test"), USER_PASSWORD)
                .expect("signup");
            app.user(token.expose()).expect("user")
        })
        .collect()
}

/// A prepared database: a file with the app and `n` seats, built once
/// with durability off, then copied for every benchmark that needs it.
pub struct Template {
    pub dir: tempfile::TempDir,
    pub api_key: String,
}

impl Template {
    pub fn build(n: usize, clock: Arc<dyn Clock>) -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let engine = Engine::open(
            dir.path().join("template.redb"),
            config(Durability::None, true, clock),
        )
        .expect("open");
        let api_key = populate(&engine, n);
        drop(engine);
        Self { dir, api_key }
    }

    pub fn path(&self) -> PathBuf {
        self.dir.path().join("template.redb")
    }

    /// A fresh copy in its own temporary directory: the database and its
    /// journal, which are a pair (a database without its journal is
    /// refused at open).
    pub fn copy(&self) -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("db.redb");
        std::fs::copy(self.path(), &path).expect("copy template");
        let journal = |p: &std::path::Path| {
            let mut name = p.as_os_str().to_owned();
            name.push("-journal");
            PathBuf::from(name)
        };
        if journal(&self.path()).exists() {
            std::fs::copy(journal(&self.path()), journal(&path)).expect("copy template journal");
        }
        (dir, path)
    }
}

/// An engine whose seat 0 is held for 15 min by one extra buyer, and
/// `buyers` sessions: every reserve of that seat by them is a `SeatHeld`
/// rejection, decided in memory.
pub struct HotSeat {
    pub ctx: AppContext,
    pub sessions: Vec<UserSession>,
    pub seat: String,
    _engine: Engine,
    _dir: tempfile::TempDir,
}

pub fn hot_seat(seats: usize, buyers_n: usize) -> HotSeat {
    let template = Template::build(seats, Arc::new(seatbook::SystemClock));
    let (dir, path) = template.copy();
    let engine = Engine::open(
        &path,
        config(Durability::None, true, Arc::new(seatbook::SystemClock)),
    )
    .expect("open");
    let ctx = app(&engine, &template.api_key);
    let mut sessions = buyers(&ctx, buyers_n + 1);
    let holder = sessions.pop().expect("the holder");
    let seat = seat_id(0);
    ctx.reserve(&holder, &[seat.as_str()], Some(Duration::from_secs(900)))
        .expect("first hold");
    HotSeat {
        ctx,
        sessions,
        seat,
        _engine: engine,
        _dir: dir,
    }
}

/// Runs `work(thread, count)` on `threads` threads that start together,
/// splitting `iters` between them; returns the wall time from the start
/// until the last one finished.
pub fn run_threads<F>(threads: usize, iters: u64, work: F) -> Duration
where
    F: Fn(usize, u64) + Sync,
{
    let barrier = Barrier::new(threads + 1);
    let each = iters / threads as u64;
    let extra = iters % threads as u64;
    let mut start = Instant::now();
    std::thread::scope(|s| {
        for t in 0..threads {
            let n = each + u64::from((t as u64) < extra);
            let (barrier, work) = (&barrier, &work);
            s.spawn(move || {
                barrier.wait();
                work(t, n);
            });
        }
        barrier.wait();
        start = Instant::now();
    });
    start.elapsed()
}

/// Appends a line to `target/seatbook-bench/<file>` (figures that criterion
/// does not report: success/rejection counts, percentiles, bytes).
pub fn record(file: &str, line: &str) {
    eprintln!("{line}");
    let dir = crate::workspace_root().join("target/seatbook-bench");
    let _ = std::fs::create_dir_all(&dir);
    if let Ok(mut f) = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(dir.join(file))
    {
        let _ = writeln!(f, "{line}");
    }
}

/// Median and 99th percentile of `samples` (sorted in place).
pub fn percentiles(samples: &mut [Duration]) -> (Duration, Duration) {
    if samples.is_empty() {
        return (Duration::ZERO, Duration::ZERO);
    }
    samples.sort_unstable();
    let at = |q: f64| samples[((samples.len() - 1) as f64 * q) as usize];
    (at(0.5), at(0.99))
}
