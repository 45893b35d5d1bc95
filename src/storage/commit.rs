//! Group commit: concurrent writers share one redb commit (one fsync).
//!
//! Owns the batching of [`Storage::write`](super::Storage::write) calls and
//! nothing else: which rows change is the closures' business.
//!
//! # Protocol
//!
//! A batch is one open redb `WriteTransaction` behind a mutex. Each caller
//! runs its *own* closure on its own thread, holding the mutex, in that
//! shared transaction; so closures keep their borrowed captures and typed
//! results (no type erasure, no `Send` bound, no unsafe). Then:
//!
//! - the caller whose closure finishes while nobody else is on the way
//!   (`arriving` drops to zero), or who fills the batch, *commits*: it
//!   takes the transaction out, releases the mutex, commits (one fsync for
//!   everyone), and publishes the outcome;
//! - every other caller whose closure succeeded waits for that outcome and
//!   returns its own value only once the commit is durable, or the commit's
//!   error. No write is ever acknowledged before its commit.
//!
//! While a commit is in flight, newcomers wait (redb allows one write
//! transaction at a time) and then all pile into the next batch, so the
//! batch size adapts to the load: one thread alone pays one commit per
//! write, as without group commit; 64 threads share a few commits.
//!
//! # Failing closures
//!
//! redb savepoints cannot be taken once a table was opened in a
//! transaction, so they cannot isolate one closure among others. Instead
//! [`WriteTx`] records, while another closure's writes are already in the
//! batch, the previous value of every row a closure changes; if the
//! closure returns `Err` (or panics) those rows are put back before anyone
//! else runs, and the others commit. A closure alone in its batch is simply
//! aborted. If redb itself fails mid-write (or undoing fails), the whole
//! batch is aborted and every member gets the storage error: nothing of
//! anyone's was written, and nobody was told otherwise.

use std::panic::{self, AssertUnwindSafe};
use std::sync::Arc;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use parking_lot::{Condvar, Mutex, MutexGuard};

use super::WriteTx;
use crate::error::StorageError;

/// Most closures in one commit; a full batch commits even if more callers
/// are on the way (they form the next one).
const MAX_BATCH: usize = 1024;

/// What a batch's members learn once it is over: `Err` holds the message.
type Outcome = Arc<OnceLock<Result<(), String>>>;

#[derive(Default)]
pub(crate) struct Combiner {
    state: Mutex<Batch>,
    /// Signalled when a commit ends (outcome published, `committing` false).
    done: Condvar,
    /// Callers inside `write` that have not yet run their closure.
    arriving: AtomicUsize,
    commits: AtomicU64,
}

#[derive(Default)]
struct Batch {
    /// The transaction being filled; `None` between batches and while one
    /// commits.
    open: Option<WriteTx>,
    /// Outcome of the open batch, shared with its members.
    outcome: Outcome,
    /// Closures in `open` whose writes are kept.
    members: usize,
    /// A taken-out transaction is committing (then `open` is `None`).
    committing: bool,
}

/// What one caller's closure did.
enum Ran<T, E> {
    Kept(T, Outcome),
    Failed(E),
    Panicked(Box<dyn std::any::Any + Send>),
}

impl Combiner {
    /// Commits that carried at least one closure's writes.
    #[cfg(test)]
    pub(crate) fn commits(&self) -> u64 {
        self.commits.load(Ordering::Relaxed)
    }

    /// Callers currently between entering `write` and finishing their
    /// closure (tests use it to force two closures into one batch).
    #[cfg(test)]
    pub(crate) fn arriving(&self) -> usize {
        self.arriving.load(Ordering::SeqCst)
    }

    pub(crate) fn write<T, E>(
        &self,
        begin: impl FnOnce() -> Result<WriteTx, StorageError>,
        f: impl FnOnce(&mut WriteTx) -> Result<T, E>,
    ) -> Result<T, E>
    where
        E: From<StorageError>,
    {
        self.arriving.fetch_add(1, Ordering::SeqCst);
        let mut st = self.state.lock();
        while st.open.is_none() && st.committing {
            self.done.wait(&mut st);
        }
        if st.open.is_none() {
            match begin() {
                Ok(tx) => {
                    st.open = Some(tx);
                    st.outcome = Outcome::default();
                    st.members = 0;
                }
                Err(e) => {
                    self.arriving.fetch_sub(1, Ordering::SeqCst);
                    return Err(e.into());
                }
            }
        }
        let ran = self.run(&mut st, f);
        let last = self.arriving.fetch_sub(1, Ordering::SeqCst) == 1;
        if st.open.is_some() && (last || st.members >= MAX_BATCH) {
            self.commit(&mut st);
        }
        match ran {
            Ran::Kept(value, outcome) => {
                while outcome.get().is_none() {
                    self.done.wait(&mut st);
                }
                drop(st);
                match outcome.get() {
                    Some(Ok(())) => Ok(value),
                    Some(Err(msg)) => Err(StorageError(msg.clone()).into()),
                    None => unreachable!("waited for the outcome"),
                }
            }
            Ran::Failed(e) => Err(e),
            Ran::Panicked(payload) => {
                drop(st);
                panic::resume_unwind(payload)
            }
        }
    }

    /// Runs `f` in the open batch and keeps or discards its writes.
    fn run<T, E>(
        &self,
        st: &mut MutexGuard<'_, Batch>,
        f: impl FnOnce(&mut WriteTx) -> Result<T, E>,
    ) -> Ran<T, E>
    where
        E: From<StorageError>,
    {
        let shared = st.members > 0;
        let tx = st.open.as_mut().expect("a batch is open");
        // Alone in the batch, a failure aborts the transaction: no log needed.
        tx.track_undo(shared);
        let ran = match panic::catch_unwind(AssertUnwindSafe(|| f(tx))) {
            Ok(Ok(value)) if !tx.is_broken() => {
                tx.track_undo(false);
                st.members += 1;
                return Ran::Kept(value, Arc::clone(&st.outcome));
            }
            Ok(Ok(_)) => Ran::Failed(E::from(StorageError(
                "write failed inside the transaction".into(),
            ))),
            Ok(Err(e)) => Ran::Failed(e),
            Err(payload) => Ran::Panicked(payload),
        };
        if shared && tx.undo().is_ok() && !tx.is_broken() {
            tx.track_undo(false);
            return ran;
        }
        // Alone, or the transaction cannot be trusted: abort the batch.
        let tx = st.open.take().expect("a batch is open");
        let _ = tx.inner.abort();
        if shared {
            let _ = st.outcome.set(Err(
                "transaction aborted: another write in its batch failed in storage".into(),
            ));
            self.done.notify_all();
        }
        st.members = 0;
        ran
    }

    /// Commits the open batch with the mutex released, then publishes the
    /// outcome to its members.
    fn commit(&self, st: &mut MutexGuard<'_, Batch>) {
        let tx = st.open.take().expect("a batch is open");
        let outcome = Arc::clone(&st.outcome);
        st.members = 0;
        st.committing = true;
        let result = MutexGuard::unlocked(st, || {
            tx.inner.commit().map_err(|e| StorageError::from(e).0)
        });
        self.commits.fetch_add(1, Ordering::Relaxed);
        st.committing = false;
        let _ = outcome.set(result);
        self.done.notify_all();
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Barrier;
    use std::sync::atomic::AtomicBool;

    use super::super::{Durability, ReservationRecord, SeatRecord, SeatStatus, Storage};
    use crate::error::StorageError;
    use crate::model::{ReservationStatus, SeatAttributes, UserId};

    fn storage(group_commit: bool) -> (tempfile::TempDir, Storage) {
        let dir = tempfile::tempdir().unwrap();
        let s = Storage::open_with(&dir.path().join("t.redb"), Durability::None, group_commit)
            .unwrap_or_else(|_| panic!("open"));
        (dir, s)
    }

    fn reservation(expires_at: u64, status: ReservationStatus) -> ReservationRecord {
        ReservationRecord {
            app_id: "app".into(),
            user_id: UserId(7),
            seat_ids: vec!["S1".into()],
            token_hash: [0; 32],
            total_minor: 100,
            currency: *b"EUR",
            created_at: 0,
            expires_at,
            status,
            booking_id: None,
            payment_id: None,
        }
    }

    fn seat(status: SeatStatus) -> SeatRecord {
        SeatRecord {
            entity_id: "E1".into(),
            price_minor: 100,
            currency: *b"EUR",
            attributes: SeatAttributes::default(),
            status,
            booked_by: None,
            booking_id: None,
        }
    }

    #[derive(Debug)]
    struct Refused;

    impl From<StorageError> for Refused {
        fn from(_: StorageError) -> Self {
            Self
        }
    }

    /// Runs `first` and `second` on two threads such that both closures
    /// land in the same batch: `first` waits inside its closure until
    /// `second` is on its way, and `second` then runs before the commit.
    fn in_one_batch<A: Send, B: Send>(
        s: &Storage,
        first: impl FnOnce(&mut super::WriteTx) -> Result<A, Refused> + Send,
        second: impl FnOnce(&mut super::WriteTx) -> Result<B, Refused> + Send,
    ) -> (Result<A, Refused>, Result<B, Refused>) {
        let combiner = s.combiner.as_ref().unwrap();
        let started = AtomicBool::new(false);
        std::thread::scope(|scope| {
            let a = scope.spawn(|| {
                s.write(|tx| {
                    started.store(true, std::sync::atomic::Ordering::SeqCst);
                    while combiner.arriving() < 2 {
                        std::thread::yield_now();
                    }
                    first(tx)
                })
            });
            while !started.load(std::sync::atomic::Ordering::SeqCst) {
                std::thread::yield_now();
            }
            let b = scope.spawn(|| s.write(second));
            (a.join().unwrap(), b.join().unwrap())
        })
    }

    #[test]
    fn failing_closure_leaves_no_writes_and_its_batch_mates_commit() {
        let (_dir, s) = storage(true);
        // Reservation 5 exists and is ACTIVE before the batch.
        s.write(|tx| tx.put_reservation(5, &reservation(500, ReservationStatus::Active), None))
            .unwrap();
        let before = s.commits();
        let (a, b) = in_one_batch(
            &s,
            |tx| {
                tx.put_reservation(1, &reservation(100, ReservationStatus::Active), None)?;
                Ok(1)
            },
            |tx| {
                // Writes a new row, overwrites an existing one, then fails
                // (as confirm does when its second seat is gone).
                tx.put_seat("app", "S1", &seat(SeatStatus::Booked))?;
                tx.put_reservation(2, &reservation(200, ReservationStatus::Active), None)?;
                tx.put_reservation(5, &reservation(500, ReservationStatus::Released), Some(500))?;
                Err::<(), _>(Refused)
            },
        );
        assert_eq!(a.unwrap(), 1);
        assert!(b.is_err());
        assert_eq!(s.commits(), before + 1, "both closures shared one commit");
        let r = s.read().unwrap();
        assert!(r.reservation(1).unwrap().is_some());
        assert!(r.reservation(2).unwrap().is_none());
        assert!(r.seat("app", "S1").unwrap().is_none());
        assert!(r.entity_seats("app", "E1").unwrap().is_empty());
        assert_eq!(
            r.reservation(5).unwrap().unwrap().status,
            ReservationStatus::Active
        );
        let due: Vec<u64> = r
            .expired_holds(u64::MAX, 100)
            .unwrap()
            .into_iter()
            .map(|(_, id)| id)
            .collect();
        assert_eq!(due, [1, 5]);
    }

    #[test]
    fn panicking_closure_leaves_no_writes_and_the_panic_reaches_its_caller() {
        let (_dir, s) = storage(true);
        let (a, b) = std::thread::scope(|scope| {
            let h = scope.spawn(|| {
                in_one_batch(
                    &s,
                    |tx| {
                        tx.put_seat("app", "A", &seat(SeatStatus::Available))
                            .map_err(Refused::from)
                    },
                    |tx| -> Result<(), Refused> {
                        tx.put_seat("app", "B", &seat(SeatStatus::Available))?;
                        panic!("boom")
                    },
                )
            });
            // The scope re-raises the second thread's panic through join.
            match h.join() {
                Ok(_) => panic!("the panic must reach the caller"),
                Err(_) => (true, true),
            }
        });
        assert!(a && b);
        let r = s.read().unwrap();
        assert!(r.seat("app", "A").unwrap().is_some());
        assert!(r.seat("app", "B").unwrap().is_none());
    }

    #[test]
    fn a_closure_alone_that_fails_is_aborted() {
        for group in [true, false] {
            let (_dir, s) = storage(group);
            let r: Result<(), Refused> = s.write(|tx| {
                tx.put_seat("app", "S1", &seat(SeatStatus::Available))?;
                Err(Refused)
            });
            assert!(r.is_err());
            assert!(s.read().unwrap().seat("app", "S1").unwrap().is_none());
            s.write(|tx| tx.put_seat("app", "S2", &seat(SeatStatus::Available)))
                .unwrap();
            assert!(s.read().unwrap().seat("app", "S2").unwrap().is_some());
        }
    }

    #[test]
    fn many_threads_get_their_own_results_and_only_successes_persist() {
        const THREADS: u64 = 16;
        const EACH: u64 = 50;
        let (_dir, s) = storage(true);
        let barrier = Barrier::new(THREADS as usize);
        std::thread::scope(|scope| {
            for t in 0..THREADS {
                let (s, barrier) = (&s, &barrier);
                scope.spawn(move || {
                    barrier.wait();
                    for i in 0..EACH {
                        let id = t * 1000 + i + 1;
                        let got = s.write(|tx| {
                            tx.put_reservation(
                                id,
                                &reservation(id, ReservationStatus::Active),
                                None,
                            )?;
                            if id % 3 == 0 {
                                return Err(Refused);
                            }
                            Ok(id * 2)
                        });
                        match got {
                            Ok(v) => assert_eq!(v, id * 2),
                            Err(Refused) => assert_eq!(id % 3, 0),
                        }
                    }
                });
            }
        });
        let stored: Vec<u64> = s
            .read()
            .unwrap()
            .all_reservations()
            .unwrap()
            .into_iter()
            .map(|(id, _)| id)
            .collect();
        let mut expected: Vec<u64> = (0..THREADS)
            .flat_map(|t| (0..EACH).map(move |i| t * 1000 + i + 1))
            .filter(|id| id % 3 != 0)
            .collect();
        expected.sort_unstable();
        assert_eq!(stored, expected);
        let holds = s.read().unwrap().expired_holds(u64::MAX, 10_000).unwrap();
        assert_eq!(holds.len(), expected.len());
        assert!(s.commits() <= THREADS * EACH);
    }
}
