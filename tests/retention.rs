//! Retention (issue 17, point 5): reservations that ended without a
//! booking and the FAILED records of declined payments are purged once
//! older than the age asked for; every booking that moved money or seats,
//! every confirmed or live reservation and every payment binding stays.

use std::time::Duration;

use seatbook::{
    AdminError, AppContext, BookingStatus, ConfirmError, PurgeReport, QueryError,
    ReservationStatus, UserSession,
};
use seatbook_testkit::fixtures::*;

const APP: &str = "event-app";
const DAY: Duration = Duration::from_secs(24 * 3600);

fn pay(
    app: &AppContext,
    user: &UserSession,
    seat: &str,
    payment: &str,
) -> Result<String, ConfirmError> {
    let r = app.reserve(user, &[seat], None).unwrap();
    app.confirm(user, r.token.expose(), payment, r.info.total_minor)
        .map(|b| b.booking_id)
}

#[test]
fn a_purge_removes_what_ended_without_a_booking_and_keeps_the_rest() {
    let f = Fixture::new();
    let app = f.app_with_seats(APP, EVENT_ORIGIN, "E1", 10);
    let admin = f.admin();
    let buyer = f.buyer(&app, "b@x.io");

    // Old history: expired, released, declined, booked, cancelled.
    let expired = app
        .reserve(&buyer, &["E1-S0"], Some(Duration::from_secs(5)))
        .unwrap();
    let released = app.reserve(&buyer, &["E1-S1"], None).unwrap();
    app.release(&buyer, released.token.expose()).unwrap();
    let declined = app.reserve(&buyer, &["E1-S2"], None).unwrap();
    let Err(ConfirmError::PaymentDeclined {
        booking_id: failed, ..
    }) = app.confirm(
        &buyer,
        declined.token.expose(),
        "fail-card-1",
        declined.info.total_minor,
    )
    else {
        panic!("the simulated verifier declines fail-* ids");
    };
    let booked = pay(&app, &buyer, "E1-S3", "pay-1").unwrap();
    let cancelled = pay(&app, &buyer, "E1-S4", "pay-2").unwrap();
    app.cancel_booking(&cancelled).unwrap();
    assert_eq!(app.user_bookings(&buyer).unwrap().len(), 3);

    // Too young an age is refused and purges nothing.
    f.advance(2 * DAY);
    drop(admin);
    let admin = f.admin(); // a fresh token: the old one expired
    let err = admin.purge_history(Duration::from_secs(60)).unwrap_err();
    assert!(matches!(err, AdminError::InvalidInput(_)), "{err:?}");
    assert_eq!(
        app.reservation(&buyer, released.token.expose())
            .unwrap()
            .status,
        ReservationStatus::Released
    );

    // Recent history, younger than the age: stays.
    let young = app.reserve(&buyer, &["E1-S5"], None).unwrap();
    app.release(&buyer, young.token.expose()).unwrap();

    let report = admin.purge_history(DAY).unwrap();
    assert_eq!(
        report,
        PurgeReport {
            reservations: 3,
            failed_attempts: 1
        }
    );
    for gone in [&expired, &released, &declined] {
        assert!(matches!(
            app.reservation(&buyer, gone.token.expose()),
            Err(QueryError::ReservationNotFound)
        ));
    }
    assert!(matches!(
        app.booking(&failed),
        Err(QueryError::BookingNotFound)
    ));
    let kept: Vec<_> = app
        .user_bookings(&buyer)
        .unwrap()
        .into_iter()
        .map(|b| (b.booking_id, b.status))
        .collect();
    assert_eq!(
        kept,
        [
            (booked.clone(), BookingStatus::Success),
            (cancelled.clone(), BookingStatus::Cancelled)
        ]
    );
    assert_eq!(
        app.reservation(&buyer, young.token.expose())
            .unwrap()
            .status,
        ReservationStatus::Released
    );
    // The declined payment id stays bound to its (purged) reservation.
    let again = app.reserve(&buyer, &["E1-S6"], None).unwrap();
    assert!(matches!(
        app.confirm(
            &buyer,
            again.token.expose(),
            "fail-card-1",
            again.info.total_minor
        ),
        Err(ConfirmError::PaymentAlreadyUsed)
    ));
    assert_eq!(admin.purge_history(DAY).unwrap(), PurgeReport::default());
    let report = f.engine.audit().unwrap();
    assert!(report.is_clean(), "{report:?}");
    assert_eq!((report.live_bookings, report.cancelled_bookings), (1, 1));

    // Nothing dangles: the reopen reads the indexes back.
    drop((app, admin));
    let f = f.reopen();
    assert!(f.engine.audit().unwrap().is_clean());
    let admin = f.admin();
    let key = admin.rotate_api_key(APP).unwrap();
    let app = f.engine.app(APP, key.expose(), EVENT_ORIGIN).unwrap();
    assert_eq!(app.booking(&booked).unwrap().status, BookingStatus::Success);
    // After a reopen the purge looks at the kept records again, and keeps
    // them; the newest reservation stays whatever its age.
    f.advance(2 * DAY);
    let report = f.admin().purge_history(DAY).unwrap();
    assert_eq!(report.failed_attempts, 0);
    assert_eq!(report.reservations, 1, "the young release");
    assert_eq!(
        app.booking(&cancelled).unwrap().status,
        BookingStatus::Cancelled
    );
    assert_eq!(
        app.reservation(&buyer, again.token.expose())
            .unwrap()
            .status,
        ReservationStatus::Expired,
        "the newest stays"
    );

    // Ids never repeat: after a reopen the next one follows the newest
    // ever stored, not the newest left (a purged reservation's payment
    // binding still names its id).
    let newest = again.info.reservation_id;
    drop((app, admin));
    let f = f.reopen();
    let admin = f.admin();
    let key = admin.rotate_api_key(APP).unwrap();
    let app = f.engine.app(APP, key.expose(), EVENT_ORIGIN).unwrap();
    let buyer = f.buyer(&app, "d@x.io");
    let next = app.reserve(&buyer, &["E1-S9"], None).unwrap();
    assert!(
        next.info.reservation_id > newest,
        "{} after {newest}",
        next.info.reservation_id
    );
}

#[test]
fn the_reaper_purges_when_configured() {
    let f = Fixture::with(|c| {
        c.reaper_interval = Some(Duration::from_millis(5));
        c.purge_after = Some(DAY);
    });
    let app = f.app_with_seats(APP, EVENT_ORIGIN, "E1", 1);
    let buyer = f.buyer(&app, "b@x.io");
    let r = app.reserve(&buyer, &["E1-S0"], None).unwrap();
    app.release(&buyer, r.token.expose()).unwrap();
    // The newest reservation always stays: the purged one is the first.
    let newest = app.reserve(&buyer, &["E1-S0"], None).unwrap();
    app.release(&buyer, newest.token.expose()).unwrap();
    f.advance(2 * DAY);
    // The reaper runs on its own thread; wait for it with a deadline.
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while app.reservation(&buyer, r.token.expose()).is_ok() {
        assert!(std::time::Instant::now() < deadline, "reaper never purged");
        std::thread::yield_now();
    }
    assert_eq!(
        app.reservation(&buyer, newest.token.expose())
            .unwrap()
            .status,
        ReservationStatus::Released
    );
    assert!(f.engine.audit().unwrap().is_clean());
}

#[test]
fn a_purge_age_below_the_longest_hold_is_refused_at_open() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = config(&seatbook::ManualClock::default());
    cfg.purge_after = Some(Duration::from_secs(60));
    let err = seatbook::Engine::open(dir.path().join("db.redb"), cfg).unwrap_err();
    assert!(
        matches!(err, seatbook::OpenError::InvalidConfig(m) if m.contains("purge_after")),
        "{err:?}"
    );
}
