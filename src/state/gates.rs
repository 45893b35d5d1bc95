//! Entity gates: each entity's sale (closed or not, its window) where a
//! reserve can read it without a lock on the app.
//!
//! Owns the in-memory copy of every entity's [`Sale`] and the lock that
//! orders sale changes against reserves in flight. It must never decide
//! whether a reserve may go ahead (that rule is `rules::sale`) and never
//! touch storage: the rules write the entity record first and then the
//! gate, under its write lock.
//!
//! # Why two copies of one sale
//!
//! Every reserve attempt, losers included, checks the sale of its seats'
//! entities before touching the lock table, so a buyer of a closed entity
//! hears "sale closed", never "seat held", and attempts before a sale
//! opens take no seat (but those racing the change itself). That early
//! check reads two atomics ([`EntityGate::quick`]), or one flag for an
//! app whose sales were never restricted: no shared write on the hot
//! path, and winners' read locks live in another allocation.
//! A field-by-field read can mix an old and a new window while an admin
//! changes it; a mix never refuses a reserve both windows accept, so the
//! early check only ever refuses rightly, and a reserve that wins its
//! seats checks again under the gate's read lock ([`EntityGate::hold`]),
//! which it keeps until its reservation is recorded. A sale change takes
//! the write lock ([`EntityGate::change`]), so it waits for those reserves
//! and every reserve after it sees the new sale.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use parking_lot::{RwLock, RwLockReadGuard, RwLockWriteGuard};

use crate::clock::UnixMillis;

/// One entity's sale as reserves check it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct Sale {
    pub(crate) closed: bool,
    pub(crate) opens_at: Option<UnixMillis>,
    pub(crate) closes_at: Option<UnixMillis>,
}

/// The atomics of the early check. Kept apart from the locks (another
/// allocation), so winners taking a gate's read lock never write the
/// cache line every attempt reads.
#[derive(Debug)]
struct Mirror {
    /// `0`: no lower bound.
    opens_at: AtomicU64,
    /// `u64::MAX`: no upper bound; [`CLOSED`]: closed.
    closes_at: AtomicU64,
}

/// `Mirror::closes_at` of a closed entity (no sale ends at the epoch).
const CLOSED: u64 = 0;

impl Default for Mirror {
    fn default() -> Self {
        Self {
            opens_at: AtomicU64::new(0),
            closes_at: AtomicU64::new(u64::MAX),
        }
    }
}

/// The gate of one entity: its sale, authoritative behind a lock and
/// mirrored in atomics for the early check.
#[derive(Debug, Clone, Copy)]
pub(crate) struct EntityGate<'a> {
    sale: &'a RwLock<Sale>,
    mirror: &'a Mirror,
    gates: &'a Gates,
}

impl<'a> EntityGate<'a> {
    /// The sale as the atomics show it now (see the module docs: possibly
    /// a mix of two windows during a change).
    #[inline]
    pub(crate) fn quick(self) -> Sale {
        let opens_at = self.mirror.opens_at.load(Ordering::Acquire);
        let closes_at = self.mirror.closes_at.load(Ordering::Acquire);
        Sale {
            closed: closes_at == CLOSED,
            opens_at: (opens_at != 0).then_some(opens_at),
            closes_at: (closes_at != u64::MAX && closes_at != CLOSED).then_some(closes_at),
        }
    }

    /// The sale, held: no change completes while the guard lives.
    pub(crate) fn hold(self) -> RwLockReadGuard<'a, Sale> {
        self.sale.read()
    }

    /// Exclusive access for a change: waits for every [`hold`](Self::hold)
    /// to end. Set the new sale with [`SaleChange::set`].
    pub(crate) fn change(self) -> SaleChange<'a> {
        SaleChange {
            guard: self.sale.write(),
            gate: self,
        }
    }
}

/// A sale change in progress (the gate's write lock).
pub(crate) struct SaleChange<'a> {
    guard: RwLockWriteGuard<'a, Sale>,
    gate: EntityGate<'a>,
}

impl SaleChange<'_> {
    /// Makes `sale` the entity's sale, in both copies.
    pub(crate) fn set(&mut self, sale: Sale) {
        *self.guard = sale;
        if sale != Sale::default() {
            // Before the mirror: an early check that still sees the flag
            // unset skips the gate, which is the sale before this change.
            self.gate.gates.restricted.store(true, Ordering::Release);
        }
        let mirror = self.gate.mirror;
        mirror
            .opens_at
            .store(sale.opens_at.unwrap_or(0), Ordering::Release);
        let closes_at = if sale.closed {
            CLOSED
        } else {
            // A window can not end at the epoch; if asked to, it is closed.
            sale.closes_at.unwrap_or(u64::MAX)
        };
        mirror.closes_at.store(closes_at, Ordering::Release);
    }
}

/// Gates per chunk and chunks per app: up to 2^20 live entities per app
/// (entity numbers are interned per app; an archived entity's number
/// serves the next new one).
const CHUNK_BITS: u32 = 10;
const CHUNK_LEN: usize = 1 << CHUNK_BITS;
const CHUNKS: usize = 1 << 10;

/// Most entities one app can have.
pub(crate) const MAX_ENTITIES: usize = CHUNK_LEN * CHUNKS;

type Chunks<T> = Box<[OnceLock<Box<[T]>>]>;

/// The gates of one app's entities, by entity number. Chunks are never
/// freed; a gate's address never changes, so readers need no lock.
#[derive(Debug)]
pub(crate) struct Gates {
    sales: Chunks<RwLock<Sale>>,
    mirrors: Chunks<Mirror>,
    /// Whether any entity of the app ever had a sale other than "on sale,
    /// no window": until then the early check is this one load.
    restricted: AtomicBool,
}

impl Default for Gates {
    fn default() -> Self {
        Self {
            sales: (0..CHUNKS).map(|_| OnceLock::new()).collect(),
            mirrors: (0..CHUNKS).map(|_| OnceLock::new()).collect(),
            restricted: AtomicBool::new(false),
        }
    }
}

impl Gates {
    /// The gate of entity `entity`, if its chunk exists (every interned
    /// entity's does: see [`ensure`](Self::ensure)).
    #[inline]
    pub(crate) fn get(&self, entity: u32) -> Option<EntityGate<'_>> {
        let i = entity as usize;
        let (chunk, slot) = (i >> CHUNK_BITS, i & (CHUNK_LEN - 1));
        Some(EntityGate {
            sale: &self.sales.get(chunk)?.get()?[slot],
            mirror: &self.mirrors.get(chunk)?.get()?[slot],
            gates: self,
        })
    }

    /// The sale for the early check of entity `entity`: `None` while no
    /// entity of the app ever had a restricted sale (nothing to check).
    #[inline]
    pub(crate) fn early(&self, entity: u32) -> Option<Sale> {
        if !self.restricted.load(Ordering::Acquire) {
            return None;
        }
        self.get(entity).map(EntityGate::quick)
    }

    /// The gate of entity `entity`, allocating its chunk if needed; `None`
    /// past [`MAX_ENTITIES`].
    pub(crate) fn ensure(&self, entity: u32) -> Option<EntityGate<'_>> {
        let chunk = entity as usize >> CHUNK_BITS;
        self.sales
            .get(chunk)?
            .get_or_init(|| (0..CHUNK_LEN).map(|_| RwLock::default()).collect());
        self.mirrors
            .get(chunk)?
            .get_or_init(|| (0..CHUNK_LEN).map(|_| Mirror::default()).collect());
        self.get(entity)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_gate_is_an_open_sale_without_a_window() {
        let gates = Gates::default();
        assert!(gates.get(5).is_none(), "no chunk before ensure");
        let gate = gates.ensure(5).expect("within capacity");
        assert_eq!(gate.quick(), Sale::default());
        assert_eq!(*gate.hold(), Sale::default());
        assert!(gates.get(5).is_some());
        assert!(gates.ensure(u32::try_from(MAX_ENTITIES).unwrap()).is_none());
    }

    #[test]
    fn the_early_check_is_skipped_until_a_sale_is_restricted() {
        let gates = Gates::default();
        let gate = gates.ensure(3).expect("within capacity");
        assert_eq!(gates.early(3), None);
        gate.change().set(Sale::default());
        assert_eq!(gates.early(3), None, "an open sale restricts nothing");
        let closed = Sale {
            closed: true,
            ..Sale::default()
        };
        gate.change().set(closed);
        assert_eq!(gates.early(3), Some(closed));
        assert_eq!(gates.early(4), Some(Sale::default()), "same chunk");
        assert_eq!(gates.early(5_000), None, "no chunk");
    }

    #[test]
    fn a_change_shows_in_both_copies() {
        let gates = Gates::default();
        let gate = gates.ensure(1_500).expect("within capacity");
        let sale = Sale {
            closed: false,
            opens_at: Some(10),
            closes_at: Some(20),
        };
        gate.change().set(sale);
        assert_eq!(gate.quick(), sale);
        assert_eq!(*gate.hold(), sale);
        gate.change().set(Sale {
            closed: true,
            ..Sale::default()
        });
        assert!(gate.quick().closed);
        assert_eq!(gate.quick().closes_at, None);
    }
}
