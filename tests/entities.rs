//! Entities with a sale (issue 17, points 1–3 and 6): records the admin
//! creates, changes, lists and reads; sale windows that refuse reserves
//! outside them; closing that stops sales at once and keeps or releases
//! live holds; per-entity figures. Every refusal changes nothing.

use std::sync::Barrier;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use seatbook::{
    AdminError, AppContext, ConfirmError, EntityStatus, EntityUpdate, ErrorCode, HasErrorCode,
    HoldError, HoldsOnClose, Money, NewEntity, QueryError, ReservationStatus, ReserveError,
    SeatFilter, SeatState,
};
use seatbook_testkit::fixtures::*;

const APP: &str = "event-app";

fn setup(f: &Fixture) -> AppContext {
    f.app_with_seats(APP, EVENT_ORIGIN, "E1", 10)
}

fn state_of(app: &AppContext, entity: &str, seat: &str) -> SeatState {
    app.list_seats(entity, SeatFilter::All)
        .unwrap()
        .into_iter()
        .find(|s| s.seat_id == seat)
        .map(|s| s.state)
        .unwrap()
}

fn show(entity_id: &'static str) -> NewEntity<'static> {
    NewEntity {
        entity_id,
        name: "Opening night",
        kind: "show",
        starts_at: Some(T0 + 86_400_000),
        ..NewEntity::default()
    }
}

#[test]
fn the_admin_creates_reads_lists_and_updates_entities() {
    let f = Fixture::new();
    setup(&f);
    let admin = f.admin();
    let created = admin.create_entity(APP, &show("SHOW-1")).unwrap();
    assert_eq!(created.entity_id, "SHOW-1");
    assert_eq!(created.name, "Opening night");
    assert_eq!(created.kind, "show");
    assert_eq!(created.status, EntityStatus::OnSale);
    assert_eq!(created.created_at, T0);
    assert_eq!(admin.get_entity(APP, "SHOW-1").unwrap(), created);

    // Seats named an entity first: it exists, on sale, named after its id.
    let implicit = admin.get_entity(APP, "E1").unwrap();
    assert_eq!(implicit.name, "E1");
    assert_eq!(implicit.kind, "");
    assert_eq!(implicit.sale_opens_at, None);
    assert_eq!(implicit.status, EntityStatus::OnSale);
    let ids: Vec<String> = admin
        .list_entities(APP)
        .unwrap()
        .into_iter()
        .map(|e| e.entity_id)
        .collect();
    assert_eq!(ids, ["E1", "SHOW-1"]);

    f.advance(Duration::from_secs(5));
    let updated = admin
        .update_entity(
            APP,
            "SHOW-1",
            &EntityUpdate {
                name: Some("Premiere"),
                sale_opens_at: Some(Some(T0 + 60_000)),
                ..EntityUpdate::default()
            },
        )
        .unwrap();
    assert_eq!(updated.name, "Premiere");
    assert_eq!(updated.kind, "show", "untouched");
    assert_eq!(updated.sale_opens_at, Some(T0 + 60_000));
    assert_eq!(updated.updated_at, T0 + 5_000);
    assert_eq!(updated.created_at, T0);

    // Refusals are typed and change nothing.
    let again = admin.create_entity(APP, &show("SHOW-1")).unwrap_err();
    assert!(matches!(again, AdminError::EntityAlreadyExists(ref id) if id == "SHOW-1"));
    assert_eq!(again.code(), ErrorCode::EntityAlreadyExists);
    assert!(matches!(
        admin.create_entity(APP, &show("E1")),
        Err(AdminError::EntityAlreadyExists(_))
    ));
    let missing = admin.get_entity(APP, "NOPE").unwrap_err();
    assert!(matches!(missing, AdminError::EntityNotFound(ref id) if id == "NOPE"));
    assert_eq!(missing.code(), ErrorCode::EntityNotFound);
    for bad in [
        NewEntity {
            sale_opens_at: Some(T0 + 10),
            sale_closes_at: Some(T0 + 10),
            ..show("SHOW-2")
        },
        NewEntity {
            kind: "x\u{7}",
            ..show("SHOW-2")
        },
        NewEntity {
            entity_id: "bad id",
            ..show("SHOW-2")
        },
    ] {
        let err = admin.create_entity(APP, &bad).unwrap_err();
        assert_eq!(err.code(), ErrorCode::InvalidInput, "{err:?}");
    }
    let window = admin
        .update_entity(
            APP,
            "SHOW-1",
            &EntityUpdate {
                sale_closes_at: Some(Some(T0)),
                ..EntityUpdate::default()
            },
        )
        .unwrap_err();
    assert_eq!(window.code(), ErrorCode::InvalidInput);
    assert_eq!(admin.get_entity(APP, "SHOW-1").unwrap(), updated);
    assert_eq!(admin.list_entities(APP).unwrap().len(), 2, "no SHOW-2");
    let unnamed = admin
        .update_entity(
            APP,
            "SHOW-1",
            &EntityUpdate {
                name: Some(""),
                ..EntityUpdate::default()
            },
        )
        .unwrap();
    assert_eq!(
        unnamed.name, "SHOW-1",
        "an empty name is the id, as at creation"
    );
}

/// Buyers see each entity's sale window and status before reserving.
#[test]
fn an_app_lists_its_entities_with_their_sale_windows() {
    let f = Fixture::new();
    let app = setup(&f);
    let admin = f.admin();
    let show = admin
        .create_entity(
            APP,
            &NewEntity {
                sale_opens_at: Some(T0 + 60_000),
                sale_closes_at: Some(T0 + 120_000),
                ..show("SHOW-1")
            },
        )
        .unwrap();
    let seen = app.entity("SHOW-1").unwrap();
    assert_eq!(seen, show);
    assert_eq!(
        (seen.sale_opens_at, seen.sale_closes_at, seen.status),
        (Some(T0 + 60_000), Some(T0 + 120_000), EntityStatus::OnSale)
    );
    admin.close_entity(APP, "E1", HoldsOnClose::Keep).unwrap();
    let listed = app.list_entities().unwrap();
    assert_eq!(
        listed
            .iter()
            .map(|e| (e.entity_id.as_str(), e.status))
            .collect::<Vec<_>>(),
        [
            ("E1", EntityStatus::Closed),
            ("SHOW-1", EntityStatus::OnSale)
        ]
    );
    let err = app.entity("NOPE").unwrap_err();
    assert!(matches!(err, QueryError::EntityNotFound(ref id) if id == "NOPE"));
    assert_eq!(err.code(), ErrorCode::EntityNotFound);
    assert!(matches!(
        app.entity("bad id!"),
        Err(QueryError::InvalidInput(_))
    ));
    // Another app sees none of them.
    let other = f.app_with_seats("bus-app", BUS_ORIGIN, "R1", 1);
    assert!(matches!(
        other.entity("SHOW-1"),
        Err(QueryError::EntityNotFound(_))
    ));
    assert_eq!(other.list_entities().unwrap().len(), 1);
}

#[test]
fn reserves_outside_the_sale_window_are_refused_and_hold_nothing() {
    let f = Fixture::new();
    let app = setup(&f);
    let admin = f.admin();
    let opens = T0 + 60_000;
    let closes = T0 + 120_000;
    admin
        .create_entity(
            APP,
            &NewEntity {
                sale_opens_at: Some(opens),
                sale_closes_at: Some(closes),
                ..show("SHOW-1")
            },
        )
        .unwrap();
    admin
        .create_seats(APP, "SHOW-1", &seats("SHOW-1", 4))
        .unwrap();
    let buyer = f.buyer(&app, "b@x.io");

    let early = app.reserve(&buyer, &["SHOW-1-S0"], None).unwrap_err();
    assert!(
        matches!(early, ReserveError::SaleNotOpen { ref entity_id, opens_at }
            if entity_id == "SHOW-1" && opens_at == opens),
        "{early:?}"
    );
    assert_eq!(early.code(), ErrorCode::SaleNotOpen);
    assert_eq!(state_of(&app, "SHOW-1", "SHOW-1-S0"), SeatState::Available);
    // A mixed request is refused as a whole; the other entity's seat stays free.
    assert!(matches!(
        app.reserve(&buyer, &["E1-S0", "SHOW-1-S1"], None),
        Err(ReserveError::SaleNotOpen { .. })
    ));
    assert_eq!(state_of(&app, "E1", "E1-S0"), SeatState::Available);

    f.clock.set(opens);
    let held = app.reserve(&buyer, &["SHOW-1-S0"], None).unwrap();
    f.clock.set(closes - 1);
    app.reserve(&buyer, &["SHOW-1-S1"], None).unwrap();
    f.clock.set(closes);
    let late = app.reserve(&buyer, &["SHOW-1-S2"], None).unwrap_err();
    assert!(matches!(late, ReserveError::SaleClosed { ref entity_id } if entity_id == "SHOW-1"));
    assert_eq!(late.code(), ErrorCode::SaleClosed);
    assert_eq!(state_of(&app, "SHOW-1", "SHOW-1-S2"), SeatState::Available);
    // A hold taken inside the window can still be paid after it.
    app.confirm(&buyer, held.token.expose(), "pay-1", held.info.total_minor)
        .unwrap();

    // Moving the window applies to the next reserve.
    admin
        .update_entity(
            APP,
            "SHOW-1",
            &EntityUpdate {
                sale_closes_at: Some(None),
                ..EntityUpdate::default()
            },
        )
        .unwrap();
    app.reserve(&buyer, &["SHOW-1-S2"], None).unwrap();
}

#[test]
fn closing_stops_sales_and_keeps_live_holds_payable() {
    let f = Fixture::new();
    let app = setup(&f);
    let admin = f.admin();
    let buyer = f.buyer(&app, "b@x.io");
    let other = f.buyer(&app, "o@x.io");
    let kept = app.reserve(&buyer, &["E1-S0"], None).unwrap();
    let paid = app.reserve(&buyer, &["E1-S1"], None).unwrap();
    let booking = app
        .confirm(&buyer, paid.token.expose(), "pay-1", paid.info.total_minor)
        .unwrap();

    let closed = admin.close_entity(APP, "E1", HoldsOnClose::Keep).unwrap();
    assert_eq!(closed.status, EntityStatus::Closed);

    // Free, held and booked seats all answer "sale closed" now.
    for seat in ["E1-S2", "E1-S0", "E1-S1"] {
        let err = app.reserve(&other, &[seat], None).unwrap_err();
        assert!(
            matches!(err, ReserveError::SaleClosed { .. }),
            "{seat}: {err:?}"
        );
    }
    assert_eq!(state_of(&app, "E1", "E1-S2"), SeatState::Available);
    // The kept hold runs on, is not extended, and can be paid.
    assert!(matches!(
        state_of(&app, "E1", "E1-S0"),
        SeatState::Held { expires_at } if expires_at == kept.info.expires_at
    ));
    let extend = app
        .extend(&buyer, kept.token.expose(), Duration::from_secs(60))
        .unwrap_err();
    assert!(matches!(extend, HoldError::SaleClosed { ref entity_id } if entity_id == "E1"));
    assert_eq!(extend.code(), ErrorCode::SaleClosed);
    app.confirm(&buyer, kept.token.expose(), "pay-2", kept.info.total_minor)
        .unwrap();
    // Bookings stay cancellable; the seat comes back but does not sell.
    app.cancel_booking(&booking.booking_id).unwrap();
    assert_eq!(state_of(&app, "E1", "E1-S1"), SeatState::Available);
    assert!(matches!(
        app.reserve(&other, &["E1-S1"], None),
        Err(ReserveError::SaleClosed { .. })
    ));

    // A closed entity takes no seats and no window change; text can change.
    let seats_err = admin
        .create_seats(APP, "E1", &[seat("E1-NEW", 100)])
        .unwrap_err();
    assert!(matches!(seats_err, AdminError::EntityClosed(ref id) if id == "E1"));
    assert_eq!(seats_err.code(), ErrorCode::EntityClosed);
    assert_eq!(app.list_seats("E1", SeatFilter::All).unwrap().len(), 10);
    assert!(matches!(
        admin.update_entity(
            APP,
            "E1",
            &EntityUpdate {
                sale_closes_at: Some(None),
                ..EntityUpdate::default()
            }
        ),
        Err(AdminError::EntityClosed(_))
    ));
    let renamed = admin
        .update_entity(
            APP,
            "E1",
            &EntityUpdate {
                name: Some("Sold out"),
                ..EntityUpdate::default()
            },
        )
        .unwrap();
    assert_eq!(renamed.status, EntityStatus::Closed);
    // Closing again is harmless.
    assert_eq!(
        admin
            .close_entity(APP, "E1", HoldsOnClose::Keep)
            .unwrap()
            .status,
        EntityStatus::Closed
    );
    assert!(f.engine.audit().unwrap().is_clean());
}

#[test]
fn closing_with_release_frees_every_live_hold_at_once() {
    let f = Fixture::new();
    let app = setup(&f);
    f.admin().create_seats(APP, "E2", &seats("E2", 2)).unwrap();
    let buyer = f.buyer(&app, "b@x.io");
    let one = app.reserve(&buyer, &["E1-S0", "E1-S1"], None).unwrap();
    let mixed = app.reserve(&buyer, &["E1-S2", "E2-S0"], None).unwrap();
    let elsewhere = app.reserve(&buyer, &["E2-S1"], None).unwrap();

    f.admin()
        .close_entity(APP, "E1", HoldsOnClose::Release)
        .unwrap();

    for seat in ["E1-S0", "E1-S1", "E1-S2"] {
        assert_eq!(state_of(&app, "E1", seat), SeatState::Available, "{seat}");
    }
    // A hold spanning entities goes whole; other entities' holds stay.
    assert_eq!(state_of(&app, "E2", "E2-S0"), SeatState::Available);
    assert!(matches!(
        state_of(&app, "E2", "E2-S1"),
        SeatState::Held { .. }
    ));
    for released in [&one, &mixed] {
        let info = app.reservation(&buyer, released.token.expose()).unwrap();
        assert_eq!(info.status, ReservationStatus::Released);
        let err = app
            .confirm(
                &buyer,
                released.token.expose(),
                "pay-x",
                released.info.total_minor,
            )
            .unwrap_err();
        assert!(matches!(err, ConfirmError::ReservationNotActive), "{err:?}");
    }
    app.confirm(
        &buyer,
        elsewhere.token.expose(),
        "pay-3",
        elsewhere.info.total_minor,
    )
    .unwrap();
    assert!(f.engine.audit().unwrap().is_clean());
}

#[test]
fn figures_count_sold_held_and_available_seats_and_revenue() {
    let f = Fixture::new();
    let app = setup(&f);
    let admin = f.admin();
    let buyer = f.buyer(&app, "b@x.io");
    let none = admin.entity_figures(APP, "E1").unwrap();
    assert_eq!((none.sold, none.held, none.available), (0, 0, 10));
    assert!(none.revenue.is_empty());

    let a = app.reserve(&buyer, &["E1-S0", "E1-S3"], None).unwrap();
    app.confirm(&buyer, a.token.expose(), "pay-1", a.info.total_minor)
        .unwrap();
    app.reserve(&buyer, &["E1-S5"], None).unwrap();
    let figures = admin.entity_figures(APP, "E1").unwrap();
    assert_eq!(figures.entity_id, "E1");
    assert_eq!(figures.status, EntityStatus::OnSale);
    assert_eq!((figures.sold, figures.held, figures.available), (2, 1, 7));
    assert_eq!(
        figures.revenue,
        [Money {
            currency: "EUR".into(),
            amount_minor: 1000 + 1003
        }]
    );
    // An expired hold counts as available at once.
    f.advance(Duration::from_secs(3600));
    let later = admin.entity_figures(APP, "E1").unwrap();
    assert_eq!((later.sold, later.held, later.available), (2, 0, 8));
    assert!(matches!(
        admin.entity_figures(APP, "NOPE"),
        Err(AdminError::EntityNotFound(_))
    ));
}

#[test]
fn entities_and_their_sale_survive_a_reopen() {
    let f = Fixture::new();
    let app = setup(&f);
    let admin = f.admin();
    admin
        .create_entity(
            APP,
            &NewEntity {
                sale_opens_at: Some(T0 + 60_000),
                ..show("SHOW-1")
            },
        )
        .unwrap();
    admin
        .create_seats(APP, "SHOW-1", &seats("SHOW-1", 2))
        .unwrap();
    admin.close_entity(APP, "E1", HoldsOnClose::Keep).unwrap();
    let before = admin.list_entities(APP).unwrap();
    drop((app, admin));

    let f = f.reopen();
    let admin = f.admin();
    assert_eq!(admin.list_entities(APP).unwrap(), before);
    let key = admin.rotate_api_key(APP).unwrap();
    let app = f.engine.app(APP, key.expose(), EVENT_ORIGIN).unwrap();
    let buyer = f.buyer(&app, "b@x.io");
    assert!(matches!(
        app.reserve(&buyer, &["E1-S0"], None),
        Err(ReserveError::SaleClosed { .. })
    ));
    assert!(matches!(
        app.reserve(&buyer, &["SHOW-1-S0"], None),
        Err(ReserveError::SaleNotOpen { .. })
    ));
    f.clock.set(T0 + 60_000);
    app.reserve(&buyer, &["SHOW-1-S0"], None).unwrap();
}

/// A close racing with buyers (docs/design.md, invariants 1 and 2): once
/// `close_entity` returns, no reserve of the entity succeeds, and with
/// `Release` no seat of it is held; every hold a buyer was granted was
/// recorded, and the audit finds memory and storage in agreement.
#[test]
fn a_close_racing_with_buyers_leaves_no_hold_and_admits_none_after() {
    for round in 0..4 {
        let f = Fixture::with(|c| {
            c.holds.max_active_per_user = usize::MAX;
            c.holds.max_held_seats_per_entity = usize::MAX;
        });
        let app = f.app_with_seats(APP, EVENT_ORIGIN, "E1", 400);
        let buyers: Vec<_> = (0..4)
            .map(|i| f.buyer(&app, &format!("b{i}@x.io")))
            .collect();
        let closed = AtomicBool::new(false);
        let after_close = AtomicUsize::new(0);
        let start = Barrier::new(buyers.len() + 1);
        let release = round % 2 == 0;
        std::thread::scope(|s| {
            for (t, buyer) in buyers.iter().enumerate() {
                let (app, closed, after_close, start) = (&app, &closed, &after_close, &start);
                s.spawn(move || {
                    start.wait();
                    for i in (t..400).step_by(4) {
                        let was_closed = closed.load(Ordering::SeqCst);
                        let seat = seat_id("E1", i);
                        match app.reserve(buyer, &[seat.as_str()], None) {
                            Ok(_) if was_closed => {
                                after_close.fetch_add(1, Ordering::SeqCst);
                            }
                            Ok(_) | Err(ReserveError::SaleClosed { .. }) => {}
                            Err(e) => panic!("unexpected {e:?}"),
                        }
                    }
                });
            }
            start.wait();
            let holds = if release {
                HoldsOnClose::Release
            } else {
                HoldsOnClose::Keep
            };
            f.admin().close_entity(APP, "E1", holds).unwrap();
            closed.store(true, Ordering::SeqCst);
        });
        assert_eq!(after_close.load(Ordering::SeqCst), 0, "round {round}");
        let figures = f.admin().entity_figures(APP, "E1").unwrap();
        if release {
            assert_eq!(figures.held, 0, "round {round}");
            assert_eq!(figures.available, 400);
        }
        let report = f.engine.audit().unwrap();
        assert!(report.is_clean(), "round {round}: {report:?}");
        assert_eq!(report.active_reservations, figures.held, "round {round}");
    }
}

/// Closing twice with `Keep` then `Release` releases what the first kept.
#[test]
fn a_second_close_can_release_what_the_first_kept() {
    let f = Fixture::new();
    let app = setup(&f);
    let buyer = f.buyer(&app, "b@x.io");
    app.reserve(&buyer, &["E1-S0"], None).unwrap();
    let admin = f.admin();
    admin.close_entity(APP, "E1", HoldsOnClose::Keep).unwrap();
    assert_eq!(admin.entity_figures(APP, "E1").unwrap().held, 1);
    admin
        .close_entity(APP, "E1", HoldsOnClose::Release)
        .unwrap();
    assert_eq!(admin.entity_figures(APP, "E1").unwrap().held, 0);
}
