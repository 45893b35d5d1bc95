//! Engine counters that many threads bump at once.
//!
//! Owns [`Counters`]: striped atomics, one cache line per stripe, so two
//! threads counting rejections on a hot seat never share a line. It must
//! never be used for anything that needs an exact instant value under
//! concurrency (a sum is a moment's approximation, exact once quiet).

use std::cell::Cell;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use crate::model::Stats;

const STRIPES: usize = 16;

#[derive(Debug, Clone, Copy)]
pub(crate) enum Counter {
    ReserveAttempts,
    HoldsTaken,
    ContentionRejections,
    Confirms,
    Expiries,
    Releases,
    PaymentFailures,
    Cancellations,
}

const COUNTERS: usize = 8;

#[repr(align(128))]
#[derive(Debug, Default)]
struct Stripe([AtomicU64; COUNTERS]);

#[derive(Debug, Default)]
pub(crate) struct Counters {
    stripes: [Stripe; STRIPES],
}

fn stripe_index() -> usize {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    thread_local! {
        static INDEX: Cell<usize> = const { Cell::new(usize::MAX) };
    }
    INDEX.with(|i| {
        if i.get() == usize::MAX {
            i.set(NEXT.fetch_add(1, Ordering::Relaxed) % STRIPES);
        }
        i.get()
    })
}

impl Counters {
    pub(crate) fn add(&self, counter: Counter, n: u64) {
        self.stripes[stripe_index()].0[counter as usize].fetch_add(n, Ordering::Relaxed);
    }

    pub(crate) fn bump(&self, counter: Counter) {
        self.add(counter, 1);
    }

    fn sum(&self, counter: Counter) -> u64 {
        self.stripes
            .iter()
            .map(|s| s.0[counter as usize].load(Ordering::Relaxed))
            .sum()
    }

    pub(crate) fn snapshot(&self) -> Stats {
        Stats {
            reserve_attempts: self.sum(Counter::ReserveAttempts),
            holds_taken: self.sum(Counter::HoldsTaken),
            contention_rejections: self.sum(Counter::ContentionRejections),
            confirms: self.sum(Counter::Confirms),
            expiries: self.sum(Counter::Expiries),
            releases: self.sum(Counter::Releases),
            payment_failures: self.sum(Counter::PaymentFailures),
            cancellations: self.sum(Counter::Cancellations),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_from_many_threads_add_up() {
        let c = Counters::default();
        std::thread::scope(|s| {
            for _ in 0..8 {
                s.spawn(|| {
                    for _ in 0..1000 {
                        c.bump(Counter::Confirms);
                    }
                });
            }
        });
        assert_eq!(c.snapshot().confirms, 8000);
        assert_eq!(c.snapshot().holds_taken, 0);
    }
}
