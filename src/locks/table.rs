//! The lock table proper: seat keys, slots and the hold operations.

use std::sync::OnceLock;

use super::slot::{BOOKED, FREE, PIN_BIT, PINNED, Slot, SlotGuard, Snapshot, VACANT, ends_at};
use crate::sync::{AtomicU32, AtomicU64, Mutex, Ordering};

/// Slots per chunk, as a power of two. Under loom every slot's atomics
/// are model objects, so model tests get chunks of four seats.
const CHUNK_BITS: u32 = if cfg!(loom) { 2 } else { 14 };
const CHUNK_LEN: usize = 1 << CHUNK_BITS;
const CHUNKS: usize = 1024;

/// Most seats one hold may cover. Acquires sort their keys in a stack
/// buffer of this size, so no acquire ever allocates.
pub const MAX_SEATS_PER_HOLD: usize = 64;

/// A seat's dense in-memory key (the engine interns `app/seat_id` to it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SeatKey(pub(crate) u32);

impl SeatKey {
    /// The raw index (for diagnostics and benchmarks).
    #[must_use]
    pub fn index(self) -> u32 {
        self.0
    }
}

/// The holder of a hold, and its fencing number: taken from one counter
/// on every successful acquire, so it increases on every acquire of a seat.
/// It is also the id of the reservation that records the hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct HoldId(pub u64);

/// The effective state of one seat in the lock table at some instant
/// (not the buyer-facing [`crate::SeatState`], which adds the stored status).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LockState {
    /// Nobody holds it (or the last hold expired).
    Free,
    /// A live hold. `expires_at` is `u64::MAX` while a confirm pins it.
    Held { holder: HoldId, expires_at: u64 },
    /// Booked: not acquirable until the booking is cancelled.
    Booked,
    /// No such seat (removed, or the key was never activated).
    Vacant,
}

/// Why an acquire failed; `position` is the index in the caller's slice.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AcquireError {
    pub position: usize,
    pub state: LockState,
}

/// Why a holder-only operation (pin, extend) failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PinError {
    /// The hold is gone: it expired (and maybe was taken over) or was released.
    Lost,
    /// Another confirm of the same hold is committing right now.
    Busy,
}

/// The in-memory lock table. `Send + Sync`; every method takes `&self`.
pub struct LockTable {
    chunks: Box<[OnceLock<Box<[Slot]>>]>,
    /// One past the highest key ever handed out.
    next_key: AtomicU32,
    /// Keys given back by [`recycle`](Self::recycle), handed out again
    /// before new ones. A plain mutex: keys are added and recycled by
    /// admin operations (seat creation, removal, archive), never on the
    /// hold path.
    recycled: Mutex<Vec<u32>>,
    next_hold: AtomicU64,
}

impl std::fmt::Debug for LockTable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LockTable")
            .field("keys", &self.next_key.load(Ordering::Relaxed))
            .field("live_seats", &self.live_seats())
            .field("next_hold", &self.next_hold.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}

impl Default for LockTable {
    fn default() -> Self {
        Self::new(1)
    }
}

impl LockTable {
    /// An empty table whose first hold id will be `first_hold_id` (at least 1:
    /// the engine passes one past the largest id it has ever persisted, so
    /// fencing numbers keep increasing across restarts).
    #[must_use]
    pub fn new(first_hold_id: u64) -> Self {
        Self {
            chunks: (0..CHUNKS).map(|_| OnceLock::new()).collect(),
            next_key: AtomicU32::new(0),
            recycled: Mutex::new(Vec::new()),
            next_hold: AtomicU64::new(first_hold_id.max(1)),
        }
    }

    /// Most seats a table can hold (16 M).
    pub const CAPACITY: usize = CHUNK_LEN * CHUNKS;

    /// Allocates a seat key, in state `Free` (or `Booked`): a recycled
    /// one if any (see [`recycle`](Self::recycle)), else a new one. `None`
    /// once every key is live.
    pub fn add_seat(&self, booked: bool) -> Option<SeatKey> {
        let reused = self.recycled.lock().pop();
        let raw = match reused {
            Some(raw) => raw,
            None => self
                .next_key
                .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |k| {
                    (usize::try_from(k).ok()? < Self::CAPACITY - 1).then_some(k + 1)
                })
                .ok()?,
        };
        let key = SeatKey(raw);
        let (chunk, _) = split(key);
        self.chunks[chunk].get_or_init(|| (0..CHUNK_LEN).map(|_| Slot::default()).collect());
        let slot = self.slot(key)?;
        let mut guard = slot.lock();
        // A key is live for one seat at a time: a new or recycled key's
        // slot is vacant.
        assert_eq!(guard.get().holder, VACANT, "seat key {raw} activated twice");
        guard.set(if booked { BOOKED } else { FREE }, 0);
        Some(key)
    }

    /// Gives retired keys back for [`add_seat`](Self::add_seat) to hand
    /// out again, once their seats' removal has committed and the engine
    /// no longer maps any seat to them.
    ///
    /// A reserve that looked a key up before its seat was removed may
    /// still acquire it after it went to another seat; the engine checks
    /// the seat's directory entry again after every acquire and lets go
    /// of such a hold (`rules::booking`). Every other holder-side
    /// operation is fenced by its hold id.
    ///
    /// # Panics
    /// If a key is not retired (vacant): recycling a live seat's key would
    /// give one slot to two seats (a bug; admin path, so checked in
    /// release builds too, before anything is recycled).
    pub fn recycle(&self, keys: &[SeatKey]) {
        for &key in keys {
            let holder = self.slot(key).map(|s| s.read().holder);
            assert!(
                holder == Some(VACANT),
                "recycle of seat key {} that is not retired",
                key.0
            );
        }
        self.recycled.lock().extend(keys.iter().map(|k| k.0));
    }

    /// Marks a seat as gone: later acquires see `Vacant`.
    pub fn remove_seat(&self, key: SeatKey) {
        if let Some(slot) = self.slot(key) {
            slot.lock().set(VACANT, 0);
        }
    }

    /// Retires a seat that is free (or whose hold expired): later acquires
    /// see `Vacant`. False, changing nothing, if it is held or booked.
    pub fn try_retire(&self, key: SeatKey, now: u64) -> bool {
        let Some(slot) = self.slot(key) else {
            return false;
        };
        let mut guard = slot.lock();
        if guard.get().is_acquirable(now) {
            guard.set(VACANT, 0);
            true
        } else {
            false
        }
    }

    /// Retires a seat nobody holds: free, its hold expired, or booked
    /// (archiving an entity retires its booked seats too). Returns whether
    /// it was booked; `None`, changing nothing, if a hold is live on it
    /// (a confirm's pin included) or it is vacant.
    pub fn try_retire_settled(&self, key: SeatKey, now: u64) -> Option<bool> {
        let slot = self.slot(key)?;
        let mut guard = slot.lock();
        let seen = guard.get();
        let booked = seen.holder == BOOKED;
        if !booked && !seen.is_acquirable(now) {
            return None;
        }
        guard.set(VACANT, 0);
        Some(booked)
    }

    /// Undoes [`try_retire`](Self::try_retire) or
    /// [`try_retire_settled`](Self::try_retire_settled): the seat is free
    /// again, or booked again if `booked`.
    ///
    /// The seat must still be retired (nothing writes a retired slot but
    /// this). Checked only in debug builds: this runs in a drop guard,
    /// possibly while a panic unwinds, where a second panic would abort;
    /// release builds leave a slot that is not retired alone.
    pub fn unretire(&self, key: SeatKey, booked: bool) {
        if let Some(slot) = self.slot(key) {
            let mut guard = slot.lock();
            let holder = guard.get().holder;
            debug_assert_eq!(holder, VACANT, "unretire of a seat that is not retired");
            if holder == VACANT {
                guard.set(if booked { BOOKED } else { FREE }, 0);
            }
        }
    }

    /// Seat keys live now: handed out and not recycled.
    #[must_use]
    pub fn live_seats(&self) -> usize {
        self.seat_count() - self.recycled.lock().len()
    }

    /// Seat keys ever handed out: the table's high-water mark (recycled
    /// keys included, each counted once).
    #[must_use]
    pub fn seat_count(&self) -> usize {
        self.next_key.load(Ordering::Relaxed) as usize
    }

    /// The next hold id that an acquire would take.
    #[must_use]
    pub fn next_hold_id(&self) -> u64 {
        self.next_hold.load(Ordering::Relaxed)
    }

    fn slot(&self, key: SeatKey) -> Option<&Slot> {
        let (chunk, index) = split(key);
        self.chunks.get(chunk)?.get()?.get(index)
    }

    /// The effective state of a seat at `now`.
    #[must_use]
    pub fn state(&self, key: SeatKey, now: u64) -> LockState {
        self.slot(key)
            .map_or(LockState::Vacant, |s| effective(s.read(), now))
    }

    /// Takes a hold on every seat in `keys`, or on none.
    ///
    /// The rejection path (a seat is held, booked or gone) only loads: no
    /// store, no allocation, no counter increment. A winner takes the next
    /// hold id, which expires at `expires_at`.
    ///
    /// `keys` must be distinct and at most [`MAX_SEATS_PER_HOLD`] long.
    ///
    /// # Errors
    /// [`AcquireError`] names the first seat (by position) that blocked and
    /// its state; nothing was changed.
    pub fn try_acquire(
        &self,
        keys: &[SeatKey],
        now: u64,
        expires_at: u64,
    ) -> Result<HoldId, AcquireError> {
        debug_assert!(!keys.is_empty() && keys.len() <= MAX_SEATS_PER_HOLD);
        // Optimistic pass: reject from a read-only snapshot.
        for (position, &key) in keys.iter().enumerate() {
            let Some(slot) = self.slot(key) else {
                return Err(AcquireError {
                    position,
                    state: LockState::Vacant,
                });
            };
            let seen = slot.read();
            if !seen.is_acquirable(now) {
                return Err(AcquireError {
                    position,
                    state: effective(seen, now),
                });
            }
        }
        if let [key] = keys {
            return self.acquire_one(*key, now, expires_at);
        }
        self.with_locked(keys, |guards| {
            for &(position, ref guard) in guards.iter() {
                let seen = guard.get();
                if !seen.is_acquirable(now) {
                    return Err(AcquireError {
                        position,
                        state: effective(seen, now),
                    });
                }
            }
            let hold = self.take_hold_id();
            for (_, guard) in guards.iter_mut() {
                guard.set(hold.0, expires_at);
            }
            Ok(hold)
        })
        .unwrap_or(Err(AcquireError {
            position: 0,
            state: LockState::Vacant,
        }))
    }

    fn acquire_one(&self, key: SeatKey, now: u64, expires_at: u64) -> Result<HoldId, AcquireError> {
        let Some(slot) = self.slot(key) else {
            return Err(AcquireError {
                position: 0,
                state: LockState::Vacant,
            });
        };
        let mut guard = slot.lock();
        let seen = guard.get();
        if !seen.is_acquirable(now) {
            return Err(AcquireError {
                position: 0,
                state: effective(seen, now),
            });
        }
        let hold = self.take_hold_id();
        guard.set(hold.0, expires_at);
        Ok(hold)
    }

    fn take_hold_id(&self) -> HoldId {
        let hold = HoldId(self.next_hold.fetch_add(1, Ordering::Relaxed));
        // 2^64 - 2 acquires are out of reach; checked in debug builds only
        // (this is the winners' hot path).
        debug_assert!(is_hold(hold), "hold ids ran into the sentinels");
        hold
    }

    /// Puts back a hold recorded before a restart (unconditionally: the
    /// engine calls it only while opening, before any acquire).
    ///
    /// # Panics
    /// If `hold` is not a hold id, or the seat is booked or not active:
    /// opening restores holds only on free seats (a bug otherwise; it runs
    /// once per hold at open, so the check stays in release builds).
    pub fn restore(&self, key: SeatKey, hold: HoldId, expires_at: u64) {
        assert!(is_hold(hold), "restore of a non-hold id {}", hold.0);
        if let Some(slot) = self.slot(key) {
            let mut guard = slot.lock();
            let holder = guard.get().holder;
            assert!(
                holder != BOOKED && holder != VACANT,
                "restore of hold {} onto a booked or inactive seat",
                hold.0
            );
            guard.set(hold.0, expires_at);
        }
        self.next_hold
            .fetch_max(hold.0.saturating_add(1), Ordering::Relaxed);
    }

    /// Frees every seat of `keys` that `hold` still holds (pinned or not).
    /// Returns how many it freed. Seats taken over by others are left alone.
    pub fn release(&self, keys: &[SeatKey], hold: HoldId) -> usize {
        let mut freed = 0;
        for &key in keys {
            if let Some(slot) = self.slot(key) {
                let mut guard = slot.lock();
                if guard.get().holder == hold.0 {
                    guard.set(FREE, 0);
                    freed += 1;
                }
            }
        }
        freed
    }

    /// Moves the expiry of a live, unpinned hold on every seat of `keys`
    /// to `expires_at`, or changes nothing.
    ///
    /// # Errors
    /// [`PinError::Lost`] if the hold is not live on every seat,
    /// [`PinError::Busy`] if it is pinned.
    pub fn extend(
        &self,
        keys: &[SeatKey],
        hold: HoldId,
        now: u64,
        expires_at: u64,
    ) -> Result<(), PinError> {
        self.with_locked(keys, |guards| {
            check_held(guards, hold, now)?;
            for (_, guard) in guards.iter_mut() {
                guard.set(hold.0, expires_at);
            }
            Ok(())
        })
        .unwrap_or(Err(PinError::Lost))
    }

    /// Freezes a live hold for a confirm: until [`unpin`](Self::unpin),
    /// [`book`](Self::book) or `deadline` it no longer expires, so nobody
    /// can take the seats while the confirm verifies its payment. At
    /// `deadline` the pin is broken: the seats are free for others, like
    /// an expired hold, and [`seal`](Self::seal) fails. All seats or none.
    ///
    /// # Errors
    /// As [`extend`](Self::extend).
    pub fn pin(
        &self,
        keys: &[SeatKey],
        hold: HoldId,
        now: u64,
        deadline: u64,
    ) -> Result<(), PinError> {
        let pinned = PIN_BIT | deadline.min(!PIN_BIT);
        self.with_locked(keys, |guards| {
            check_held(guards, hold, now)?;
            for (_, guard) in guards.iter_mut() {
                guard.set(hold.0, pinned);
            }
            Ok(())
        })
        .unwrap_or(Err(PinError::Lost))
    }

    /// Makes a live pin end never (until [`unpin`](Self::unpin) or
    /// [`book`](Self::book)): the confirm's commit is under way. All seats
    /// or none; this is the instant that decides between a confirm and a
    /// broken pin.
    ///
    /// # Errors
    /// [`PinError::Lost`] if `hold` no longer pins every seat at `now`
    /// (deadline passed, seats taken over or released).
    pub fn seal(&self, keys: &[SeatKey], hold: HoldId, now: u64) -> Result<(), PinError> {
        self.with_locked(keys, |guards| {
            for (_, guard) in guards.iter() {
                let seen = guard.get();
                if seen.holder != hold.0
                    || seen.expires_at & PIN_BIT == 0
                    || now >= ends_at(seen.expires_at)
                {
                    return Err(PinError::Lost);
                }
            }
            for (_, guard) in guards.iter_mut() {
                guard.set(hold.0, PINNED);
            }
            Ok(())
        })
        .unwrap_or(Err(PinError::Lost))
    }

    /// Frees every seat of `keys` that `hold` still holds, unless a live
    /// pin of `hold` is on one of them (a confirm in flight): then nothing
    /// changes. Returns how many seats it freed.
    ///
    /// # Errors
    /// [`PinError::Busy`] if a confirm pins the hold at `now`.
    pub fn release_unpinned(
        &self,
        keys: &[SeatKey],
        hold: HoldId,
        now: u64,
    ) -> Result<usize, PinError> {
        self.with_locked(keys, |guards| {
            if guards.iter().any(|(_, g)| is_live_pin(g.get(), hold, now)) {
                return Err(PinError::Busy);
            }
            let mut freed = 0;
            for (_, guard) in guards.iter_mut() {
                if guard.get().holder == hold.0 {
                    guard.set(FREE, 0);
                    freed += 1;
                }
            }
            Ok(freed)
        })
        .unwrap_or(Ok(0))
    }

    /// Undoes [`pin`](Self::pin): the hold expires at `expires_at` again.
    ///
    /// Every seat `hold` still holds must be pinned (only its own confirm
    /// pins and unpins it). Checked in debug builds only: the confirm's
    /// drop guard calls this, possibly while a panic unwinds, where a
    /// second panic would abort.
    pub fn unpin(&self, keys: &[SeatKey], hold: HoldId, expires_at: u64) {
        debug_assert!(
            self.held_seats_are(keys, hold, |e| e & PIN_BIT != 0),
            "unpin of hold {} that is not pinned",
            hold.0
        );
        self.rewrite_held(keys, hold, hold.0, expires_at);
    }

    /// Turns a sealed hold into booked seats (after its confirm committed).
    /// Seats `hold` no longer holds are left alone: a cancel of the
    /// committed booking freed them first (see [`unbook`](Self::unbook)),
    /// and another hold may have taken them since.
    ///
    /// # Panics
    /// If a seat `hold` still holds is not sealed: booking a hold its
    /// confirm did not [`seal`](Self::seal) is a bug (the seats could have
    /// expired under the commit), never something to skip. Checked before
    /// any seat changes, in release builds too (a few loads per seat on
    /// the confirm path, next to a commit). The caller has disarmed its
    /// pin guard by then, so the seats stay sealed (never acquirable) and
    /// the C boundary turns the panic into `SEATBOOK_PANIC`.
    pub fn book(&self, keys: &[SeatKey], hold: HoldId) {
        assert!(
            self.held_seats_are(keys, hold, |e| e == PINNED),
            "book of hold {} that is not sealed",
            hold.0
        );
        self.rewrite_held(keys, hold, BOOKED, 0);
    }

    /// Whether every seat of `keys` that `hold` holds has an `expires_at`
    /// word satisfying `ok` (lock-free reads). Only `hold`'s own confirm
    /// changes such a seat's word while it holds it, so the answer cannot
    /// be made stale by others between this check and the caller's writes.
    fn held_seats_are(&self, keys: &[SeatKey], hold: HoldId, ok: impl Fn(u64) -> bool) -> bool {
        assert!(is_hold(hold), "{} is not a hold id", hold.0);
        keys.iter().all(|&key| {
            self.slot(key).is_none_or(|slot| {
                let seen = slot.read();
                seen.holder != hold.0 || ok(seen.expires_at)
            })
        })
    }

    /// Makes the seats of a cancelled booking free again (after the
    /// cancellation committed): booked seats, and seats still held by
    /// `hold`, the booking's reservation. The second case is a confirm
    /// whose booking committed but which has not yet marked its seats
    /// booked here (a retry of that confirm returned the booking at once,
    /// and it was cancelled); its later [`book`](Self::book) then finds
    /// the seats no longer held by `hold` and leaves them alone, so memory
    /// and storage agree that they are free.
    pub fn unbook(&self, keys: &[SeatKey], hold: HoldId) {
        for &key in keys {
            if let Some(slot) = self.slot(key) {
                let mut guard = slot.lock();
                let holder = guard.get().holder;
                if holder == BOOKED || holder == hold.0 {
                    guard.set(FREE, 0);
                }
            }
        }
    }

    /// True if a live pin of `hold` is on any seat of `keys` at `now` (a
    /// confirm is in flight and its deadline has not passed).
    #[must_use]
    pub fn is_pinned(&self, keys: &[SeatKey], hold: HoldId, now: u64) -> bool {
        keys.iter().any(|&k| {
            self.slot(k)
                .is_some_and(|s| is_live_pin(s.read(), hold, now))
        })
    }

    fn rewrite_held(&self, keys: &[SeatKey], hold: HoldId, holder: u64, expires_at: u64) {
        for &key in keys {
            if let Some(slot) = self.slot(key) {
                let mut guard = slot.lock();
                if guard.get().holder == hold.0 {
                    guard.set(holder, expires_at);
                }
            }
        }
    }

    /// Locks the slots of `keys` in key order (so two multi-seat writers can
    /// never deadlock) and runs `f` with the guards, each paired with the
    /// key's position in `keys`. `None` if a key has no slot or too many keys.
    fn with_locked<T>(
        &self,
        keys: &[SeatKey],
        f: impl FnOnce(&mut [(usize, SlotGuard<'_>)]) -> T,
    ) -> Option<T> {
        if keys.is_empty() || keys.len() > MAX_SEATS_PER_HOLD {
            return None;
        }
        let mut order = [(0usize, SeatKey(0)); MAX_SEATS_PER_HOLD];
        for (i, &k) in keys.iter().enumerate() {
            order[i] = (i, k);
        }
        let order = &mut order[..keys.len()];
        order.sort_unstable_by_key(|&(_, k)| k);
        if order.windows(2).any(|w| w[0].1 == w[1].1) {
            return None;
        }
        let mut slots: [Option<&Slot>; MAX_SEATS_PER_HOLD] = [None; MAX_SEATS_PER_HOLD];
        for (i, &(_, key)) in order.iter().enumerate() {
            slots[i] = Some(self.slot(key)?);
        }
        // Guards live in a small vector only on the multi-seat write path:
        // winners and holders, never the rejection path.
        let mut guards: Vec<(usize, SlotGuard<'_>)> = order
            .iter()
            .zip(slots.iter().flatten())
            .map(|(&(position, _), slot)| (position, slot.lock()))
            .collect();
        Some(f(&mut guards))
    }
}

fn check_held(guards: &[(usize, SlotGuard<'_>)], hold: HoldId, now: u64) -> Result<(), PinError> {
    for (_, guard) in guards {
        let seen = guard.get();
        if seen.holder != hold.0 || now >= ends_at(seen.expires_at) {
            return Err(PinError::Lost);
        }
        if seen.expires_at & PIN_BIT != 0 {
            return Err(PinError::Busy);
        }
    }
    Ok(())
}

/// A real hold id: not one of the slot's sentinel holder values.
fn is_hold(hold: HoldId) -> bool {
    hold.0 != FREE && hold.0 != BOOKED && hold.0 != VACANT
}

fn is_live_pin(seen: Snapshot, hold: HoldId, now: u64) -> bool {
    seen.holder == hold.0 && seen.expires_at & PIN_BIT != 0 && now < ends_at(seen.expires_at)
}

fn split(key: SeatKey) -> (usize, usize) {
    let raw = key.0 as usize;
    (raw >> CHUNK_BITS, raw & (CHUNK_LEN - 1))
}

fn effective(seen: Snapshot, now: u64) -> LockState {
    match seen.holder {
        BOOKED => LockState::Booked,
        VACANT => LockState::Vacant,
        FREE => LockState::Free,
        holder if now < ends_at(seen.expires_at) => LockState::Held {
            holder: HoldId(holder),
            expires_at: if seen.expires_at & PIN_BIT == 0 {
                seen.expires_at
            } else {
                u64::MAX
            },
        },
        _ => LockState::Free,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table_with(n: usize) -> (LockTable, Vec<SeatKey>) {
        let t = LockTable::new(1);
        let keys = (0..n).map(|_| t.add_seat(false).unwrap()).collect();
        (t, keys)
    }

    #[test]
    fn second_acquire_of_a_held_seat_fails_until_expiry() {
        let (t, k) = table_with(1);
        let h = t.try_acquire(&k, 0, 100).unwrap();
        let err = t.try_acquire(&k, 50, 200).unwrap_err();
        assert_eq!(
            err.state,
            LockState::Held {
                holder: h,
                expires_at: 100
            }
        );
        let h2 = t.try_acquire(&k, 100, 300).unwrap();
        assert!(h2 > h, "fencing number must increase");
    }

    #[test]
    fn multi_seat_acquire_is_all_or_nothing() {
        let (t, k) = table_with(3);
        t.try_acquire(&k[2..], 0, 100).unwrap();
        let err = t.try_acquire(&[k[0], k[1], k[2]], 0, 100).unwrap_err();
        assert_eq!(err.position, 2);
        assert_eq!(t.state(k[0], 0), LockState::Free);
        assert_eq!(t.state(k[1], 0), LockState::Free);
    }

    #[test]
    fn rejection_does_not_consume_hold_ids() {
        let (t, k) = table_with(1);
        t.try_acquire(&k, 0, 100).unwrap();
        let next = t.next_hold_id();
        for _ in 0..10 {
            assert!(t.try_acquire(&k, 1, 100).is_err());
        }
        assert_eq!(t.next_hold_id(), next);
    }

    #[test]
    fn pinned_hold_survives_its_expiry_and_books() {
        let (t, k) = table_with(2);
        let h = t.try_acquire(&k, 0, 100).unwrap();
        t.pin(&k, h, 99, 50_000).unwrap();
        assert!(
            t.try_acquire(&k[..1], 10_000, 20_000).is_err(),
            "pinned hold must not expire before its deadline"
        );
        assert_eq!(t.pin(&k, h, 99, 50_000), Err(PinError::Busy));
        assert!(t.is_pinned(&k, h, 10_000));
        assert_eq!(t.release_unpinned(&k, h, 10_000), Err(PinError::Busy));
        t.seal(&k, h, 10_000).unwrap();
        t.book(&k, h);
        assert_eq!(t.state(k[0], 10_000), LockState::Booked);
        t.unbook(&k, h);
        assert_eq!(t.state(k[1], 10_000), LockState::Free);
    }

    /// A booking cancelled between its commit and its confirm's `book`
    /// (a retry returned it, and it was cancelled at once): the cancel
    /// frees the sealed seats, and the late `book` leaves them free, as
    /// storage has them. Found by the long stress run.
    #[test]
    fn a_cancel_before_the_confirm_marks_its_seats_booked_leaves_them_free() {
        let (t, k) = table_with(2);
        let h = t.try_acquire(&k, 0, 100).unwrap();
        t.pin(&k, h, 10, 50_000).unwrap();
        t.seal(&k, h, 10).unwrap();
        t.unbook(&k, h);
        t.book(&k, h);
        assert_eq!(t.state(k[0], 20), LockState::Free);
        assert_eq!(t.state(k[1], 20), LockState::Free);
        // Another hold's seats are left alone by the cancel.
        let other = t.try_acquire(&k[..1], 20, 200).unwrap();
        t.unbook(&k, h);
        assert_eq!(
            t.state(k[0], 30),
            LockState::Held {
                holder: other,
                expires_at: 200
            }
        );
    }

    #[test]
    fn stale_holder_cannot_pin_extend_or_release_a_taken_over_seat() {
        let (t, k) = table_with(1);
        let old = t.try_acquire(&k, 0, 100).unwrap();
        let new = t.try_acquire(&k, 100, 200).unwrap();
        assert_eq!(t.pin(&k, old, 150, 1_000), Err(PinError::Lost));
        assert_eq!(t.extend(&k, old, 150, 500), Err(PinError::Lost));
        assert_eq!(t.release(&k, old), 0);
        assert_eq!(
            t.state(k[0], 150),
            LockState::Held {
                holder: new,
                expires_at: 200
            }
        );
    }

    #[test]
    fn expired_hold_cannot_be_pinned() {
        let (t, k) = table_with(1);
        let h = t.try_acquire(&k, 0, 100).unwrap();
        assert_eq!(t.pin(&k, h, 100, 1_000), Err(PinError::Lost));
    }

    #[test]
    fn unpin_restores_expiry() {
        let (t, k) = table_with(1);
        let h = t.try_acquire(&k, 0, 100).unwrap();
        t.pin(&k, h, 50, 1_000).unwrap();
        t.unpin(&k, h, 100);
        assert_eq!(
            t.state(k[0], 50),
            LockState::Held {
                holder: h,
                expires_at: 100
            }
        );
        assert_eq!(t.state(k[0], 100), LockState::Free);
    }

    #[test]
    fn a_pin_breaks_at_its_deadline_and_can_then_not_be_sealed() {
        let (t, k) = table_with(2);
        let h = t.try_acquire(&k, 0, 100).unwrap();
        t.pin(&k, h, 50, 500).unwrap();
        assert!(t.try_acquire(&k[..1], 499, 900).is_err(), "live pin");
        assert!(!t.is_pinned(&k, h, 500), "the deadline broke the pin");
        let other = t.try_acquire(&k[..1], 500, 900).unwrap();
        assert_eq!(t.seal(&k, h, 450), Err(PinError::Lost), "seat taken over");
        // A broken pin that nobody took over can not be sealed late either,
        // and a sealed pin outlives any deadline.
        let (t2, k2) = table_with(1);
        let h2 = t2.try_acquire(&k2, 0, 100).unwrap();
        t2.pin(&k2, h2, 50, 500).unwrap();
        assert_eq!(t2.seal(&k2, h2, 500), Err(PinError::Lost));
        t2.unpin(&k2, h2, 100);
        t2.pin(&k2, h2, 60, 500).unwrap();
        t2.seal(&k2, h2, 499).unwrap();
        assert!(t2.try_acquire(&k2, 1_000_000, 2_000_000).is_err());
        assert!(t2.is_pinned(&k2, h2, 1_000_000));
        assert_eq!(t.release_unpinned(&k, other, 600), Ok(1));
        assert_eq!(t.state(k[0], 600), LockState::Free);
    }

    #[test]
    fn removed_and_unknown_seats_are_vacant() {
        let (t, k) = table_with(1);
        t.remove_seat(k[0]);
        assert_eq!(
            t.try_acquire(&k, 0, 1).unwrap_err().state,
            LockState::Vacant
        );
        assert_eq!(t.state(SeatKey(999_999), 0), LockState::Vacant);
    }

    #[test]
    fn restore_moves_the_hold_counter_past_restored_ids() {
        let (t, k) = table_with(1);
        t.restore(k[0], HoldId(41), 1_000);
        assert!(t.next_hold_id() >= 42);
        assert_eq!(
            t.state(k[0], 0),
            LockState::Held {
                holder: HoldId(41),
                expires_at: 1_000
            }
        );
    }

    #[test]
    fn duplicate_keys_are_refused() {
        let (t, k) = table_with(1);
        assert!(t.try_acquire(&[k[0], k[0]], 0, 10).is_err());
        assert_eq!(t.state(k[0], 0), LockState::Free);
    }

    #[test]
    fn racing_threads_get_exactly_one_winner_per_round() {
        use std::sync::Barrier;
        let (t, k) = table_with(4);
        let rounds = 200u64;
        let threads = 4;
        let barrier = Barrier::new(threads);
        let wins = AtomicU64::new(0);
        std::thread::scope(|s| {
            for _ in 0..threads {
                s.spawn(|| {
                    for round in 0..rounds {
                        barrier.wait();
                        // Every round's holds expire at the start of the next.
                        let now = round * 10;
                        if t.try_acquire(&k, now, now + 10).is_ok() {
                            wins.fetch_add(1, Ordering::Relaxed);
                        }
                        barrier.wait();
                    }
                });
            }
        });
        assert_eq!(wins.load(Ordering::Relaxed), rounds);
    }

    #[test]
    #[should_panic(expected = "is not sealed")]
    fn booking_a_hold_that_is_not_sealed_is_a_bug() {
        let (t, k) = table_with(2);
        let h = t.try_acquire(&k, 0, 100).unwrap();
        t.pin(&k, h, 10, 50_000).unwrap();
        t.book(&k, h);
    }

    /// The check runs before any seat changes: after the panic both seats
    /// are still held by the pin, none booked.
    #[test]
    fn a_refused_book_changes_no_seat() {
        let (t, k) = table_with(2);
        let h = t.try_acquire(&k, 0, 100).unwrap();
        t.pin(&k, h, 10, 50_000).unwrap();
        let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| t.book(&k, h)));
        assert!(caught.is_err());
        for &key in &k {
            assert!(matches!(t.state(key, 20), LockState::Held { holder, .. } if holder == h));
        }
        // The slots are not left locked: the hold can still be sealed and booked.
        t.seal(&k, h, 20).unwrap();
        t.book(&k, h);
        assert_eq!(t.state(k[0], 20), LockState::Booked);
    }

    #[test]
    #[should_panic(expected = "onto a booked or inactive seat")]
    fn restoring_a_hold_onto_a_booked_seat_is_a_bug() {
        let t = LockTable::new(1);
        let key = t.add_seat(true).unwrap();
        t.restore(key, HoldId(5), 1_000);
    }

    #[test]
    #[should_panic(expected = "is not a hold id")]
    fn the_sentinels_are_not_hold_ids() {
        let (t, k) = table_with(1);
        t.book(&k, HoldId(BOOKED));
    }

    #[cfg(debug_assertions)]
    #[test]
    #[should_panic(expected = "is not pinned")]
    fn unpinning_a_hold_that_is_not_pinned_is_a_bug_in_debug_builds() {
        let (t, k) = table_with(1);
        let h = t.try_acquire(&k, 0, 100).unwrap();
        t.unpin(&k, h, 100);
    }

    #[cfg(debug_assertions)]
    #[test]
    #[should_panic(expected = "not retired")]
    fn unretiring_a_seat_that_is_not_retired_is_a_bug_in_debug_builds() {
        let (t, k) = table_with(1);
        t.unretire(k[0], false);
    }

    #[test]
    fn recycled_keys_are_handed_out_again_before_new_ones() {
        let (t, k) = table_with(3);
        let h = t.try_acquire(&k[..1], 0, 100).unwrap();
        t.pin(&k[..1], h, 1, 1_000).unwrap();
        t.seal(&k[..1], h, 1).unwrap();
        t.book(&k[..1], h);
        t.try_acquire(&k[1..2], 0, 100).unwrap();
        assert_eq!(t.try_retire_settled(k[0], 10), Some(true), "booked");
        assert_eq!(t.try_retire_settled(k[1], 10), None, "held");
        assert_eq!(t.try_retire_settled(k[1], 100), Some(false), "expired");
        assert_eq!(t.try_retire_settled(k[1], 100), None, "vacant already");
        t.recycle(&k[..2]);
        assert_eq!((t.seat_count(), t.live_seats()), (3, 1));
        let again: Vec<SeatKey> = (0..3).map(|_| t.add_seat(false).unwrap()).collect();
        assert!(again[..2].contains(&k[0]) && again[..2].contains(&k[1]));
        assert_eq!(again[2], SeatKey(3), "a new key only once none is recycled");
        assert_eq!((t.seat_count(), t.live_seats()), (4, 4));
        for &key in &again {
            assert_eq!(t.state(key, 0), LockState::Free, "a reused key starts free");
        }
    }

    #[test]
    fn unretire_restores_a_booked_seat_as_booked() {
        let (t, k) = table_with(2);
        let h = t.try_acquire(&k[..1], 0, 100).unwrap();
        t.pin(&k[..1], h, 1, 1_000).unwrap();
        t.seal(&k[..1], h, 1).unwrap();
        t.book(&k[..1], h);
        assert_eq!(t.try_retire_settled(k[0], 5), Some(true));
        assert_eq!(t.try_retire_settled(k[1], 5), Some(false));
        t.unretire(k[0], true);
        t.unretire(k[1], false);
        assert_eq!(t.state(k[0], 5), LockState::Booked);
        assert_eq!(t.state(k[1], 5), LockState::Free);
    }

    #[test]
    #[should_panic(expected = "not retired")]
    fn recycling_a_live_key_is_a_bug() {
        let (t, k) = table_with(1);
        t.recycle(&k);
    }
}
