//! Seat retirement: when a seat may leave the directory.
//!
//! Owns the rule of removing seats: only seats that are neither held nor
//! booked (an expired hold counts as free), all or none, retired in the
//! lock table before the removal commits so no reserve can take one in
//! between, and put back if anything fails; once the removal committed,
//! the seats leave the directory and their keys are recycled. Archiving
//! an entity (`entities`) retires its seats the same way, booked ones
//! included, through [`Retired`]. It must never remove a held or booked
//! seat, never leave a seat retired in memory but present in storage, and
//! never recycle a key before its seat left the directory.

use crate::clock::UnixMillis;
use crate::error::AdminError;
use crate::locks::{LockTable, SeatKey};
use crate::state::{AppState, Inner};

/// Removes `seat_ids` (checked well formed and distinct by the caller)
/// from `app`, all or none: see [`Admin::remove_seats`](crate::Admin::remove_seats).
///
/// # Errors
/// [`AdminError::SeatNotFound`], [`AdminError::SeatInUse`],
/// [`AdminError::Storage`]; nothing changed.
pub(crate) fn remove_seats(
    inner: &Inner,
    app: &AppState,
    app_id: &str,
    seat_ids: &[&str],
    now: UnixMillis,
) -> Result<usize, AdminError> {
    let _guard = inner.admin_lock();
    let mut keys = Vec::with_capacity(seat_ids.len());
    for &seat in seat_ids {
        let key = app
            .seat(seat)
            .map(|e| e.key)
            .ok_or_else(|| AdminError::SeatNotFound(seat.to_owned()))?;
        keys.push(key);
    }
    let mut retired = Retired::new(inner.locks(), keys.len());
    for (&seat, &key) in seat_ids.iter().zip(&keys) {
        if !inner.locks().try_retire(key, now) {
            return Err(AdminError::SeatInUse(seat.to_owned()));
        }
        retired.push(key, false);
    }
    inner.storage().write(|tx| {
        for &seat in seat_ids {
            if tx.seat(app_id, seat)?.is_none() {
                return Err(AdminError::SeatNotFound(seat.to_owned()));
            }
            tx.delete_seat(app_id, seat)?;
        }
        Ok(())
    })?;
    for &seat in seat_ids {
        app.remove_seat(seat);
    }
    retired.recycle();
    Ok(seat_ids.len())
}

/// Seats retired by a removal that has not committed yet; dropping it
/// (on any error, or a panic) makes them free (or booked) again.
pub(crate) struct Retired<'a> {
    locks: &'a LockTable,
    /// Each retired key and whether it was booked.
    keys: Vec<(SeatKey, bool)>,
}

impl<'a> Retired<'a> {
    pub(crate) fn new(locks: &'a LockTable, capacity: usize) -> Self {
        Self {
            locks,
            keys: Vec::with_capacity(capacity),
        }
    }

    /// Notes `key`, just retired (`booked` if it was).
    pub(crate) fn push(&mut self, key: SeatKey, booked: bool) {
        self.keys.push((key, booked));
    }

    /// The removal committed and its seats left the directory: their keys
    /// go back to the lock table for new seats.
    pub(crate) fn recycle(mut self) {
        let keys: Vec<SeatKey> = self.keys.drain(..).map(|(k, _)| k).collect();
        self.locks.recycle(&keys);
    }
}

impl Drop for Retired<'_> {
    fn drop(&mut self) {
        for &(key, booked) in &self.keys {
            self.locks.unretire(key, booked);
        }
    }
}
