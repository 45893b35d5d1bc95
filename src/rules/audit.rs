//! Reads the database back and checks the booking invariants.
//!
//! Owns [`AuditReport`] and the invariant checks (docs/design.md, section 3). It
//! only reads; it must never repair anything (a
//! violation is a bug to report, not to paper over). Costs a full scan.

use std::collections::{HashMap, HashSet};

use super::expiry::holds_at;
use crate::error::StorageError;
use crate::locks::LockState;
use crate::model::{BookingStatus, ReservationStatus};
use crate::state::Inner;
use crate::store::SeatStatus;

/// What an audit found. `violations` is empty when every invariant holds.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditReport {
    pub seats: u64,
    pub booked_seats: u64,
    /// Bookings with status SUCCESS.
    pub live_bookings: u64,
    pub failed_bookings: u64,
    pub cancelled_bookings: u64,
    /// REFUND_DUE and REFUNDED records (approved payments that booked nothing).
    pub refund_records: u64,
    pub reservations: u64,
    pub active_reservations: u64,
    /// Seats that two or more SUCCESS bookings claim (docs/design.md, invariant 1).
    pub double_booked_seats: u64,
    /// One line per violated invariant instance.
    pub violations: Vec<String>,
}

impl AuditReport {
    /// True when no invariant is violated.
    #[must_use]
    pub fn is_clean(&self) -> bool {
        self.violations.is_empty()
    }
}

#[allow(clippy::too_many_lines)] // one invariant per block, read top to bottom
pub(crate) fn run(inner: &Inner) -> Result<AuditReport, StorageError> {
    let tx = inner.storage().read()?;
    let seats = tx.all_seats()?;
    let bookings = tx.all_bookings()?;
    let reservations: HashMap<u64, _> = tx.all_reservations()?.into_iter().collect();
    let now = inner.now();
    let mut r = AuditReport {
        seats: seats.len() as u64,
        reservations: reservations.len() as u64,
        ..AuditReport::default()
    };

    // Invariant 1: a seat is claimed by at most one live booking.
    let mut claims: HashMap<(&str, &str), Vec<&str>> = HashMap::new();
    for (id, b) in &bookings {
        match b.status {
            BookingStatus::Success => r.live_bookings += 1,
            BookingStatus::Failed => r.failed_bookings += 1,
            BookingStatus::Cancelled => r.cancelled_bookings += 1,
            BookingStatus::RefundDue | BookingStatus::Refunded => r.refund_records += 1,
        }
        if b.status == BookingStatus::Success {
            for seat in &b.seat_ids {
                claims
                    .entry((b.app_id.as_str(), seat.as_str()))
                    .or_default()
                    .push(id.as_str());
            }
            // Invariant 4 (booking side): its reservation is CONFIRMED, same app, same booking.
            match reservations.get(&b.reservation_id) {
                Some(res)
                    if res.status == ReservationStatus::Confirmed
                        && res.app_id == b.app_id
                        && res.booking_id.as_deref() == Some(id.as_str()) => {}
                _ => r.violations.push(format!(
                    "booking {id}: reservation {} is not CONFIRMED for it",
                    b.reservation_id
                )),
            }
        }
    }
    for ((app, seat), ids) in &claims {
        if ids.len() > 1 {
            r.double_booked_seats += 1;
            r.violations.push(format!(
                "seat {app}/{seat} claimed by {} live bookings",
                ids.len()
            ));
        }
    }

    // Invariant 8: a payment id pays for (is recorded against) at most one
    // reservation in an app. Invariant 9: an approved payment ends as a
    // booking (SUCCESS, later maybe CANCELLED) or a refund record, never both.
    let mut by_payment: HashMap<(&str, &str), (HashSet<u64>, bool, bool)> = HashMap::new();
    for b in bookings.iter().map(|(_, b)| b) {
        let entry = by_payment
            .entry((b.app_id.as_str(), b.payment_id.as_str()))
            .or_default();
        entry.0.insert(b.reservation_id);
        match b.status {
            BookingStatus::Success | BookingStatus::Cancelled => entry.1 = true,
            BookingStatus::RefundDue | BookingStatus::Refunded => entry.2 = true,
            BookingStatus::Failed => {}
        }
    }
    for ((app, payment), (reservations, booked, refund)) in &by_payment {
        if reservations.len() > 1 {
            r.violations.push(format!(
                "payment {app}/{payment} is recorded for {} reservations",
                reservations.len()
            ));
        }
        if *booked && *refund {
            r.violations.push(format!(
                "payment {app}/{payment} is both booked and refund due"
            ));
        }
    }

    // Invariant 4 (seat side) and memory agreement.
    let booking_by_id: HashMap<&str, _> = bookings.iter().map(|(id, b)| (id.as_str(), b)).collect();
    for (app, seat, rec) in &seats {
        let claimed = claims.get(&(app.as_str(), seat.as_str()));
        let in_memory = inner
            .app_state(app)
            .and_then(|a| a.seat(seat).map(|e| e.key))
            .map(|k| inner.locks().state(k, now));
        if rec.status == SeatStatus::Booked {
            r.booked_seats += 1;
            let ok = rec
                .booking_id
                .as_deref()
                .and_then(|b| booking_by_id.get(b))
                .is_some_and(|b| {
                    b.status == BookingStatus::Success
                        && b.app_id == *app
                        && b.seat_ids.contains(seat)
                        && rec.booked_by == Some(b.user_id)
                });
            if !ok {
                r.violations.push(format!(
                    "seat {app}/{seat} is BOOKED without a matching live booking"
                ));
            }
            if in_memory != Some(LockState::Booked) {
                r.violations.push(format!(
                    "seat {app}/{seat} is BOOKED on disk but not in the lock table"
                ));
            }
        } else {
            if claimed.is_some() {
                r.violations.push(format!(
                    "seat {app}/{seat} is claimed by a live booking but AVAILABLE"
                ));
            }
            if in_memory == Some(LockState::Booked) {
                r.violations.push(format!(
                    "seat {app}/{seat} is booked in the lock table but AVAILABLE on disk"
                ));
            }
        }
    }

    // Invariant 2, durable side: no two unexpired ACTIVE reservations share a seat.
    let mut live_seats: HashSet<(&str, &str)> = HashSet::new();
    for (id, res) in &reservations {
        if !res.is_active() {
            continue;
        }
        r.active_reservations += 1;
        if !holds_at(res, now) {
            continue;
        }
        for seat in &res.seat_ids {
            if !live_seats.insert((res.app_id.as_str(), seat.as_str())) {
                r.violations.push(format!(
                    "seat {}/{seat} is in two live reservations (one is {id})",
                    res.app_id
                ));
            }
        }
    }
    r.violations.sort();
    Ok(r)
}
