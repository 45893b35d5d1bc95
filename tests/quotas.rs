//! Hold quotas (issue 14, point 5): at most N live reservations per user
//! and app, at most M held seats per user and entity; counts fall the
//! instant a hold ends (release, expiry, sweep, confirm, decline) and are
//! rebuilt on reopen. Concurrent reserves of one user never pass them.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Barrier, Mutex};
use std::time::Duration;

use seatbook::{
    AppContext, Config, ConfirmError, Engine, ErrorCode, HasErrorCode, OpenError, ReserveError,
    SeatFilter, UserHolds, UserSession,
};
use seatbook_testkit::fixtures::*;

fn with_quotas(reservations: usize, seats: usize) -> impl Fn(&mut Config) {
    move |c| {
        c.holds.max_active_per_user = reservations;
        c.holds.max_held_seats_per_entity = seats;
    }
}

/// An app with 40 seats in E1 and 10 in E2, and the app's key.
fn setup(f: &Fixture) -> (AppContext, String) {
    let key = f.create_app("event-app", EVENT_ORIGIN).api_key;
    let admin = f.admin();
    admin
        .create_seats("event-app", "E1", &seats("E1", 40))
        .unwrap();
    admin
        .create_seats("event-app", "E2", &seats("E2", 10))
        .unwrap();
    let app = f
        .engine
        .app("event-app", key.expose(), EVENT_ORIGIN)
        .unwrap();
    (app, key.expose().to_owned())
}

fn holds_of(f: &Fixture, user: &UserSession) -> Option<UserHolds> {
    f.admin()
        .user_holds("event-app")
        .unwrap()
        .into_iter()
        .find(|h| h.user_id == user.user_id())
}

fn e1(i: usize) -> String {
    seat_id("E1", i)
}

fn reserve(app: &AppContext, user: &UserSession, ids: &[String]) -> Result<String, ReserveError> {
    let ids: Vec<&str> = ids.iter().map(String::as_str).collect();
    app.reserve(user, &ids, None)
        .map(|r| r.token.expose().to_owned())
}

#[test]
fn defaults_are_five_reservations_and_ten_seats_per_entity() {
    let f = Fixture::new();
    let (app, _) = setup(&f);
    let buyer = f.buyer(&app, "b@x.io");
    for i in 0..5 {
        reserve(&app, &buyer, &[e1(i)]).unwrap();
    }
    let err = reserve(&app, &buyer, &[e1(5)]).unwrap_err();
    assert!(
        matches!(err, ReserveError::TooManyReservations { limit: 5 }),
        "{err:?}"
    );
    assert_eq!(err.code(), ErrorCode::TooManyReservations);
    assert_eq!(err.code() as u32, 38);

    let other = f.buyer(&app, "c@x.io");
    reserve(&app, &other, &(10..16).map(e1).collect::<Vec<_>>()).unwrap();
    let err = reserve(&app, &other, &(16..21).map(e1).collect::<Vec<_>>()).unwrap_err();
    assert!(
        matches!(&err, ReserveError::TooManySeatsHeld { entity_id, limit: 10 } if entity_id == "E1"),
        "{err:?}"
    );
    assert_eq!(err.code() as u32, 39);
}

#[test]
fn a_refused_reserve_holds_and_writes_nothing() {
    let f = Fixture::with(with_quotas(2, 10));
    let (app, _) = setup(&f);
    let buyer = f.buyer(&app, "b@x.io");
    reserve(&app, &buyer, &[e1(0)]).unwrap();
    reserve(&app, &buyer, &[e1(1)]).unwrap();
    let counts = app.seat_counts("E1").unwrap();
    let stats = f.engine.stats();
    assert!(matches!(
        reserve(&app, &buyer, &[e1(2), e1(3)]),
        Err(ReserveError::TooManyReservations { limit: 2 })
    ));
    assert_eq!(app.seat_counts("E1").unwrap(), counts);
    assert_eq!(f.engine.stats().holds_taken, stats.holds_taken);
    // The seats it won for an instant are free for anyone.
    let other = f.buyer(&app, "c@x.io");
    reserve(&app, &other, &[e1(2), e1(3)]).unwrap();
    assert!(f.engine.audit().unwrap().is_clean());
}

#[test]
fn seats_count_per_entity_over_all_of_a_users_reservations() {
    let f = Fixture::with(with_quotas(5, 3));
    let (app, _) = setup(&f);
    let buyer = f.buyer(&app, "b@x.io");
    reserve(&app, &buyer, &[e1(0), e1(1)]).unwrap();
    let err = reserve(&app, &buyer, &[e1(2), e1(3)]).unwrap_err();
    assert!(
        matches!(&err, ReserveError::TooManySeatsHeld { entity_id, limit: 3 } if entity_id == "E1"),
        "{err:?}"
    );
    reserve(&app, &buyer, &[e1(2)]).unwrap();
    // Another entity has its own allowance; a mixed reserve is judged per entity.
    let e2: Vec<String> = (0..3).map(|i| seat_id("E2", i)).collect();
    reserve(&app, &buyer, &e2).unwrap();
    let err = reserve(&app, &buyer, &[seat_id("E2", 5), e1(9)]).unwrap_err();
    assert_eq!(err.code(), ErrorCode::TooManySeatsHeld);
    assert_eq!(
        holds_of(&f, &buyer),
        Some(UserHolds {
            user_id: buyer.user_id(),
            reservations: 3,
            seats: 6
        })
    );
    // More seats than the quota in one reserve are refused outright.
    let other = f.buyer(&app, "c@x.io");
    assert_eq!(
        reserve(&app, &other, &(20..24).map(e1).collect::<Vec<_>>())
            .unwrap_err()
            .code(),
        ErrorCode::TooManySeatsHeld
    );
}

#[test]
fn release_frees_quota_and_a_release_loop_never_passes_the_limits() {
    let f = Fixture::with(with_quotas(2, 3));
    let (app, _) = setup(&f);
    let buyer = f.buyer(&app, "b@x.io");
    let keep = reserve(&app, &buyer, &[e1(0), e1(1)]).unwrap();
    for round in 0..50 {
        let seat = e1(2 + round % 30);
        let token = reserve(&app, &buyer, std::slice::from_ref(&seat)).unwrap();
        // At the limit (2 reservations, 3 seats of E1): nothing more.
        assert_eq!(
            reserve(&app, &buyer, &[e1(35)]).unwrap_err().code(),
            ErrorCode::TooManyReservations
        );
        let h = holds_of(&f, &buyer).unwrap();
        assert_eq!((h.reservations, h.seats), (2, 3));
        assert_eq!(app.seat_counts("E1").unwrap().held, 3);
        app.release(&buyer, &token).unwrap();
    }
    app.release(&buyer, &keep).unwrap();
    assert_eq!(holds_of(&f, &buyer), None);
    assert!(f.admin().user_holds("event-app").unwrap().is_empty());
}

#[test]
fn an_expired_hold_frees_quota_at_once_before_any_sweep() {
    let f = Fixture::with(with_quotas(1, 10));
    let (app, _) = setup(&f);
    let buyer = f.buyer(&app, "b@x.io");
    let first = app
        .reserve(&buyer, &[&e1(0)], Some(Duration::from_secs(10)))
        .unwrap();
    assert_eq!(
        reserve(&app, &buyer, &[e1(1)]).unwrap_err().code(),
        ErrorCode::TooManyReservations
    );
    f.advance(Duration::from_secs(10));
    // Not swept: the record still says ACTIVE, but the hold counts no more.
    assert_eq!(
        app.reservation(&buyer, first.token.expose())
            .unwrap()
            .status,
        seatbook::ReservationStatus::Active
    );
    assert_eq!(holds_of(&f, &buyer), None);
    reserve(&app, &buyer, &[e1(1)]).unwrap();
    // The sweep then changes nothing about the count.
    assert_eq!(f.engine.sweep_expired().unwrap(), 1);
    assert_eq!(holds_of(&f, &buyer).unwrap().reservations, 1);
}

#[test]
fn the_sweep_frees_quota_and_an_extend_keeps_counting() {
    let f = Fixture::with(with_quotas(1, 10));
    let (app, _) = setup(&f);
    let buyer = f.buyer(&app, "b@x.io");
    let r = app
        .reserve(&buyer, &[&e1(0)], Some(Duration::from_secs(10)))
        .unwrap();
    f.advance(Duration::from_secs(8));
    app.extend(&buyer, r.token.expose(), Duration::from_secs(60))
        .unwrap();
    f.advance(Duration::from_secs(30));
    // Past the original expiry, but extended: still counts.
    assert_eq!(
        reserve(&app, &buyer, &[e1(1)]).unwrap_err().code(),
        ErrorCode::TooManyReservations
    );
    f.advance(Duration::from_secs(31));
    assert_eq!(f.engine.sweep_expired().unwrap(), 1);
    assert_eq!(holds_of(&f, &buyer), None);
    reserve(&app, &buyer, &[e1(1)]).unwrap();
}

#[test]
fn confirm_and_payment_decline_free_quota() {
    let f = Fixture::with(with_quotas(1, 10));
    let (app, _) = setup(&f);
    let buyer = f.buyer(&app, "b@x.io");
    let r = app.reserve(&buyer, &[&e1(0)], None).unwrap();
    app.confirm(&buyer, r.token.expose(), "pay-1", r.info.total_minor)
        .unwrap();
    assert_eq!(holds_of(&f, &buyer), None);
    let r = app.reserve(&buyer, &[&e1(1)], None).unwrap();
    assert!(matches!(
        app.confirm(&buyer, r.token.expose(), "fail-1", r.info.total_minor),
        Err(ConfirmError::PaymentDeclined { .. })
    ));
    assert_eq!(holds_of(&f, &buyer), None);
    reserve(&app, &buyer, &[e1(2)]).unwrap();
}

fn reopen_with(f: Fixture, adjust: impl Fn(&mut Config)) -> Fixture {
    let Fixture { dir, clock, engine } = f;
    drop(engine);
    let mut cfg = config(&clock);
    adjust(&mut cfg);
    let engine = Engine::open(dir.path().join("db.redb"), cfg).unwrap();
    Fixture { dir, clock, engine }
}

#[test]
fn reopen_counts_the_restored_holds_and_not_the_expired_ones() {
    let mut f = Fixture::with(with_quotas(3, 10));
    let (app, key) = setup(&f);
    let buyer = f.buyer(&app, "b@x.io");
    app.reserve(&buyer, &[&e1(0)], Some(Duration::from_secs(10)))
        .unwrap();
    app.reserve(&buyer, &[&e1(1), &e1(2)], Some(Duration::from_secs(300)))
        .unwrap();
    app.reserve(&buyer, &[&e1(3)], Some(Duration::from_secs(300)))
        .unwrap();
    let user_token = app.login("b@x.io", "buyer-password").unwrap();
    drop(app);
    f = reopen_with(f, with_quotas(3, 10));
    let app = f.engine.app("event-app", &key, EVENT_ORIGIN).unwrap();
    let buyer = app.user(user_token.expose()).unwrap();
    let h = holds_of(&f, &buyer).unwrap();
    assert_eq!((h.reservations, h.seats), (3, 4));
    assert_eq!(
        reserve(&app, &buyer, &[e1(4)]).unwrap_err().code(),
        ErrorCode::TooManyReservations
    );
    // The 10 s hold expires: one place again, also across another reopen.
    f.advance(Duration::from_secs(11));
    drop(app);
    f = reopen_with(f, with_quotas(3, 10));
    let app = f.engine.app("event-app", &key, EVENT_ORIGIN).unwrap();
    let buyer = app.user(user_token.expose()).unwrap();
    assert_eq!(holds_of(&f, &buyer).unwrap().reservations, 2);
    reserve(&app, &buyer, &[e1(4)]).unwrap();
    assert_eq!(
        reserve(&app, &buyer, &[e1(5)]).unwrap_err().code(),
        ErrorCode::TooManyReservations
    );
}

#[test]
fn a_zero_quota_is_refused_at_open() {
    for adjust in [with_quotas(0, 10), with_quotas(5, 0)] {
        let dir = tempfile::tempdir().unwrap();
        let clock = seatbook::ManualClock::default();
        let mut cfg = config(&clock);
        adjust(&mut cfg);
        assert!(matches!(
            Engine::open(dir.path().join("db.redb"), cfg),
            Err(OpenError::InvalidConfig(_))
        ));
    }
    // usize::MAX means no limit.
    let f = Fixture::with(with_quotas(usize::MAX, usize::MAX));
    let (app, _) = setup(&f);
    let buyer = f.buyer(&app, "b@x.io");
    for i in 0..30 {
        reserve(&app, &buyer, &[e1(i)]).unwrap();
    }
}

#[test]
fn concurrent_reserves_of_one_user_never_pass_the_quotas() {
    const THREADS: usize = 6;
    const ROUNDS: usize = 60;
    const MAX_RESERVATIONS: usize = 3;
    const MAX_SEATS: usize = 4;
    let f = Fixture::with(with_quotas(MAX_RESERVATIONS, MAX_SEATS));
    let (app, _) = setup(&f);
    let buyer = f.buyer(&app, "b@x.io");
    let barrier = Barrier::new(THREADS);
    let won = Mutex::new(Vec::<String>::new());
    let refused = AtomicUsize::new(0);
    for round in 0..ROUNDS {
        std::thread::scope(|s| {
            for t in 0..THREADS {
                let (app, buyer, barrier, won, refused) = (&app, &buyer, &barrier, &won, &refused);
                s.spawn(move || {
                    // Each thread its own seats: only the quotas can refuse.
                    // Rounds alternate one- and two-seat requests.
                    let n = 1 + (round + t) % 2;
                    let ids: Vec<String> = (0..n).map(|k| e1(t * 2 + k)).collect();
                    barrier.wait();
                    match reserve(app, buyer, &ids) {
                        Ok(token) => won.lock().unwrap().push(token),
                        Err(
                            ReserveError::TooManyReservations { .. }
                            | ReserveError::TooManySeatsHeld { .. },
                        ) => {
                            refused.fetch_add(1, Ordering::Relaxed);
                        }
                        Err(e) => panic!("unexpected {e:?}"),
                    }
                });
            }
        });
        let tokens = std::mem::take(&mut *won.lock().unwrap());
        let h = holds_of(&f, &buyer).unwrap();
        assert!(h.reservations <= MAX_RESERVATIONS, "round {round}: {h:?}");
        assert!(h.seats <= MAX_SEATS, "round {round}: {h:?}");
        assert_eq!(h.reservations, tokens.len());
        let held = app.seat_counts("E1").unwrap().held as usize;
        assert_eq!(held, h.seats, "round {round}");
        // Some must have won: the first admitted hold always fits.
        assert!(!tokens.is_empty());
        for token in tokens {
            app.release(&buyer, &token).unwrap();
        }
        assert_eq!(holds_of(&f, &buyer), None);
    }
    assert!(refused.load(Ordering::Relaxed) > 0);
    assert_eq!(
        app.list_seats("E1", SeatFilter::AvailableOnly)
            .unwrap()
            .len(),
        40
    );
    assert!(f.engine.audit().unwrap().is_clean());
}
