//! One seat's hold state, as a seqlock of three words.

use crate::sync::{AtomicU32, AtomicU64, Ordering, fence, hint, thread};

/// `holder` value of a seat nobody holds.
pub(crate) const FREE: u64 = 0;
/// `holder` value of a booked seat: never free again until its booking is
/// cancelled.
pub(crate) const BOOKED: u64 = u64::MAX;
/// `holder` value of a slot whose seat was removed (or never created).
pub(crate) const VACANT: u64 = u64::MAX - 1;
/// Set in `expires_at` while a confirm in flight pins the hold: the rest of
/// the word is the pin's deadline, after which the pin is broken (the seat
/// is free for others, exactly like an expired hold). Instants are
/// milliseconds since 1970, far below this bit.
pub(crate) const PIN_BIT: u64 = 1 << 63;
/// `expires_at` value of a pin that no longer ends (sealed by a confirm
/// whose commit is under way): `PIN_BIT` with the largest deadline.
pub(crate) const PINNED: u64 = u64::MAX;

/// The instant a slot's hold ends: its expiry, or its pin's deadline.
pub(crate) fn ends_at(expires_at: u64) -> u64 {
    expires_at & !PIN_BIT
}

/// A consistent view of one slot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Snapshot {
    pub(crate) holder: u64,
    pub(crate) expires_at: u64,
}

impl Snapshot {
    /// Free for a new acquire at `now`: nobody holds it or the hold expired.
    pub(crate) fn is_acquirable(self, now: u64) -> bool {
        self.holder == FREE
            || (self.holder != BOOKED && self.holder != VACANT && now >= ends_at(self.expires_at))
    }
}

#[derive(Debug)]
pub(crate) struct Slot {
    version: AtomicU32,
    holder: AtomicU64,
    expires_at: AtomicU64,
}

impl Default for Slot {
    fn default() -> Self {
        Self {
            version: AtomicU32::new(0),
            holder: AtomicU64::new(VACANT),
            expires_at: AtomicU64::new(0),
        }
    }
}

impl Slot {
    /// Lock-free consistent read: loads only, never a store.
    pub(crate) fn read(&self) -> Snapshot {
        loop {
            let before = self.version.load(Ordering::Acquire);
            if before & 1 == 1 {
                hint::spin_loop();
                continue;
            }
            let holder = self.holder.load(Ordering::Relaxed);
            let expires_at = self.expires_at.load(Ordering::Relaxed);
            fence(Ordering::Acquire);
            if self.version.load(Ordering::Relaxed) == before {
                return Snapshot { holder, expires_at };
            }
        }
    }

    /// Enters the slot as its only writer. Writers hold a slot for a few
    /// instructions, so spinning (then yielding) beats parking.
    pub(crate) fn lock(&self) -> SlotGuard<'_> {
        let mut spins = 0u32;
        loop {
            let current = self.version.load(Ordering::Relaxed);
            if current & 1 == 0
                && self
                    .version
                    .compare_exchange_weak(
                        current,
                        current.wrapping_add(1),
                        Ordering::Acquire,
                        Ordering::Relaxed,
                    )
                    .is_ok()
            {
                // Keeps the data stores below from becoming visible before
                // the odd version (crossbeam's seqlock does the same).
                fence(Ordering::Release);
                return SlotGuard {
                    slot: self,
                    version: current,
                };
            }
            spins += 1;
            if spins < 64 {
                hint::spin_loop();
            } else {
                thread::yield_now();
            }
        }
    }
}

/// Exclusive write access to one slot; publishes on drop.
pub(crate) struct SlotGuard<'a> {
    slot: &'a Slot,
    version: u32,
}

impl SlotGuard<'_> {
    pub(crate) fn get(&self) -> Snapshot {
        Snapshot {
            holder: self.slot.holder.load(Ordering::Relaxed),
            expires_at: self.slot.expires_at.load(Ordering::Relaxed),
        }
    }

    pub(crate) fn set(&mut self, holder: u64, expires_at: u64) {
        self.slot.holder.store(holder, Ordering::Relaxed);
        self.slot.expires_at.store(expires_at, Ordering::Relaxed);
    }
}

impl Drop for SlotGuard<'_> {
    fn drop(&mut self) {
        self.slot
            .version
            .store(self.version.wrapping_add(2), Ordering::Release);
    }
}
