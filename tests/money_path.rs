//! The confirm money path (issue 14): a payment id pays once, confirm
//! retries are safe under concurrency, and an approved payment that can
//! not be booked is recorded durably as refund due (docs/design.md,
//! invariants 8 and 9).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Barrier, Mutex};
use std::time::Duration;

use seatbook::{
    AdminError, AppContext, BookingStatus, ConfirmError, Engine, ErrorCode, HasErrorCode,
    HoldError, ManualClock, PaymentOutcome, PaymentRequest, PaymentVerifier, ReservationStatus,
    ReserveError, SeatFilter, SeatState, SimulatedPayments,
};
use seatbook_testkit::fixtures::*;

/// The simulated verifier, counting its calls per payment id.
#[derive(Debug, Default)]
struct CountingBank {
    calls: Mutex<Vec<(String, u64)>>,
}

impl CountingBank {
    fn calls(&self) -> usize {
        self.calls.lock().unwrap().len()
    }
}

impl PaymentVerifier for CountingBank {
    fn verify(&self, request: &PaymentRequest<'_>) -> PaymentOutcome {
        self.calls
            .lock()
            .unwrap()
            .push((request.payment_id.to_owned(), request.reservation_id));
        SimulatedPayments::default().verify(request)
    }
}

fn state_of(app: &AppContext, seat: &str) -> SeatState {
    app.list_seats("E1", SeatFilter::All)
        .unwrap()
        .into_iter()
        .find(|s| s.seat_id == seat)
        .unwrap()
        .state
}

fn counting() -> (Fixture, Arc<CountingBank>) {
    let bank = Arc::new(CountingBank::default());
    let verifier = Arc::clone(&bank);
    let f = Fixture::with(move |c| c.payments = Some(verifier));
    (f, bank)
}

#[test]
fn an_approved_payment_id_never_pays_for_a_second_reservation() {
    let (f, bank) = counting();
    let app = f.app_with_seats("event-app", EVENT_ORIGIN, "E1", 3);
    let alice = f.buyer(&app, "alice@x.io");
    let bob = f.buyer(&app, "bob@x.io");
    let r1 = app.reserve(&alice, &["E1-S0"], None).unwrap();
    let r2 = app.reserve(&bob, &["E1-S1"], None).unwrap();
    let r3 = app.reserve(&alice, &["E1-S2"], None).unwrap();
    app.confirm(&alice, r1.token.expose(), "pi_X", r1.info.total_minor)
        .unwrap();
    for (who, r) in [(&bob, &r2), (&alice, &r3)] {
        let err = app
            .confirm(who, r.token.expose(), "pi_X", r.info.total_minor)
            .unwrap_err();
        assert!(matches!(err, ConfirmError::PaymentAlreadyUsed), "{err:?}");
        assert_eq!(err.code(), ErrorCode::PaymentAlreadyUsed);
        assert_eq!(err.code() as u32, 30);
    }
    assert_eq!(
        bank.calls(),
        1,
        "the verifier is never asked for a reused id"
    );
    // Nothing changed for the refused reservations: still held, still payable.
    assert!(matches!(state_of(&app, "E1-S1"), SeatState::Held { .. }));
    let b2 = app
        .confirm(&bob, r2.token.expose(), "pi_Y", r2.info.total_minor)
        .unwrap();
    assert_eq!(b2.status, BookingStatus::Success);
    assert!(f.engine.audit().unwrap().is_clean());
}

#[test]
fn a_declined_payment_id_is_bound_too_and_a_retry_replays_the_decline() {
    let (f, bank) = counting();
    let app = f.app_with_seats("event-app", EVENT_ORIGIN, "E1", 2);
    let alice = f.buyer(&app, "alice@x.io");
    let r1 = app.reserve(&alice, &["E1-S0"], None).unwrap();
    let r2 = app.reserve(&alice, &["E1-S1"], None).unwrap();
    let ConfirmError::PaymentDeclined { booking_id, .. } = app
        .confirm(&alice, r1.token.expose(), "fail-card", r1.info.total_minor)
        .unwrap_err()
    else {
        panic!("expected a decline");
    };
    // The same reservation and payment id: the recorded decline again.
    match app.confirm(&alice, r1.token.expose(), "fail-card", r1.info.total_minor) {
        Err(ConfirmError::PaymentDeclined {
            booking_id: again,
            reason,
        }) => {
            assert_eq!(again, booking_id);
            assert_eq!(reason, "declined earlier");
        }
        other => panic!("{other:?}"),
    }
    // Another payment id for the released reservation: bound to the first.
    assert!(matches!(
        app.confirm(&alice, r1.token.expose(), "pay-2", r1.info.total_minor),
        Err(ConfirmError::PaymentConflict)
    ));
    // The declined id for another reservation: refused before the verifier.
    assert!(matches!(
        app.confirm(&alice, r2.token.expose(), "fail-card", r2.info.total_minor),
        Err(ConfirmError::PaymentAlreadyUsed)
    ));
    assert_eq!(bank.calls(), 1);
}

#[test]
fn the_binding_survives_reopen() {
    let (f, _bank) = counting();
    let app = f.app_with_seats("event-app", EVENT_ORIGIN, "E1", 2);
    let alice = f.buyer(&app, "alice@x.io");
    let r1 = app.reserve(&alice, &["E1-S0"], None).unwrap();
    let booking = app
        .confirm(&alice, r1.token.expose(), "pi_X", r1.info.total_minor)
        .unwrap();
    let key = f.admin().rotate_api_key("event-app").unwrap();
    drop(app);
    let f = f.reopen();
    let app = f
        .engine
        .app("event-app", key.expose(), EVENT_ORIGIN)
        .unwrap();
    let alice = app
        .user(app.login("alice@x.io", "buyer-password").unwrap().expose())
        .unwrap();
    let r2 = app.reserve(&alice, &["E1-S1"], None).unwrap();
    assert!(matches!(
        app.confirm(&alice, r2.token.expose(), "pi_X", r2.info.total_minor),
        Err(ConfirmError::PaymentAlreadyUsed)
    ));
    // And the retry of the original still returns its booking.
    assert_eq!(
        app.confirm(&alice, r1.token.expose(), "pi_X", r1.info.total_minor)
            .unwrap(),
        booking
    );
}

#[test]
fn reservations_racing_with_one_payment_id_bind_it_once() {
    let (f, bank) = counting();
    let threads = 6;
    let rounds = 30;
    let app = f.app_with_seats("event-app", EVENT_ORIGIN, "E1", threads);
    let buyers: Vec<_> = (0..threads)
        .map(|i| f.buyer(&app, &format!("b{i}@x.io")))
        .collect();
    let barrier = Barrier::new(threads);
    let wins = AtomicUsize::new(0);
    std::thread::scope(|s| {
        for (t, buyer) in buyers.iter().enumerate() {
            let (app, barrier, wins) = (&app, &barrier, &wins);
            s.spawn(move || {
                let seat = format!("E1-S{t}");
                for round in 0..rounds {
                    let r = app.reserve(buyer, &[seat.as_str()], None).unwrap();
                    barrier.wait();
                    let payment = format!("pi_round_{round}");
                    match app.confirm(buyer, r.token.expose(), &payment, r.info.total_minor) {
                        Ok(b) => {
                            wins.fetch_add(1, Ordering::SeqCst);
                            app.cancel_booking(&b.booking_id).unwrap();
                        }
                        Err(ConfirmError::PaymentAlreadyUsed) => {
                            app.release(buyer, r.token.expose()).unwrap();
                        }
                        Err(e) => panic!("unexpected {e:?}"),
                    }
                    barrier.wait();
                }
            });
        }
    });
    assert_eq!(
        wins.load(Ordering::SeqCst),
        rounds,
        "one winner per payment id"
    );
    assert_eq!(
        bank.calls(),
        rounds,
        "the verifier is asked once per payment id"
    );
    assert!(f.engine.audit().unwrap().is_clean());
}

#[test]
fn racing_retries_of_one_confirm_all_get_the_same_booking_or_in_progress() {
    let (f, bank) = counting();
    let threads = 4;
    let rounds = 400;
    let app = f.app_with_seats("event-app", EVENT_ORIGIN, "E1", 1);
    let alice = f.buyer(&app, "alice@x.io");
    let barrier = Barrier::new(threads);
    let token = Mutex::new((String::new(), 0u64));
    let results: Mutex<Vec<(usize, Result<String, String>)>> = Mutex::new(Vec::new());
    std::thread::scope(|s| {
        for t in 0..threads {
            let (app, alice, barrier, token, results) = (&app, &alice, &barrier, &token, &results);
            s.spawn(move || {
                for round in 0..rounds {
                    if t == 0 {
                        let r = app.reserve(alice, &["E1-S0"], None).unwrap();
                        *token.lock().unwrap() = (r.token.expose().to_owned(), r.info.total_minor);
                    }
                    barrier.wait();
                    let (tok, total) = token.lock().unwrap().clone();
                    // A double click and an HTTP retry: the same payment id.
                    let payment = format!("pi_{round}");
                    let got = match app.confirm(alice, &tok, &payment, total) {
                        Ok(b) => Ok(b.booking_id),
                        Err(ConfirmError::ConfirmInProgress) => Err("in progress".to_owned()),
                        Err(e) => Err(format!("{e:?}")),
                    };
                    results.lock().unwrap().push((round, got));
                    barrier.wait();
                    if t == 0 {
                        // Refund the round's booking: the seat is free again.
                        let info = app.reservation(alice, &tok).unwrap();
                        if let Some(booking_id) = info.booking_id {
                            app.cancel_booking(&booking_id).unwrap();
                        }
                    }
                }
            });
        }
    });
    let results = results.into_inner().unwrap();
    for round in 0..rounds {
        let mine: Vec<_> = results.iter().filter(|(r, _)| *r == round).collect();
        let booked: std::collections::HashSet<&String> =
            mine.iter().filter_map(|(_, r)| r.as_ref().ok()).collect();
        assert_eq!(booked.len(), 1, "round {round}: bookings {booked:?}");
        for (_, r) in &mine {
            if let Err(e) = r {
                assert_eq!(e, "in progress", "round {round}: {e}");
            }
        }
    }
    assert_eq!(bank.calls(), rounds, "one verification per confirm");
    let report = f.engine.audit().unwrap();
    assert!(report.is_clean(), "{:?}", report.violations);
    let successes = app
        .user_bookings(&alice)
        .unwrap()
        .into_iter()
        .filter(|b| matches!(b.status, BookingStatus::Success | BookingStatus::Cancelled))
        .count();
    assert_eq!(successes, rounds, "exactly one booking per reservation");
}

/// A verifier that takes longer than the confirm deadline (the clock
/// passes it while "paying") and then approves.
#[derive(Debug)]
struct LateBank {
    clock: ManualClock,
    by: Duration,
}

impl PaymentVerifier for LateBank {
    fn verify(&self, _request: &PaymentRequest<'_>) -> PaymentOutcome {
        self.clock.advance(self.by);
        PaymentOutcome::Approved
    }
}

#[test]
fn a_late_approval_becomes_a_durable_refund_due_record() {
    let clock = ManualClock::default();
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = config(&clock);
    cfg.holds.confirm_deadline = Duration::from_secs(30);
    cfg.payments = Some(Arc::new(LateBank {
        clock: clock.clone(),
        by: Duration::from_secs(31),
    }));
    let f = Fixture {
        engine: Engine::open(dir.path().join("db.redb"), cfg).unwrap(),
        dir,
        clock,
    };
    let app = f.app_with_seats("event-app", EVENT_ORIGIN, "E1", 1);
    let alice = f.buyer(&app, "alice@x.io");
    let r = app
        .reserve(&alice, &["E1-S0"], Some(Duration::from_secs(5)))
        .unwrap();
    let err = app
        .confirm(&alice, r.token.expose(), "pi_late", r.info.total_minor)
        .unwrap_err();
    let ConfirmError::RefundDue { booking_id } = &err else {
        panic!("expected refund due, got {err:?}");
    };
    assert_eq!(err.code() as u32, 31);
    assert!(err.to_string().contains("refund due"));
    // The record: listed for the app and the admin, and the user sees it.
    let listed = app.refunds_due().unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(&listed[0].booking_id, booking_id);
    assert_eq!(listed[0].status, BookingStatus::RefundDue);
    assert_eq!(listed[0].payment_id, "pi_late");
    assert_eq!(listed[0].amount_minor, r.info.total_minor);
    assert_eq!(f.admin().refunds_due("event-app").unwrap(), listed);
    assert_eq!(app.user_bookings(&alice).unwrap(), listed);
    // No seat: free for others; the reservation is over.
    assert_eq!(state_of(&app, "E1-S0"), SeatState::Available);
    assert_eq!(
        app.reservation(&alice, r.token.expose()).unwrap().status,
        ReservationStatus::Released
    );
    // A retry gets the same record, the id stays bound.
    assert!(matches!(
        app.confirm(&alice, r.token.expose(), "pi_late", r.info.total_minor),
        Err(ConfirmError::RefundDue { booking_id: b }) if &b == booking_id
    ));
    let report = f.engine.audit().unwrap();
    assert!(report.is_clean(), "{:?}", report.violations);
    assert_eq!(report.refund_records, 1);
    assert_eq!(report.live_bookings, 0);
    // Settling takes it off the lists, once.
    let settled = f.admin().settle_refund(booking_id).unwrap();
    assert_eq!(settled.status, BookingStatus::Refunded);
    assert!(app.refunds_due().unwrap().is_empty());
    let again = f.admin().settle_refund(booking_id).unwrap_err();
    assert!(matches!(again, AdminError::RefundNotDue));
    assert_eq!(again.code() as u32, 33);
    assert!(matches!(
        f.admin().settle_refund("BK-nothing"),
        Err(AdminError::BookingNotFound)
    ));
}

/// A verifier that blocks until the test lets it answer, telling the test
/// when it was asked. Synchronisation by channels, never by sleeps.
#[derive(Debug)]
struct GatedBank {
    asked: Mutex<mpsc::Sender<()>>,
    answer: Mutex<mpsc::Receiver<PaymentOutcome>>,
}

fn gated() -> (
    Arc<GatedBank>,
    mpsc::Receiver<()>,
    mpsc::Sender<PaymentOutcome>,
) {
    let (asked_tx, asked_rx) = mpsc::channel();
    let (answer_tx, answer_rx) = mpsc::channel();
    (
        Arc::new(GatedBank {
            asked: Mutex::new(asked_tx),
            answer: Mutex::new(answer_rx),
        }),
        asked_rx,
        answer_tx,
    )
}

impl PaymentVerifier for GatedBank {
    fn verify(&self, _request: &PaymentRequest<'_>) -> PaymentOutcome {
        self.asked.lock().unwrap().send(()).unwrap();
        self.answer.lock().unwrap().recv().unwrap()
    }
}

#[test]
fn release_extend_sweep_and_expiry_leave_pinned_seats_alone_until_the_deadline() {
    let (bank, asked, answer) = gated();
    let verifier = Arc::clone(&bank);
    let f = Fixture::with(move |c| {
        c.payments = Some(verifier);
        c.holds.confirm_deadline = Duration::from_secs(60);
    });
    let app = f.app_with_seats("event-app", EVENT_ORIGIN, "E1", 1);
    let alice = f.buyer(&app, "alice@x.io");
    let bob = f.buyer(&app, "bob@x.io");
    let r = app
        .reserve(&alice, &["E1-S0"], Some(Duration::from_secs(5)))
        .unwrap();
    std::thread::scope(|s| {
        let confirm = s.spawn(|| app.confirm(&alice, r.token.expose(), "pi_1", r.info.total_minor));
        asked.recv().unwrap();
        // The hold's own expiry passes; the pin (deadline 60 s) holds.
        f.advance(Duration::from_secs(30));
        assert!(matches!(
            app.release(&alice, r.token.expose()),
            Err(HoldError::ConfirmInProgress)
        ));
        assert!(matches!(
            app.extend(&alice, r.token.expose(), Duration::from_secs(5)),
            Err(HoldError::ConfirmInProgress | HoldError::HoldExpired)
        ));
        assert_eq!(f.engine.sweep_expired().unwrap(), 0);
        assert!(matches!(
            app.reserve(&bob, &["E1-S0"], None),
            Err(ReserveError::SeatHeld(_))
        ));
        assert!(matches!(
            app.confirm(&alice, r.token.expose(), "pi_1", r.info.total_minor),
            Err(ConfirmError::ConfirmInProgress)
        ));
        answer.send(PaymentOutcome::Approved).unwrap();
        let booking = confirm.join().unwrap().unwrap();
        assert_eq!(booking.status, BookingStatus::Success);
    });
    assert_eq!(state_of(&app, "E1-S0"), SeatState::Booked);
    assert!(f.engine.audit().unwrap().is_clean());
}

#[test]
fn a_hanging_verifier_loses_the_pin_at_the_deadline_and_its_late_approval_is_refund_due() {
    let (bank, asked, answer) = gated();
    let verifier = Arc::clone(&bank);
    let f = Fixture::with(move |c| {
        c.payments = Some(verifier);
        c.holds.confirm_deadline = Duration::from_secs(60);
    });
    let app = f.app_with_seats("event-app", EVENT_ORIGIN, "E1", 1);
    let alice = f.buyer(&app, "alice@x.io");
    let bob = f.buyer(&app, "bob@x.io");
    let r = app
        .reserve(&alice, &["E1-S0"], Some(Duration::from_secs(5)))
        .unwrap();
    std::thread::scope(|s| {
        let confirm = s.spawn(|| app.confirm(&alice, r.token.expose(), "pi_1", r.info.total_minor));
        asked.recv().unwrap();
        f.advance(Duration::from_secs(61));
        // The pin is over: the sweep expires the reservation, and the seat
        // is free for Bob, who books it with another payment.
        assert_eq!(f.engine.sweep_expired().unwrap(), 1);
        let rb = app.reserve(&bob, &["E1-S0"], None).unwrap();
        // Still in flight: the pending payment is not turned into a
        // record behind the confirm's back.
        assert_eq!(f.engine.sweep_expired().unwrap(), 0);
        assert!(app.refunds_due().unwrap().is_empty());
        answer.send(PaymentOutcome::Approved).unwrap();
        let late = confirm.join().unwrap().unwrap_err();
        assert!(matches!(late, ConfirmError::RefundDue { .. }), "{late:?}");
        // Bob's hold was never disturbed by the late approval.
        assert!(matches!(state_of(&app, "E1-S0"), SeatState::Held { .. }));
        answer.send(PaymentOutcome::Approved).unwrap();
        let bb = app
            .confirm(&bob, rb.token.expose(), "pi_bob", rb.info.total_minor)
            .unwrap();
        assert_eq!(bb.status, BookingStatus::Success);
    });
    assert_eq!(asked.try_iter().count(), 1, "Bob's payment was verified");
    let refunds = app.refunds_due().unwrap();
    assert_eq!(refunds.len(), 1);
    assert_eq!(refunds[0].payment_id, "pi_1");
    assert_eq!(
        app.reservation(&alice, r.token.expose()).unwrap().status,
        ReservationStatus::Expired
    );
    assert!(f.engine.audit().unwrap().is_clean());
}

#[test]
fn a_payment_id_is_bound_per_app() {
    let (f, bank) = counting();
    let event = f.app_with_seats("event-app", EVENT_ORIGIN, "E1", 1);
    let bus = f.app_with_seats("bus-app", BUS_ORIGIN, "E1", 1);
    for app in [&event, &bus] {
        let buyer = f.buyer(app, &format!("b@{}.io", app.app_id()));
        let r = app.reserve(&buyer, &["E1-S0"], None).unwrap();
        let b = app
            .confirm(&buyer, r.token.expose(), "pi_shared", r.info.total_minor)
            .unwrap();
        assert_eq!(b.status, BookingStatus::Success);
    }
    assert_eq!(bank.calls(), 2);
    assert!(f.engine.audit().unwrap().is_clean());
}

/// Panics on the first question, approves afterwards.
#[derive(Debug, Default)]
struct PanickyBank(AtomicUsize);

impl PaymentVerifier for PanickyBank {
    fn verify(&self, _request: &PaymentRequest<'_>) -> PaymentOutcome {
        assert!(self.0.fetch_add(1, Ordering::SeqCst) > 0, "verifier bug");
        PaymentOutcome::Approved
    }
}

fn panicky() -> Fixture {
    Fixture::with(|c| c.payments = Some(Arc::new(PanickyBank::default())))
}

fn confirm_panics(app: &AppContext, who: &seatbook::UserSession, token: &str, total: u64) {
    let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        app.confirm(who, token, "pi_1", total)
    }));
    assert!(caught.is_err(), "the verifier panicked");
}

#[test]
fn after_a_verifier_panic_a_retry_of_the_live_hold_asks_again_and_books() {
    let f = panicky();
    let app = f.app_with_seats("event-app", EVENT_ORIGIN, "E1", 1);
    let alice = f.buyer(&app, "alice@x.io");
    let r = app.reserve(&alice, &["E1-S0"], None).unwrap();
    confirm_panics(&app, &alice, r.token.expose(), r.info.total_minor);
    // The pin was undone; the payment id stays bound to this reservation.
    assert!(matches!(state_of(&app, "E1-S0"), SeatState::Held { .. }));
    let booking = app
        .confirm(&alice, r.token.expose(), "pi_1", r.info.total_minor)
        .unwrap();
    assert_eq!(booking.status, BookingStatus::Success);
    assert_eq!(f.engine.sweep_expired().unwrap(), 0);
    assert!(app.refunds_due().unwrap().is_empty());
    assert!(f.engine.audit().unwrap().is_clean());
}

#[test]
fn a_pending_payment_whose_reservation_ended_is_recorded_as_refund_due_by_the_sweep() {
    let f = panicky();
    let app = f.app_with_seats("event-app", EVENT_ORIGIN, "E1", 2);
    let alice = f.buyer(&app, "alice@x.io");
    let r = app
        .reserve(&alice, &["E1-S0"], Some(Duration::from_secs(5)))
        .unwrap();
    confirm_panics(&app, &alice, r.token.expose(), r.info.total_minor);
    // The verifier's answer is unknown; while the hold lives the buyer may
    // retry, so nothing is recorded yet.
    assert_eq!(f.engine.sweep_expired().unwrap(), 0);
    assert!(app.refunds_due().unwrap().is_empty());
    f.advance(Duration::from_secs(6));
    assert_eq!(f.engine.sweep_expired().unwrap(), 1);
    let refunds = app.refunds_due().unwrap();
    assert_eq!(refunds.len(), 1);
    assert_eq!(refunds[0].payment_id, "pi_1");
    assert_eq!(refunds[0].reservation_id, r.info.reservation_id);
    assert_eq!(refunds[0].status, BookingStatus::RefundDue);
    // A retry gets the record; the id never pays for another reservation.
    let id = &refunds[0].booking_id;
    assert!(matches!(
        app.confirm(&alice, r.token.expose(), "pi_1", r.info.total_minor),
        Err(ConfirmError::RefundDue { booking_id }) if &booking_id == id
    ));
    let r2 = app.reserve(&alice, &["E1-S1"], None).unwrap();
    assert!(matches!(
        app.confirm(&alice, r2.token.expose(), "pi_1", r2.info.total_minor),
        Err(ConfirmError::PaymentAlreadyUsed)
    ));
    assert_eq!(f.engine.sweep_expired().unwrap(), 0);
    assert_eq!(app.refunds_due().unwrap().len(), 1, "recorded once");
    assert!(f.engine.audit().unwrap().is_clean());
}
