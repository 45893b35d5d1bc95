//! Opening, configuration checks and recovery on reopen.

use std::time::Duration;

use seatbook::{
    BookingStatus, Engine, HasErrorCode, OpenError, ReservationStatus, ReserveError, SeatCounts,
    SeatFilter,
};
use seatbook_testkit::fixtures::*;

/// Creates `event-app` with seats E1-S0..E1-S3; returns its API key and
/// an authenticated context.
fn event_app_with_four_seats(f: &Fixture) -> (String, seatbook::AppContext) {
    let key = f
        .create_app("event-app", EVENT_ORIGIN)
        .api_key
        .expose()
        .to_owned();
    f.admin()
        .create_seats("event-app", "E1", &seats("E1", 4))
        .unwrap();
    let app = f.engine.app("event-app", &key, EVENT_ORIGIN).unwrap();
    (key, app)
}

#[test]
fn reopen_restores_live_holds_expires_stale_ones_and_keeps_bookings() {
    let f = Fixture::new();
    let (key, app) = event_app_with_four_seats(&f);
    let alice_token = app.signup("alice@x.io", "alice-password").unwrap();
    let alice = app.user(alice_token.expose()).unwrap();
    let booked = app.reserve(&alice, &["E1-S0"], None).unwrap();
    let booking = app
        .confirm(
            &alice,
            booked.token.expose(),
            "pay-1",
            booked.info.total_minor,
        )
        .unwrap();
    let live = app
        .reserve(&alice, &["E1-S1", "E1-S2"], Some(Duration::from_secs(300)))
        .unwrap();
    let stale = app
        .reserve(&alice, &["E1-S3"], Some(Duration::from_secs(5)))
        .unwrap();
    drop(app);

    let f = f.reopen();
    f.advance(Duration::from_secs(10));
    let f = f.reopen();
    let app = f.engine.app("event-app", &key, EVENT_ORIGIN).unwrap();
    let alice = app.user(alice_token.expose()).unwrap();
    let bob = f.buyer(&app, "bob@x.io");

    assert_eq!(app.booking(&booking.booking_id).unwrap(), booking);
    assert_eq!(
        app.seat_counts("E1").unwrap(),
        SeatCounts {
            available: 1,
            held: 2,
            booked: 1
        }
    );
    assert!(matches!(
        app.reserve(&bob, &["E1-S0"], None),
        Err(ReserveError::SeatBooked(_))
    ));
    assert!(matches!(
        app.reserve(&bob, &["E1-S2"], None),
        Err(ReserveError::SeatHeld(_))
    ));
    assert_eq!(
        app.reservation(&alice, stale.token.expose())
            .unwrap()
            .status,
        ReservationStatus::Expired
    );
    let fresh = app.reserve(&bob, &["E1-S3"], None).unwrap();
    assert!(
        fresh.info.reservation_id > stale.info.reservation_id,
        "fencing continues after reopen"
    );
    // The restored hold is still confirmable by its holder.
    let b2 = app
        .confirm(&alice, live.token.expose(), "pay-2", live.info.total_minor)
        .unwrap();
    assert_eq!(b2.status, BookingStatus::Success);
    assert_eq!(
        f.engine.stats().expiries,
        1,
        "the open sweep expired the stale hold"
    );
    assert!(f.engine.audit().unwrap().is_clean());
}

#[test]
fn a_hold_that_expires_while_closed_is_free_after_reopen() {
    let f = Fixture::new();
    let key = f.create_app("event-app", EVENT_ORIGIN).api_key;
    f.admin()
        .create_seats("event-app", "E1", &seats("E1", 1))
        .unwrap();
    let app = f
        .engine
        .app("event-app", key.expose(), EVENT_ORIGIN)
        .unwrap();
    let alice = f.buyer(&app, "alice@x.io");
    app.reserve(&alice, &["E1-S0"], Some(Duration::from_secs(5)))
        .unwrap();
    drop(app);
    let Fixture { dir, clock, engine } = f;
    drop(engine);
    clock.advance(Duration::from_secs(6));
    let engine = Engine::open(dir.path().join("db.redb"), config(&clock)).unwrap();
    assert_eq!(
        engine.stats().expiries,
        1,
        "open sweeps expired reservations"
    );
    let app = engine.app("event-app", key.expose(), EVENT_ORIGIN).unwrap();
    let seats = app.list_seats("E1", SeatFilter::AvailableOnly).unwrap();
    assert_eq!(seats.len(), 1);
}

#[test]
fn a_second_engine_on_the_same_file_is_refused() {
    let f = Fixture::new();
    let err = Engine::open(f.path(), config(&f.clock)).unwrap_err();
    assert!(matches!(err, OpenError::DatabaseAlreadyOpen), "{err:?}");
}

#[test]
fn weak_or_malformed_configuration_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let clock = seatbook::ManualClock::default();
    type Adjust = Box<dyn Fn(&mut seatbook::Config)>;
    let cases: Vec<(&str, Adjust)> = vec![
        (
            "short admin secret",
            Box::new(|c| c.admin_jwt_secret = "short".into()),
        ),
        (
            "short user secret",
            Box::new(|c| c.user_jwt_secret = "x".repeat(31).into()),
        ),
        (
            "identical secrets",
            Box::new(|c| c.user_jwt_secret = c.admin_jwt_secret.clone()),
        ),
        (
            "bad admin hash",
            Box::new(|c| c.admin_password_hash = "plaintext".into()),
        ),
        (
            "bad admin email",
            Box::new(|c| c.admin_email = "nope".into()),
        ),
        (
            "ttl bounds",
            Box::new(|c| c.holds.min_ttl = Duration::from_secs(500)),
        ),
        ("max seats", Box::new(|c| c.holds.max_seats = 65)),
        ("zero bulk", Box::new(|c| c.max_seats_per_bulk = 0)),
        ("tiny page cache", Box::new(|c| c.page_cache_bytes = 4096)),
        ("argon2 params", Box::new(|c| c.argon2.memory_kib = 1)),
    ];
    for (name, adjust) in cases {
        let mut cfg = config(&clock);
        adjust(&mut cfg);
        let err = Engine::open(
            dir.path().join(format!("{}.redb", name.replace(' ', "_"))),
            cfg,
        )
        .unwrap_err();
        assert!(
            matches!(err, OpenError::InvalidConfig(_) | OpenError::WeakSecret(_)),
            "{name}: {err:?}"
        );
        assert!(!err.to_string().contains(ADMIN_SECRET), "{name}");
    }
}

#[test]
fn a_config_without_a_payment_verifier_is_refused_and_creates_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db.redb");
    let mut cfg = config(&seatbook::ManualClock::default());
    cfg.payments = None;
    let err = Engine::open(&path, cfg).unwrap_err();
    assert!(matches!(err, OpenError::NoPaymentVerifier), "{err:?}");
    assert_eq!(err.code(), seatbook::ErrorCode::InvalidConfig);
    let text = err.to_string();
    assert!(
        text.contains("no payment verifier") && text.contains("SimulatedPayments"),
        "the message says how to pick one: {text}"
    );
    assert!(!path.exists(), "nothing was created");
    // Naming the simulation (or any verifier) opens.
    let cfg = seatbook::Config {
        payments: None,
        ..config(&seatbook::ManualClock::default())
    }
    .with_payments(seatbook::SimulatedPayments::default());
    Engine::open(&path, cfg).expect("open with a named verifier");
}

#[test]
fn opening_a_file_that_is_not_a_database_fails_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("junk.redb");
    std::fs::write(&path, vec![0xAB; 8192]).unwrap();
    let err = Engine::open(&path, config(&seatbook::ManualClock::default())).unwrap_err();
    assert!(matches!(err, OpenError::Storage(_)), "{err:?}");
}

/// A crash loses every write to the database file that was not synced
/// (between checkpoints, redb commits only in memory); with
/// `Durability::Full` the journal (`<file>-journal`) holds them. Here the
/// files are put back to what a crash right after the last confirm leaves:
/// the journal as it was then, the database file as it was at open (the
/// last point it was synced). Reopening must replay the journal and find
/// every booking.
#[test]
fn acknowledged_confirms_survive_a_database_file_that_lost_its_unsynced_writes() {
    let f = Fixture::with(|c| c.durability = seatbook::Durability::Full);
    let key = f.create_app("event-app", EVENT_ORIGIN).api_key;
    f.admin()
        .create_seats("event-app", "E1", &seats("E1", 6))
        .unwrap();
    let Fixture { dir, clock, engine } = f;
    drop(engine);
    let full = |clock: &seatbook::ManualClock| {
        let mut c = config(clock);
        c.durability = seatbook::Durability::Full;
        c
    };
    let path = dir.path().join("db.redb");
    let engine = Engine::open(&path, full(&clock)).unwrap();
    // Open replayed the journal and synced the file: this is what a disk
    // holds for sure from here on.
    let synced_at_open = std::fs::read(&path).unwrap();
    let app = engine.app("event-app", key.expose(), EVENT_ORIGIN).unwrap();
    let token = app.signup("alice@x.io", "alice-password").unwrap();
    let alice = app.user(token.expose()).unwrap();
    let mut bookings = Vec::new();
    for i in 0..6 {
        let hold = app.reserve(&alice, &[&*seat_id("E1", i)], None).unwrap();
        bookings.push(
            app.confirm(
                &alice,
                hold.token.expose(),
                &format!("pay-{i}"),
                hold.info.total_minor,
            )
            .unwrap(),
        );
    }
    let journal = dir.path().join("db.redb-journal");
    let journal_at_crash = std::fs::read(&journal).unwrap();
    drop(app);
    // A clean close checkpoints; the crash did not get that far.
    drop(engine);
    std::fs::write(&journal, &journal_at_crash).unwrap();
    std::fs::write(&path, &synced_at_open).unwrap();

    let engine = Engine::open(&path, full(&clock)).unwrap();
    let app = engine.app("event-app", key.expose(), EVENT_ORIGIN).unwrap();
    for b in &bookings {
        assert_eq!(&app.booking(&b.booking_id).unwrap(), b);
    }
    assert_eq!(
        app.seat_counts("E1").unwrap(),
        SeatCounts {
            available: 0,
            held: 0,
            booked: 6
        }
    );
    assert!(engine.audit().unwrap().is_clean());
}

/// Confirm, release and extend leave the reservation's old active-holds
/// index row behind for the sweep to drop. Such a row must never revive a
/// hold on reopen nor expire a live reservation when it falls due.
#[test]
fn index_rows_left_by_confirm_release_and_extend_never_revive_or_expire_a_hold() {
    let f = Fixture::new();
    let (key, app) = event_app_with_four_seats(&f);
    let alice_token = app.signup("alice@x.io", "alice-password").unwrap();
    let alice = app.user(alice_token.expose()).unwrap();
    let ttl = Some(Duration::from_secs(60));
    let confirmed = app.reserve(&alice, &["E1-S0"], ttl).unwrap();
    app.confirm(
        &alice,
        confirmed.token.expose(),
        "pay-1",
        confirmed.info.total_minor,
    )
    .unwrap();
    let released = app.reserve(&alice, &["E1-S1"], ttl).unwrap();
    app.release(&alice, released.token.expose()).unwrap();
    let extended = app.reserve(&alice, &["E1-S2"], ttl).unwrap();
    app.extend(&alice, extended.token.expose(), Duration::from_secs(600))
        .unwrap();
    drop(app);

    let counts = |f: &Fixture| {
        f.engine
            .app("event-app", &key, EVENT_ORIGIN)
            .unwrap()
            .seat_counts("E1")
            .unwrap()
    };
    let expected = SeatCounts {
        available: 2,
        held: 1,
        booked: 1,
    };
    let f = f.reopen();
    assert_eq!(
        counts(&f),
        expected,
        "reopened before the old rows fell due"
    );
    f.advance(Duration::from_secs(120));
    assert_eq!(
        f.engine.sweep_expired().unwrap(),
        0,
        "the rows due at 60 s belong to no live hold"
    );
    let f = f.reopen();
    assert_eq!(counts(&f), expected, "reopened after the sweep");
    let app = f.engine.app("event-app", &key, EVENT_ORIGIN).unwrap();
    let alice = app.user(alice_token.expose()).unwrap();
    assert_eq!(
        app.reservation(&alice, extended.token.expose())
            .unwrap()
            .status,
        ReservationStatus::Active
    );
    f.advance(Duration::from_secs(600));
    assert_eq!(f.engine.sweep_expired().unwrap(), 1, "the extended hold");
    assert_eq!(
        app.reservation(&alice, confirmed.token.expose())
            .unwrap()
            .status,
        ReservationStatus::Confirmed
    );
    assert!(f.engine.audit().unwrap().is_clean());
}
