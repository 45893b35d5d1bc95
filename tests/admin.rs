//! Admin: login, apps, keys, seats, cancellations.

use seatbook::{
    AdminError, AppAuthError, AppUpdate, AuthError, ErrorCode, HasErrorCode, LoginError, NewApp,
    ReserveError, SeatFilter, SeatState,
};
use seatbook_testkit::fixtures::*;

#[test]
fn admin_login_gives_the_same_error_for_wrong_email_and_wrong_password() {
    let f = Fixture::new();
    let wrong_email = f
        .engine
        .admin_login("nobody@booking.test", ADMIN_PASSWORD)
        .unwrap_err();
    let wrong_password = f
        .engine
        .admin_login(ADMIN_EMAIL, "not-the-password")
        .unwrap_err();
    assert!(matches!(wrong_email, LoginError::InvalidCredentials));
    assert!(matches!(wrong_password, LoginError::InvalidCredentials));
    assert_eq!(wrong_email.to_string(), wrong_password.to_string());
    // Email is compared case-insensitively after trimming.
    assert!(
        f.engine
            .admin_login("  ADMIN@booking.test ", ADMIN_PASSWORD)
            .is_ok()
    );
}

#[test]
fn admin_token_expires_after_24_hours() {
    let f = Fixture::new();
    let token = f.engine.admin_login(ADMIN_EMAIL, ADMIN_PASSWORD).unwrap();
    let admin = f.engine.admin(token.expose()).unwrap();
    f.advance(std::time::Duration::from_secs(24 * 3600 - 5));
    assert!(admin.list_apps().is_ok());
    f.advance(std::time::Duration::from_secs(10));
    assert!(matches!(
        admin.list_apps(),
        Err(AdminError::Auth(AuthError::TokenExpired))
    ));
    assert_eq!(
        f.engine.admin(token.expose()).unwrap_err(),
        AuthError::TokenExpired
    );
}

#[test]
fn garbage_and_user_tokens_are_not_admin_tokens() {
    let f = Fixture::new();
    assert_eq!(
        f.engine.admin("not.a.jwt").unwrap_err(),
        AuthError::InvalidToken
    );
    let app = f.app_with_seats("event-app", EVENT_ORIGIN, "E1", 1);
    let user_token = app.signup("u@x.io", "buyer-password").unwrap();
    assert_eq!(
        f.engine.admin(user_token.expose()).unwrap_err(),
        AuthError::InvalidToken
    );
}

#[test]
fn create_app_returns_a_strong_key_once_and_refuses_duplicates() {
    let f = Fixture::new();
    let admin = f.admin();
    let created = admin
        .create_app(&NewApp {
            app_id: "event-app",
            name: "Event App",
            allowed_origins: &["HTTPS://Event-App.com:443", "http://localhost:3000"],
        })
        .unwrap();
    assert!(created.api_key.len() >= 32);
    assert!(!format!("{created:?}").contains(created.api_key.expose()));
    assert_eq!(
        created.app.allowed_origins,
        vec![
            "https://event-app.com".to_string(),
            "http://localhost:3000".to_string()
        ]
    );
    assert!(created.app.active);
    let again = admin
        .create_app(&NewApp {
            app_id: "event-app",
            name: "x",
            allowed_origins: &[EVENT_ORIGIN],
        })
        .unwrap_err();
    assert!(matches!(again, AdminError::AppAlreadyExists));
    let second = f.create_app("bus-app", BUS_ORIGIN);
    assert_ne!(second.api_key.expose(), created.api_key.expose());
    let ids: Vec<String> = admin
        .list_apps()
        .unwrap()
        .into_iter()
        .map(|a| a.app_id)
        .collect();
    assert_eq!(ids, vec!["bus-app", "event-app"]);
    assert_eq!(admin.get_app("event-app").unwrap().name, "Event App");
    assert!(matches!(
        admin.get_app("nope-app"),
        Err(AdminError::AppNotFound)
    ));
}

#[test]
fn create_app_rejects_bad_input_and_changes_nothing() {
    let f = Fixture::new();
    let admin = f.admin();
    let long = "a".repeat(65);
    let bad: [(&str, &str, &[&str]); 6] = [
        ("Event_App", "n", &[EVENT_ORIGIN]),
        ("ab", "n", &[EVENT_ORIGIN]),
        (long.as_str(), "n", &[EVENT_ORIGIN]),
        ("event-app", "", &[EVENT_ORIGIN]),
        ("event-app", "n", &[]),
        ("event-app", "n", &["https://event-app.com/path"]),
    ];
    for (app_id, name, origins) in bad {
        let err = admin
            .create_app(&NewApp {
                app_id,
                name,
                allowed_origins: origins,
            })
            .unwrap_err();
        assert_eq!(
            err.code(),
            ErrorCode::InvalidInput,
            "{app_id} {name} {origins:?}"
        );
    }
    assert!(admin.list_apps().unwrap().is_empty());
}

#[test]
fn rotating_the_key_stops_the_old_key_at_once() {
    let f = Fixture::new();
    let app = f.app_with_seats("event-app", EVENT_ORIGIN, "E1", 2);
    let buyer = f.buyer(&app, "b@x.io");
    let old_key = {
        // Recreate a context with the original key to prove it is refused later.
        let created = f.create_app("other-app", EVENT_ORIGIN);
        let ctx = f
            .engine
            .app("other-app", created.api_key.expose(), EVENT_ORIGIN)
            .unwrap();
        (created.api_key, ctx)
    };
    let new_key = f.admin().rotate_api_key("other-app").unwrap();
    assert!(matches!(
        f.engine.app("other-app", old_key.0.expose(), EVENT_ORIGIN),
        Err(AppAuthError::InvalidCredentials)
    ));
    // The context authenticated with the old key fails its next call, with
    // its own error (not the user's token), `user()` included.
    assert!(matches!(
        old_key.1.list_seats("E1", SeatFilter::All),
        Err(seatbook::QueryError::Auth(AuthError::AppContextRevoked))
    ));
    let token = old_key.1.login("b@x.io", "buyer-password");
    assert!(matches!(
        token,
        Err(seatbook::LoginError::Auth(AuthError::AppContextRevoked))
    ));
    let token = app.login("b@x.io", "buyer-password").unwrap();
    assert_eq!(
        old_key.1.user(token.expose()),
        Err(AuthError::AppContextRevoked)
    );
    let fresh = f
        .engine
        .app("other-app", new_key.expose(), EVENT_ORIGIN)
        .unwrap();
    assert!(fresh.list_seats("E1", SeatFilter::All).unwrap().is_empty());
    // The untouched app keeps working.
    assert!(app.reserve(&buyer, &["E1-S0"], None).is_ok());
}

#[test]
fn deactivate_and_reactivate_an_app() {
    let f = Fixture::new();
    let created = f.create_app("event-app", EVENT_ORIGIN);
    let admin = f.admin();
    admin
        .create_seats("event-app", "E1", &seats("E1", 1))
        .unwrap();
    let ctx = f
        .engine
        .app("event-app", created.api_key.expose(), EVENT_ORIGIN)
        .unwrap();
    let buyer = f.buyer(&ctx, "b@x.io");
    assert!(!admin.set_app_active("event-app", false).unwrap().active);
    assert!(matches!(
        f.engine
            .app("event-app", created.api_key.expose(), EVENT_ORIGIN),
        Err(AppAuthError::AppInactive)
    ));
    assert!(matches!(
        ctx.reserve(&buyer, &["E1-S0"], None),
        Err(ReserveError::Auth(AuthError::AppContextRevoked))
    ));
    let token = ctx.signup("c@x.io", "correct horse battery");
    assert!(matches!(
        token,
        Err(seatbook::SignupError::Auth(AuthError::AppContextRevoked))
    ));
    assert!(admin.set_app_active("event-app", true).unwrap().active);
    assert!(ctx.reserve(&buyer, &["E1-S0"], None).is_ok());
}

#[test]
fn update_app_changes_name_and_origins() {
    let f = Fixture::new();
    let created = f.create_app("event-app", EVENT_ORIGIN);
    let admin = f.admin();
    let ctx = f
        .engine
        .app("event-app", created.api_key.expose(), EVENT_ORIGIN)
        .unwrap();
    let updated = admin
        .update_app(
            "event-app",
            &AppUpdate {
                name: Some("Renamed"),
                allowed_origins: Some(&["https://new.example"]),
            },
        )
        .unwrap();
    assert_eq!(updated.name, "Renamed");
    assert_eq!(updated.allowed_origins, vec!["https://new.example"]);
    assert!(matches!(
        f.engine
            .app("event-app", created.api_key.expose(), EVENT_ORIGIN),
        Err(AppAuthError::OriginNotAllowed)
    ));
    assert!(
        matches!(
            ctx.list_seats("E1", SeatFilter::All),
            Err(seatbook::QueryError::Auth(AuthError::AppContextRevoked))
        ),
        "removed origin revokes contexts"
    );
    assert_eq!(
        ctx.user("any.token.at-all"),
        Err(AuthError::AppContextRevoked)
    );
    assert!(
        f.engine
            .app("event-app", created.api_key.expose(), "https://new.example")
            .is_ok()
    );
    let err = admin
        .update_app(
            "event-app",
            &AppUpdate {
                name: Some(" "),
                allowed_origins: None,
            },
        )
        .unwrap_err();
    assert_eq!(err.code(), ErrorCode::InvalidInput);
    assert_eq!(admin.get_app("event-app").unwrap().name, "Renamed");
    assert!(matches!(
        admin.update_app("missing-app", &AppUpdate::default()),
        Err(AdminError::AppNotFound)
    ));
}

#[test]
fn bulk_seat_creation_is_all_or_nothing() {
    let f = Fixture::new();
    let app = f.app_with_seats("event-app", EVENT_ORIGIN, "E1", 3);
    let admin = f.admin();
    // One existing id in the batch: nothing of the batch is created.
    let mut batch = seats("E2", 2);
    batch.push(seats("E1", 1).remove(0));
    assert!(matches!(
        admin.create_seats("event-app", "E2", &batch),
        Err(AdminError::SeatAlreadyExists(s)) if s == "E1-S0"
    ));
    assert!(app.list_seats("E2", SeatFilter::All).unwrap().is_empty());
    // Duplicates, bad ids, bad currency, empty batch.
    let mut dup = seats("E3", 1);
    dup.push(seats("E3", 1).remove(0));
    assert_eq!(
        admin
            .create_seats("event-app", "E3", &dup)
            .unwrap_err()
            .code(),
        ErrorCode::InvalidInput
    );
    let mut bad_currency = seats("E3", 1);
    bad_currency[0].currency = "eur".into();
    assert_eq!(
        admin
            .create_seats("event-app", "E3", &bad_currency)
            .unwrap_err()
            .code(),
        ErrorCode::InvalidInput
    );
    let mut bad_id = seats("E3", 1);
    bad_id[0].seat_id = "A 1".into();
    assert_eq!(
        admin
            .create_seats("event-app", "E3", &bad_id)
            .unwrap_err()
            .code(),
        ErrorCode::InvalidInput
    );
    assert_eq!(
        admin
            .create_seats("event-app", "E3", &[])
            .unwrap_err()
            .code(),
        ErrorCode::InvalidInput
    );
    assert_eq!(
        admin
            .create_seats("event-app", "bad/entity", &seats("x", 1))
            .unwrap_err()
            .code(),
        ErrorCode::InvalidInput
    );
    assert!(matches!(
        admin.create_seats("nope-app", "E3", &seats("E3", 1)),
        Err(AdminError::AppNotFound)
    ));
    assert!(app.list_seats("E3", SeatFilter::All).unwrap().is_empty());
}

#[test]
fn bulk_creation_is_bounded_by_configuration() {
    let f = Fixture::with(|c| c.max_seats_per_bulk = 5);
    f.create_app("event-app", EVENT_ORIGIN);
    let err = f
        .admin()
        .create_seats("event-app", "E1", &seats("E1", 6))
        .unwrap_err();
    assert_eq!(err.code(), ErrorCode::InvalidInput);
    assert_eq!(
        f.admin()
            .create_seats("event-app", "E1", &seats("E1", 5))
            .unwrap(),
        5
    );
}

#[test]
fn seat_ids_are_scoped_per_app() {
    let f = Fixture::new();
    let a = f.app_with_seats("event-app", EVENT_ORIGIN, "E1", 1);
    let b = f.app_with_seats("bus-app", BUS_ORIGIN, "E1", 1);
    let ua = f.buyer(&a, "a@x.io");
    let ub = b
        .user(a.login("a@x.io", "buyer-password").unwrap().expose())
        .unwrap();
    // Same seat id in two apps: two different seats.
    assert!(a.reserve(&ua, &["E1-S0"], None).is_ok());
    assert!(b.reserve(&ub, &["E1-S0"], None).is_ok());
}

#[test]
fn removing_seats_refuses_held_and_booked_ones() {
    let f = Fixture::new();
    let app = f.app_with_seats("event-app", EVENT_ORIGIN, "E1", 4);
    let admin = f.admin();
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

    assert!(matches!(
        admin.remove_seats("event-app", &["E1-S2", "E1-S0"]),
        Err(AdminError::SeatInUse(s)) if s == "E1-S0"
    ));
    assert!(matches!(
        admin.remove_seats("event-app", &["E1-S1"]),
        Err(AdminError::SeatInUse(_))
    ));
    assert!(matches!(
        admin.remove_seats("event-app", &["E1-S9"]),
        Err(AdminError::SeatNotFound(_))
    ));
    // Nothing was removed by the failed calls.
    assert_eq!(app.list_seats("E1", SeatFilter::All).unwrap().len(), 4);

    assert_eq!(
        admin
            .remove_seats("event-app", &["E1-S2", "E1-S3"])
            .unwrap(),
        2
    );
    let left: Vec<String> = app
        .list_seats("E1", SeatFilter::All)
        .unwrap()
        .into_iter()
        .map(|s| s.seat_id)
        .collect();
    assert_eq!(left, vec!["E1-S0", "E1-S1"]);
    assert!(matches!(
        app.reserve(&buyer, &["E1-S2"], None),
        Err(ReserveError::SeatNotFound(_))
    ));
    // An expired hold does not block removal.
    f.advance(std::time::Duration::from_secs(121));
    assert_eq!(admin.remove_seats("event-app", &["E1-S0"]).unwrap(), 1);
    drop(held);
}

#[test]
fn admin_cancels_a_booking_and_the_seats_come_back() {
    let f = Fixture::new();
    let app = f.app_with_seats("event-app", EVENT_ORIGIN, "E1", 2);
    let buyer = f.buyer(&app, "b@x.io");
    let r = app.reserve(&buyer, &["E1-S0", "E1-S1"], None).unwrap();
    let booking = app
        .confirm(&buyer, r.token.expose(), "pay-1", r.info.total_minor)
        .unwrap();
    let cancelled = f.admin().cancel_booking(&booking.booking_id).unwrap();
    assert_eq!(cancelled.status, seatbook::BookingStatus::Cancelled);
    assert!(cancelled.cancelled_at.is_some());
    let states: Vec<SeatState> = app
        .list_seats("E1", SeatFilter::All)
        .unwrap()
        .into_iter()
        .map(|s| s.state)
        .collect();
    assert_eq!(states, vec![SeatState::Available, SeatState::Available]);
    assert!(matches!(
        f.admin().cancel_booking(&booking.booking_id),
        Err(AdminError::BookingNotCancellable)
    ));
    assert!(matches!(
        f.admin().cancel_booking("BK-NOPE"),
        Err(AdminError::BookingNotFound)
    ));
    // The seats can be sold again.
    let other = f.buyer(&app, "c@x.io");
    assert!(app.reserve(&other, &["E1-S0", "E1-S1"], None).is_ok());
    assert!(f.engine.audit().unwrap().is_clean());
}

/// The seats of `E1`, their states and the buyer's ability to hold each
/// one: what a failed bulk call must leave exactly as it was.
fn seat_picture(f: &Fixture, key: &str) -> (Vec<(String, SeatState)>, seatbook::SeatCounts) {
    let app = f.engine.app("event-app", key, EVENT_ORIGIN).unwrap();
    let seats = app
        .list_seats("E1", SeatFilter::All)
        .unwrap()
        .into_iter()
        .map(|s| (s.seat_id, s.state))
        .collect();
    (seats, app.seat_counts("E1").unwrap())
}

/// Every seat of `ids` can still be held (and is given back at once).
fn assert_reservable(f: &Fixture, key: &str, ids: &[&str]) {
    let app = f.engine.app("event-app", key, EVENT_ORIGIN).unwrap();
    let token = app
        .login("probe@x.io", "buyer-password")
        .or_else(|_| app.signup("probe@x.io", "buyer-password"))
        .unwrap();
    let probe = app.user(token.expose()).unwrap();
    for id in ids {
        let r = app
            .reserve(&probe, &[id], None)
            .unwrap_or_else(|e| panic!("{id} not reservable: {e}"));
        app.release(&probe, r.token.expose()).unwrap();
    }
}

type Expected = fn(&AdminError) -> bool;

#[test]
fn a_failed_bulk_removal_changes_nothing_before_or_after_reopen() {
    let mut f = Fixture::new();
    let key = f.create_app("event-app", EVENT_ORIGIN).api_key;
    let key = key.expose().to_owned();
    f.admin()
        .create_seats("event-app", "E1", &seats("E1", 4))
        .unwrap();
    // E1-S3 is held by someone else for the whole test.
    let holder_app = f.engine.app("event-app", &key, EVENT_ORIGIN).unwrap();
    let holder = f.buyer(&holder_app, "holder@x.io");
    let _held = holder_app.reserve(&holder, &["E1-S3"], None).unwrap();
    drop(holder_app);
    let before = seat_picture(&f, &key);
    let valid = ["E1-S0", "E1-S1", "E1-S2"];
    let cases: [(&str, Expected); 4] = [
        ("bad seat!", |e| e.code() == ErrorCode::InvalidInput),
        (
            "E1-S99",
            |e| matches!(e, AdminError::SeatNotFound(s) if s == "E1-S99"),
        ),
        ("E1-S0", |e| e.code() == ErrorCode::InvalidInput),
        (
            "E1-S3",
            |e| matches!(e, AdminError::SeatInUse(s) if s == "E1-S3"),
        ),
    ];
    for (last, expected) in cases {
        let mut list = valid.to_vec();
        list.push(last);
        let err = f.admin().remove_seats("event-app", &list).unwrap_err();
        assert!(expected(&err), "{last}: {err:?}");
        assert_eq!(seat_picture(&f, &key), before, "{last}");
        assert_reservable(&f, &key, &valid);
        assert_eq!(seat_picture(&f, &key), before, "{last}");
    }
    f = f.reopen();
    assert_eq!(seat_picture(&f, &key), before);
    assert_reservable(&f, &key, &valid);
    assert!(f.engine.audit().unwrap().is_clean());
    // The same list without its bad last entry removes all three.
    assert_eq!(f.admin().remove_seats("event-app", &valid).unwrap(), 3);
    assert_eq!(seat_picture(&f, &key).0.len(), 1);
}

#[test]
fn a_failed_bulk_creation_changes_nothing_before_or_after_reopen() {
    let mut f = Fixture::new();
    let key = f.create_app("event-app", EVENT_ORIGIN).api_key;
    let key = key.expose().to_owned();
    f.admin()
        .create_seats("event-app", "E1", &seats("E1", 2))
        .unwrap();
    let before = seat_picture(&f, &key);
    let fresh = || seats("E1", 5).split_off(2); // E1-S2..E1-S4, all new
    let mut malformed = fresh();
    malformed.push(seats("x", 1).remove(0));
    malformed[3].seat_id = "bad seat!".into();
    let mut duplicate = fresh();
    duplicate.push(fresh().remove(0));
    let mut existing = fresh();
    existing.push(seats("E1", 1).remove(0));
    let cases: [(Vec<seatbook::NewSeat>, ErrorCode); 3] = [
        (malformed, ErrorCode::InvalidInput),
        (duplicate, ErrorCode::InvalidInput),
        (existing, ErrorCode::SeatAlreadyExists),
    ];
    for (batch, code) in &cases {
        let err = f
            .admin()
            .create_seats("event-app", "E1", batch)
            .unwrap_err();
        assert_eq!(err.code(), *code, "{err:?}");
        assert_eq!(seat_picture(&f, &key), before);
    }
    f = f.reopen();
    assert_eq!(seat_picture(&f, &key), before);
    assert_reservable(&f, &key, &["E1-S0", "E1-S1"]);
    assert!(f.engine.audit().unwrap().is_clean());
    assert_eq!(
        f.admin().create_seats("event-app", "E1", &fresh()).unwrap(),
        3
    );
}
