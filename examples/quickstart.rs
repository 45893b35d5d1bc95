//! The seed's booking flow end to end, printing each step:
//! admin -> app -> seats -> signup -> list -> reserve -> confirm.
//!
//! Run: `cargo run --example quickstart`

use std::error::Error;

use seatbook::{
    Argon2Params, Config, Engine, NewApp, NewSeat, SeatAttributes, SeatFilter, SeatState,
    SimulatedPayments, hash_password,
};

fn main() -> Result<(), Box<dyn Error>> {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("quickstart.redb");

    // 1. The host's configuration: the admin account, two JWT secrets and
    //    the payment verifier. (Real hosts load the secrets from their
    //    secret store and pass a verifier that asks their payment provider;
    //    this demo names the deterministic simulation.)
    let admin_hash = hash_password("admin-password", &Argon2Params::default())?;
    let config = Config::new(
        "admin@booking-backend.com",
        admin_hash,
        "replace-me-admin-secret-at-least-32-bytes",
        "replace-me-user-secret-at-least-32-bytes!",
    )
    .with_payments(SimulatedPayments::default());
    let engine = Engine::open(&path, config)?;
    println!("1. engine open on {}", path.display());

    // 2. Admin logs in and creates a tenant app; the API key is shown once.
    let admin_token = engine.admin_login("admin@booking-backend.com", "admin-password")?;
    let admin = engine.admin(admin_token.expose())?;
    let created = admin.create_app(&NewApp {
        app_id: "event-app",
        name: "Event App",
        allowed_origins: &["https://event-app.com"],
    })?;
    println!(
        "2. admin created app {:?} (API key: {} chars, shown once)",
        created.app.app_id,
        created.api_key.len()
    );

    // 3. Admin adds seats for an event.
    let seats: Vec<NewSeat> = ["A1", "A2", "A3", "B1"]
        .iter()
        .map(|s| NewSeat {
            seat_id: format!("EVENT_001-{s}"),
            price_minor: if s.starts_with('A') { 7_500 } else { 5_000 },
            currency: "EUR".into(),
            attributes: SeatAttributes {
                section: Some("Floor".into()),
                row: Some(s[..1].into()),
                category: Some("standard".into()),
            },
        })
        .collect();
    let n = admin.create_seats("event-app", "EVENT_001", &seats)?;
    println!("3. admin created {n} seats for EVENT_001");

    // 4. The app authenticates (app id + API key + origin); a user signs up.
    let app = engine.app(
        "event-app",
        created.api_key.expose(),
        "https://event-app.com",
    )?;
    let user_token = app.signup("buyer@example.com", "correct horse battery")?;
    let buyer = app.user(user_token.expose())?;
    println!(
        "4. user {} signed up through {}",
        buyer.user_id(),
        app.app_id()
    );

    // 5. List available seats.
    let available = app.list_seats("EVENT_001", SeatFilter::AvailableOnly)?;
    println!("5. {} seats available:", available.len());
    for s in &available {
        println!(
            "     {:<14} {:>6.2} {}",
            s.seat_id,
            s.price_minor as f64 / 100.0,
            s.currency
        );
    }

    // 6. Reserve two seats: an atomic TTL hold (120 s by default).
    let hold = app.reserve(&buyer, &["EVENT_001-A1", "EVENT_001-A2"], None)?;
    println!(
        "6. reserved {:?}: reservation #{}, total {} {}, expires at {} ms",
        hold.info.seat_ids,
        hold.info.reservation_id,
        hold.info.total_minor,
        hold.info.currency,
        hold.info.expires_at
    );
    let rival_token = app.signup("rival@example.com", "another strong one")?;
    let rival = app.user(rival_token.expose())?;
    match app.reserve(&rival, &["EVENT_001-A2"], None) {
        Err(e) => println!("   a rival trying EVENT_001-A2 gets: {e}"),
        Ok(_) => return Err("the rival must not get a held seat".into()),
    }

    // 7. Pay and confirm: one transaction books the seats.
    let booking = app.confirm(
        &buyer,
        hold.token.expose(),
        "pay_demo_001",
        hold.info.total_minor,
    )?;
    println!(
        "7. confirmed: booking {} ({}), {} {} for {:?}",
        booking.booking_id,
        booking.status.as_str(),
        booking.amount_minor,
        booking.currency,
        booking.seat_ids
    );

    for s in app.list_seats("EVENT_001", SeatFilter::All)? {
        let state = match s.state {
            SeatState::Available => "AVAILABLE".to_string(),
            SeatState::Held { expires_at } => format!("HELD until {expires_at}"),
            SeatState::Booked => "BOOKED".to_string(),
        };
        println!("     {:<14} {state}", s.seat_id);
    }
    let audit = engine.audit()?;
    println!(
        "8. audit: {} booked seats, {} double-booked",
        audit.booked_seats, audit.double_booked_seats
    );
    Ok(())
}
