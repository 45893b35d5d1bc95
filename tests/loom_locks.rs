//! Model tests of the lock table's slot protocol (the per-seat seqlock,
//! the key-ordered multi-seat locking, pin and book), run by loom over
//! every interleaving of 2–3 threads within a preemption bound (see
//! docs/reliability.md, "Model checking"). Built only with
//! `RUSTFLAGS="--cfg loom"`:
//!
//! ```text
//! RUSTFLAGS="--cfg loom" LOOM_MAX_PREEMPTIONS=2 \
//!     cargo test --release --target-dir target/loom --test loom_locks
//! ```
//!
//! Checked: one live hold per seat (invariant 2), fencing numbers that
//! increase on every acquire of a seat, a pinned hold that can be neither
//! taken over nor expired, all-or-nothing multi-seat acquires without
//! deadlock, and readers that never see a torn slot (a holder with another
//! hold's expiry).
#![cfg(loom)]

use std::sync::Arc;

use loom::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use seatbook::locks::{HoldId, LockState, LockTable, PinError, SeatKey};

/// Explores every interleaving of `f` within the preemption bound of
/// `LOOM_MAX_PREEMPTIONS` (2 when unset).
/// Prints how many interleavings it explored (`--nocapture` shows it).
fn check(f: impl Fn() + Sync + Send + 'static) {
    let mut builder = loom::model::Builder::new();
    builder.preemption_bound = builder.preemption_bound.or(Some(2));
    let runs = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counted = runs.clone();
    builder.check(move || {
        counted.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        f();
    });
    eprintln!(
        "{} interleavings",
        runs.load(std::sync::atomic::Ordering::Relaxed)
    );
}

fn table(seats: usize) -> (Arc<LockTable>, Vec<SeatKey>) {
    let table = LockTable::new(1);
    let keys = (0..seats).map(|_| table.add_seat(false).unwrap()).collect();
    (Arc::new(table), keys)
}

/// What the winners of a seat have seen: how many believe they hold it
/// live right now, and the last fencing number handed out for it.
#[derive(Default)]
struct Winners {
    live: AtomicUsize,
    last: AtomicU64,
}

impl Winners {
    fn won(&self, hold: HoldId) {
        assert_eq!(
            self.live.fetch_add(1, Ordering::SeqCst),
            0,
            "two live holds on one seat"
        );
        let before = self.last.swap(hold.0, Ordering::SeqCst);
        assert!(before < hold.0, "fencing number {} after {before}", hold.0);
    }

    fn releasing(&self) {
        self.live.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Two threads race for one seat (none of their holds expires); each
/// winner extends its hold and releases it. At most one holds the seat at
/// a time, each new hold has a larger fencing number, and a winner's own
/// extend and release succeed while it holds the seat.
#[test]
fn loom_one_live_hold_per_seat_and_fencing_numbers_increase() {
    check(|| {
        let (table, keys) = table(1);
        let winners = Arc::new(Winners::default());
        let threads: Vec<_> = (0..2)
            .map(|_| {
                let (table, keys, winners) = (table.clone(), keys.clone(), winners.clone());
                loom::thread::spawn(move || {
                    let Ok(hold) = table.try_acquire(&keys, 0, 100) else {
                        return;
                    };
                    winners.won(hold);
                    assert_eq!(table.extend(&keys, hold, 1, 200), Ok(()));
                    winners.releasing();
                    assert_eq!(table.release(&keys, hold), 1, "lost a live hold");
                })
            })
            .collect();
        for thread in threads {
            thread.join().unwrap();
        }
        assert_eq!(table.state(keys[0], 0), LockState::Free);
    });
}

/// A hold expiring at 10 is pinned (confirm deadline 1 000), sealed and
/// booked by its holder (whose clock says 5) while another buyer (whose
/// clock says 20) tries to take the seat over, and a reader (at 5) looks
/// on. Either the pin came first, and the seat ends booked and the
/// takeover failed, or the takeover came first, with a larger fencing
/// number, and the pin was refused. The reader (the main thread) only
/// ever sees whole states.
#[test]
fn loom_a_pinned_hold_can_be_neither_taken_over_nor_expired() {
    check(|| {
        let (table, keys) = table(1);
        let first = table.try_acquire(&keys, 0, 10).unwrap();
        let holder = {
            let (table, keys) = (table.clone(), keys.clone());
            loom::thread::spawn(move || {
                let pinned = table.pin(&keys, first, 5, 1_000);
                if pinned.is_ok() {
                    table
                        .seal(&keys, first, 6)
                        .expect("a pin before its deadline seals");
                    table.book(&keys, first);
                }
                pinned
            })
        };
        let taker = {
            let (table, keys) = (table.clone(), keys.clone());
            loom::thread::spawn(move || table.try_acquire(&keys, 20, 100))
        };
        let seen = table.state(keys[0], 5);
        let whole = matches!(
            seen,
            LockState::Booked
                | LockState::Held {
                    holder: HoldId(1),
                    expires_at: 10 | u64::MAX
                }
                | LockState::Held {
                    holder: HoldId(2),
                    expires_at: 100
                }
        );
        assert!(whole, "torn read: {seen:?}");
        let pinned = holder.join().unwrap();
        let taken = taker.join().unwrap();
        match (pinned, taken) {
            (Ok(()), Err(_)) => assert_eq!(table.state(keys[0], 1_000), LockState::Booked),
            (Err(PinError::Lost), Ok(second)) => {
                assert!(second > first, "fencing number did not increase");
                assert_eq!(
                    table.state(keys[0], 50),
                    LockState::Held {
                        holder: second,
                        expires_at: 100
                    }
                );
            }
            other => panic!("pin and takeover: {other:?}"),
        }
    });
}

/// A confirm's pin ends at its deadline (15): a buyer whose clock says 20
/// may take the seat over, and then the holder's seal (at 6, after its
/// verifier approved) must fail, so the approval becomes a refund, never
/// a second owner. Exactly one of the seal and the takeover succeeds.
#[test]
fn loom_a_pin_past_its_deadline_is_either_sealed_or_taken_over_never_both() {
    check(|| {
        let (table, keys) = table(1);
        let first = table.try_acquire(&keys, 0, 10).unwrap();
        let holder = {
            let (table, keys) = (table.clone(), keys.clone());
            loom::thread::spawn(move || {
                table.pin(&keys, first, 5, 15).is_ok() && table.seal(&keys, first, 6).is_ok()
            })
        };
        let taker = {
            let (table, keys) = (table.clone(), keys.clone());
            loom::thread::spawn(move || table.try_acquire(&keys, 20, 100))
        };
        let sealed = holder.join().unwrap();
        let taken = taker.join().unwrap();
        assert!(sealed != taken.is_ok(), "sealed {sealed}, taken {taken:?}");
        if let Ok(second) = taken {
            assert!(second > first, "fencing number did not increase");
        }
    });
}

/// Two buyers take the same two seats, listed in opposite orders: exactly
/// one gets both, the other neither, and nobody deadlocks (the slots are
/// locked in key order).
#[test]
fn loom_multi_seat_acquires_are_all_or_nothing_without_deadlock() {
    check(|| {
        let (table, keys) = table(2);
        let threads: Vec<_> = [[keys[0], keys[1]], [keys[1], keys[0]]]
            .into_iter()
            .map(|order| {
                let table = table.clone();
                loom::thread::spawn(move || table.try_acquire(&order, 0, 100).ok())
            })
            .collect();
        let won: Vec<HoldId> = threads
            .into_iter()
            .filter_map(|t| t.join().unwrap())
            .collect();
        assert_eq!(won.len(), 1, "winners: {won:?}");
        for &key in &keys {
            assert_eq!(
                table.state(key, 0),
                LockState::Held {
                    holder: won[0],
                    expires_at: 100
                }
            );
        }
    });
}
