//! Hold quotas: how much one user may hold at once in one app.
//!
//! Owns the quota rule: [`Refusal`] and [`admit`]. It decides whether a
//! hold the lock table just granted may be kept (docs/design.md, invariant 12:
//! at most `holds.max_active_per_user` live reservations per user and app,
//! at most `holds.max_held_seats_per_entity` held seats per user and
//! entity). It never touches storage and never decides a seat's state: the
//! lock table does that.
//!
//! The ledger itself (who holds what, and whether it still counts) is
//! state: `state::ledger`.
//!
//! # Concurrency
//!
//! A reserve first wins its seats in the lock table (losers never get
//! here, so the rejection path is unchanged: no lock, no write), then
//! [`admit`]s the hold under its user's map entry: dropping
//! the entries that no longer count, checking the limits with the new
//! hold included and recording it is one step under that entry's shard
//! lock. Concurrent reserves of one user are therefore admitted one after
//! the other and can never exceed the limits together; reserves of other
//! users take other shards (no engine-wide lock). A refused hold is given
//! back by the caller before anything is written, so its seats were held
//! for a few microseconds and never durably.

use crate::config::HoldPolicy;
use crate::locks::{HoldId, LockTable, SeatKey};
use crate::model::UserId;
use crate::state::ledger::{Ledger, UserLedger};

/// Why a hold was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Refusal {
    /// The user already has `holds.max_active_per_user` live reservations.
    Reservations,
    /// The user would hold more than `holds.max_held_seats_per_entity`
    /// seats of this entity.
    Seats { entity: u32 },
}

/// Records `hold` (just acquired in `locks` on `keys`, whose entities are
/// `entities`) in `ledger` for `user` if the user stays within `policy`
/// with it, counting only the user's holds that are live at `now`.
///
/// # Errors
/// [`Refusal`] says which limit the hold would pass; nothing recorded.
#[allow(clippy::too_many_arguments)]
pub(crate) fn admit(
    ledger: &Ledger,
    locks: &LockTable,
    now: u64,
    user: UserId,
    hold: HoldId,
    keys: &[SeatKey],
    entities: &[u32],
    policy: &HoldPolicy,
) -> Result<(), Refusal> {
    ledger.admit(locks, now, user, hold, keys, entities, |held, entities| {
        refusal(held, entities, policy)
    })
}

/// The first limit the new hold would pass, counting every entry
/// (live or not: an upper bound of the live count).
fn refusal(held: &UserLedger, entities: &[u32], policy: &HoldPolicy) -> Option<Refusal> {
    if held.reservations() >= policy.max_active_per_user {
        return Some(Refusal::Reservations);
    }
    if policy.max_held_seats_per_entity == usize::MAX {
        return None;
    }
    for (i, &entity) in entities.iter().enumerate() {
        if entities[..i].contains(&entity) {
            continue;
        }
        let wanted = entities.iter().filter(|&&e| e == entity).count();
        let already = held.seats_of(entity);
        if already.saturating_add(wanted) > policy.max_held_seats_per_entity {
            return Some(Refusal::Seats { entity });
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(reservations: usize, seats: usize) -> HoldPolicy {
        HoldPolicy {
            max_active_per_user: reservations,
            max_held_seats_per_entity: seats,
            ..HoldPolicy::default()
        }
    }

    #[test]
    fn a_hold_stops_counting_when_its_seat_is_no_longer_held_by_it() {
        let locks = LockTable::new(1);
        let keys: Vec<SeatKey> = (0..4).map(|_| locks.add_seat(false).unwrap()).collect();
        let ledger = Ledger::default();
        let user = UserId(7);
        let p = policy(1, 10);
        let a = locks.try_acquire(&keys[..1], 0, 100).unwrap();
        admit(&ledger, &locks, 0, user, a, &keys[..1], &[0], &p).unwrap();
        let b = locks.try_acquire(&keys[1..2], 0, 100).unwrap();
        assert_eq!(
            admit(&ledger, &locks, 0, user, b, &keys[1..2], &[0], &p),
            Err(Refusal::Reservations)
        );
        locks.release(&keys[1..2], b);
        // Expiry alone (no forget) frees the quota.
        let c = locks.try_acquire(&keys[2..3], 100, 200).unwrap();
        admit(&ledger, &locks, 100, user, c, &keys[2..3], &[0], &p).unwrap();
        assert_eq!(ledger.counts(&locks, 100)[0].reservations, 1);
        ledger.forget(user, c);
        assert!(ledger.counts(&locks, 100).is_empty());
    }

    #[test]
    fn seats_count_per_entity() {
        let locks = LockTable::new(1);
        let keys: Vec<SeatKey> = (0..6).map(|_| locks.add_seat(false).unwrap()).collect();
        let ledger = Ledger::default();
        let user = UserId(7);
        let p = policy(5, 2);
        let a = locks.try_acquire(&keys[..2], 0, 100).unwrap();
        admit(&ledger, &locks, 0, user, a, &keys[..2], &[0, 1], &p).unwrap();
        let b = locks.try_acquire(&keys[2..4], 0, 100).unwrap();
        assert_eq!(
            admit(&ledger, &locks, 0, user, b, &keys[2..4], &[2, 1], &p),
            Ok(())
        );
        let c = locks.try_acquire(&keys[4..5], 0, 100).unwrap();
        assert_eq!(
            admit(&ledger, &locks, 0, user, c, &keys[4..5], &[1], &p),
            Err(Refusal::Seats { entity: 1 })
        );
        // Another user is not affected.
        admit(&ledger, &locks, 0, UserId(8), c, &keys[4..5], &[1], &p).unwrap();
    }
}
