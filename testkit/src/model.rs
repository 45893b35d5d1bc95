//! The reference model of the deterministic simulation
//! (`tests/simulation.rs`): seats, reservations, bookings and payment
//! bindings of two apps as the engine must show them, kept by plain data
//! structures that the simulation updates after every acknowledged
//! operation and compares with the engine. Each app sells one entity at a
//! time; archiving it starts the next generation of seats. Independent of any backend, so
//! a second one can be checked against the same model.

use std::collections::BTreeMap;

use seatbook::{BookingStatus, ReservationStatus, SeatState};

#[derive(Debug, Clone)]
pub struct MRes {
    pub app: usize,
    /// The generation of the app's entity its seats belong to (see
    /// [`Model::generation`]).
    pub generation: usize,
    pub user: usize,
    pub seats: Vec<usize>,
    pub token: String,
    pub total: u64,
    pub created_at: u64,
    pub expires_at: u64,
    pub status: ReservationStatus,
    pub booking: Option<String>,
    pub payment: Option<String>,
}

#[derive(Debug, Clone)]
pub struct MBooking {
    pub app: usize,
    pub generation: usize,
    pub user: usize,
    pub seats: Vec<usize>,
    pub res_id: u64,
    pub status: BookingStatus,
}

/// The reference model: what the engine must show, for two apps of
/// `SEATS` seats each.
#[derive(Debug)]
pub struct Model<const SEATS: usize> {
    /// The next reservation id (= fencing number) an acquire takes.
    pub next_id: u64,
    pub booked: [[Option<String>; SEATS]; 2],
    pub res: BTreeMap<u64, MRes>,
    pub bookings: BTreeMap<String, MBooking>,
    /// Booking ids in creation order (ids are random: choose by position).
    pub booking_order: Vec<String>,
    /// (app, payment id) -> the reservation it was first presented for.
    pub bindings: BTreeMap<(usize, String), u64>,
    /// Per app, the generation of its entity on sale: each archive of the
    /// current one starts a new entity with `SEATS` new seats. `booked`
    /// is about the current generation's seats.
    pub generation: [usize; 2],
}

impl<const SEATS: usize> Default for Model<SEATS> {
    fn default() -> Self {
        Self {
            next_id: 0,
            booked: std::array::from_fn(|_| std::array::from_fn(|_| None)),
            res: BTreeMap::new(),
            bookings: BTreeMap::new(),
            booking_order: Vec::new(),
            bindings: BTreeMap::new(),
            generation: [0; 2],
        }
    }
}

impl<const SEATS: usize> Model<SEATS> {
    pub fn holder(&self, app: usize, seat: usize, now: u64) -> Option<(u64, &MRes)> {
        self.res
            .iter()
            .find(|(_, r)| {
                r.app == app
                    && r.generation == self.generation[app]
                    && r.status == ReservationStatus::Active
                    && r.expires_at > now
                    && r.seats.contains(&seat)
            })
            .map(|(id, r)| (*id, r))
    }

    pub fn state(&self, app: usize, seat: usize, now: u64) -> SeatState {
        if self.booked[app][seat].is_some() {
            return SeatState::Booked;
        }
        match self.holder(app, seat, now) {
            Some((_, r)) => SeatState::Held {
                expires_at: r.expires_at,
            },
            None => SeatState::Available,
        }
    }

    /// What a sweep does: ACTIVE reservations past expiry become EXPIRED.
    pub fn sweep(&mut self, now: u64) -> usize {
        let mut n = 0;
        for r in self.res.values_mut() {
            if r.status == ReservationStatus::Active && r.expires_at <= now {
                r.status = ReservationStatus::Expired;
                n += 1;
            }
        }
        n
    }
}
