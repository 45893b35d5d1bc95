//! The world of the reliability suites (stress, simulation, crash, power
//! loss, I/O errors, attacks, backup): engines with tiny holds, so expiry
//! races everything else, and one app whose seats `S0..` in entity
//! [`ENTITY`] are priced `100 * (i + 1)` ([`price`]).

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use seatbook::{Admin, Config, CreatedApp, Durability, Engine, ManualClock, NewSeat};

use crate::fixtures::{base_config, create_app, seat};

/// The entity of every seat of [`app_with_seats`].
pub const ENTITY: &str = "E1";

/// The kit's base config on `clock` with `durability` and tiny holds.
pub fn config(clock: &ManualClock, durability: Durability) -> Config {
    let mut config = base_config(Arc::new(clock.clone()), durability);
    // Tiny holds, so expiry races everything else.
    config.holds.min_ttl = Duration::from_millis(10);
    config.holds.default_ttl = Duration::from_millis(50);
    config
}

pub fn open(path: &Path, clock: &ManualClock, durability: Durability) -> Engine {
    Engine::open(path, config(clock, durability)).expect("open engine")
}

/// Creates an app with one origin and `seats` seats named `S0..` in entity
/// [`ENTITY`], priced [`price`]. Returns the created app (with its key).
pub fn app_with_seats(admin: &Admin, app_id: &str, origin: &str, seats: usize) -> CreatedApp {
    let created = create_app(admin, app_id, origin);
    let list: Vec<NewSeat> = (0..seats).map(|i| seat(&seat_id(i), price(i))).collect();
    admin.create_seats(app_id, ENTITY, &list).expect("seats");
    created
}

pub fn seat_id(i: usize) -> String {
    format!("S{i}")
}

pub fn price(i: usize) -> u64 {
    100 * (i as u64 + 1)
}
