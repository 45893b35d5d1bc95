//! Contended lock throughput against the lock table directly.
//!
//! Threads 1, 2, 4, 8 and 64 race on one hot seat, on 16 seats, and on
//! random seats out of 1 M. Two workloads:
//!
//! - `attempts`: `SET NX EX` semantics, what Redis does in the peer
//!   harness: a hold (TTL 120 s) is never given back, so after the first
//!   wins nearly every attempt on a hot seat is a rejection;
//! - `cycles`: acquire, and on success release at once: writers fight for
//!   the slot itself.
//!
//! Throughput is attempts per second (criterion's elements/s). Successes
//! and rejections are counted apart and written to
//! `target/seatbook-bench/locks.txt`.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use seatbook::locks::{LockTable, SeatKey};
use seatbook_testkit::bench::{record, run_threads};
use seatbook_testkit::rng::FastRng;

const THREADS: [usize; 5] = [1, 2, 4, 8, 64];
const NOW: u64 = 1_000_000;
const TTL: u64 = 120_000;
/// Attempts in one round of the random-seat `attempts` workload.
const ROUND: u64 = 1_000_000;

#[derive(Clone, Copy)]
enum Seats {
    Hot,
    Sixteen,
    RandomOfMillion,
}

impl Seats {
    fn name(self) -> &'static str {
        match self {
            Self::Hot => "hot-seat",
            Self::Sixteen => "16-seats",
            Self::RandomOfMillion => "random-of-1M",
        }
    }

    fn count(self) -> u64 {
        match self {
            Self::Hot => 1,
            Self::Sixteen => 16,
            Self::RandomOfMillion => 1_000_000,
        }
    }
}

fn table(seats: u64) -> (LockTable, Vec<SeatKey>) {
    let t = LockTable::new(1);
    let keys = (0..seats)
        .map(|_| t.add_seat(false).expect("capacity"))
        .collect();
    (t, keys)
}

struct Counts {
    wins: AtomicU64,
    losses: AtomicU64,
}

fn bench(c: &mut Criterion, cycles: bool) {
    let workload = if cycles { "cycles" } else { "attempts" };
    for seats in [Seats::Hot, Seats::Sixteen, Seats::RandomOfMillion] {
        let mut group = c.benchmark_group(format!("locks/{workload}/{}", seats.name()));
        group
            .sample_size(10)
            .warm_up_time(Duration::from_millis(500))
            .measurement_time(Duration::from_secs(2))
            .throughput(Throughput::Elements(1));
        for threads in THREADS {
            let (t, keys) = table(seats.count());
            let counts = Counts {
                wins: AtomicU64::new(0),
                losses: AtomicU64::new(0),
            };
            // Random seats out of 1 M, attempts: each criterion iteration is
            // one round of 1 M attempts on a fresh table (untimed set-up),
            // exactly `redis-benchmark -n 1000000 -r 1000000` on an empty
            // database: about 63 % of the attempts win.
            let round = matches!(seats, Seats::RandomOfMillion) && !cycles;
            if round {
                group.throughput(Throughput::Elements(ROUND));
            }
            let attempt = |t: &LockTable, keys: &[SeatKey], thread: usize, n: u64| {
                let mut rng = FastRng::new(thread as u64 + 1);
                let (mut wins, mut losses) = (0u64, 0u64);
                for _ in 0..n {
                    let key = keys[rng.below(keys.len() as u64) as usize];
                    match t.try_acquire(std::slice::from_ref(&key), NOW, NOW + TTL) {
                        Ok(hold) => {
                            wins += 1;
                            if cycles {
                                t.release(std::slice::from_ref(&key), hold);
                            }
                        }
                        Err(_) => losses += 1,
                    }
                }
                counts.wins.fetch_add(wins, Ordering::Relaxed);
                counts.losses.fetch_add(losses, Ordering::Relaxed);
            };
            group.bench_function(BenchmarkId::from_parameter(threads), |b| {
                b.iter_custom(|iters| {
                    if round {
                        let mut total = Duration::ZERO;
                        for i in 0..iters {
                            let (t, keys) = table(seats.count());
                            total += run_threads(threads, ROUND, |thread, n| {
                                attempt(&t, &keys, thread * 7919 + i as usize, n);
                            });
                        }
                        total
                    } else {
                        run_threads(threads, iters, |thread, n| attempt(&t, &keys, thread, n))
                    }
                });
            });
            group.throughput(Throughput::Elements(1));
            let (w, l) = (
                counts.wins.load(Ordering::Relaxed),
                counts.losses.load(Ordering::Relaxed),
            );
            if w + l == 0 {
                continue; // filtered out on the command line
            }
            record(
                "locks.txt",
                &format!(
                    "locks/{workload}/{}/{threads}: successes {w}, rejections {l} ({:.2}% rejected)",
                    seats.name(),
                    100.0 * l as f64 / (w + l).max(1) as f64
                ),
            );
        }
        group.finish();
    }
}

fn attempts(c: &mut Criterion) {
    bench(c, false);
}

fn cycles(c: &mut Criterion) {
    bench(c, true);
}

criterion_group!(benches, attempts, cycles);
criterion_main!(benches);
