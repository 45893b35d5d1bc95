//! Retention: which old records may be purged, and purging them.
//!
//! Owns the rule behind [`Admin::purge_history`](crate::Admin::purge_history)
//! and the reaper's purge (`Config::purge_after`). It removes reservations
//! that ended without a booking (EXPIRED, or RELEASED by their holder, a
//! close or a declined payment) and the FAILED records of declined
//! payments, once they are older than the age asked for. It must never
//! remove a booking that moved money or seats (SUCCESS, CANCELLED,
//! REFUND_DUE, REFUNDED), a CONFIRMED or ACTIVE reservation, a payment
//! binding, or a reservation whose payment binding is still pending or
//! ended as a refund due or a booking.
//!
//! # Decisions
//!
//! - **Age** is counted from a reservation's creation (a FAILED record is
//!   purged with its reservation). It must be at least `holds.max_total`,
//!   the longest a hold can live: a purged reservation can never be live,
//!   and every active-holds row it left is due, so the sweep that runs
//!   first has dropped them.
//! - **The newest reservation stays**, whatever its age: opening
//!   continues hold ids (the fencing numbers, which are also reservation
//!   ids) after the largest stored one, so it must never go, or a reopen
//!   would hand out ids that purged reservations had (and their payment
//!   bindings still name).
//! - **Payment bindings stay.** A payment id presented once stays bound to
//!   its reservation (docs/design.md, invariant 8), even after the
//!   reservation and its FAILED record are gone: presenting it for
//!   another reservation is still `PaymentAlreadyUsed`.
//! - **What a buyer sees afterwards**: the purged reservation's token
//!   answers `ReservationNotFound`, and the FAILED attempt leaves the
//!   user's bookings.
//! - **Cost**: reservations are scanned in id order (creation order) from
//!   where the last purge since open stopped, in batches of
//!   [`BATCH`], one commit each; a purge stops at the first reservation
//!   younger than the age or still ACTIVE. Kept records are not looked at
//!   again until the engine is reopened.

use std::sync::atomic::Ordering;
use std::time::Duration;

use crate::error::{AdminError, StorageError};
use crate::model::{BookingStatus, PurgeReport, ReservationStatus};
use crate::state::Inner;
use crate::store::{PaymentState, ReservationRecord, WriteTx};
use crate::validate::InvalidInput;

use super::expiry;

/// Reservations examined per commit.
const BATCH: usize = 1024;

/// Purges what ended more than `older_than` ago (see the module docs).
pub(crate) fn purge(inner: &Inner, older_than: Duration) -> Result<PurgeReport, AdminError> {
    if older_than < inner.config().holds.max_total {
        return Err(InvalidInput::new("older_than", "must be at least holds.max_total").into());
    }
    // Drops the active-holds rows of everything that ended, so none is
    // left pointing at a purged reservation.
    expiry::sweep(inner)?;
    let now = inner.now();
    let cutoff = now.saturating_sub(u64::try_from(older_than.as_millis()).unwrap_or(u64::MAX));
    let (cursor, _only_purge) = inner.purge_cursor();
    let mut report = PurgeReport::default();
    loop {
        let from = cursor.load(Ordering::Acquire);
        let batch = inner.storage().read()?.reservations_from(from, BATCH)?;
        // Up to the first one too young, or still ACTIVE (a confirm's pin
        // can outlive the sweep): the next purge starts there.
        let old: Vec<u64> = batch
            .iter()
            .take_while(|(_, rec)| rec.created_at < cutoff && !rec.is_active())
            .map(|&(id, _)| id)
            .collect();
        if let Some(&last) = old.last() {
            let (done, newest) = inner.storage().write(|tx| {
                let mut done = PurgeReport::default();
                let newest = tx.last_reservation_id()?;
                for &id in old.iter().filter(|&&id| Some(id) != newest) {
                    // Re-read in the transaction: the state the commit
                    // applies to (an ended reservation stays as it is).
                    if let Some(rec) = tx.reservation(id)? {
                        purge_one(tx, id, &rec, &mut done)?;
                    }
                }
                Ok::<_, StorageError>((done, newest))
            })?;
            report.reservations += done.reservations;
            report.failed_attempts += done.failed_attempts;
            // The newest, kept, is looked at again next time: by then a
            // newer one may exist.
            let next = if newest == Some(last) { last } else { last + 1 };
            cursor.store(next, Ordering::Release);
            if next == last {
                return Ok(report);
            }
        }
        if old.len() < batch.len() || batch.len() < BATCH {
            return Ok(report);
        }
    }
}

/// Removes reservation `id` if it may go, with its FAILED record.
fn purge_one(
    tx: &mut WriteTx<'_>,
    id: u64,
    rec: &ReservationRecord,
    done: &mut PurgeReport,
) -> Result<(), StorageError> {
    if !matches!(
        rec.status,
        ReservationStatus::Expired | ReservationStatus::Released
    ) {
        return Ok(());
    }
    let mut failed = None;
    if let Some(payment_id) = &rec.payment_id
        && let Some(binding) = tx.payment(&rec.app_id, payment_id)?
        && binding.reservation_id == id
    {
        match binding.state {
            PaymentState::Declined => failed = Some(binding.booking_id),
            // Money moved, or may have: the reservation stays with it.
            PaymentState::Pending | PaymentState::Booked | PaymentState::RefundDue => {
                return Ok(());
            }
        }
    }
    if let Some(booking_id) = failed
        && let Some(booking) = tx.booking(&booking_id)?
        && booking.status == BookingStatus::Failed
    {
        tx.delete_booking(&booking_id, &booking)?;
        done.failed_attempts += 1;
    }
    tx.delete_reservation(id, rec)?;
    done.reservations += 1;
    Ok(())
}

/// The reaper's purge: `Config::purge_after`, if set.
pub(crate) fn purge_if_configured(inner: &Inner) {
    if let Some(age) = inner.config().purge_after {
        // A failed purge is retried on the next tick; nothing is half-done.
        let _ = purge(inner, age);
    }
}
