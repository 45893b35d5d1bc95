//! Durable reserve + confirm with `Durability::Full`: 1, 8 and 64
//! concurrent buyers, each doing reserve → confirm on its own seats, with
//! group commit on and off in the same run.
//!
//! Throughput is buyer cycles (one reserve + one confirm, two durable
//! writes) per second, i.e. confirms per second. The median and 99th
//! percentile confirm latency of each benchmark go to
//! `target/seatbook-bench/durable.txt`.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use parking_lot::Mutex;
use seatbook::{Durability, Engine, SystemClock};
use seatbook_testkit::bench;
use seatbook_testkit::bench::{Template, app, buyers, percentiles, record, run_threads, seat_id};

/// Seats in each benchmark's database: more than any run books.
const SEATS: usize = 300_000;

fn reserve_confirm(c: &mut Criterion) {
    let template = Template::build(SEATS, Arc::new(SystemClock));
    for group_commit in [true, false] {
        let name = if group_commit {
            "durable/reserve-confirm/group-commit"
        } else {
            "durable/reserve-confirm/no-group-commit"
        };
        let mut group = c.benchmark_group(name);
        group
            .sample_size(10)
            .warm_up_time(Duration::from_millis(500))
            .measurement_time(Duration::from_secs(3))
            .throughput(Throughput::Elements(1));
        for buyers_n in [1, 8, 64] {
            let (_dir, path) = template.copy();
            let engine = Engine::open(
                &path,
                bench::config(Durability::Full, group_commit, Arc::new(SystemClock)),
            )
            .expect("open");
            let ctx = app(&engine, &template.api_key);
            let sessions = buyers(&ctx, buyers_n);
            // Each buyer takes seats from its own stride of the seat ids.
            let next: Vec<AtomicUsize> = (0..buyers_n).map(AtomicUsize::new).collect();
            let latencies = Mutex::new(Vec::new());
            group.bench_function(BenchmarkId::from_parameter(buyers_n), |b| {
                b.iter_custom(|iters| {
                    run_threads(buyers_n, iters, |t, n| {
                        let mut mine = Vec::with_capacity(n as usize);
                        for _ in 0..n {
                            let i = next[t].fetch_add(buyers_n, Ordering::Relaxed);
                            assert!(i < SEATS, "seat pool exhausted: raise SEATS");
                            let seat = seat_id(i);
                            let hold = ctx
                                .reserve(&sessions[t], &[seat.as_str()], None)
                                .expect("reserve");
                            let started = Instant::now();
                            ctx.confirm(
                                &sessions[t],
                                hold.token.expose(),
                                &format!("pay-{i}"),
                                hold.info.total_minor,
                            )
                            .expect("confirm");
                            mine.push(started.elapsed());
                        }
                        latencies.lock().extend(mine);
                    })
                });
            });
            let mut l = latencies.into_inner();
            let (p50, p99) = percentiles(&mut l);
            record(
                "durable.txt",
                &format!(
                    "{name}/{buyers_n}: confirm latency p50 {p50:?}, p99 {p99:?} ({} confirms)",
                    l.len()
                ),
            );
        }
        group.finish();
    }
}

criterion_group!(benches, reserve_confirm);
criterion_main!(benches);
