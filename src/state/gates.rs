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
//! opens never take a seat even for an instant. That early check reads
//! three atomics ([`EntityGate::quick`]): no shared write on the hot path.
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

/// The gate of one entity: its sale, authoritative behind a lock and
/// mirrored in atomics for the early check.
#[derive(Debug, Default)]
pub(crate) struct EntityGate {
    sale: RwLock<Sale>,
    closed: AtomicBool,
    /// `0`: no lower bound.
    opens_at: AtomicU64,
    /// `u64::MAX`: no upper bound.
    closes_at: AtomicU64,
}

impl EntityGate {
    fn new() -> Self {
        let gate = Self::default();
        gate.closes_at.store(u64::MAX, Ordering::Relaxed);
        gate
    }

    /// The sale as the atomics show it now (see the module docs: possibly
    /// a mix of two windows during a change).
    #[inline]
    pub(crate) fn quick(&self) -> Sale {
        let opens_at = self.opens_at.load(Ordering::Acquire);
        let closes_at = self.closes_at.load(Ordering::Acquire);
        Sale {
            closed: self.closed.load(Ordering::Acquire),
            opens_at: (opens_at != 0).then_some(opens_at),
            closes_at: (closes_at != u64::MAX).then_some(closes_at),
        }
    }

    /// The sale, held: no change completes while the guard lives.
    pub(crate) fn hold(&self) -> RwLockReadGuard<'_, Sale> {
        self.sale.read()
    }

    /// Exclusive access for a change: waits for every [`hold`](Self::hold)
    /// to end. Set the new sale with [`SaleChange::set`].
    pub(crate) fn change(&self) -> SaleChange<'_> {
        SaleChange {
            guard: self.sale.write(),
            gate: self,
        }
    }
}

/// A sale change in progress (the gate's write lock).
pub(crate) struct SaleChange<'a> {
    guard: RwLockWriteGuard<'a, Sale>,
    gate: &'a EntityGate,
}

impl SaleChange<'_> {
    /// Makes `sale` the entity's sale, in both copies.
    pub(crate) fn set(&mut self, sale: Sale) {
        *self.guard = sale;
        let gate = self.gate;
        gate.opens_at
            .store(sale.opens_at.unwrap_or(0), Ordering::Release);
        gate.closes_at
            .store(sale.closes_at.unwrap_or(u64::MAX), Ordering::Release);
        gate.closed.store(sale.closed, Ordering::Release);
    }
}

/// Gates per chunk and chunks per app: up to 2^20 entities per app
/// (entity numbers are interned per app and never reused).
const CHUNK_BITS: u32 = 10;
const CHUNK_LEN: usize = 1 << CHUNK_BITS;
const CHUNKS: usize = 1 << 10;

/// Most entities one app can have.
pub(crate) const MAX_ENTITIES: usize = CHUNK_LEN * CHUNKS;

/// The gates of one app's entities, by entity number. Append-only; a
/// gate's address never changes, so readers need no lock.
#[derive(Debug)]
pub(crate) struct Gates {
    chunks: Box<[OnceLock<Box<[EntityGate]>>]>,
}

impl Default for Gates {
    fn default() -> Self {
        Self {
            chunks: (0..CHUNKS).map(|_| OnceLock::new()).collect(),
        }
    }
}

impl Gates {
    /// The gate of entity `entity`, if its chunk exists (every interned
    /// entity's does: see [`ensure`](Self::ensure)).
    #[inline]
    pub(crate) fn get(&self, entity: u32) -> Option<&EntityGate> {
        let i = entity as usize;
        self.chunks
            .get(i >> CHUNK_BITS)?
            .get()
            .map(|chunk| &chunk[i & (CHUNK_LEN - 1)])
    }

    /// The gate of entity `entity`, allocating its chunk if needed; `None`
    /// past [`MAX_ENTITIES`].
    pub(crate) fn ensure(&self, entity: u32) -> Option<&EntityGate> {
        let i = entity as usize;
        let chunk = self
            .chunks
            .get(i >> CHUNK_BITS)?
            .get_or_init(|| (0..CHUNK_LEN).map(|_| EntityGate::new()).collect());
        Some(&chunk[i & (CHUNK_LEN - 1)])
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
