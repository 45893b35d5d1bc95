//! Group commit by flat combining: concurrent writers share one redb commit
//! (one fsync), and one thread runs the whole batch.
//!
//! Owns the batching of [`RedbStore::write`](super::RedbStore::write) calls and
//! nothing else: which rows change is the closures' business.
//!
//! # Protocol
//!
//! A caller wraps its closure in a *job* on its own stack and queues a
//! pointer to it. If no thread is combining, the caller becomes the
//! *combiner*: it takes the queued jobs, opens one redb write transaction,
//! runs every job's closure in it back to back (picking up jobs that
//! arrive meanwhile, up to [`MAX_BATCH`]), commits once (one fsync for
//! everyone), and only then marks each job done and wakes its owner. No
//! write is ever acknowledged before its commit is durable. The combiner
//! then hands the role on (or retires if the queue is empty) and returns
//! with its own job done.
//!
//! Why not let each caller run its own closure under a mutex (the first
//! design)? With 64 buyers on 2 cores, every closure then paid a wake-up
//! and a context switch to get the mutex, and the single-writer section
//! sat idle two thirds of the time. One thread running the batch keeps
//! the writer busy and opens each table once per batch instead of once
//! per row.
//!
//! # When a round stops taking
//!
//! A round starts with the first queued job, and at first the queue is
//! nearly empty: the owners of the previous round's jobs are still being
//! woken, and with 64 owners on 2 cores that wake alone takes ~0.6 ms of
//! system calls. Committing as soon as the combiner catches up would
//! commit a handful of jobs and make the rest wait a whole sync. So the
//! combiner counts the owners of the last round that have not yet come
//! back with another write (*returning*), and while any are outstanding
//! it yields and waits for them, until [`STRAGGLER_WAIT`] passes with no
//! new job: a writer that does not come back delays one commit by at most
//! that. A lone writer is its own returner, so it never waits.
//!
//! # Waking owners
//!
//! Waking each owner on its own cost a futex wake per job, about a fifth of
//! the combiner's time with 64 buyers. So owners sleep on a few shared
//! futex words instead ([`SLOTS`], via `atomic-wait`): a job is stamped
//! with the queue's current *stamp* when it is queued, and its owner
//! sleeps on slot `stamp % SLOTS`. A combining round moves the stamp on
//! twice: when it first takes the queue, and when it finds the queue empty
//! and stops taking. So a round's jobs carry two stamps, no job queued
//! after the round stopped taking carries either, and after its commit the
//! combiner marks its jobs done and wakes their two slots, one `wake_all`
//! each: two system calls per batch instead of one per job. A thread woken
//! for a stamp it does not carry (a job left queued by a full batch, or a
//! stamp that shares its slot) finds its job not done and sleeps again.
//! Each slot counts the owners about to sleep on it, and a wake of a slot
//! nobody sleeps on makes no system call: a lone writer makes none.
//!
//! Handing the role on uses the same words: the retiring combiner marks
//! the role *vacant*, bumps the slot of the oldest queued job and wakes
//! one thread there. Any owner of a queued job may claim a vacancy (all
//! check it before sleeping, newcomers included), so it does not matter
//! which one wakes. The role is handed on *before* the batch is woken, so
//! the next round can start while those wakes are still being delivered.
//!
//! # Failing closures
//!
//! redb savepoints cannot be taken once a table was opened in a
//! transaction, so they cannot isolate one closure among others. Instead
//! [`WriteTx`] records the previous value of every row a closure changes;
//! if the closure returns `Err` those rows are put back before the next
//! closure runs, the caller gets its own error when its batch is woken, and
//! the others commit. A closure that panics is undone the same way and its
//! caller gets the panic, but the panic has poisoned the storage
//! ([`RedbStore::write`](super::RedbStore::write)), whose commit then refuses
//! the whole batch. If redb itself fails
//! mid-write (or undoing fails), the transaction is aborted and every
//! closure already in it gets the storage error: nothing of theirs was
//! written, and nobody was told otherwise. The remaining jobs go on in a
//! fresh transaction.
//!
//! # Safety
//!
//! A job lives on its owner's stack and holds a type- and lifetime-erased
//! pointer to the owner's closure, so the combiner can run closures that
//! borrow from their owners' frames (no boxing, no `'static` bound). This
//! is sound for the same reason `std::thread::scope` is: the owner does not
//! leave [`Combiner::write`] (it cannot unwind there: nothing in its wait
//! loop panics) until the combiner has marked its job done, and the
//! combiner never touches a job after marking it done. Closures, redb's
//! begin and commit all run under `catch_unwind`, so a closure's panic
//! reaches its own caller only; should the combiner itself unwind (a panic
//! inside redb while undoing), its `Taken` guard finishes every job it
//! holds with an error first, so no owner is stranded.

use std::collections::VecDeque;
use std::panic::{self, AssertUnwindSafe};
use std::time::Duration;

use super::WriteTx;
use crate::error::StorageError;
use crate::sync::{
    AtomicBool, AtomicU32, AtomicU64, AtomicUsize, Futex, Instant, Mutex, Ordering, fence, thread,
};

/// Most closures in one commit; a full batch commits even if more callers
/// are queued (they form the next one).
const MAX_BATCH: usize = 1024;

/// How long a combiner that ran out of jobs waits for the last round's
/// owners to come back with their next writes (see the module's section
/// on when a round stops taking). Several times what an
/// owner spends between two writes in the 64-buyer benchmark (10–20 µs),
/// and a fifth of one journal sync.
const STRAGGLER_WAIT: Duration = Duration::from_micros(100);

/// Futex words owners sleep on (see the module's Waking section). A round
/// uses two stamps and the queue a third, so eight slots keep live
/// batches apart.
const SLOTS: usize = 8;

/// What a job's closure did.
enum Ran {
    Kept,
    Failed,
}

/// A caller's closure wrapper: runs the closure once, stores its value in
/// the caller's frame and says whether its writes are to be kept.
type Runner<'a> = dyn FnMut(&mut WriteTx<'_>) -> Ran + Send + 'a;

struct Job {
    /// Erased `&mut Runner<'caller>`; see the module's Safety section.
    run: *mut Runner<'static>,
    /// Finished: the owner may read its result and return.
    done: AtomicBool,
    /// The slot its owner sleeps on; set before the job is queued.
    slot: usize,
    /// Set before DONE when the job's writes were not committed although
    /// its closure succeeded (commit failed, or the batch was aborted).
    failure: Mutex<Option<StorageError>>,
}

/// A queued job, as the combiner sees it.
#[derive(Clone, Copy)]
struct JobRef(*const Job);

// SAFETY: a `Job` is only touched by its owner and by the one combiner,
// which hands results back through `state` (release/acquire) and the
// `failure` mutex; the closure it points to is `Send`.
unsafe impl Send for JobRef {}

impl JobRef {
    /// # Safety
    /// The job must not be done (its owner is still waiting in `write`).
    unsafe fn job(&self) -> &Job {
        // SAFETY: the caller's contract: the owner's frame is alive.
        unsafe { &*self.0 }
    }

    /// Runs the job's closure.
    ///
    /// # Safety
    /// As for [`job`](Self::job), and only the combiner calls this, once.
    unsafe fn run(&self, tx: &mut WriteTx<'_>) -> Ran {
        // SAFETY: the owner is waiting, so its runner is alive and borrowed
        // by nobody else.
        unsafe { (*self.job().run)(tx) }
    }

    /// Marks the job done; after this the job must not be touched. Its
    /// owner wakes when the combiner wakes the batch's slots.
    ///
    /// # Safety
    /// As for [`job`](Self::job).
    unsafe fn finish(self, failure: Option<StorageError>) {
        // SAFETY: not yet done, so the owner's frame is alive.
        let job = unsafe { self.job() };
        if failure.is_some() {
            *job.failure.lock() = failure;
        }
        job.done.store(true, Ordering::Release);
    }
}

/// The jobs a combiner has taken and not finished. Closures, begin and
/// commit run under `catch_unwind`; should anything else in a round panic
/// (an undo or a table drop inside redb), dropping this while unwinding
/// finishes those jobs with an error and hands the role on, so no owner
/// waits forever.
struct Taken<'c> {
    combiner: &'c Combiner,
    /// Slots of every job taken (bit `i`: slot `i`).
    slots: u32,
    pending: VecDeque<JobRef>,
    kept: Vec<JobRef>,
    /// The job whose closure is running or being undone.
    current: Option<JobRef>,
}

impl Drop for Taken<'_> {
    fn drop(&mut self) {
        if !thread::panicking() {
            return;
        }
        let jobs = self.current.take().into_iter();
        let jobs = jobs
            .chain(self.pending.drain(..))
            .chain(self.kept.drain(..));
        for job in jobs {
            // SAFETY: taken and not finished (finished jobs leave these lists).
            unsafe {
                job.finish(Some(StorageError::other(
                    "storage panicked during the batch",
                )));
            };
        }
        self.combiner.end_round(self.slots);
    }
}

#[derive(Default)]
struct Queue {
    jobs: VecDeque<JobRef>,
    /// The role is taken (a thread is combining, or it is vacant and one
    /// of the queued jobs' owners is about to claim it); it is given up
    /// only with `jobs` empty.
    combining: bool,
    /// Stamp of the jobs queued now; moves on when a round starts and
    /// when it stops taking jobs.
    stamp: usize,
}

pub(crate) struct Combiner {
    queue: Mutex<Queue>,
    /// The role was handed on and no owner has claimed it yet.
    vacant: AtomicBool,
    /// Futex words owners sleep on; bumped before every wake.
    slots: [Futex; SLOTS],
    /// Owners about to sleep or sleeping on each slot: a wake of a slot
    /// nobody sleeps on makes no system call (a lone writer never does).
    sleepers: [AtomicU32; SLOTS],
    commits: AtomicU64,
    /// Owners of the last round's jobs that have not come back with
    /// another write yet (a hint: any caller queuing a job counts one
    /// down).
    returning: AtomicUsize,
    /// How long a round waits for them (tests lengthen it).
    straggler_wait: Duration,
}

impl Default for Combiner {
    fn default() -> Self {
        Self {
            queue: Mutex::default(),
            vacant: AtomicBool::default(),
            slots: Default::default(),
            sleepers: Default::default(),
            commits: AtomicU64::default(),
            returning: AtomicUsize::default(),
            straggler_wait: STRAGGLER_WAIT,
        }
    }
}

type CommitFn<'a> = &'a dyn Fn(redb::WriteTransaction, &[u8]) -> Result<(), StorageError>;

/// How the combiner opens and commits its transactions (the storage's
/// begin and commit, see [`RedbStore::write`](super::RedbStore::write)).
struct Backend<'a> {
    begin: &'a dyn Fn() -> Result<redb::WriteTransaction, StorageError>,
    /// Commits with the transaction's redo records.
    commit: CommitFn<'a>,
    journaled: bool,
}

impl Combiner {
    /// Commits that carried at least one closure's writes.
    #[cfg(test)]
    pub(crate) fn commits(&self) -> u64 {
        self.commits.load(Ordering::Relaxed)
    }

    /// Jobs queued and not yet taken by a combiner (tests use it to force
    /// two closures into one batch).
    #[cfg(test)]
    pub(crate) fn queued(&self) -> usize {
        self.queue.lock().jobs.len()
    }

    pub(crate) fn write<T, E>(
        &self,
        begin: impl Fn() -> Result<redb::WriteTransaction, StorageError>,
        commit: impl Fn(redb::WriteTransaction, &[u8]) -> Result<(), StorageError>,
        journaled: bool,
        f: impl FnOnce(&mut WriteTx<'_>) -> Result<T, E> + Send,
    ) -> Result<T, E>
    where
        T: Send,
        E: From<StorageError> + Send,
    {
        let mut f = Some(f);
        let mut result: Option<Result<T, E>> = None;
        let mut panicked: Option<Box<dyn std::any::Any + Send>> = None;
        let mut runner = |tx: &mut WriteTx<'_>| -> Ran {
            let Some(f) = f.take() else {
                return Ran::Failed;
            };
            match panic::catch_unwind(AssertUnwindSafe(|| f(tx))) {
                Ok(Ok(value)) => {
                    result = Some(Ok(value));
                    Ran::Kept
                }
                Ok(Err(e)) => {
                    result = Some(Err(e));
                    Ran::Failed
                }
                Err(payload) => {
                    panicked = Some(payload);
                    Ran::Failed
                }
            }
        };
        let run: *mut Runner<'_> = &raw mut runner;
        // `cast` cannot change a trait object's lifetime.
        #[allow(clippy::transmute_ptr_to_ptr)]
        // SAFETY: only the lifetime is erased; this frame outlives every
        // use of the pointer (see the module's Safety section).
        let run = unsafe { std::mem::transmute::<*mut Runner<'_>, *mut Runner<'static>>(run) };
        let mut job = Job {
            run,
            done: AtomicBool::new(false),
            slot: 0,
            failure: Mutex::new(None),
        };
        let lead = {
            let mut queue = self.queue.lock();
            job.slot = queue.stamp % SLOTS;
            queue.jobs.push_back(JobRef(&raw const job));
            // Counted back only once queued, under the queue's lock: a
            // combiner that sees nobody left to wait for then finds this
            // job when it next takes. Saturating: a caller that was not
            // in the last round counts down one that will not come back,
            // which only shortens a wait.
            let _ = self
                .returning
                .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| n.checked_sub(1));
            !std::mem::replace(&mut queue.combining, true)
        };
        let backend = Backend {
            begin: &begin,
            commit: &commit,
            journaled,
        };
        if lead {
            self.combine(&backend);
        }
        self.wait(&job, &backend);
        if let Some(payload) = panicked {
            panic::resume_unwind(payload);
        }
        match (result, job.failure.lock().take()) {
            (Some(Err(e)), _) => Err(e),
            (_, Some(failure)) => Err(failure.into()),
            (Some(Ok(value)), None) => Ok(value),
            (None, None) => Err(StorageError::other("write was never run").into()),
        }
    }

    /// Sleeps until `job` is done, combining whenever the role is vacant.
    fn wait(&self, job: &Job, backend: &Backend<'_>) {
        let word = &self.slots[job.slot];
        let sleepers = &self.sleepers[job.slot];
        loop {
            // Counted before the word is read, and the waker bumps the word
            // before it reads the count, each with a SeqCst fence between:
            // either it sees this sleeper, or this sleeper sees its bump, so
            // no wake is lost. Fences rather than SeqCst accesses because
            // loom models those only as AcqRel (and then reports this
            // handshake as a deadlock); one fence per sleep or wake costs
            // nothing next to the futex call.
            sleepers.fetch_add(1, Ordering::Relaxed);
            fence(Ordering::SeqCst);
            // A wake after this read changes the word, so the `wait` below
            // returns at once instead of missing it. Acquire: a bump seen
            // here also shows the vacancy set before it (`hand_on`).
            let seen = word.load(Ordering::Acquire);
            let done = job.done.load(Ordering::Acquire);
            let lead = !done
                && self.vacant.load(Ordering::Relaxed)
                && self.vacant.swap(false, Ordering::Acquire);
            if !done && !lead {
                word.wait(seen);
            }
            sleepers.fetch_sub(1, Ordering::Relaxed);
            if done {
                return;
            }
            if lead {
                self.combine(backend);
            }
        }
    }

    /// Wakes every owner sleeping on the slots in `mask`.
    fn wake(&self, mask: u32) {
        for slot in 0..SLOTS {
            if mask & (1 << slot) != 0 {
                self.signal(slot, true);
            }
        }
    }

    /// Bumps a slot's word, then wakes one or all of its sleepers, if it
    /// has any: the waker's half of the ordering in [`wait`](Self::wait).
    fn signal(&self, slot: usize, all: bool) {
        let word = &self.slots[slot];
        word.fetch_add(1, Ordering::Release);
        fence(Ordering::SeqCst);
        if self.sleepers[slot].load(Ordering::Relaxed) == 0 {
            return;
        }
        if all {
            word.wake_all();
        } else {
            word.wake_one();
        }
    }

    /// Takes up to `room` queued jobs, adding their slots to `slots`. The
    /// stamp moves on at a round's first take (`first`) and at the take
    /// that finds nothing (the round stops taking), so jobs queued later
    /// sleep on other slots than this round's.
    fn take(&self, into: &mut VecDeque<JobRef>, slots: &mut u32, room: usize, first: bool) {
        let mut queue = self.queue.lock();
        let n = queue.jobs.len().min(room);
        for job in queue.jobs.drain(..n) {
            // SAFETY: queued, so not done.
            *slots |= 1 << unsafe { job.job() }.slot;
            into.push_back(job);
        }
        if first || n == 0 {
            queue.stamp = queue.stamp.wrapping_add(1);
        }
    }

    /// One combining round: runs the queued jobs in as few transactions as
    /// failures allow (normally one), commits, finishes every job, then
    /// hands the role on.
    fn combine(&self, backend: &Backend<'_>) {
        let mut t = Taken {
            combiner: self,
            slots: 0,
            pending: VecDeque::new(),
            kept: Vec::new(),
            current: None,
        };
        self.take(&mut t.pending, &mut t.slots, MAX_BATCH, true);
        let mut taken = t.pending.len();
        while !t.pending.is_empty() {
            let txn = match panic::catch_unwind(AssertUnwindSafe(backend.begin)) {
                Ok(Ok(txn)) => txn,
                Ok(Err(e)) => return self.fail_all(&mut t, &e),
                Err(_) => {
                    return self.fail_all(
                        &mut t,
                        &StorageError::other("write transaction failed to begin"),
                    );
                }
            };
            let mut tx = WriteTx::new(&txn, backend.journaled);
            let mut broken = false;
            while let Some(job) = t.pending.pop_front() {
                t.current = Some(job);
                tx.track_undo(true);
                // SAFETY: taken from the queue and not finished yet.
                let ran = unsafe { job.run(&mut tx) };
                if tx.is_broken() {
                    // The transaction cannot be trusted: nothing in it stays.
                    let failure = matches!(ran, Ran::Kept)
                        .then(|| StorageError::other("write failed inside the transaction"));
                    t.current = None;
                    // SAFETY: as above.
                    unsafe { job.finish(failure) };
                    broken = true;
                    break;
                }
                match ran {
                    Ran::Kept => t.kept.push(job),
                    Ran::Failed => broken = tx.undo().is_err(),
                }
                if t.current.take().is_some() && matches!(ran, Ran::Failed) {
                    // SAFETY: as above.
                    unsafe { job.finish(None) };
                }
                if broken {
                    break;
                }
                if t.pending.is_empty() && taken < MAX_BATCH {
                    self.await_returners();
                    let before = t.pending.len();
                    self.take(&mut t.pending, &mut t.slots, MAX_BATCH - taken, false);
                    taken += t.pending.len() - before;
                }
            }
            tx.track_undo(false);
            let redo = tx.take_redo();
            drop(tx);
            let kept = std::mem::take(&mut t.kept);
            if broken || kept.is_empty() {
                let _ = panic::catch_unwind(AssertUnwindSafe(|| txn.abort()));
                for job in kept {
                    // SAFETY: kept jobs are not finished yet.
                    unsafe {
                        job.finish(Some(StorageError::other(
                            "transaction aborted: another write in its batch failed in storage",
                        )));
                    };
                }
                continue;
            }
            t.kept = kept;
            debug_assert!(
                t.current.is_none() && taken <= MAX_BATCH,
                "a commit with a closure still running, or past the batch limit"
            );
            let outcome =
                match panic::catch_unwind(AssertUnwindSafe(|| (backend.commit)(txn, &redo))) {
                    Ok(Ok(())) => None,
                    Ok(Err(e)) => Some(e),
                    Err(_) => Some(StorageError::other("commit panicked inside redb")),
                };
            self.commits.fetch_add(1, Ordering::Relaxed);
            for job in t.kept.drain(..) {
                // SAFETY: kept jobs are not finished yet.
                unsafe { job.finish(outcome.as_ref().map(StorageError::duplicate)) };
            }
        }
        // Every job taken was finished exactly once (kept jobs with their
        // commit's outcome, failed ones with their own), so no owner is
        // left waiting when the role is handed on.
        debug_assert!(
            t.pending.is_empty() && t.kept.is_empty() && t.current.is_none(),
            "a round ends with unfinished jobs"
        );
        self.returning.store(taken, Ordering::Relaxed);
        self.end_round(t.slots);
    }

    /// Waits while owners of the last round are still to come back and
    /// the queue is empty, for at most [`STRAGGLER_WAIT`]; the combiner
    /// calls it each time it runs out of jobs, so the wait starts afresh
    /// after every job that arrives. Yields rather than sleeps: the owners
    /// it waits for need this core to get here, and a sleep would cost
    /// them a wake.
    fn await_returners(&self) {
        let since = Instant::now();
        while self.returning.load(Ordering::Relaxed) > 0
            && self.queue.lock().jobs.is_empty()
            && since.elapsed() < self.straggler_wait
        {
            thread::yield_now();
        }
    }

    /// Finishes every pending job with `msg` (their closures did not run),
    /// then ends the round.
    fn fail_all(&self, t: &mut Taken<'_>, failure: &StorageError) {
        for job in t.pending.drain(..) {
            // SAFETY: taken from the queue and not finished yet.
            unsafe { job.finish(Some(failure.duplicate())) };
        }
        self.end_round(t.slots);
    }

    /// Hands the role on, then wakes the owners of a round's jobs (all
    /// finished). In that order because waking ~60 owners takes this
    /// thread ~0.6 ms of system calls here, and the owners woken first
    /// queue their next writes meanwhile: a new round can take them at
    /// once instead of after the last wake.
    fn end_round(&self, slots: u32) {
        self.hand_on();
        self.wake(slots);
    }

    /// Leaves the role vacant for the owners of the queued jobs (waking
    /// one of them), or retires if nothing is queued.
    fn hand_on(&self) {
        let slot = {
            let mut queue = self.queue.lock();
            let Some(next) = queue.jobs.front() else {
                queue.combining = false;
                return;
            };
            // SAFETY: a queued job is not finished; its owner waits.
            unsafe { next.job() }.slot
        };
        self.vacant.store(true, Ordering::Release);
        self.signal(slot, false);
    }
}

#[cfg(all(test, loom))]
mod loom_tests;

#[cfg(test)]
mod tests {
    use std::sync::Barrier;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::time::{Duration, Instant};

    use super::super::RedbStore;
    use super::super::tests::{reservation, seat};
    use crate::error::StorageError;
    use crate::model::ReservationStatus;
    use crate::store::{Durability, SeatStatus};

    fn storage(group_commit: bool) -> (tempfile::TempDir, RedbStore) {
        let dir = tempfile::tempdir().unwrap();
        let s = RedbStore::open_with(&dir.path().join("t.redb"), Durability::None, group_commit)
            .unwrap_or_else(|_| panic!("open"));
        (dir, s)
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
    /// `second` is queued, and the combiner then runs `second` before the
    /// commit.
    fn in_one_batch<A: Send, B: Send>(
        s: &RedbStore,
        first: impl FnOnce(&mut super::WriteTx<'_>) -> Result<A, Refused> + Send,
        second: impl FnOnce(&mut super::WriteTx<'_>) -> Result<B, Refused> + Send,
    ) -> (Result<A, Refused>, Result<B, Refused>) {
        let combiner = s.combiner.as_ref().unwrap();
        let started = AtomicBool::new(false);
        std::thread::scope(|scope| {
            let a = scope.spawn(|| {
                s.write(|tx| {
                    started.store(true, std::sync::atomic::Ordering::SeqCst);
                    while combiner.queued() < 1 {
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

    /// A storage whose rounds wait `wait` for returning writers, after
    /// one round of two writers (so two are expected back).
    fn after_a_round_of_two(wait: Duration) -> (tempfile::TempDir, RedbStore) {
        let (dir, mut s) = storage(true);
        s.combiner.as_mut().unwrap().straggler_wait = wait;
        let (a, b) = in_one_batch(
            &s,
            |tx| {
                tx.put_reservation(1, &reservation(100, ReservationStatus::Active))
                    .map_err(Refused::from)
            },
            |tx| {
                tx.put_reservation(2, &reservation(100, ReservationStatus::Active))
                    .map_err(Refused::from)
            },
        );
        a.unwrap();
        b.unwrap();
        (dir, s)
    }

    /// The second writer of the last round comes back late, after the
    /// first one's closure ran and found the queue empty: the round waits
    /// for it, and both share one commit instead of two.
    #[test]
    fn a_round_waits_for_the_last_rounds_writers_to_come_back() {
        let (_dir, s) = after_a_round_of_two(Duration::from_secs(30));
        let before = s.commits();
        let first_ran = AtomicBool::new(false);
        std::thread::scope(|scope| {
            scope.spawn(|| {
                s.write(|tx| {
                    first_ran.store(true, Ordering::SeqCst);
                    tx.put_reservation(3, &reservation(100, ReservationStatus::Active))
                })
                .unwrap();
            });
            scope.spawn(|| {
                while !first_ran.load(Ordering::SeqCst) {
                    std::thread::yield_now();
                }
                // Late on purpose: without the wait, the first write would
                // have committed on its own by now.
                std::thread::sleep(Duration::from_millis(50));
                s.write(|tx| tx.put_reservation(4, &reservation(100, ReservationStatus::Active)))
                    .unwrap();
            });
        });
        assert_eq!(s.commits(), before + 1, "the late writer joined the round");
    }

    /// A writer of the last round that never comes back delays the next
    /// commit by the straggler wait, no more.
    #[test]
    fn a_writer_that_does_not_come_back_delays_a_commit_by_the_straggler_wait_only() {
        let wait = Duration::from_millis(200);
        let (_dir, s) = after_a_round_of_two(wait);
        let started = Instant::now();
        s.write(|tx| tx.put_reservation(3, &reservation(100, ReservationStatus::Active)))
            .unwrap();
        let took = started.elapsed();
        assert!(took >= wait, "committed after {took:?} without waiting");
        assert!(took < wait * 20, "still waiting after {took:?}");
        // That round had one writer, and it is the one writing now.
        let started = Instant::now();
        s.write(|tx| tx.put_reservation(4, &reservation(100, ReservationStatus::Active)))
            .unwrap();
        assert!(started.elapsed() < wait, "a lone writer waited for itself");
    }

    #[test]
    fn failing_closure_leaves_no_writes_and_its_batch_mates_commit() {
        let (_dir, s) = storage(true);
        failing_closure_in_a_batch(&s);
    }

    /// The same with the journal: the failing closure's redo records are
    /// dropped with its writes, so replaying the batch's group (into a
    /// database file that lost the batch) brings back only its mate's.
    #[test]
    fn a_failing_closure_leaves_nothing_in_the_journal() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.redb");
        let s =
            RedbStore::open_with(&path, Durability::Full, true).unwrap_or_else(|_| panic!("open"));
        let at_open = std::fs::read(&path).unwrap();
        failing_closure_in_a_batch(&s);
        s.drop_as_if_crashed();
        std::fs::write(&path, at_open).unwrap();
        let s =
            RedbStore::open_with(&path, Durability::Full, true).unwrap_or_else(|_| panic!("open"));
        check_after_failing_closure(&s);
    }

    fn failing_closure_in_a_batch(s: &RedbStore) {
        // Reservation 5 exists and is ACTIVE before the batch.
        s.write(|tx| tx.put_reservation(5, &reservation(500, ReservationStatus::Active)))
            .unwrap();
        let before = s.commits();
        let (a, b) = in_one_batch(
            s,
            |tx| {
                tx.put_reservation(1, &reservation(100, ReservationStatus::Active))?;
                Ok(1)
            },
            |tx| {
                // Writes a new row, overwrites an existing one, then fails
                // (as confirm does when its second seat is gone).
                tx.put_seat("app", "S1", &seat("E1", SeatStatus::Booked))?;
                tx.put_reservation(2, &reservation(200, ReservationStatus::Active))?;
                tx.put_reservation(5, &reservation(500, ReservationStatus::Released))?;
                tx.drop_holds(&[(500, 5)])?;
                Err::<(), _>(Refused)
            },
        );
        assert_eq!(a.unwrap(), 1);
        assert!(b.is_err());
        assert_eq!(s.commits(), before + 1, "both closures shared one commit");
        check_after_failing_closure(s);
    }

    fn check_after_failing_closure(s: &RedbStore) {
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

    /// A panic poisons the storage (see `RedbStore::write`): the panicking
    /// closure's batch mate is not committed either (it gets an error, not
    /// an acknowledgement), and every later write is refused.
    #[test]
    fn panicking_closure_poisons_its_batch_and_the_panic_reaches_its_caller() {
        let (_dir, s) = storage(true);
        let before = s.commits();
        let first = std::sync::Mutex::new(None);
        let second = std::thread::scope(|scope| {
            let h = scope.spawn(|| {
                in_one_batch(
                    &s,
                    |tx| {
                        let r = tx
                            .put_seat("app", "A", &seat("E1", SeatStatus::Available))
                            .map_err(Refused::from);
                        *first.lock().unwrap() = Some(());
                        r
                    },
                    |tx| -> Result<(), Refused> {
                        tx.put_seat("app", "B", &seat("E1", SeatStatus::Available))?;
                        panic!("boom")
                    },
                )
            });
            // The scope re-raises the second thread's panic through join.
            h.join().is_err()
        });
        assert!(
            first.into_inner().unwrap().is_some(),
            "the first closure ran"
        );
        assert!(second, "the panic must reach the caller");
        assert_eq!(s.commits(), before + 1, "the batch reached its commit");
        let r = s.read().unwrap();
        assert!(
            r.seat("app", "A").unwrap().is_none(),
            "batch mate committed"
        );
        assert!(r.seat("app", "B").unwrap().is_none());
        assert!(
            s.write(|tx| tx.put_seat("app", "C", &seat("E1", SeatStatus::Available)))
                .is_err()
        );
    }

    #[test]
    fn a_closure_alone_that_fails_is_aborted() {
        for group in [true, false] {
            let (_dir, s) = storage(group);
            let r: Result<(), Refused> = s.write(|tx| {
                tx.put_seat("app", "S1", &seat("E1", SeatStatus::Available))?;
                Err(Refused)
            });
            assert!(r.is_err());
            assert!(s.read().unwrap().seat("app", "S1").unwrap().is_none());
            s.write(|tx| tx.put_seat("app", "S2", &seat("E1", SeatStatus::Available)))
                .unwrap();
            assert!(s.read().unwrap().seat("app", "S2").unwrap().is_some());
        }
    }

    /// Owners sleep on shared words and claim a vacant role themselves: a
    /// lost wake-up would leave a writer asleep forever. Threads write in
    /// lockstep (a barrier before every write), so each burst ends with
    /// writers queued behind a combiner and no newcomer to claim the role:
    /// the hand-on wake and the batch wake must both work. A watchdog
    /// turns a hang into a failure.
    #[test]
    fn no_writer_is_left_asleep_under_churn() {
        const THREADS: u64 = 24;
        const EACH: u64 = 200;
        let (_dir, s) = storage(true);
        let s = std::sync::Arc::new(s);
        let barrier = std::sync::Arc::new(Barrier::new(THREADS as usize));
        let (tx, rx) = std::sync::mpsc::channel();
        for t in 0..THREADS {
            let (s, barrier, tx) = (s.clone(), barrier.clone(), tx.clone());
            std::thread::spawn(move || {
                let mut sum = 0;
                for i in 0..EACH {
                    let id = t * 10_000 + i + 1;
                    barrier.wait();
                    sum += s
                        .write(|tx| {
                            tx.put_reservation(id, &reservation(id, ReservationStatus::Active))?;
                            Ok::<_, StorageError>(id)
                        })
                        .unwrap();
                }
                tx.send(sum).unwrap();
            });
        }
        drop(tx);
        let mut total = 0;
        for _ in 0..THREADS {
            total += rx
                .recv_timeout(std::time::Duration::from_secs(120))
                .expect("a writer never returned: lost wake-up");
        }
        let expected: u64 = (0..THREADS)
            .flat_map(|t| (0..EACH).map(move |i| t * 10_000 + i + 1))
            .sum();
        assert_eq!(total, expected);
        assert_eq!(
            s.read().unwrap().all_reservations().unwrap().len() as u64,
            THREADS * EACH
        );
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
                            tx.put_reservation(id, &reservation(id, ReservationStatus::Active))?;
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
