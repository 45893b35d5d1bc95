//! The synchronisation primitives of the two hand-made concurrent
//! protocols, the group committer (`store::redb::commit`) and the lock
//! table's slots (`locks::slot`, `locks::table`), behind one set of names,
//! so that the model checker [loom] can run them.
//!
//! Owns nothing but these names. Normally they are the primitives the code
//! always used (std's atomics, `parking_lot`'s mutex, `atomic-wait`'s futex
//! calls, std's clock), re-exported or wrapped at no cost. Built with
//! `RUSTFLAGS="--cfg loom"` they are loom's, whose every operation is a
//! point where loom may switch threads, so a model test explores every
//! interleaving of the protocol within its bounds (see docs/reliability.md,
//! "Model checking"). Code outside those protocols must not use this
//! module: under `cfg(loom)` its primitives work only inside `loom::model`.
//!
//! Two primitives have no loom counterpart, so under loom they are
//! modelled with the semantics the protocols rely on, and no more:
//!
//! * [`Futex`]: a futex word. `wait(seen)` returns at once if the word is
//!   no longer `seen`, and otherwise sleeps until a `wake_one` or
//!   `wake_all` (the real futex may also return spuriously; callers loop).
//!   The model keeps a loom mutex and condition variable beside the word:
//!   the check and the sleep happen under the mutex, and a wake takes it,
//!   which is the atomicity the kernel gives (a waker that changed the word
//!   before the check is seen by the check; one that changed it after
//!   finds the sleeper asleep). A lost wake-up then shows as a deadlock,
//!   which loom reports.
//! * [`Instant`]: the group committer's straggler wait is a spin loop with
//!   a deadline. Under loom time does not pass, so a deadline would never
//!   come; instead an `Instant` has elapsed nothing when first asked and
//!   "forever" from then on, so the wait loop checks once, yields once
//!   (letting loom run any other thread there) and gives up. The loop only
//!   reads, so how long it spins changes nothing but when the combiner
//!   next acts, and loom already explores every such point.
//!
//! [loom]: https://docs.rs/loom

#[cfg(not(loom))]
pub(crate) use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, AtomicUsize, fence};
#[cfg(not(loom))]
pub(crate) use std::time::Instant;

#[cfg(loom)]
pub(crate) use loom::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, AtomicUsize, fence};

pub(crate) use std::sync::atomic::Ordering;

/// A mutex that does not poison (`parking_lot`'s; under loom, loom's
/// behind the same `lock` signature).
#[cfg(not(loom))]
pub(crate) use parking_lot::Mutex;

/// Thread operations the protocols use.
pub(crate) mod thread {
    #[cfg(loom)]
    pub(crate) use loom::thread::yield_now;
    pub(crate) use std::thread::panicking;
    #[cfg(not(loom))]
    pub(crate) use std::thread::yield_now;
}

/// Spin-loop hint (under loom, a yield: a spinning thread must let the
/// one it waits for run).
pub(crate) mod hint {
    #[cfg(loom)]
    pub(crate) use loom::hint::spin_loop;
    #[cfg(not(loom))]
    pub(crate) use std::hint::spin_loop;
}

/// A futex word: an [`AtomicU32`] that threads can sleep on until it
/// changes (see the module doc for the model under loom).
#[derive(Default)]
pub(crate) struct Futex {
    word: AtomicU32,
    #[cfg(loom)]
    sleep: loom::sync::Mutex<()>,
    #[cfg(loom)]
    woken: loom::sync::Condvar,
}

impl std::ops::Deref for Futex {
    type Target = AtomicU32;

    fn deref(&self) -> &AtomicU32 {
        &self.word
    }
}

#[cfg(not(loom))]
impl Futex {
    /// Sleeps while the word is `seen`; may return spuriously.
    pub(crate) fn wait(&self, seen: u32) {
        atomic_wait::wait(&self.word, seen);
    }

    /// Wakes one thread sleeping on the word.
    pub(crate) fn wake_one(&self) {
        atomic_wait::wake_one(&raw const self.word);
    }

    /// Wakes every thread sleeping on the word.
    pub(crate) fn wake_all(&self) {
        atomic_wait::wake_all(&raw const self.word);
    }
}

#[cfg(loom)]
impl Futex {
    /// Sleeps while the word is `seen`, until a wake.
    pub(crate) fn wait(&self, seen: u32) {
        let guard = self.sleep.lock().unwrap();
        if self.word.load(Ordering::SeqCst) == seen {
            drop(self.woken.wait(guard).unwrap());
        }
    }

    /// Wakes one thread sleeping on the word.
    pub(crate) fn wake_one(&self) {
        let _guard = self.sleep.lock().unwrap();
        self.woken.notify_one();
    }

    /// Wakes every thread sleeping on the word.
    pub(crate) fn wake_all(&self) {
        let _guard = self.sleep.lock().unwrap();
        self.woken.notify_all();
    }
}

/// loom's mutex with `parking_lot`'s signature: `lock` returns the guard.
#[cfg(loom)]
#[derive(Default)]
pub(crate) struct Mutex<T>(loom::sync::Mutex<T>);

#[cfg(loom)]
impl<T> Mutex<T> {
    pub(crate) fn new(value: T) -> Self {
        Self(loom::sync::Mutex::new(value))
    }

    /// Locks; a panic while locked fails the model anyway, so poisoning
    /// is ignored as `parking_lot` does.
    pub(crate) fn lock(&self) -> loom::sync::MutexGuard<'_, T> {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// The model clock: nothing has elapsed at the first look, everything at
/// every later one (see the module doc).
#[cfg(loom)]
pub(crate) struct Instant {
    looked: std::cell::Cell<bool>,
}

#[cfg(loom)]
impl Instant {
    pub(crate) fn now() -> Self {
        Self {
            looked: std::cell::Cell::new(false),
        }
    }

    pub(crate) fn elapsed(&self) -> std::time::Duration {
        if self.looked.replace(true) {
            std::time::Duration::MAX
        } else {
            std::time::Duration::ZERO
        }
    }
}
