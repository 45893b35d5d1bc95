//! Model tests of the group-commit protocol, run by loom over every
//! interleaving of 2–3 writers within a preemption bound (see
//! docs/reliability.md, "Model checking"). Built only with
//! `RUSTFLAGS="--cfg loom"`; run with
//! `cargo test --release --lib loom_` (and `--target-dir target/loom`).
//!
//! The real [`Combiner`] runs against a real redb database (in memory):
//! the queue, the stamps, the futex slots (modelled, see `crate::sync`),
//! the hand-on of the role and the straggler wait are the production code.
//! What the tests add is bookkeeping: each closure notes that it ran, the
//! commit notes which closures' writes it made durable, and each writer
//! checks what it got back against that.
//!
//! Checked in every interleaving:
//! * every closure runs exactly once, and every write whose closure
//!   succeeded is committed exactly once;
//! * a writer returns `Ok` only after the commit that carried its write,
//!   and gets its own value (results go to the right owner);
//! * a failing closure's owner gets its own error, a failed commit's
//!   owners get the storage error, and neither write is in a commit;
//! * no two threads run closures at once (the combiner role is never held
//!   twice): a closure yields to loom in the middle of its work, and a
//!   second combiner would find the first one's closure still running;
//! * no writer is left asleep: a lost wake-up leaves every thread blocked,
//!   which loom reports as a deadlock.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use loom::sync::atomic::AtomicBool;

use super::Combiner;
use crate::error::StorageError;
use crate::model::ReservationStatus;
use crate::store::redb::tests::reservation;
use crate::sync::Ordering;

/// One write of a model writer.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Write {
    /// The closure succeeds with `id * 10`.
    Keeps,
    /// The closure writes, then fails with its own id.
    Fails,
}

#[derive(Debug, PartialEq, Eq)]
enum Refused {
    Closure(u64),
    Storage,
}

impl From<StorageError> for Refused {
    fn from(_: StorageError) -> Self {
        Self::Storage
    }
}

/// What the closures and the commits did, in the order they did it.
#[derive(Default)]
struct Log {
    /// How often each write's closure ran.
    runs: HashMap<u64, u32>,
    /// Writes kept by their closures in the transaction being built.
    staged: Vec<u64>,
    /// Writes in a successful commit, in commit order.
    committed: Vec<u64>,
    /// Writes in a commit that failed.
    lost: Vec<u64>,
}

struct World {
    combiner: Combiner,
    db: redb::Database,
    log: std::sync::Mutex<Log>,
    /// A closure is running (set and cleared around a loom yield).
    running: AtomicBool,
    /// Every commit fails.
    commits_fail: bool,
}

impl World {
    fn new(commits_fail: bool) -> Self {
        let db = redb::Database::builder()
            .create_with_backend(redb::backends::InMemoryBackend::new())
            .expect("in-memory database");
        Self {
            combiner: Combiner::default(),
            db,
            log: std::sync::Mutex::default(),
            running: AtomicBool::new(false),
            commits_fail,
        }
    }

    fn log(&self) -> std::sync::MutexGuard<'_, Log> {
        self.log.lock().unwrap()
    }

    /// One write through the combiner, checked as the owner sees it.
    fn write(&self, id: u64, what: Write) {
        let got = self.combiner.write(
            || Ok(self.db.begin_write()?),
            |txn, _redo| {
                // A commit takes time (a sync): other threads run meanwhile.
                loom::thread::yield_now();
                let mut log = self.log();
                let batch = std::mem::take(&mut log.staged);
                if self.commits_fail {
                    log.lost.extend(batch);
                    drop(txn);
                    return Err(StorageError::io("injected commit failure"));
                }
                txn.commit()?;
                log.committed.extend(batch);
                Ok(())
            },
            false,
            |tx| {
                assert!(
                    !self.running.swap(true, Ordering::SeqCst),
                    "two threads run closures at once"
                );
                *self.log().runs.entry(id).or_default() += 1;
                tx.put_reservation(id, &reservation(id, ReservationStatus::Active))?;
                // Another combiner, if there were one, could run here.
                loom::thread::yield_now();
                self.running.store(false, Ordering::SeqCst);
                if what == Write::Fails {
                    return Err(Refused::Closure(id));
                }
                self.log().staged.push(id);
                Ok(id * 10)
            },
        );
        let log = self.log();
        match (what, got) {
            (Write::Keeps, Ok(value)) => {
                assert_eq!(value, id * 10, "write {id} got another writer's result");
                assert!(
                    log.committed.contains(&id),
                    "write {id} returned before its commit"
                );
            }
            (Write::Keeps, Err(Refused::Storage)) => {
                assert!(self.commits_fail, "write {id} failed without cause");
                assert!(log.lost.contains(&id), "write {id} failed outside a commit");
            }
            (Write::Fails, Err(Refused::Closure(owner))) => {
                assert_eq!(owner, id, "write {id} got another writer's error");
            }
            (what, got) => panic!("write {id} ({what:?}) returned {got:?}"),
        }
    }

    /// After every writer returned: each closure ran once, and exactly
    /// the kept writes were committed, once each.
    fn check_end(&self, writers: &[&[Write]]) {
        let log = self.log();
        let mut kept = HashSet::new();
        for (id, what) in ids(writers) {
            assert_eq!(log.runs.get(&id), Some(&1), "write {id} ran not once");
            if what == Write::Keeps && !self.commits_fail {
                kept.insert(id);
            }
        }
        assert!(log.staged.is_empty(), "a kept write was never committed");
        let committed: HashSet<u64> = log.committed.iter().copied().collect();
        assert_eq!(
            committed.len(),
            log.committed.len(),
            "a write committed twice"
        );
        assert_eq!(committed, kept);
    }
}

/// The writes of `writers` with their ids: writer `w`'s `i`th write is
/// `100 * (w + 1) + i`.
fn ids(writers: &[&[Write]]) -> impl Iterator<Item = (u64, Write)> {
    writers.iter().enumerate().flat_map(|(w, writes)| {
        writes
            .iter()
            .enumerate()
            .map(move |(i, &what)| (100 * (w as u64 + 1) + i as u64, what))
    })
}

/// Explores every interleaving of `writers`, one thread each, doing their
/// writes in order, within the preemption bound of `LOOM_MAX_PREEMPTIONS`
/// (2 when unset). Prints how many interleavings it explored
/// (`--nocapture` shows it).
fn check(writers: &'static [&'static [Write]], commits_fail: bool) {
    let mut builder = loom::model::Builder::new();
    builder.preemption_bound = builder.preemption_bound.or(Some(2));
    let runs = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counted = runs.clone();
    builder.check(move || {
        counted.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let world = Arc::new(World::new(commits_fail));
        let threads: Vec<_> = (0..writers.len())
            .map(|w| {
                let world = world.clone();
                loom::thread::spawn(move || {
                    for (i, &what) in writers[w].iter().enumerate() {
                        world.write(100 * (w as u64 + 1) + i as u64, what);
                    }
                })
            })
            .collect();
        for thread in threads {
            thread.join().unwrap();
        }
        world.check_end(writers);
    });
    eprintln!(
        "{} interleavings",
        runs.load(std::sync::atomic::Ordering::Relaxed)
    );
}

#[test]
fn loom_two_writers_commit_each_write_once_and_get_their_own_results() {
    check(&[&[Write::Keeps, Write::Keeps], &[Write::Keeps]], false);
}

#[test]
fn loom_three_writers_share_commits_and_none_is_left_asleep() {
    check(&[&[Write::Keeps], &[Write::Keeps], &[Write::Keeps]], false);
}

#[test]
fn loom_a_failing_closure_wakes_its_owner_with_its_own_error() {
    check(&[&[Write::Fails, Write::Keeps], &[Write::Keeps]], false);
}

#[test]
fn loom_a_failed_commit_wakes_every_owner_in_it_with_the_error() {
    check(&[&[Write::Keeps], &[Write::Keeps]], true);
}
