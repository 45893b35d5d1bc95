//! Hold quotas: how much one user may hold at once in one app.
//!
//! Owns each app's per-user ledger of holds ([`Ledger`]) and the interned
//! entity names its seats belong to ([`Entities`]). It decides whether a
//! hold the lock table just granted may be kept (SPEC issue 14, point 5:
//! at most `holds.max_active_per_user` live reservations per user and app,
//! at most `holds.max_held_seats_per_entity` held seats per user and
//! entity). It never touches storage and never decides a seat's state: the
//! lock table does that.
//!
//! # The lock table is the truth
//!
//! A ledger entry only names a hold (its id and one of its seats). Whether
//! the hold still counts is read from the lock table each time: it counts
//! while that seat is held by that hold id, at the caller's `now`. So a
//! hold stops counting the instant it is released, confirmed, declined or
//! taken back by the sweep, and the instant it *expires*, before any sweep
//! has run, exactly as its seats become free for others at that instant.
//! A hold whose confirm is committing is pinned in the lock table ("never
//! expires" until the confirm ends) and keeps counting until then. The
//! operations that end a hold also [`forget`](Ledger::forget) it, but only
//! to keep the ledger small; a missed forget can never make a user's
//! count wrong, only leave a dead entry until that user's list is next
//! pruned (when a limit would refuse, or the list doubled).
//!
//! # Concurrency
//!
//! A reserve first wins its seats in the lock table (losers never get
//! here, so the rejection path is unchanged: no lock, no write), then
//! [`admit`](Ledger::admit)s the hold under its user's map entry: dropping
//! the entries that no longer count, checking the limits with the new
//! hold included and recording it is one step under that entry's shard
//! lock. Concurrent reserves of one user are therefore admitted one after
//! the other and can never exceed the limits together; reserves of other
//! users take other shards (no engine-wide lock). A refused hold is given
//! back by the caller before anything is written, so its seats were held
//! for a few microseconds and never durably.

use std::collections::HashMap;

use crate::config::HoldPolicy;
use crate::engine::FastMap;
use crate::locks::{HoldId, LockTable, SeatKey, SeatState};
use crate::model::{UserHolds, UserId};

/// One recorded hold of a user.
#[derive(Debug)]
struct Entry {
    hold: HoldId,
    /// One of the hold's seats: the hold counts while this seat is held by it.
    probe: SeatKey,
    seats: Seats,
}

/// The entities of a hold's seats; no allocation for the usual hold of
/// one entity.
#[derive(Debug)]
enum Seats {
    One { entity: u32, count: u32 },
    Many(Box<[u32]>),
}

impl Seats {
    fn new(entities: &[u32]) -> Self {
        match entities.first() {
            Some(&entity) if entities.iter().all(|&e| e == entity) => Self::One {
                entity,
                count: u32::try_from(entities.len()).unwrap_or(u32::MAX),
            },
            _ => Self::Many(entities.into()),
        }
    }

    fn len(&self) -> usize {
        match self {
            Self::One { count, .. } => *count as usize,
            Self::Many(all) => all.len(),
        }
    }

    fn of(&self, entity: u32) -> usize {
        match self {
            Self::One { entity: e, count } => {
                if *e == entity {
                    *count as usize
                } else {
                    0
                }
            }
            Self::Many(all) => all.iter().filter(|&&e| e == entity).count(),
        }
    }
}

impl Entry {
    fn counts(&self, locks: &LockTable, now: u64) -> bool {
        matches!(locks.state(self.probe, now), SeatState::Held { holder, .. } if holder == self.hold)
    }
}

/// One user's recorded holds. Entries of ended holds stay until a prune:
/// the list is pruned (one lock-table read per entry) when a limit would
/// otherwise refuse, and when it has doubled since the last prune, so a
/// reserve costs O(1) amortised reads even when the limits are huge.
#[derive(Debug, Default)]
struct UserLedger {
    entries: Vec<Entry>,
    prune_at: usize,
}

impl UserLedger {
    fn prune(&mut self, locks: &LockTable, now: u64) {
        self.entries.retain(|e| e.counts(locks, now));
        self.prune_at = (self.entries.len() * 2).max(8);
    }

    /// The first limit the new hold would pass, counting every entry
    /// (live or not: an upper bound of the live count).
    fn refusal(&self, entities: &[u32], policy: &HoldPolicy) -> Option<Refusal> {
        if self.entries.len() >= policy.max_active_per_user {
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
            let already: usize = self.entries.iter().map(|e| e.seats.of(entity)).sum();
            if already.saturating_add(wanted) > policy.max_held_seats_per_entity {
                return Some(Refusal::Seats { entity });
            }
        }
        None
    }
}

/// Why a hold was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Refusal {
    /// The user already has `holds.max_active_per_user` live reservations.
    Reservations,
    /// The user would hold more than `holds.max_held_seats_per_entity`
    /// seats of this entity.
    Seats { entity: u32 },
}

/// One app's holds per user.
#[derive(Debug, Default)]
pub(crate) struct Ledger {
    users: FastMap<UserId, UserLedger>,
}

impl Ledger {
    /// Records `hold` (just acquired in `locks` on `keys`, whose entities
    /// are `entities`) for `user` if the user stays within `policy` with
    /// it, counting only the user's holds that are live at `now`.
    ///
    /// # Errors
    /// [`Refusal`] says which limit the hold would pass; nothing recorded.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn admit(
        &self,
        locks: &LockTable,
        now: u64,
        user: UserId,
        hold: HoldId,
        keys: &[SeatKey],
        entities: &[u32],
        policy: &HoldPolicy,
    ) -> Result<(), Refusal> {
        let mut ledger = self.users.entry(user).or_default();
        if ledger.entries.len() >= ledger.prune_at || ledger.refusal(entities, policy).is_some() {
            ledger.prune(locks, now);
            if let Some(refusal) = ledger.refusal(entities, policy) {
                return Err(refusal);
            }
        }
        ledger.entries.push(Entry {
            hold,
            probe: keys[0],
            seats: Seats::new(entities),
        });
        Ok(())
    }

    /// Records a hold rebuilt on open, without checking the limits (the
    /// hold was admitted when it was taken). `keys` are the seats the lock
    /// table restored for it; nothing is recorded if there are none.
    pub(crate) fn restore(&self, user: UserId, hold: HoldId, keys: &[SeatKey], entities: &[u32]) {
        if let Some(&probe) = keys.first() {
            self.users.entry(user).or_default().entries.push(Entry {
                hold,
                probe,
                seats: Seats::new(entities),
            });
        }
    }

    /// Drops the entry of a hold that ended (and the user's, once empty).
    pub(crate) fn forget(&self, user: UserId, hold: HoldId) {
        if let Some(mut held) = self.users.get_mut(&user)
            && let Some(i) = held.entries.iter().rposition(|e| e.hold == hold)
        {
            held.entries.swap_remove(i);
        }
        self.users
            .remove_if(&user, |_, held| held.entries.is_empty());
    }

    /// Every user with at least one hold that counts at `now`, by user id.
    pub(crate) fn counts(&self, locks: &LockTable, now: u64) -> Vec<UserHolds> {
        let mut out: Vec<UserHolds> = self
            .users
            .iter()
            .filter_map(|row| {
                let live: Vec<&Entry> = row
                    .entries
                    .iter()
                    .filter(|e| e.counts(locks, now))
                    .collect();
                (!live.is_empty()).then(|| UserHolds {
                    user_id: *row.key(),
                    reservations: live.len(),
                    seats: live.iter().map(|e| e.seats.len()).sum(),
                })
            })
            .collect();
        out.sort_by_key(|u| u.user_id);
        out
    }
}

/// One app's entity names, interned to small numbers for the ledger.
/// Written only by seat creation (under the admin lock) and on open.
#[derive(Debug, Default)]
pub(crate) struct Entities {
    ids: HashMap<Box<str>, u32>,
    names: Vec<Box<str>>,
}

impl Entities {
    /// From names in id order (as `Storage::load` numbers them).
    pub(crate) fn from_names(names: Vec<Box<str>>) -> Self {
        let ids = names
            .iter()
            .enumerate()
            .map(|(i, n)| (n.clone(), u32::try_from(i).unwrap_or(u32::MAX)))
            .collect();
        Self { ids, names }
    }

    /// The number of `name`, new or known.
    pub(crate) fn intern(&mut self, name: &str) -> u32 {
        if let Some(&id) = self.ids.get(name) {
            return id;
        }
        let id = u32::try_from(self.names.len()).unwrap_or(u32::MAX);
        self.names.push(name.into());
        self.ids.insert(name.into(), id);
        id
    }

    /// The name of entity `id`.
    pub(crate) fn name(&self, id: u32) -> &str {
        self.names.get(id as usize).map_or("", |n| n)
    }
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
        ledger
            .admit(&locks, 0, user, a, &keys[..1], &[0], &p)
            .unwrap();
        let b = locks.try_acquire(&keys[1..2], 0, 100).unwrap();
        assert_eq!(
            ledger.admit(&locks, 0, user, b, &keys[1..2], &[0], &p),
            Err(Refusal::Reservations)
        );
        locks.release(&keys[1..2], b);
        // Expiry alone (no forget) frees the quota.
        let c = locks.try_acquire(&keys[2..3], 100, 200).unwrap();
        ledger
            .admit(&locks, 100, user, c, &keys[2..3], &[0], &p)
            .unwrap();
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
        ledger
            .admit(&locks, 0, user, a, &keys[..2], &[0, 1], &p)
            .unwrap();
        let b = locks.try_acquire(&keys[2..4], 0, 100).unwrap();
        assert_eq!(
            ledger.admit(&locks, 0, user, b, &keys[2..4], &[2, 1], &p),
            Ok(())
        );
        let c = locks.try_acquire(&keys[4..5], 0, 100).unwrap();
        assert_eq!(
            ledger.admit(&locks, 0, user, c, &keys[4..5], &[1], &p),
            Err(Refusal::Seats { entity: 1 })
        );
        // Another user is not affected.
        ledger
            .admit(&locks, 0, UserId(8), c, &keys[4..5], &[1], &p)
            .unwrap();
    }
}
