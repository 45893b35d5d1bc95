//! Each app's per-user ledger of holds and its interned entity names.
//!
//! Owns [`Ledger`] and [`Entities`]: the data the hold quotas count. It
//! records, forgets and counts holds; whether a hold may be kept is the
//! quota rule's decision (`rules::quota`), passed in to
//! [`Ledger::admit`]. It never touches storage and never decides a seat's
//! state: the lock table does that.
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

use std::collections::HashMap;

use super::FastMap;
use crate::locks::{HoldId, LockState, LockTable, SeatKey};
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
        matches!(locks.state(self.probe, now), LockState::Held { holder, .. } if holder == self.hold)
    }
}

/// One user's recorded holds. Entries of ended holds stay until a prune:
/// the list is pruned (one lock-table read per entry) when a limit would
/// otherwise refuse, and when it has doubled since the last prune, so a
/// reserve costs O(1) amortised reads even when the limits are huge.
#[derive(Debug, Default)]
pub(crate) struct UserLedger {
    entries: Vec<Entry>,
    prune_at: usize,
}

impl UserLedger {
    fn prune(&mut self, locks: &LockTable, now: u64) {
        self.entries.retain(|e| e.counts(locks, now));
        self.prune_at = (self.entries.len() * 2).max(8);
    }
    /// How many holds are recorded (live or not: an upper bound of the
    /// live count).
    pub(crate) fn reservations(&self) -> usize {
        self.entries.len()
    }

    /// How many seats of `entity` the recorded holds cover (an upper
    /// bound of the live count).
    pub(crate) fn seats_of(&self, entity: u32) -> usize {
        self.entries.iter().map(|e| e.seats.of(entity)).sum()
    }
}

/// One app's holds per user.
#[derive(Debug, Default)]
pub(crate) struct Ledger {
    users: FastMap<UserId, UserLedger>,
}

impl Ledger {
    /// Records `hold` (just acquired in `locks` on `keys`, whose entities
    /// are `entities`) for `user` unless `refuse` objects, all under the
    /// user's entry lock. `refuse` sees the user's recorded holds and is
    /// asked again after dropping those no longer live at `now` (the
    /// decision is the quota rule's, `rules::quota`; this only counts).
    ///
    /// # Errors
    /// What `refuse` answered after the prune; nothing recorded.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn admit<E>(
        &self,
        locks: &LockTable,
        now: u64,
        user: UserId,
        hold: HoldId,
        keys: &[SeatKey],
        entities: &[u32],
        refuse: impl Fn(&UserLedger, &[u32]) -> Option<E>,
    ) -> Result<(), E> {
        let mut ledger = self.users.entry(user).or_default();
        if ledger.entries.len() >= ledger.prune_at || refuse(&ledger, entities).is_some() {
            ledger.prune(locks, now);
            if let Some(refusal) = refuse(&ledger, entities) {
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

/// One app's entity names, interned to small numbers for the ledger and
/// the gates. Written only by entity and seat creation and archiving
/// (under the admin lock) and on open. The number of an archived entity
/// serves the next new one, so numbers stay bounded by the live entities.
#[derive(Debug, Default)]
pub(crate) struct Entities {
    ids: HashMap<Box<str>, u32>,
    /// By number; `""` for a number given back by [`release`](Self::release)
    /// (entity ids are never empty).
    names: Vec<Box<str>>,
    /// Numbers given back, handed out again before new ones.
    free: Vec<u32>,
}

impl Entities {
    /// From names in id order (as `Storage::load` numbers them).
    pub(crate) fn from_names(names: Vec<Box<str>>) -> Self {
        let ids = names
            .iter()
            .enumerate()
            .map(|(i, n)| (n.clone(), u32::try_from(i).unwrap_or(u32::MAX)))
            .collect();
        Self {
            ids,
            names,
            free: Vec::new(),
        }
    }

    /// The number of `name`, new or known.
    pub(crate) fn intern(&mut self, name: &str) -> u32 {
        if let Some(&id) = self.ids.get(name) {
            return id;
        }
        let id = self.next_id();
        if self.free.last() == Some(&id) {
            self.free.pop();
            self.names[id as usize] = name.into();
        } else {
            self.names.push(name.into());
        }
        self.ids.insert(name.into(), id);
        id
    }

    /// Forgets entity number `id` (archived); the number serves the next
    /// new name.
    pub(crate) fn release(&mut self, id: u32) {
        if let Some(name) = self.names.get_mut(id as usize)
            && !name.is_empty()
        {
            self.ids.remove(&**name);
            *name = "".into();
            self.free.push(id);
        }
    }

    /// The number of `name`, if known.
    pub(crate) fn id(&self, name: &str) -> Option<u32> {
        self.ids.get(name).copied()
    }

    /// The number the next new name gets.
    pub(crate) fn next_id(&self) -> u32 {
        self.free
            .last()
            .copied()
            .unwrap_or_else(|| u32::try_from(self.names.len()).unwrap_or(u32::MAX))
    }

    /// One past the highest number in use or given back.
    pub(crate) fn numbers(&self) -> u32 {
        u32::try_from(self.names.len()).unwrap_or(u32::MAX)
    }

    /// The name of entity `id` (`""` if it was released).
    pub(crate) fn name(&self, id: u32) -> &str {
        self.names.get(id as usize).map_or("", |n| n)
    }

    /// The names of the entities known now, in number order.
    pub(crate) fn names(&self) -> impl Iterator<Item = &str> {
        self.names.iter().map(|n| &**n).filter(|n| !n.is_empty())
    }
}

#[cfg(test)]
mod tests {
    use super::Entities;

    #[test]
    fn a_released_number_serves_the_next_new_name() {
        let mut e = Entities::from_names(vec!["A".into(), "B".into()]);
        assert_eq!(e.intern("C"), 2);
        e.release(1);
        e.release(1);
        assert_eq!(e.id("B"), None);
        assert_eq!(e.name(1), "");
        assert_eq!(e.names().collect::<Vec<_>>(), ["A", "C"]);
        assert_eq!(e.next_id(), 1);
        assert_eq!(e.intern("D"), 1, "the released number, not a new one");
        assert_eq!(e.intern("E"), 3);
        assert_eq!(e.numbers(), 4);
        assert_eq!((e.id("D"), e.name(1)), (Some(1), "D"));
    }
}
