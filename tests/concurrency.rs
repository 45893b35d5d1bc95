//! Many threads racing for the same seats; the docs/design.md invariants
//! are then checked against the database.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Barrier, Mutex};
use std::time::Duration;

use seatbook::{BookingStatus, ConfirmError, ReserveError, SeatFilter, SeatState};
use seatbook_testkit::fixtures::*;

/// xorshift64*: deterministic per-thread randomness without a dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

#[test]
fn exactly_one_of_many_simultaneous_buyers_wins_each_seat() {
    const THREADS: usize = 8;
    const ROUNDS: usize = 40;
    // One buyer may win many rounds: no hold quotas here (tests/quotas.rs
    // races them).
    let f = Fixture::with(|c| {
        c.holds.max_active_per_user = usize::MAX;
        c.holds.max_held_seats_per_entity = usize::MAX;
    });
    let app = f.app_with_seats("event-app", EVENT_ORIGIN, "E1", ROUNDS);
    let buyers: Vec<_> = (0..THREADS)
        .map(|i| f.buyer(&app, &format!("b{i}@x.io")))
        .collect();
    let barrier = Barrier::new(THREADS);
    let winners = Mutex::new(HashMap::<usize, Vec<usize>>::new());
    std::thread::scope(|s| {
        for (t, buyer) in buyers.iter().enumerate() {
            let (app, barrier, winners) = (&app, &barrier, &winners);
            s.spawn(move || {
                for round in 0..ROUNDS {
                    barrier.wait();
                    let seat = seat_id("E1", round);
                    match app.reserve(buyer, &[seat.as_str()], None) {
                        Ok(_) => winners.lock().unwrap().entry(round).or_default().push(t),
                        Err(ReserveError::SeatHeld(s)) => assert_eq!(s, seat),
                        Err(e) => panic!("unexpected {e:?}"),
                    }
                }
            });
        }
    });
    let winners = winners.into_inner().unwrap();
    for round in 0..ROUNDS {
        assert_eq!(
            winners.get(&round).map(Vec::len),
            Some(1),
            "round {round}: {winners:?}"
        );
    }
    let stats = f.engine.stats();
    assert_eq!(stats.holds_taken, ROUNDS as u64);
    assert_eq!(stats.contention_rejections, (ROUNDS * (THREADS - 1)) as u64);
    // Invariant 7: only winners reached storage.
    assert_eq!(f.engine.audit().unwrap().reservations, ROUNDS as u64);
}

#[test]
fn a_rush_with_expiries_payment_failures_and_multi_seat_holds_keeps_every_invariant() {
    const THREADS: usize = 6;
    const ATTEMPTS: usize = 1500;
    const SEATS: usize = 24;
    let f = Fixture::with(|c| c.holds.min_ttl = Duration::from_millis(10));
    let event = f.app_with_seats("event-app", EVENT_ORIGIN, "E1", SEATS);
    let bus = f.app_with_seats("bus-app", BUS_ORIGIN, "E1", SEATS);
    let apps = [&event, &bus];
    let buyers: Vec<_> = (0..THREADS)
        .map(|i| f.buyer(&event, &format!("b{i}@x.io")))
        .collect();
    let done = AtomicBool::new(false);
    // (app index, booking) for every confirm that returned Ok.
    let confirmed = Mutex::new(Vec::new());
    std::thread::scope(|s| {
        // Time moves in small steps while buyers work, so holds expire in
        // the middle of extends and confirms.
        s.spawn(|| {
            while !done.load(Ordering::Relaxed) {
                f.clock.advance(Duration::from_millis(7));
                std::thread::yield_now();
            }
        });
        let workers: Vec<_> = buyers
            .iter()
            .enumerate()
            .map(|(t, buyer)| {
                let confirmed = &confirmed;
                s.spawn(move || {
                    let mut rng = Rng(0x9E37_79B9_7F4A_7C15 ^ (t as u64 + 1));
                    for attempt in 0..ATTEMPTS {
                        let which = rng.below(2) as usize;
                        let app = apps[which];
                        let n = 1 + rng.below(3) as usize;
                        let mut ids: Vec<String> = (0..n)
                            .map(|_| seat_id("E1", rng.below(SEATS as u64) as usize))
                            .collect();
                        ids.sort();
                        ids.dedup();
                        let refs: Vec<&str> = ids.iter().map(String::as_str).collect();
                        let ttl = Duration::from_millis(10 + rng.below(40));
                        let Ok(r) = app.reserve(buyer, &refs, Some(ttl)) else {
                            continue;
                        };
                        match rng.below(10) {
                            0 => continue, // abandon: let it expire
                            1 => {
                                let _ = app.release(buyer, r.token.expose());
                                continue;
                            }
                            2 => {
                                let _ =
                                    app.extend(buyer, r.token.expose(), Duration::from_millis(30));
                            }
                            _ => {}
                        }
                        let payment = if rng.below(8) == 0 {
                            format!("fail-{t}-{attempt}")
                        } else {
                            format!("pay-{t}-{attempt}")
                        };
                        match app.confirm(buyer, r.token.expose(), &payment, r.info.total_minor) {
                            Ok(b) => {
                                assert_eq!(b.seat_ids, ids);
                                confirmed.lock().unwrap().push((which, b));
                            }
                            // RefundDue: the racing clock passed the
                            // confirm deadline while this thread waited for
                            // a core (approved, not booked, recorded).
                            Err(
                                ConfirmError::HoldExpired
                                | ConfirmError::ReservationNotActive
                                | ConfirmError::PaymentDeclined { .. }
                                | ConfirmError::RefundDue { .. },
                            ) => {}
                            Err(e) => panic!("unexpected {e:?}"),
                        }
                        // Now and then a booking is refunded, freeing its seats.
                        if rng.below(25) == 0
                            && let Some((w, b)) = confirmed.lock().unwrap().last().cloned()
                        {
                            let _ = apps[w].cancel_booking(&b.booking_id);
                        }
                    }
                })
            })
            .collect();
        for w in workers {
            w.join().unwrap();
        }
        done.store(true, Ordering::Relaxed);
    });
    f.engine.sweep_expired().unwrap();

    // Invariants 1, 2, 4 from the database and the lock table.
    let audit = f.engine.audit().unwrap();
    assert!(audit.is_clean(), "{:#?}", audit.violations);
    assert_eq!(audit.double_booked_seats, 0);

    // Invariant 1 from the callers' side: no seat is held by two live
    // bookings among the confirms that returned Ok.
    let confirmed = confirmed.into_inner().unwrap();
    assert!(!confirmed.is_empty(), "the rush booked nothing");
    let mut live_seats = HashSet::new();
    for (which, b) in &confirmed {
        let now = apps[*which].booking(&b.booking_id).unwrap();
        assert!(matches!(
            now.status,
            BookingStatus::Success | BookingStatus::Cancelled
        ));
        if now.status == BookingStatus::Success {
            for seat in &b.seat_ids {
                assert!(
                    live_seats.insert((*which, seat.clone())),
                    "{seat} booked twice"
                );
            }
        }
    }
    // Every seat the database calls BOOKED belongs to one of those bookings (invariant 4).
    for (which, app) in apps.iter().enumerate() {
        for seat in app.list_seats("E1", SeatFilter::All).unwrap() {
            let booked = seat.state == SeatState::Booked;
            assert_eq!(
                booked,
                live_seats.contains(&(which, seat.seat_id.clone())),
                "{}",
                seat.seat_id
            );
        }
    }
    // Invariant 7: storage holds exactly the winners' reservations.
    let stats = f.engine.stats();
    assert_eq!(audit.reservations, stats.holds_taken);
    assert!(stats.reserve_attempts > stats.holds_taken);
    assert!(stats.contention_rejections > 0);
}

#[test]
fn expiry_racing_confirm_never_books_a_seat_someone_else_holds() {
    const ROUNDS: usize = 150;
    let f = Fixture::with(|c| c.holds.min_ttl = Duration::from_millis(10));
    let app = f.app_with_seats("event-app", EVENT_ORIGIN, "E1", ROUNDS);
    let alice = f.buyer(&app, "alice@x.io");
    let bob = f.buyer(&app, "bob@x.io");
    let barrier = Barrier::new(3);
    let mut both_won = 0;
    for round in 0..ROUNDS {
        let seat = seat_id("E1", round);
        let r = app
            .reserve(&alice, &[seat.as_str()], Some(Duration::from_millis(10)))
            .unwrap();
        let (confirm, steal) = std::thread::scope(|s| {
            let confirm = s.spawn(|| {
                barrier.wait();
                app.confirm(
                    &alice,
                    r.token.expose(),
                    &format!("pay-{round}"),
                    r.info.total_minor,
                )
            });
            let steal = s.spawn(|| {
                barrier.wait();
                // Keep trying until the hold expires or the seat is gone.
                loop {
                    match app.reserve(&bob, &[seat.as_str()], None) {
                        Ok(r) => return Some(r),
                        Err(ReserveError::SeatHeld(_)) => std::thread::yield_now(),
                        Err(_) => return None,
                    }
                }
            });
            barrier.wait();
            f.clock.advance(Duration::from_millis(10));
            (confirm.join().unwrap(), steal.join().unwrap())
        });
        if confirm.is_ok() && steal.is_some() {
            both_won += 1;
        }
        match (&confirm, &steal) {
            (Ok(_), None) => assert_eq!(
                app.seat_counts("E1").unwrap().booked as usize,
                app.user_bookings(&alice).unwrap().len()
            ),
            (Err(ConfirmError::HoldExpired | ConfirmError::ReservationNotActive), Some(_)) => {}
            (Err(ConfirmError::HoldExpired), None) => {}
            other => panic!("round {round}: unexpected outcome {other:?}"),
        }
    }
    assert_eq!(
        both_won, 0,
        "a confirmed seat was also taken by another buyer"
    );
    let audit = f.engine.audit().unwrap();
    assert!(audit.is_clean(), "{:#?}", audit.violations);
}
