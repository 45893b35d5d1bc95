//! Invariant checks that use only the public API, independently of the
//! engine's own checks, plus a wrapper that fails a test with the
//! findings of `Engine::audit`.

use seatbook::{AppContext, Engine, SeatFilter, SeatState};

use crate::reliability::ENTITY;

/// Effective seat states of entity [`ENTITY`] of the reliability world,
/// indexed by seat number (seat ids `S{i}`).
pub fn seat_states(app: &AppContext, seats: usize) -> Vec<SeatState> {
    let listed = app.list_seats(ENTITY, SeatFilter::All).expect("list seats");
    assert_eq!(listed.len(), seats, "seat count");
    let mut out = vec![SeatState::Available; seats];
    for s in listed {
        let i: usize = s.seat_id[1..].parse().expect("seat id");
        out[i] = s.state;
    }
    out
}

/// Fails the test with the audit's violations, if any.
pub fn assert_audit_clean(engine: &Engine, context: &str) {
    let report = engine.audit().expect("audit");
    assert!(
        report.is_clean(),
        "{context}: audit found violations: {:#?}",
        report.violations
    );
}
