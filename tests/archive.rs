//! Archiving entities (issue 17, point 4): a closed entity's seats leave
//! memory, the lock table and the database, their keys serve new seats,
//! and its bookings and reservations stay queryable with their seat ids.
//! Every refusal changes nothing.

use std::sync::Barrier;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use seatbook::{
    AdminError, AppContext, BookingStatus, CancelError, EntityStatus, EntityUpdate, ErrorCode,
    HasErrorCode, HoldsOnClose, Money, ReservationStatus, ReserveError, SeatFilter, SeatKeys,
    SeatState,
};
use seatbook_testkit::fixtures::*;

const APP: &str = "event-app";

fn setup(f: &Fixture) -> AppContext {
    f.app_with_seats(APP, EVENT_ORIGIN, "E1", 10)
}

#[test]
fn archiving_takes_the_seats_out_and_keeps_bookings_queryable() {
    let f = Fixture::new();
    let app = setup(&f);
    let admin = f.admin();
    admin.create_seats(APP, "E2", &seats("E2", 3)).unwrap();
    let buyer = f.buyer(&app, "b@x.io");
    let paid = app.reserve(&buyer, &["E1-S0", "E1-S4"], None).unwrap();
    let booking = app
        .confirm(&buyer, paid.token.expose(), "pay-1", paid.info.total_minor)
        .unwrap();
    let live = app.reserve(&buyer, &["E1-S7"], None).unwrap();
    let elsewhere = app.reserve(&buyer, &["E2-S0"], None).unwrap();
    assert_eq!(
        f.engine.seat_keys(),
        SeatKeys {
            live: 13,
            allocated: 13
        }
    );

    // Only a closed entity is archived; a refusal changes nothing.
    let err = admin.archive_entity(APP, "E1").unwrap_err();
    assert!(matches!(err, AdminError::EntityNotClosed(ref id) if id == "E1"));
    assert_eq!(err.code(), ErrorCode::EntityNotClosed);
    assert!(matches!(
        admin.archive_entity(APP, "NOPE"),
        Err(AdminError::EntityNotFound(_))
    ));
    assert_eq!(app.list_seats("E1", SeatFilter::All).unwrap().len(), 10);

    admin.close_entity(APP, "E1", HoldsOnClose::Keep).unwrap();
    let archived = admin.archive_entity(APP, "E1").unwrap();
    assert_eq!(archived.status, EntityStatus::Archived);
    assert_eq!(admin.get_entity(APP, "E1").unwrap(), archived);
    let listed = admin.list_entities(APP).unwrap();
    assert_eq!(
        listed
            .iter()
            .map(|e| (e.entity_id.as_str(), e.status))
            .collect::<Vec<_>>(),
        [("E1", EntityStatus::Archived), ("E2", EntityStatus::OnSale)]
    );
    // Buyers' listing leaves archived entities out; a direct read shows it.
    assert_eq!(
        app.list_entities()
            .unwrap()
            .iter()
            .map(|e| e.entity_id.as_str())
            .collect::<Vec<_>>(),
        ["E2"]
    );
    assert_eq!(app.entity("E1").unwrap(), archived);

    // The kept hold was released; the other entity's hold is untouched.
    let released = app.reservation(&buyer, live.token.expose()).unwrap();
    assert_eq!(released.status, ReservationStatus::Released);
    assert!(matches!(
        app.list_seats("E2", SeatFilter::All).unwrap()[0].state,
        SeatState::Held { .. }
    ));
    app.confirm(
        &buyer,
        elsewhere.token.expose(),
        "pay-2",
        elsewhere.info.total_minor,
    )
    .unwrap();

    // Seats gone from memory, the lock table and the database.
    assert!(app.list_seats("E1", SeatFilter::All).unwrap().is_empty());
    assert!(matches!(
        app.reserve(&buyer, &["E1-S1"], None),
        Err(ReserveError::SeatNotFound(ref s)) if s == "E1-S1"
    ));
    assert_eq!(
        f.engine.seat_keys(),
        SeatKeys {
            live: 3,
            allocated: 13
        }
    );

    // Figures as they were when archived.
    let figures = admin.entity_figures(APP, "E1").unwrap();
    assert_eq!(figures.status, EntityStatus::Archived);
    assert_eq!((figures.sold, figures.held, figures.available), (2, 0, 8));
    assert_eq!(
        figures.revenue,
        [Money {
            currency: "EUR".into(),
            amount_minor: 1000 + 1004
        }]
    );

    // Bookings and reservations stay, with their seat ids; no cancel.
    let kept = app.booking(&booking.booking_id).unwrap();
    assert_eq!(kept.seat_ids, ["E1-S0", "E1-S4"]);
    assert_eq!(kept.status, BookingStatus::Success);
    assert!(
        app.user_bookings(&buyer)
            .unwrap()
            .iter()
            .any(|b| b.booking_id == booking.booking_id)
    );
    assert_eq!(
        app.reservation(&buyer, paid.token.expose())
            .unwrap()
            .seat_ids,
        ["E1-S0", "E1-S4"]
    );
    let err = app.cancel_booking(&booking.booking_id).unwrap_err();
    assert!(matches!(err, CancelError::EntityArchived(ref id) if id == "E1"));
    assert_eq!(err.code(), ErrorCode::EntityArchived);
    assert!(matches!(
        admin.cancel_booking(&booking.booking_id),
        Err(AdminError::EntityArchived(ref id)) if id == "E1"
    ));
    assert_eq!(
        app.booking(&booking.booking_id).unwrap().status,
        BookingStatus::Success
    );

    // Never on sale again, no seats, no changes; its seat ids stay taken.
    let err = admin
        .create_seats(APP, "E1", &[seat("E1-NEW", 100)])
        .unwrap_err();
    assert!(matches!(err, AdminError::EntityArchived(ref id) if id == "E1"));
    assert_eq!(err.code(), ErrorCode::EntityArchived);
    assert!(matches!(
        admin.create_seats(APP, "E3", &[seat("E1-S3", 100)]),
        Err(AdminError::SeatAlreadyExists(ref s)) if s == "E1-S3"
    ));
    assert!(matches!(
        admin.update_entity(
            APP,
            "E1",
            &EntityUpdate {
                name: Some("Renamed"),
                ..EntityUpdate::default()
            }
        ),
        Err(AdminError::EntityArchived(_))
    ));
    assert!(matches!(
        admin.create_entity(
            APP,
            &seatbook::NewEntity {
                entity_id: "E1",
                ..seatbook::NewEntity::default()
            }
        ),
        Err(AdminError::EntityAlreadyExists(_))
    ));
    // Closing or archiving again changes nothing.
    assert_eq!(
        admin
            .close_entity(APP, "E1", HoldsOnClose::Release)
            .unwrap(),
        archived
    );
    assert_eq!(admin.archive_entity(APP, "E1").unwrap(), archived);
    assert!(f.engine.audit().unwrap().is_clean());

    // New seats take the recycled keys.
    admin.create_seats(APP, "E3", &seats("E3", 12)).unwrap();
    assert_eq!(
        f.engine.seat_keys(),
        SeatKeys {
            live: 15,
            allocated: 15
        }
    );

    // All of it survives a reopen, which loads only the live seats.
    drop((app, admin));
    let f = f.reopen();
    let admin = f.admin();
    assert_eq!(admin.get_entity(APP, "E1").unwrap(), archived);
    assert_eq!(admin.entity_figures(APP, "E1").unwrap(), figures);
    assert_eq!(
        f.engine.seat_keys(),
        SeatKeys {
            live: 15,
            allocated: 15
        }
    );
    let key = admin.rotate_api_key(APP).unwrap();
    let app = f.engine.app(APP, key.expose(), EVENT_ORIGIN).unwrap();
    assert_eq!(
        app.booking(&booking.booking_id).unwrap().seat_ids,
        ["E1-S0", "E1-S4"]
    );
    assert!(matches!(
        app.cancel_booking(&booking.booking_id),
        Err(CancelError::EntityArchived(_))
    ));
    let buyer = f.buyer(&app, "c@x.io");
    app.reserve(&buyer, &["E3-S11"], None).unwrap();
    assert!(f.engine.audit().unwrap().is_clean());
}

/// Entity after entity sold, closed and archived: live seat keys and
/// entity numbers stay bounded by what is live, before and after reopen.
#[test]
fn seat_keys_stay_bounded_by_the_live_seats_over_many_entities() {
    let f = Fixture::new();
    let created = f.create_app(APP, EVENT_ORIGIN);
    let app = f
        .engine
        .app(APP, created.api_key.expose(), EVENT_ORIGIN)
        .unwrap();
    let admin = f.admin();
    let buyer = f.buyer(&app, "b@x.io");
    for n in 0..40 {
        let entity = format!("SHOW-{n}");
        admin
            .create_seats(APP, &entity, &seats(&entity, 25))
            .unwrap();
        let seat = seat_id(&entity, n % 25);
        let r = app.reserve(&buyer, &[seat.as_str()], None).unwrap();
        app.confirm(
            &buyer,
            r.token.expose(),
            &format!("pay-{n}"),
            r.info.total_minor,
        )
        .unwrap();
        if n > 0 {
            let previous = format!("SHOW-{}", n - 1);
            admin
                .close_entity(APP, &previous, HoldsOnClose::Release)
                .unwrap();
            admin.archive_entity(APP, &previous).unwrap();
        }
        let keys = f.engine.seat_keys();
        assert!(keys.live <= 50 && keys.allocated <= 50, "{n}: {keys:?}");
    }
    assert_eq!(app.user_bookings(&buyer).unwrap().len(), 40);
    assert!(f.engine.audit().unwrap().is_clean());
    drop((app, admin));
    let f = f.reopen();
    assert_eq!(
        f.engine.seat_keys(),
        SeatKeys {
            live: 25,
            allocated: 25
        }
    );
    assert_eq!(f.admin().list_entities(APP).unwrap().len(), 40);
}

/// Archives racing with buyers who still try the archived entity's seats
/// while its keys go to a new entity's seats (docs/design.md, invariant
/// 14): a reserve that looked a seat up before its archive never keeps a
/// hold on the seat that reused its key. When the dust settles every new
/// seat is free, no hold is left, and the audit is clean.
#[test]
fn a_stale_lookup_never_holds_a_seat_that_reused_its_key() {
    for round in 0..16 {
        let f = Fixture::with(|c| {
            c.holds.max_active_per_user = usize::MAX;
            c.holds.max_held_seats_per_entity = usize::MAX;
        });
        let app = f.app_with_seats(APP, EVENT_ORIGIN, "OLD", 64);
        let buyers: Vec<_> = (0..3)
            .map(|i| f.buyer(&app, &format!("b{i}@x.io")))
            .collect();
        let done = AtomicBool::new(false);
        let wins = AtomicUsize::new(0);
        let start = Barrier::new(buyers.len() + 1);
        std::thread::scope(|s| {
            for (t, buyer) in buyers.iter().enumerate() {
                let (app, done, wins, start) = (&app, &done, &wins, &start);
                s.spawn(move || {
                    start.wait();
                    let mut i = t;
                    while !done.load(Ordering::SeqCst) {
                        let seat = seat_id("OLD", i % 64);
                        i += 7;
                        match app.reserve(buyer, &[seat.as_str()], None) {
                            Ok(r) => {
                                wins.fetch_add(1, Ordering::SeqCst);
                                // Released at once, by its token: it
                                // names the old seat id.
                                let _ = app.release(buyer, r.token.expose());
                            }
                            Err(
                                ReserveError::SeatHeld(_)
                                | ReserveError::SaleClosed { .. }
                                | ReserveError::SeatNotFound(_),
                            ) => {}
                            Err(e) => panic!("unexpected {e:?}"),
                        }
                    }
                });
            }
            start.wait();
            let admin = f.admin();
            admin
                .close_entity(APP, "OLD", HoldsOnClose::Release)
                .unwrap();
            loop {
                match admin.archive_entity(APP, "OLD") {
                    Ok(_) => break,
                    Err(AdminError::EntityBusy(_)) => std::thread::yield_now(),
                    Err(e) => panic!("archive: {e:?}"),
                }
            }
            // The keys go to new seats while buyers still try old ones.
            for part in 0..4 {
                let entity = format!("NEW{part}");
                admin
                    .create_seats(APP, &entity, &seats(&entity, 16))
                    .unwrap();
            }
            for _ in 0..2_000 {
                std::hint::spin_loop();
            }
            done.store(true, Ordering::SeqCst);
        });
        assert!(wins.load(Ordering::SeqCst) > 0 || round > 0, "buyers raced");
        assert_eq!(f.engine.seat_keys().allocated, 64, "round {round}");
        for part in 0..16 {
            let entity = format!("NEW{part}");
            for view in app.list_seats(&entity, SeatFilter::All).unwrap() {
                assert_eq!(
                    view.state,
                    SeatState::Available,
                    "round {round}: {}",
                    view.seat_id
                );
            }
        }
        assert!(
            f.admin().user_holds(APP).unwrap().is_empty(),
            "round {round}"
        );
        let report = f.engine.audit().unwrap();
        assert!(report.is_clean(), "round {round}: {report:?}");
        assert_eq!(report.active_reservations, 0, "round {round}");
    }
}

/// A confirm committing on a seat makes the archive refuse with
/// `EntityBusy`, changing nothing; once it is done the archive goes ahead.
#[test]
fn an_archive_refuses_while_a_confirm_commits_and_changes_nothing() {
    use std::sync::{Arc, Mutex, mpsc};

    /// A verifier that blocks until told to answer.
    struct Gate(Mutex<mpsc::Receiver<()>>, Mutex<mpsc::Sender<()>>);
    impl seatbook::PaymentVerifier for Gate {
        fn verify(&self, _: &seatbook::PaymentRequest<'_>) -> seatbook::PaymentOutcome {
            self.1.lock().unwrap().send(()).unwrap();
            self.0.lock().unwrap().recv().unwrap();
            seatbook::PaymentOutcome::Approved
        }
    }
    let (answer_tx, answer_rx) = mpsc::channel();
    let (asked_tx, asked_rx) = mpsc::channel();
    let bank = Arc::new(Gate(Mutex::new(answer_rx), Mutex::new(asked_tx)));
    let f = Fixture::with(|c| c.payments = Some(bank.clone()));
    let app = setup(&f);
    let buyer = f.buyer(&app, "b@x.io");
    let r = app.reserve(&buyer, &["E1-S2"], None).unwrap();
    let admin = f.admin();
    admin.close_entity(APP, "E1", HoldsOnClose::Keep).unwrap();
    std::thread::scope(|s| {
        let confirm =
            s.spawn(|| app.confirm(&buyer, r.token.expose(), "pay-1", r.info.total_minor));
        asked_rx.recv().unwrap();
        let err = admin.archive_entity(APP, "E1").unwrap_err();
        assert!(matches!(err, AdminError::EntityBusy(ref id) if id == "E1"));
        assert_eq!(err.code(), ErrorCode::EntityBusy);
        assert_eq!(
            admin.get_entity(APP, "E1").unwrap().status,
            EntityStatus::Closed
        );
        assert_eq!(app.list_seats("E1", SeatFilter::All).unwrap().len(), 10);
        answer_tx.send(()).unwrap();
        confirm.join().unwrap().unwrap();
    });
    let archived = admin.archive_entity(APP, "E1").unwrap();
    assert_eq!(archived.status, EntityStatus::Archived);
    let figures = admin.entity_figures(APP, "E1").unwrap();
    assert_eq!((figures.sold, figures.available), (1, 9));
    assert!(f.engine.audit().unwrap().is_clean());
}

/// Buyers reserving, paying, releasing and cancelling across entities
/// while the admin keeps creating new entities (which take recycled keys)
/// and closing and archiving old ones: every outcome is one the rules
/// allow, and when it is over the audit finds memory and storage in
/// agreement, no seat claimed twice, no hold left on a live seat, and the
/// keys bounded by the live seats, before and after a reopen. (The stale
/// reserve on a recycled key has its own, sharper test above.)
#[test]
fn archives_racing_with_the_whole_money_path_keep_every_invariant() {
    use parking_lot::RwLock;
    use seatbook::ConfirmError;

    const ENTITIES: usize = 40;
    const PER_ENTITY: usize = 8;
    for round in 0..3u64 {
        let f = Fixture::with(|c| {
            c.holds.max_active_per_user = usize::MAX;
            c.holds.max_held_seats_per_entity = usize::MAX;
        });
        let created = f.create_app(APP, EVENT_ORIGIN);
        let app = f
            .engine
            .app(APP, created.api_key.expose(), EVENT_ORIGIN)
            .unwrap();
        let live: RwLock<Vec<String>> = RwLock::new(Vec::new());
        let admin = f.admin();
        for e in 0..2 {
            let entity = format!("R{round}-E{e}");
            admin
                .create_seats(APP, &entity, &seats(&entity, PER_ENTITY))
                .unwrap();
            live.write().push(entity);
        }
        let buyers: Vec<_> = (0..3)
            .map(|i| f.buyer(&app, &format!("b{i}@x.io")))
            .collect();
        let done = AtomicBool::new(false);
        let paid = AtomicUsize::new(0);
        std::thread::scope(|s| {
            for (t, buyer) in buyers.iter().enumerate() {
                let (app, live, done, paid) = (&app, &live, &done, &paid);
                s.spawn(move || {
                    let mut rng = seatbook_testkit::rng::Rng::new(round * 10 + t as u64);
                    let mut mine: Vec<String> = Vec::new();
                    let mut n = 0u64;
                    while !done.load(Ordering::SeqCst) {
                        n += 1;
                        let entities = live.read().clone();
                        let entity = &entities[rng.below(entities.len() as u64) as usize];
                        let a = seat_id(entity, rng.below(PER_ENTITY as u64) as usize);
                        let b = seat_id(entity, rng.below(PER_ENTITY as u64) as usize);
                        let ids: Vec<&str> = if a == b { vec![&a] } else { vec![&a, &b] };
                        match app.reserve(buyer, &ids, None) {
                            Ok(r) => match rng.below(3) {
                                0 => {
                                    let _ = app.release(buyer, r.token.expose());
                                }
                                _ => match app.confirm(
                                    buyer,
                                    r.token.expose(),
                                    &format!("pay-{t}-{n}"),
                                    r.info.total_minor,
                                ) {
                                    Ok(booking) => {
                                        paid.fetch_add(1, Ordering::SeqCst);
                                        mine.push(booking.booking_id);
                                    }
                                    // Released by a close or an archive meanwhile.
                                    Err(
                                        ConfirmError::ReservationNotActive
                                        | ConfirmError::HoldExpired,
                                    ) => {}
                                    Err(e) => panic!("confirm: {e:?}"),
                                },
                            },
                            Err(
                                ReserveError::SeatHeld(_)
                                | ReserveError::SeatBooked(_)
                                | ReserveError::SaleClosed { .. }
                                | ReserveError::SeatNotFound(_),
                            ) => {}
                            Err(e) => panic!("reserve: {e:?}"),
                        }
                        if !mine.is_empty() && rng.below(4) == 0 {
                            let booking = mine.swap_remove(rng.below(mine.len() as u64) as usize);
                            match app.cancel_booking(&booking) {
                                Ok(_) | Err(CancelError::EntityArchived(_)) => {}
                                Err(e) => panic!("cancel: {e:?}"),
                            }
                        }
                    }
                });
            }
            let admin = f.admin();
            for e in 2..ENTITIES {
                // Buyers keep trying the old entity while it is closed and
                // archived, and its keys go at once to a new one.
                let old = live.read()[0].clone();
                admin
                    .close_entity(APP, &old, HoldsOnClose::Release)
                    .unwrap();
                loop {
                    match admin.archive_entity(APP, &old) {
                        Ok(_) => break,
                        Err(AdminError::EntityBusy(_)) => std::thread::yield_now(),
                        Err(e) => panic!("archive: {e:?}"),
                    }
                }
                let entity = format!("R{round}-E{e}");
                admin
                    .create_seats(APP, &entity, &seats(&entity, PER_ENTITY))
                    .unwrap();
                live.write().push(entity);
                live.write().remove(0);
            }
            done.store(true, Ordering::SeqCst);
        });
        assert!(
            paid.load(Ordering::SeqCst) > 0,
            "round {round}: buyers paid"
        );
        let report = f.engine.audit().unwrap();
        assert!(report.is_clean(), "round {round}: {report:?}");
        assert_eq!(report.double_booked_seats, 0);
        let keys = f.engine.seat_keys();
        assert_eq!(keys.live, (2 * PER_ENTITY) as u64, "round {round}");
        assert!(
            keys.allocated <= (3 * PER_ENTITY) as u64,
            "round {round}: {keys:?}"
        );
        // The live entities' seats agree with the lock table after a reopen too.
        drop((app, admin));
        let f = f.reopen();
        let report = f.engine.audit().unwrap();
        assert!(report.is_clean(), "round {round} after reopen: {report:?}");
    }
}
