//! Sessions and closing (issue 14, points 7 and 9): password changes revoke
//! a user's earlier tokens and sessions, admin tokens are bound to the
//! configured admin hash, revoked app contexts answer their own error, and
//! `Engine::close` makes every context answer `EngineClosed` and releases
//! the file.

use std::sync::Arc;
use std::time::Duration;

use seatbook::{
    AppAuthError, Argon2Params, AuthError, Engine, ErrorCode, HasErrorCode, LoginError, OpenError,
    PasswordChangeError, QueryError, ReserveError, SeatFilter, SignupError, hash_password,
};
use seatbook_testkit::fixtures;
use seatbook_testkit::fixtures::{ADMIN_EMAIL, ADMIN_PASSWORD, EVENT_ORIGIN, Fixture, config};

const PW: &str = "buyer-password";
const NEW_PW: &str = "a-brand-new-password";

#[test]
fn password_change_revokes_earlier_tokens_and_sessions_in_every_app() {
    let f = Fixture::new();
    let event = f.app_with_seats("event-app", EVENT_ORIGIN, "E1", 4);
    let bus = f.app_with_seats("bus-app", fixtures::BUS_ORIGIN, "B1", 2);
    let signup_token = event.signup("ann@x.io", PW).unwrap();
    let login_token = bus.login("ann@x.io", PW).unwrap();
    let session = event.user(signup_token.expose()).unwrap();
    let bus_session = bus.user(login_token.expose()).unwrap();
    let other = f.buyer(&event, "bob@x.io");

    let fresh = event.change_password(&session, PW, NEW_PW).unwrap();

    // Earlier tokens no longer verify, in either app.
    for (app, token) in [(&event, &signup_token), (&bus, &login_token)] {
        assert_eq!(app.user(token.expose()), Err(AuthError::InvalidToken));
    }
    // Live sessions made before the change stop working at their next call.
    assert!(matches!(
        event.reserve(&session, &["E1-S0"], None),
        Err(ReserveError::Auth(AuthError::InvalidToken))
    ));
    assert!(matches!(
        bus.user_bookings(&bus_session),
        Err(QueryError::Auth(AuthError::InvalidToken))
    ));
    // The fresh token works; so do other users' sessions.
    let renewed = event.user(fresh.expose()).unwrap();
    assert_eq!(renewed.user_id(), session.user_id());
    assert!(event.reserve(&renewed, &["E1-S0"], None).is_ok());
    assert!(event.reserve(&other, &["E1-S1"], None).is_ok());
    // The old password is gone, the new one logs in.
    assert!(matches!(
        event.login("ann@x.io", PW),
        Err(LoginError::InvalidCredentials)
    ));
    let again = event.login("ann@x.io", NEW_PW).unwrap();
    assert!(bus.user(again.expose()).is_ok());
}

#[test]
fn password_change_survives_reopen_and_old_tokens_stay_revoked() {
    let f = Fixture::new();
    let event = f.app_with_seats("event-app", EVENT_ORIGIN, "E1", 1);
    let key = f.admin().rotate_api_key("event-app").unwrap();
    let event2 = f
        .engine
        .app("event-app", key.expose(), EVENT_ORIGIN)
        .unwrap();
    drop(event);
    let old = event2.signup("ann@x.io", PW).unwrap();
    let session = event2.user(old.expose()).unwrap();
    let fresh = event2.change_password(&session, PW, NEW_PW).unwrap();
    let after = event2.user(fresh.expose()).unwrap();
    drop(event2);
    let f = f.reopen();
    let event = f
        .engine
        .app("event-app", key.expose(), EVENT_ORIGIN)
        .unwrap();
    assert_eq!(event.user(old.expose()), Err(AuthError::InvalidToken));
    assert!(event.user(fresh.expose()).is_ok());
    assert!(event.login("ann@x.io", NEW_PW).is_ok());
    // A session of the previous engine instance made before the change is
    // refused here too; one made after it still works.
    assert!(matches!(
        event.user_bookings(&session),
        Err(QueryError::Auth(AuthError::InvalidToken))
    ));
    assert!(event.user_bookings(&after).is_ok());
}

#[test]
fn password_change_errors_change_nothing() {
    let f = Fixture::new();
    let event = f.app_with_seats("event-app", EVENT_ORIGIN, "E1", 1);
    let token = event.signup("ann@x.io", PW).unwrap();
    let session = event.user(token.expose()).unwrap();
    assert!(matches!(
        event.change_password(&session, "wrong-password", NEW_PW),
        Err(PasswordChangeError::InvalidCredentials)
    ));
    assert!(matches!(
        event.change_password(&session, PW, "short"),
        Err(PasswordChangeError::InvalidInput(_))
    ));
    let err = event
        .change_password(&session, "x", NEW_PW)
        .expect_err("too-short current password");
    assert_eq!(err.code(), ErrorCode::InvalidCredentials);
    // Nothing changed: the token and the old password still work.
    assert!(event.user(token.expose()).is_ok());
    assert!(event.login("ann@x.io", PW).is_ok());
    // An expired session cannot change the password.
    f.advance(Duration::from_secs(8 * 24 * 3600));
    assert!(matches!(
        event.change_password(&session, PW, NEW_PW),
        Err(PasswordChangeError::Auth(AuthError::TokenExpired))
    ));
}

#[test]
fn racing_password_changes_leave_exactly_one_winner() {
    let f = Fixture::new();
    let event = f.app_with_seats("event-app", EVENT_ORIGIN, "E1", 1);
    let token = event.signup("ann@x.io", PW).unwrap();
    let session = event.user(token.expose()).unwrap();
    let results: Vec<_> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..4)
            .map(|i| {
                let (event, session) = (&event, &session);
                s.spawn(move || event.change_password(session, PW, &format!("{NEW_PW}-{i}")))
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let winners: Vec<usize> = (0..4).filter(|&i| results[i].is_ok()).collect();
    assert_eq!(winners.len(), 1, "{results:?}");
    for (i, r) in results.iter().enumerate() {
        if let Err(e) = r {
            // Losers either verified the old hash too late, or found their
            // session already revoked by the winner.
            assert!(
                matches!(
                    e,
                    PasswordChangeError::InvalidCredentials
                        | PasswordChangeError::Auth(AuthError::InvalidToken)
                ),
                "{i}: {e:?}"
            );
        }
    }
    let w = winners[0];
    assert!(event.login("ann@x.io", &format!("{NEW_PW}-{w}")).is_ok());
    assert_eq!(event.user(token.expose()), Err(AuthError::InvalidToken));
}

#[test]
fn admin_tokens_stop_working_when_the_admin_hash_changes() {
    let f = Fixture::new();
    let token = f.engine.admin_login(ADMIN_EMAIL, ADMIN_PASSWORD).unwrap();
    assert!(f.engine.admin(token.expose()).is_ok());
    let fixtures::Fixture { dir, clock, engine } = f;
    drop(engine);
    let path = dir.path().join("db.redb");
    // Same password, same secrets, but a new hash (new salt): old tokens go.
    let mut cfg = config(&clock);
    cfg.admin_password_hash =
        hash_password(ADMIN_PASSWORD, &Argon2Params::insecure_fast_for_tests())
            .unwrap()
            .into();
    let engine = Engine::open(&path, cfg.clone()).unwrap();
    assert_eq!(
        engine.admin(token.expose()).map(|_| ()),
        Err(AuthError::InvalidToken)
    );
    let fresh = engine.admin_login(ADMIN_EMAIL, ADMIN_PASSWORD).unwrap();
    assert!(engine.admin(fresh.expose()).is_ok());
    drop(engine);
    // Reopened with the same hash: the fresh token keeps working.
    let engine = Engine::open(&path, cfg).unwrap();
    assert!(engine.admin(fresh.expose()).is_ok());
}

#[test]
fn admin_hash_costs_are_bounded_at_open() {
    let dir = tempfile::tempdir().unwrap();
    let clock = seatbook::ManualClock::default();
    let mut cfg = config(&clock);
    // A well-formed hash asking for 512 MiB: parseable, but refused.
    cfg.admin_password_hash =
        "$argon2id$v=19$m=524288,t=2,p=1$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaA"
            .to_owned()
            .into();
    let err = Engine::open(dir.path().join("db.redb"), cfg).unwrap_err();
    assert!(matches!(err, OpenError::InvalidConfig(_)), "{err:?}");
    assert!(!dir.path().join("db.redb").exists(), "nothing was created");
}

#[test]
fn password_work_bounds_are_checked_at_open() {
    let dir = tempfile::tempdir().unwrap();
    let clock = seatbook::ManualClock::default();
    for (max_concurrent, max_wait) in [(0, 1), (1025, 1), (1, 61_000)] {
        let mut cfg = config(&clock);
        cfg.password_work = seatbook::PasswordWork {
            max_concurrent,
            max_wait: Duration::from_millis(max_wait),
        };
        let err = Engine::open(dir.path().join("db.redb"), cfg).unwrap_err();
        assert!(matches!(err, OpenError::InvalidConfig(_)), "{err:?}");
    }
}

#[test]
fn close_makes_every_context_answer_engine_closed_and_releases_the_file() {
    let f = Fixture::new();
    let event = f.app_with_seats("event-app", EVENT_ORIGIN, "E1", 2);
    let buyer = f.buyer(&event, "ann@x.io");
    let token = event.login("ann@x.io", PW).unwrap();
    let hold = event.reserve(&buyer, &["E1-S0"], None).unwrap();
    let admin = f.admin();
    let clone = event.clone();

    f.engine.close();
    assert!(f.engine.is_closed());
    f.engine.close(); // idempotent

    // Every context made from the engine answers EngineClosed.
    assert_eq!(event.user(token.expose()), Err(AuthError::EngineClosed));
    assert!(matches!(
        clone.reserve(&buyer, &["E1-S1"], None),
        Err(ReserveError::Auth(AuthError::EngineClosed))
    ));
    assert!(matches!(
        event.list_seats("E1", SeatFilter::All),
        Err(QueryError::Auth(AuthError::EngineClosed))
    ));
    assert!(matches!(
        event.signup("bob@x.io", PW),
        Err(SignupError::Auth(AuthError::EngineClosed))
    ));
    let err = event.login("ann@x.io", PW).unwrap_err();
    assert_eq!(err.code(), ErrorCode::EngineClosed);
    assert!(matches!(
        admin.list_apps(),
        Err(seatbook::AdminError::Auth(AuthError::EngineClosed))
    ));
    assert!(matches!(
        f.engine.app("event-app", "sbk_whatever", EVENT_ORIGIN),
        Err(AppAuthError::EngineClosed)
    ));
    assert!(matches!(
        f.engine.admin_login(ADMIN_EMAIL, ADMIN_PASSWORD),
        Err(LoginError::Auth(AuthError::EngineClosed))
    ));
    // The engine's own calls that reach storage say so too.
    let swept = f.engine.sweep_expired().unwrap_err();
    assert!(swept.is_closed() && swept.code() == ErrorCode::EngineClosed);
    assert_eq!(
        f.engine.audit().unwrap_err().code(),
        ErrorCode::EngineClosed
    );
    let backup = f
        .engine
        .backup(f.path().with_extension("copy"))
        .unwrap_err();
    assert_eq!(backup.code(), ErrorCode::EngineClosed);

    // The file is released while the contexts (and the engine value) live:
    // the same path reopens, and the hold taken before close is restored.
    let reopened = Engine::open(f.path(), config(&f.clock)).unwrap();
    let admin2 = {
        let t = reopened.admin_login(ADMIN_EMAIL, ADMIN_PASSWORD).unwrap();
        reopened.admin(t.expose()).unwrap()
    };
    let key = admin2.rotate_api_key("event-app").unwrap();
    let ctx = reopened
        .app("event-app", key.expose(), EVENT_ORIGIN)
        .unwrap();
    let ann = ctx.user(token.expose()).unwrap();
    let info = ctx.reservation(&ann, hold.token.expose()).unwrap();
    assert_eq!(info.status, seatbook::ReservationStatus::Active);
    // The old context still answers EngineClosed, not the new engine's data.
    assert_eq!(event.user(token.expose()), Err(AuthError::EngineClosed));
    drop((event, clone, admin));
}

#[test]
fn dropping_the_engine_while_a_context_lives_keeps_the_file_open() {
    let f = Fixture::new();
    let event = f.app_with_seats("event-app", EVENT_ORIGIN, "E1", 1);
    let Fixture { dir, clock, engine } = f;
    let path = dir.path().join("db.redb");
    drop(engine);
    // Documented behaviour: the context keeps the engine's state alive.
    assert!(matches!(
        Engine::open(&path, config(&clock)),
        Err(OpenError::DatabaseAlreadyOpen)
    ));
    assert!(event.list_seats("E1", SeatFilter::All).is_ok());
    drop(event);
    assert!(Engine::open(&path, config(&clock)).is_ok());
}

#[test]
fn close_while_calls_run_leaves_consistent_state() {
    // Each buyer keeps all 16 of its holds: no per-user hold quota here.
    let f = Fixture::with(|c| {
        c.holds.max_active_per_user = usize::MAX;
        c.holds.max_held_seats_per_entity = usize::MAX;
    });
    let event = Arc::new(f.app_with_seats("event-app", EVENT_ORIGIN, "E1", 64));
    let buyers: Vec<_> = (0..4)
        .map(|i| f.buyer(&event, &format!("b{i}@x.io")))
        .collect();
    let start = std::sync::Barrier::new(5);
    std::thread::scope(|s| {
        for (t, buyer) in buyers.iter().enumerate() {
            let (event, start) = (&event, &start);
            s.spawn(move || {
                start.wait();
                for i in 0..16 {
                    let seat = format!("E1-S{}", t * 16 + i);
                    match event.reserve(buyer, &[seat.as_str()], None) {
                        Ok(_) => {}
                        Err(ReserveError::Auth(AuthError::EngineClosed)) => return,
                        // Past the context check when close began, then
                        // reached storage after it: a storage error
                        // whose code is EngineClosed.
                        Err(ReserveError::Storage(_)) => {}
                        Err(e) => panic!("{e:?}"),
                    }
                }
            });
        }
        start.wait();
        f.engine.close();
    });
    let Fixture { dir, clock, .. } = f;
    let engine = Engine::open(dir.path().join("db.redb"), config(&clock)).unwrap();
    let report = engine.audit().unwrap();
    assert!(report.is_clean(), "{report:?}");
}
