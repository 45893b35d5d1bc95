//! The in-memory lock table: compare-and-set TTL holds on seats.
//!
//! Owns the per-seat hold state (who holds a seat, until when, whether it is
//! booked) and nothing else. This is the Redis `SET seat:lock:ID v NX EX`
//! of the old design, in process: every reserve attempt is decided here, and
//! a losing attempt is decided *only* here.
//!
//! It must never touch the disk, allocate, or take a write lock on the
//! rejection path (a seat that is held or booked): that path is a handful of
//! atomic loads, so a sell-out rush is absorbed in memory.
//!
//! # Design
//!
//! Seats are interned to dense [`SeatKey`]s (`u32`) by the engine. Each key
//! owns a `slot` in a segmented array that grows without moving
//! existing slots, so readers index it with no lock at all.
//!
//! A slot is a tiny seqlock: a version word (odd while a writer is inside),
//! the holder and the expiry. Readers take a consistent snapshot with plain
//! loads and retry if a writer raced them; writers claim the version with a
//! compare-and-set, so at most one writer is ever inside a slot.
//!
//! The holder of a live hold is a [`HoldId`]: a number taken from one
//! engine-wide counter on every successful acquire. It is the reservation id
//! *and* the fencing token: it increases on every acquire of a given seat, so
//! a stale holder (whose hold expired and was taken over) can never pass for
//! the new one.
//!
//! Multi-seat acquires are all-or-nothing: the writer locks the slots in key
//! order (no deadlock between two multi-seat acquires), checks them all, and
//! either writes them all or none.
//!
//! # Words
//!
//! * A **slot** is one seat key's cell in this table (`slot::Slot`), and
//!   nothing else in the rules and state code.
//! * A **vacant** slot holds no seat: never activated, removed, or retired
//!   while its removal commits ([`LockState::Vacant`]).
//! * [`LockState`] is the table's view of one seat (free, held by a hold
//!   id, booked, vacant). The buyer-facing view, built from it and the
//!   stored status, is [`crate::SeatState`]; the stored one is the store's
//!   `SeatStatus`.
//!
//! # Assertions
//!
//! The table asserts its invariants where they live, before it changes a
//! slot, so a failed assertion leaves every slot as it was (and unlocked:
//! guards publish on unwind). Checks on the confirm and open paths
//! ([`LockTable::book`], [`LockTable::restore`], fresh keys in
//! [`LockTable::add_seat`]) are `assert!`, on in release builds: they cost
//! a few loads next to a commit or once per seat at open. Checks on the
//! reserve hot path (hold-id range) and in drop guards that may run while a
//! panic unwinds ([`LockTable::unpin`], [`LockTable::unretire`], where a
//! second panic would abort) are `debug_assert!`. No panic crosses the C
//! ABI: `ffi::boundary` catches it and answers `SEATBOOK_PANIC`.
//!
//! This module is public only for the benchmarks and the loom model tests
//! (`#[doc(hidden)]`); it is not part of the supported API.

mod slot;
mod table;

pub use table::{
    AcquireError, HoldId, LockState, LockTable, MAX_SEATS_PER_HOLD, PinError, SeatKey,
};
