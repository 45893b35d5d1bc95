//! Expiry: when a hold ends on its own, and what ending it records.
//!
//! Owns the expiry rules: [`holds_at`] (the one place that says when an
//! ACTIVE reservation — `ReservationRecord::is_active`, defined once with
//! the record — still holds its seats), the sweep that marks overdue reservations EXPIRED and frees
//! their holds ([`sweep`], [`expire`]), the recovery of payments whose
//! answer was lost ([`resolve_pending_payments`]) and the rules' part of
//! opening: restoring the holds of reservations still live
//! ([`restore_holds`]). It must never expire a reservation whose confirm
//! holds a live pin, and never free a seat another hold took over.

use crate::clock::UnixMillis;
use crate::error::StorageError;
use crate::locks::{HoldId, LockState, SeatKey};
use crate::model::{BookingStatus, ReservationStatus};
use crate::state::Inner;
use crate::state::stats::Counter;
use crate::store::{BookingRecord, PaymentState, ReservationRecord};

/// Whether a reservation still holds its seats at `now`: ACTIVE and not
/// past its expiry (docs/design.md, invariant 2: only these count).
#[inline]
pub(crate) fn holds_at(rec: &ReservationRecord, now: UnixMillis) -> bool {
    rec.is_active() && rec.expires_at > now
}

/// Puts back in the lock table the holds of the reservations storage
/// listed as active on open (`active`, from [`Inner::open`]) that still
/// hold their seats now, on the seats not booked since, and records them
/// in their users' quota ledgers. Runs before any acquire.
pub(crate) fn restore_holds(inner: &Inner, mut active: Vec<(u64, ReservationRecord)>) {
    let now = inner.now();
    active.sort_by_key(|(id, _)| *id);
    for (id, rec) in &active {
        if holds_at(rec, now)
            && let Some(app) = inner.app_state(&rec.app_id)
        {
            for key in app.keys(&rec.seat_ids) {
                if inner.locks().state(key, now) != LockState::Booked {
                    inner.locks().restore(key, HoldId(*id), rec.expires_at);
                }
            }
        }
    }
    restore_quotas(inner, &active, now);
}

/// Marks ACTIVE reservations whose expiry has passed as EXPIRED and frees
/// their holds, skipping any whose confirm is committing, and drops the
/// due rows of the active-holds index. Returns how many it expired.
pub(crate) fn sweep(inner: &Inner) -> Result<usize, StorageError> {
    const BATCH: usize = 1024;
    let mut total = 0;
    loop {
        let now = inner.now();
        let due = inner.storage().read()?.expired_holds(now, BATCH)?;
        let swept = expire(inner, &due, now)?;
        total += swept.expired;
        // A full batch whose rows were all kept (pinned) would loop
        // forever; stop when nothing moved.
        if due.len() < BATCH || swept.dropped == 0 {
            resolve_pending_payments(inner)?;
            return Ok(total);
        }
    }
}

/// Turns every payment binding that is still pending although its
/// reservation ended (expired, released) and no confirm of it is in
/// flight into a REFUND_DUE booking record. Returns how many.
///
/// Such a binding means the verifier was asked and its answer was never
/// recorded: the engine crashed or its storage failed after the
/// binding's commit, or the verifier panicked. The answer may have been
/// an approval, so the payment is listed as refund due (docs/design.md,
/// invariant 9): the operator checks it with the payment provider and
/// refunds what was captured. A binding whose reservation is still
/// ACTIVE is left alone: the buyer may still retry the confirm, which
/// asks the verifier again.
pub(crate) fn resolve_pending_payments(inner: &Inner) -> Result<usize, StorageError> {
    let pending = inner.storage().read()?.pending_payments()?;
    if pending.is_empty() {
        return Ok(0);
    }
    let now = inner.now();
    inner.storage().write(|tx| {
        let mut resolved = 0;
        for (app, payment_id) in &pending {
            let Some(mut binding) = tx.payment(app, payment_id)? else {
                continue;
            };
            if binding.state != PaymentState::Pending || inner.is_confirming(binding.reservation_id)
            {
                continue;
            }
            let Some(res) = tx.reservation(binding.reservation_id)? else {
                continue;
            };
            if res.is_active() {
                continue;
            }
            binding.state = PaymentState::RefundDue;
            tx.put_payment(app, payment_id, &binding)?;
            let record = BookingRecord {
                app_id: res.app_id,
                user_id: res.user_id,
                seat_ids: res.seat_ids,
                reservation_id: binding.reservation_id,
                payment_id: payment_id.clone(),
                amount_minor: res.total_minor,
                currency: res.currency,
                status: BookingStatus::RefundDue,
                created_at: now,
                cancelled_at: None,
            };
            tx.put_booking(&binding.booking_id, &record, true)?;
            resolved += 1;
        }
        Ok(resolved)
    })
}

/// Marks the given `(indexed expiry, id)` reservations EXPIRED if they
/// are still ACTIVE, past their expiry at `now` and not pinned by a
/// confirm in flight (a pin past its deadline no longer counts), and
/// frees whatever they still hold. Drops the
/// index rows of those it expired and of those that no longer match
/// their reservation (confirmed, released, extended: see
/// `WriteTx::put_reservation`).
pub(crate) fn expire(
    inner: &Inner,
    due: &[(u64, u64)],
    now: UnixMillis,
) -> Result<Swept, StorageError> {
    if due.is_empty() {
        return Ok(Swept::default());
    }
    let (expired, dropped) = inner.storage().write(|tx| {
        let mut expired: Vec<u64> = Vec::new();
        let mut dropped = Vec::new();
        for &(indexed, id) in due {
            let Some(mut rec) = tx.reservation(id)? else {
                dropped.push((indexed, id));
                continue;
            };
            if !rec.is_active() || rec.expires_at != indexed {
                dropped.push((indexed, id));
                continue;
            }
            if holds_at(&rec, now) {
                continue;
            }
            // Freed together with the pin check, so a confirm can not
            // pin in between: it finds its hold lost instead. Should
            // this transaction fail, the seats are free all the same,
            // as they were anyway (the hold is past its expiry).
            if let Some(app) = inner.app_state(&rec.app_id) {
                if inner
                    .locks()
                    .release_unpinned(&app.keys(&rec.seat_ids), HoldId(id), now)
                    .is_err()
                {
                    continue;
                }
                app.holds().forget(rec.user_id, HoldId(id));
            }
            rec.status = ReservationStatus::Expired;
            tx.put_reservation(id, &rec)?;
            dropped.push((indexed, id));
            expired.push(id);
        }
        tx.drop_holds(&dropped)?;
        Ok::<_, StorageError>((expired, dropped.len()))
    })?;
    inner
        .counters()
        .add(Counter::Expiries, expired.len() as u64);
    Ok(Swept {
        expired: expired.len(),
        dropped,
    })
}

/// Records the holds just restored on open in their users' quota
/// ledgers (by the seats each one got back), so a reopen gives nobody
/// a fresh allowance.
fn restore_quotas(inner: &Inner, active: &[(u64, ReservationRecord)], now: UnixMillis) {
    for (id, rec) in active {
        let Some(app) = inner.app_state(&rec.app_id) else {
            continue;
        };
        let hold = HoldId(*id);
        let (keys, entities): (Vec<SeatKey>, Vec<u32>) = rec
            .seat_ids
            .iter()
            .filter_map(|s| app.seat(s).map(|e| (e.key, e.entity)))
            .filter(|&(key, _)| {
                matches!(inner.locks().state(key, now),
                    LockState::Held { holder, .. } if holder == hold)
            })
            .unzip();
        app.holds().restore(rec.user_id, hold, &keys, &entities);
    }
}

/// What one [`expire`] call did.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct Swept {
    /// Reservations marked EXPIRED.
    pub(crate) expired: usize,
    /// Active-holds index rows removed (expired or stale).
    pub(crate) dropped: usize,
}
