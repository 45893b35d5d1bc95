//! Seats, holds, reservations, confirmation and queries.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use seatbook::{
    BookingStatus, ConfirmError, ErrorCode, HasErrorCode, HoldError, PaymentOutcome,
    PaymentRequest, PaymentVerifier, QueryError, ReservationStatus, ReserveError, SeatBlock,
    SeatCounts, SeatFilter, SeatState,
};
use seatbook_testkit::fixtures::*;

fn state_of(app: &seatbook::AppContext, entity: &str, seat: &str) -> SeatState {
    app.list_seats(entity, SeatFilter::All)
        .unwrap()
        .into_iter()
        .find(|s| s.seat_id == seat)
        .unwrap()
        .state
}

#[test]
fn listing_shows_effective_state_filter_and_counts() {
    let f = Fixture::new();
    let app = f.app_with_seats("event-app", EVENT_ORIGIN, "E1", 4);
    f.admin()
        .create_seats("event-app", "E2", &seats("E2", 2))
        .unwrap();
    let buyer = f.buyer(&app, "b@x.io");
    let held = app.reserve(&buyer, &["E1-S0"], None).unwrap();
    let booked = app.reserve(&buyer, &["E1-S1"], None).unwrap();
    app.confirm(
        &buyer,
        booked.token.expose(),
        "pay-1",
        booked.info.total_minor,
    )
    .unwrap();

    let all = app.list_seats("E1", SeatFilter::All).unwrap();
    assert_eq!(all.len(), 4, "only this entity's seats");
    assert_eq!(
        all[0].state,
        SeatState::Held {
            expires_at: held.info.expires_at
        }
    );
    assert_eq!(all[1].state, SeatState::Booked);
    assert_eq!(all[2].state, SeatState::Available);
    assert_eq!(all[2].price_minor, 1002);
    assert_eq!(all[2].currency, "EUR");
    assert_eq!(all[2].attributes.section.as_deref(), Some("A"));
    let available: Vec<String> = app
        .list_seats("E1", SeatFilter::AvailableOnly)
        .unwrap()
        .into_iter()
        .map(|s| s.seat_id)
        .collect();
    assert_eq!(available, vec!["E1-S2", "E1-S3"]);
    assert_eq!(
        app.seat_counts("E1").unwrap(),
        SeatCounts {
            available: 2,
            held: 1,
            booked: 1
        }
    );
    assert_eq!(
        app.seat_counts("E2").unwrap(),
        SeatCounts {
            available: 2,
            held: 0,
            booked: 0
        }
    );
    assert_eq!(app.seat_counts("NOPE").unwrap(), SeatCounts::default());
    assert_eq!(
        app.list_seats("bad id", SeatFilter::All)
            .unwrap_err()
            .code(),
        ErrorCode::InvalidInput
    );

    // Lazy expiry: the held seat is available again once its TTL passes.
    f.advance(Duration::from_secs(120));
    assert_eq!(state_of(&app, "E1", "E1-S0"), SeatState::Available);
}

#[test]
fn reserve_is_all_or_nothing_and_names_the_blocking_seat() {
    let f = Fixture::new();
    let app = f.app_with_seats("event-app", EVENT_ORIGIN, "E1", 4);
    let alice = f.buyer(&app, "alice@x.io");
    let bob = f.buyer(&app, "bob@x.io");
    let r = app.reserve(&alice, &["E1-S1"], None).unwrap();
    assert_eq!(r.info.status, ReservationStatus::Active);
    assert_eq!(
        r.info.expires_at,
        f.engine.now() + 120_000,
        "default TTL is 120 s"
    );
    assert!(
        r.token.len() >= 40,
        "token carries >= 128 bits of randomness"
    );

    let err = app
        .reserve(&bob, &["E1-S0", "E1-S1", "E1-S2"], None)
        .unwrap_err();
    assert_eq!(err.blocking_seat(), Some(("E1-S1", SeatBlock::Held)));
    assert_eq!(
        state_of(&app, "E1", "E1-S0"),
        SeatState::Available,
        "nothing held on failure"
    );
    assert_eq!(state_of(&app, "E1", "E1-S2"), SeatState::Available);

    let err = app.reserve(&bob, &["E1-S3", "E1-S9"], None).unwrap_err();
    assert!(matches!(err, ReserveError::SeatNotFound(ref s) if s == "E1-S9"));
    assert_eq!(state_of(&app, "E1", "E1-S3"), SeatState::Available);

    let both = app.reserve(&bob, &["E1-S2", "E1-S3"], None).unwrap();
    assert_eq!(both.info.total_minor, 1002 + 1003);
    assert_eq!(both.info.seat_ids, vec!["E1-S2", "E1-S3"]);
    assert!(
        both.info.reservation_id > r.info.reservation_id,
        "fencing numbers increase"
    );
}

#[test]
fn reserve_rejects_bad_input() {
    let f = Fixture::new();
    let app = f.app_with_seats("event-app", EVENT_ORIGIN, "E1", 12);
    let buyer = f.buyer(&app, "b@x.io");
    let eleven: Vec<String> = (0..11).map(|i| seat_id("E1", i)).collect();
    let eleven: Vec<&str> = eleven.iter().map(String::as_str).collect();
    let cases: Vec<(Vec<&str>, Option<Duration>)> = vec![
        (vec![], None),
        (eleven, None),
        (vec!["E1-S0", "E1-S0"], None),
        (vec!["E1 S0"], None),
        (vec!["E1-S0"], Some(Duration::from_millis(500))),
        (vec!["E1-S0"], Some(Duration::from_secs(16 * 60))),
    ];
    for (ids, ttl) in cases {
        let err = app.reserve(&buyer, &ids, ttl).unwrap_err();
        assert_eq!(err.code(), ErrorCode::InvalidInput, "{ids:?} {ttl:?}");
    }
    assert_eq!(app.seat_counts("E1").unwrap().held, 0);
    assert_eq!(f.engine.stats().holds_taken, 0);
}

#[test]
fn reserve_refuses_seats_priced_in_different_currencies() {
    let f = Fixture::new();
    let app = f.app_with_seats("event-app", EVENT_ORIGIN, "E1", 1);
    let mut usd = seats("E2", 1);
    usd[0].currency = "USD".into();
    f.admin().create_seats("event-app", "E2", &usd).unwrap();
    let buyer = f.buyer(&app, "b@x.io");
    let err = app.reserve(&buyer, &["E1-S0", "E2-S0"], None).unwrap_err();
    assert_eq!(err.code(), ErrorCode::InvalidInput);
}

#[test]
fn a_hold_expires_lazily_and_another_buyer_takes_the_seat() {
    let f = Fixture::new();
    let app = f.app_with_seats("event-app", EVENT_ORIGIN, "E1", 1);
    let alice = f.buyer(&app, "alice@x.io");
    let bob = f.buyer(&app, "bob@x.io");
    let first = app
        .reserve(&alice, &["E1-S0"], Some(Duration::from_secs(5)))
        .unwrap();
    f.advance(Duration::from_millis(4_999));
    assert!(matches!(
        app.reserve(&bob, &["E1-S0"], None),
        Err(ReserveError::SeatHeld(_))
    ));
    f.advance(Duration::from_millis(1));
    let second = app.reserve(&bob, &["E1-S0"], None).unwrap();
    assert!(second.info.reservation_id > first.info.reservation_id);
    // The stale holder can neither extend, release nor confirm.
    assert!(matches!(
        app.extend(&alice, first.token.expose(), Duration::from_secs(5)),
        Err(HoldError::HoldExpired)
    ));
    assert!(matches!(
        app.confirm(
            &alice,
            first.token.expose(),
            "pay-a",
            first.info.total_minor
        ),
        Err(ConfirmError::HoldExpired | ConfirmError::ReservationNotActive)
    ));
    let booking = app
        .confirm(
            &bob,
            second.token.expose(),
            "pay-b",
            second.info.total_minor,
        )
        .unwrap();
    assert_eq!(booking.user_id, bob.user_id());
    assert_eq!(
        app.reservation(&alice, first.token.expose())
            .unwrap()
            .status,
        ReservationStatus::Expired
    );
    assert!(f.engine.audit().unwrap().is_clean());
}

#[test]
fn extend_is_holder_only_and_bounded() {
    let f = Fixture::new();
    let app = f.app_with_seats("event-app", EVENT_ORIGIN, "E1", 1);
    let alice = f.buyer(&app, "alice@x.io");
    let bob = f.buyer(&app, "bob@x.io");
    let r = app
        .reserve(&alice, &["E1-S0"], Some(Duration::from_secs(60)))
        .unwrap();
    f.advance(Duration::from_secs(50));
    let extended = app
        .extend(&alice, r.token.expose(), Duration::from_secs(600))
        .unwrap();
    assert_eq!(extended.expires_at, f.engine.now() + 600_000);
    f.advance(Duration::from_secs(100));
    assert!(matches!(
        app.reserve(&bob, &["E1-S0"], None),
        Err(ReserveError::SeatHeld(_))
    ));
    assert!(matches!(
        app.extend(&bob, r.token.expose(), Duration::from_secs(60)),
        Err(HoldError::ReservationNotFound)
    ));
    // 30 min total from creation is the ceiling.
    app.extend(&alice, r.token.expose(), Duration::from_secs(15 * 60))
        .unwrap();
    f.advance(Duration::from_secs(850));
    assert!(matches!(
        app.extend(&alice, r.token.expose(), Duration::from_secs(15 * 60)),
        Err(HoldError::HoldLimitExceeded)
    ));
    assert_eq!(
        app.extend(&alice, r.token.expose(), Duration::from_secs(1))
            .map(|i| i.expires_at)
            .unwrap(),
        f.engine.now() + 1000
    );
    assert_eq!(
        app.extend(&alice, r.token.expose(), Duration::from_millis(10))
            .unwrap_err()
            .code(),
        ErrorCode::InvalidInput
    );
    f.advance(Duration::from_secs(2));
    assert!(matches!(
        app.extend(&alice, r.token.expose(), Duration::from_secs(5)),
        Err(HoldError::HoldExpired)
    ));
}

#[test]
fn release_frees_the_seats_at_once() {
    let f = Fixture::new();
    let app = f.app_with_seats("event-app", EVENT_ORIGIN, "E1", 2);
    let alice = f.buyer(&app, "alice@x.io");
    let bob = f.buyer(&app, "bob@x.io");
    let r = app.reserve(&alice, &["E1-S0", "E1-S1"], None).unwrap();
    assert!(matches!(
        app.release(&bob, r.token.expose()),
        Err(HoldError::ReservationNotFound)
    ));
    app.release(&alice, r.token.expose()).unwrap();
    assert_eq!(
        app.reservation(&alice, r.token.expose()).unwrap().status,
        ReservationStatus::Released
    );
    assert!(matches!(
        app.release(&alice, r.token.expose()),
        Err(HoldError::ReservationNotActive)
    ));
    assert!(app.reserve(&bob, &["E1-S0", "E1-S1"], None).is_ok());
    assert!(matches!(
        app.confirm(&alice, r.token.expose(), "pay", r.info.total_minor),
        Err(ConfirmError::ReservationNotActive)
    ));
    assert_eq!(f.engine.stats().releases, 1);
}

#[test]
fn confirm_books_in_one_step_and_is_idempotent() {
    let f = Fixture::new();
    let app = f.app_with_seats("event-app", EVENT_ORIGIN, "E1", 3);
    let alice = f.buyer(&app, "alice@x.io");
    let r = app.reserve(&alice, &["E1-S0", "E1-S2"], None).unwrap();
    let total = r.info.total_minor;
    assert!(matches!(
        app.confirm(&alice, r.token.expose(), "pay-1", total - 1),
        Err(ConfirmError::AmountMismatch { expected, got }) if expected == total && got == total - 1
    ));
    let booking = app
        .confirm(&alice, r.token.expose(), "pay-1", total)
        .unwrap();
    assert!(booking.booking_id.starts_with("BK-"));
    assert_eq!(booking.status, BookingStatus::Success);
    assert_eq!(booking.amount_minor, 2002);
    assert_eq!(booking.currency, "EUR");
    assert_eq!(booking.seat_ids, vec!["E1-S0", "E1-S2"]);
    assert_eq!(booking.reservation_id, r.info.reservation_id);

    let again = app
        .confirm(&alice, r.token.expose(), "pay-1", total)
        .unwrap();
    assert_eq!(again, booking, "a retried confirm returns the same booking");
    assert!(matches!(
        app.confirm(&alice, r.token.expose(), "pay-2", total),
        Err(ConfirmError::PaymentConflict)
    ));
    let info = app.reservation(&alice, r.token.expose()).unwrap();
    assert_eq!(info.status, ReservationStatus::Confirmed);
    assert_eq!(
        info.booking_id.as_deref(),
        Some(booking.booking_id.as_str())
    );
    assert_eq!(app.booking(&booking.booking_id).unwrap(), booking);
    assert_eq!(app.user_bookings(&alice).unwrap(), vec![booking.clone()]);
    assert_eq!(
        app.seat_counts("E1").unwrap(),
        SeatCounts {
            available: 1,
            held: 0,
            booked: 2
        }
    );
    let bob = f.buyer(&app, "bob@x.io");
    assert!(matches!(
        app.reserve(&bob, &["E1-S0"], None),
        Err(ReserveError::SeatBooked(_))
    ));
    let stats = f.engine.stats();
    assert_eq!((stats.confirms, stats.holds_taken), (1, 1));
    assert!(f.engine.audit().unwrap().is_clean());
}

#[test]
fn declined_payment_releases_seats_and_records_the_attempt() {
    let f = Fixture::new();
    let app = f.app_with_seats("event-app", EVENT_ORIGIN, "E1", 1);
    let alice = f.buyer(&app, "alice@x.io");
    let r = app.reserve(&alice, &["E1-S0"], None).unwrap();
    let err = app
        .confirm(
            &alice,
            r.token.expose(),
            "fail-card-declined",
            r.info.total_minor,
        )
        .unwrap_err();
    let ConfirmError::PaymentDeclined { booking_id, .. } = err else {
        panic!("{err:?}")
    };
    let attempt = app.booking(&booking_id).unwrap();
    assert_eq!(attempt.status, BookingStatus::Failed);
    assert_eq!(
        app.reservation(&alice, r.token.expose()).unwrap().status,
        ReservationStatus::Released
    );
    assert_eq!(state_of(&app, "E1", "E1-S0"), SeatState::Available);
    assert_eq!(app.user_bookings(&alice).unwrap(), vec![attempt]);
    assert_eq!(f.engine.stats().payment_failures, 1);
    let audit = f.engine.audit().unwrap();
    assert!(audit.is_clean());
    assert_eq!((audit.live_bookings, audit.failed_bookings), (0, 1));
}

#[test]
fn confirm_after_expiry_books_nothing() {
    let f = Fixture::new();
    let app = f.app_with_seats("event-app", EVENT_ORIGIN, "E1", 1);
    let alice = f.buyer(&app, "alice@x.io");
    let r = app
        .reserve(&alice, &["E1-S0"], Some(Duration::from_secs(2)))
        .unwrap();
    f.advance(Duration::from_secs(2));
    assert!(matches!(
        app.confirm(&alice, r.token.expose(), "pay-1", r.info.total_minor),
        Err(ConfirmError::HoldExpired)
    ));
    assert_eq!(
        app.reservation(&alice, r.token.expose()).unwrap().status,
        ReservationStatus::Expired
    );
    assert_eq!(state_of(&app, "E1", "E1-S0"), SeatState::Available);
    assert!(app.user_bookings(&alice).unwrap().is_empty());
}

/// A verifier that lets the clock pass the hold's expiry while "paying"
/// (but not the confirm deadline, 60 s by default): the pinned hold must
/// survive, and nobody else may take the seat. (Past the deadline, see
/// tests/money_path.rs.)
#[derive(Debug)]
struct SlowBank {
    clock: seatbook::ManualClock,
}

impl PaymentVerifier for SlowBank {
    fn verify(&self, _request: &PaymentRequest<'_>) -> PaymentOutcome {
        self.clock.advance(Duration::from_secs(50));
        PaymentOutcome::Approved
    }
}

#[test]
fn a_hold_that_expires_during_confirm_is_honoured_once_pinned() {
    let clock = seatbook::ManualClock::default();
    let bank = Arc::new(SlowBank {
        clock: clock.clone(),
    });
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = config(&clock);
    cfg.payments = Some(bank);
    let f = Fixture {
        engine: seatbook::Engine::open(dir.path().join("db.redb"), cfg).unwrap(),
        dir,
        clock,
    };
    let app = f.app_with_seats("event-app", EVENT_ORIGIN, "E1", 1);
    let alice = f.buyer(&app, "alice@x.io");
    let r = app
        .reserve(&alice, &["E1-S0"], Some(Duration::from_secs(5)))
        .unwrap();
    let booking = app
        .confirm(&alice, r.token.expose(), "pay-1", r.info.total_minor)
        .unwrap();
    assert_eq!(booking.status, BookingStatus::Success);
    assert_eq!(state_of(&app, "E1", "E1-S0"), SeatState::Booked);
    assert_eq!(
        f.engine.sweep_expired().unwrap(),
        0,
        "a confirmed reservation is not expired"
    );
    assert!(f.engine.audit().unwrap().is_clean());
}

#[derive(Debug, Default)]
struct CountingBank(AtomicUsize);

impl PaymentVerifier for CountingBank {
    fn verify(&self, request: &PaymentRequest<'_>) -> PaymentOutcome {
        self.0.fetch_add(1, Ordering::SeqCst);
        if request.amount_minor > 1500 {
            PaymentOutcome::Declined("over the card limit".into())
        } else {
            PaymentOutcome::Approved
        }
    }
}

#[test]
fn a_custom_payment_verifier_decides() {
    let bank = Arc::new(CountingBank::default());
    let for_config = Arc::clone(&bank);
    let f = Fixture::with(move |c| c.payments = Some(for_config));
    let app = f.app_with_seats("event-app", EVENT_ORIGIN, "E1", 2);
    let alice = f.buyer(&app, "alice@x.io");
    let small = app.reserve(&alice, &["E1-S0"], None).unwrap();
    assert!(
        app.confirm(
            &alice,
            small.token.expose(),
            "fail-looks-bad-but-ok",
            small.info.total_minor
        )
        .is_ok()
    );
    let mut expensive = seats("E2", 1);
    expensive[0].price_minor = 9_999;
    f.admin()
        .create_seats("event-app", "E2", &expensive)
        .unwrap();
    let big = app.reserve(&alice, &["E2-S0"], None).unwrap();
    let err = app
        .confirm(&alice, big.token.expose(), "pay-2", 9_999)
        .unwrap_err();
    assert!(
        matches!(err, ConfirmError::PaymentDeclined { ref reason, .. } if reason == "over the card limit")
    );
    assert_eq!(bank.0.load(Ordering::SeqCst), 2);
}

#[test]
fn confirm_rejects_bad_input_without_side_effects() {
    let f = Fixture::new();
    let app = f.app_with_seats("event-app", EVENT_ORIGIN, "E1", 1);
    let alice = f.buyer(&app, "alice@x.io");
    let r = app.reserve(&alice, &["E1-S0"], None).unwrap();
    for bad_payment in ["", "has space", &"p".repeat(129)] {
        let err = app
            .confirm(&alice, r.token.expose(), bad_payment, r.info.total_minor)
            .unwrap_err();
        assert_eq!(err.code(), ErrorCode::InvalidInput);
    }
    for bad_token in [
        "",
        "rsv_1",
        "rsv_999.abc",
        &format!("rsv_{}.wrong", r.info.reservation_id),
    ] {
        assert!(matches!(
            app.confirm(&alice, bad_token, "pay", r.info.total_minor),
            Err(ConfirmError::ReservationNotFound)
        ));
    }
    assert_eq!(
        state_of(&app, "E1", "E1-S0"),
        SeatState::Held {
            expires_at: r.info.expires_at
        }
    );
}

#[test]
fn reservation_tokens_work_only_for_their_user_in_their_app() {
    let f = Fixture::new();
    let event = f.app_with_seats("event-app", EVENT_ORIGIN, "E1", 1);
    let bus = f.app_with_seats("bus-app", BUS_ORIGIN, "E1", 1);
    let alice = f.buyer(&event, "alice@x.io");
    let bob = f.buyer(&event, "bob@x.io");
    let r = event.reserve(&alice, &["E1-S0"], None).unwrap();
    let t = r.token.expose();
    assert!(matches!(
        event.reservation(&bob, t),
        Err(QueryError::ReservationNotFound)
    ));
    assert!(matches!(
        event.confirm(&bob, t, "p", r.info.total_minor),
        Err(ConfirmError::ReservationNotFound)
    ));
    assert!(matches!(
        bus.reservation(&alice, t),
        Err(QueryError::ReservationNotFound)
    ));
    assert!(matches!(
        bus.confirm(&alice, t, "p", r.info.total_minor),
        Err(ConfirmError::ReservationNotFound)
    ));
    assert!(matches!(
        bus.release(&alice, t),
        Err(HoldError::ReservationNotFound)
    ));
    let booking = event.confirm(&alice, t, "p", r.info.total_minor).unwrap();
    assert!(matches!(
        bus.booking(&booking.booking_id),
        Err(QueryError::BookingNotFound)
    ));
    assert!(matches!(
        bus.cancel_booking(&booking.booking_id),
        Err(seatbook::CancelError::BookingNotFound)
    ));
    assert!(bus.user_bookings(&alice).unwrap().is_empty());
    // Bus seat with the same id is untouched.
    assert_eq!(bus.seat_counts("E1").unwrap().available, 1);
}

#[test]
fn app_cancels_its_booking() {
    let f = Fixture::new();
    let app = f.app_with_seats("event-app", EVENT_ORIGIN, "E1", 1);
    let alice = f.buyer(&app, "alice@x.io");
    let r = app.reserve(&alice, &["E1-S0"], None).unwrap();
    let booking = app
        .confirm(&alice, r.token.expose(), "pay", r.info.total_minor)
        .unwrap();
    let cancelled = app.cancel_booking(&booking.booking_id).unwrap();
    assert_eq!(cancelled.status, BookingStatus::Cancelled);
    assert_eq!(
        app.booking(&booking.booking_id).unwrap().status,
        BookingStatus::Cancelled
    );
    assert_eq!(state_of(&app, "E1", "E1-S0"), SeatState::Available);
    assert_eq!(f.engine.stats().cancellations, 1);
    assert!(f.engine.audit().unwrap().is_clean());
}

#[test]
fn sweep_marks_expired_reservations_and_counts_them() {
    let f = Fixture::new();
    let app = f.app_with_seats("event-app", EVENT_ORIGIN, "E1", 3);
    let alice = f.buyer(&app, "alice@x.io");
    let short = app
        .reserve(&alice, &["E1-S0"], Some(Duration::from_secs(5)))
        .unwrap();
    let long = app
        .reserve(&alice, &["E1-S1"], Some(Duration::from_secs(60)))
        .unwrap();
    assert_eq!(f.engine.sweep_expired().unwrap(), 0);
    f.advance(Duration::from_secs(10));
    assert_eq!(f.engine.sweep_expired().unwrap(), 1);
    assert_eq!(
        app.reservation(&alice, short.token.expose())
            .unwrap()
            .status,
        ReservationStatus::Expired
    );
    assert_eq!(
        app.reservation(&alice, long.token.expose()).unwrap().status,
        ReservationStatus::Active
    );
    assert_eq!(
        f.engine.sweep_expired().unwrap(),
        0,
        "sweeping twice expires nothing new"
    );
    assert_eq!(f.engine.stats().expiries, 1);
}

#[test]
fn the_background_reaper_expires_reservations() {
    let f = Fixture::with(|c| c.reaper_interval = Some(Duration::from_millis(5)));
    let app = f.app_with_seats("event-app", EVENT_ORIGIN, "E1", 1);
    let alice = f.buyer(&app, "alice@x.io");
    let r = app
        .reserve(&alice, &["E1-S0"], Some(Duration::from_secs(5)))
        .unwrap();
    f.advance(Duration::from_secs(6));
    // The reaper runs on its own thread; wait for it with a deadline. It
    // counts an expiry once its write returned, which is a moment after
    // the reservation reads EXPIRED: wait for both.
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        let expired =
            app.reservation(&alice, r.token.expose()).unwrap().status == ReservationStatus::Expired;
        if expired && f.engine.stats().expiries >= 1 {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "reaper never ran");
        std::thread::yield_now();
    }
    assert_eq!(f.engine.stats().expiries, 1);
}

#[test]
fn stats_count_attempts_wins_and_rejections() {
    let f = Fixture::new();
    let app = f.app_with_seats("event-app", EVENT_ORIGIN, "E1", 1);
    let alice = f.buyer(&app, "alice@x.io");
    let bob = f.buyer(&app, "bob@x.io");
    app.reserve(&alice, &["E1-S0"], None).unwrap();
    for _ in 0..5 {
        assert!(app.reserve(&bob, &["E1-S0"], None).is_err());
    }
    let s = f.engine.stats();
    assert_eq!(
        (s.reserve_attempts, s.holds_taken, s.contention_rejections),
        (6, 1, 5)
    );
}

#[test]
fn user_bookings_list_only_that_users_bookings_in_that_app() {
    let f = Fixture::new();
    let app = f.app_with_seats("event-app", EVENT_ORIGIN, "E1", 3);
    let alice = f.buyer(&app, "alice@x.io");
    let bob = f.buyer(&app, "bob@x.io");
    let mut mine = Vec::new();
    for seat in ["E1-S0", "E1-S1"] {
        let r = app.reserve(&alice, &[seat], None).unwrap();
        mine.push(
            app.confirm(
                &alice,
                r.token.expose(),
                &format!("pay-{seat}"),
                r.info.total_minor,
            )
            .unwrap(),
        );
    }
    let r = app.reserve(&bob, &["E1-S2"], None).unwrap();
    app.confirm(&bob, r.token.expose(), "pay-bob", r.info.total_minor)
        .unwrap();
    let mut listed = app.user_bookings(&alice).unwrap();
    listed.sort_by(|a, b| a.booking_id.cmp(&b.booking_id));
    mine.sort_by(|a, b| a.booking_id.cmp(&b.booking_id));
    assert_eq!(listed, mine);
    assert!(matches!(
        app.booking("BK-0000"),
        Err(QueryError::BookingNotFound)
    ));
    assert!(matches!(
        app.booking(&"B".repeat(500)),
        Err(QueryError::BookingNotFound)
    ));
}
