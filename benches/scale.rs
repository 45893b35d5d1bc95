//! How cost grows with the database, what a live hold costs in memory, and
//! how long reopening takes.
//!
//! - `scale/{reserve,confirm,list-entity}/{1K,100K,1M}`: single-caller
//!   latency with 1 K, 100 K and 1 M seats in the database (entities of
//!   1 000 seats; `list-entity` lists one entity). `Durability::None`, so
//!   the figures show the engine's own cost growth and not the disk's
//!   fsync time (measured in `durable`).
//! - memory per live hold: a counting global allocator measures the heap
//!   bytes retained per hold, for the lock table alone and for the whole
//!   engine (`AppContext::reserve`, durable record included), written to
//!   `target/seatbook-bench/scale.txt`;
//! - `scale/reopen`: `Engine::open` of a database holding 1 M seats and
//!   100 K active reservations.

use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use seatbook::locks::LockTable;
use seatbook::{Durability, Engine, ManualClock, SeatFilter};
use seatbook_testkit::bench;
use seatbook_testkit::bench::{
    CountingAllocator, Template, app, buyers, entity_id, record, seat_id,
};

#[global_allocator]
static ALLOCATOR: CountingAllocator = CountingAllocator;

fn live() -> isize {
    CountingAllocator::live()
}

const SIZES: [(usize, &str); 3] = [(1_000, "1K"), (100_000, "100K"), (1_000_000, "1M")];
const HOLDS: usize = 100_000;

fn open(path: &std::path::Path, clock: &ManualClock) -> Engine {
    Engine::open(
        path,
        bench::config(Durability::None, true, Arc::new(clock.clone())),
    )
    .expect("open")
}

fn cost_growth(c: &mut Criterion) {
    let mut group = c.benchmark_group("scale");
    group
        .sample_size(20)
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_secs(2));
    for (n, label) in SIZES {
        let clock = ManualClock::default();
        let template = Template::build(n, Arc::new(clock.clone()));
        let (_dir, path) = template.copy();
        let engine = open(&path, &clock);
        let ctx = app(&engine, &template.api_key);
        let session = buyers(&ctx, 1).remove(0);
        let ttl = Some(Duration::from_secs(1));
        let mut next = 0usize;
        group.bench_function(BenchmarkId::new("reserve", label), |b| {
            b.iter_custom(|iters| {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    if next.is_multiple_of(n) {
                        // Every earlier hold has expired: seats are taken over.
                        clock.advance(Duration::from_secs(2));
                    }
                    let seat = seat_id((next * 7919) % n);
                    next += 1;
                    let started = Instant::now();
                    let hold = ctx.reserve(&session, &[seat.as_str()], ttl);
                    total += started.elapsed();
                    hold.expect("reserve");
                }
                total
            });
        });
        clock.advance(Duration::from_secs(2));
        group.bench_function(BenchmarkId::new("confirm", label), |b| {
            b.iter_custom(|iters| {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    let seat = seat_id((next * 7919) % n);
                    next += 1;
                    let hold = ctx
                        .reserve(&session, &[seat.as_str()], ttl)
                        .expect("reserve");
                    let started = Instant::now();
                    let booking = ctx.confirm(
                        &session,
                        hold.token.expose(),
                        &format!("pay-{next}"),
                        hold.info.total_minor,
                    );
                    total += started.elapsed();
                    ctx.cancel_booking(&booking.expect("confirm").booking_id)
                        .expect("cancel");
                }
                total
            });
        });
        group.bench_function(BenchmarkId::new("list-entity", label), |b| {
            let entity = entity_id(0);
            b.iter(|| {
                ctx.list_seats(&entity, SeatFilter::All)
                    .expect("list")
                    .len()
            });
        });
    }
    group.finish();
}

fn memory_and_reopen(c: &mut Criterion) {
    // The lock table alone: a hold lives in its seat's preallocated slot.
    let table = LockTable::new(1);
    let before_seats = live();
    let keys: Vec<_> = (0..1_000_000)
        .map(|_| table.add_seat(false).expect("capacity"))
        .collect();
    let per_seat = (live() - before_seats) as f64 / 1e6;
    let before = live();
    for key in &keys[..HOLDS] {
        table
            .try_acquire(std::slice::from_ref(key), 0, 120_000)
            .expect("acquire");
    }
    let table_per_hold = (live() - before) as f64 / HOLDS as f64;
    record(
        "scale.txt",
        &format!(
            "memory: lock table {table_per_hold:.1} B per live hold ({HOLDS} holds); \
             {per_seat:.1} B per seat slot (keys vector included)"
        ),
    );
    drop(keys);
    drop(table);

    // The whole engine, 1 M seats.
    let clock = ManualClock::default();
    let template = Template::build(1_000_000, Arc::new(clock.clone()));
    let (_dir, path) = template.copy();
    let before_open = live();
    let engine = open(&path, &clock);
    let opened = live();
    let ctx = app(&engine, &template.api_key);
    let sessions = buyers(&ctx, 1);
    let ttl = Some(Duration::from_secs(900));
    // Warm the paths (first allocations of caches and buffers), then measure.
    for i in 0..1_000 {
        drop(ctx.reserve(&sessions[0], &[seat_id(i * 997).as_str()], ttl));
    }
    let before = live();
    for i in 1_000..HOLDS {
        let seat = seat_id(i * 997 % 1_000_000);
        drop(
            ctx.reserve(&sessions[0], &[seat.as_str()], ttl)
                .expect("reserve"),
        );
    }
    let engine_per_hold = (live() - before) as f64 / (HOLDS - 1_000) as f64;
    record(
        "scale.txt",
        &format!(
            "memory: engine {engine_per_hold:.1} B retained per live hold via AppContext::reserve \
             (redb cache growth included); engine after open with 1M seats: {:.1} B per seat",
            (opened - before_open) as f64 / 1e6
        ),
    );
    assert_eq!(engine.stats().holds_taken as usize, HOLDS);
    drop(ctx);
    drop(engine);

    // Reopen: 1 M seats and 100 K active reservations.
    let mut group = c.benchmark_group("scale");
    group
        .sample_size(10)
        .warm_up_time(Duration::from_millis(100))
        .measurement_time(Duration::from_secs(10));
    group.bench_function("reopen/1M-seats-100K-holds", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let started = Instant::now();
                let engine = Engine::open(
                    &path,
                    bench::config(Durability::Full, true, Arc::new(clock.clone())),
                )
                .expect("reopen");
                total += started.elapsed();
                drop(engine);
            }
            total
        });
    });
    group.finish();
}

criterion_group!(benches, cost_growth, memory_and_reopen);
criterion_main!(benches);
