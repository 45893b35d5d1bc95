//! Shared fixtures for the integration tests: an engine on a temporary
//! file with a manual clock and cheap argon2, an admin, apps and buyers.
#![allow(dead_code)]

use std::sync::Arc;
use std::time::Duration;

use seatbook::{
    AppContext, Argon2Params, Config, CreatedApp, Durability, Engine, ManualClock, NewApp, NewSeat,
    SeatAttributes, UserSession, hash_password,
};

pub const ADMIN_EMAIL: &str = "admin@booking.test";
pub const ADMIN_PASSWORD: &str = "admin-password-123";
pub const ADMIN_SECRET: &str = "admin-secret-0123456789-0123456789-abcdef";
pub const USER_SECRET: &str = "user-secret-0123456789-0123456789-abcdefgh";
pub const EVENT_ORIGIN: &str = "https://event-app.com";
pub const BUS_ORIGIN: &str = "https://bus-app.com";

pub struct Fixture {
    pub dir: tempfile::TempDir,
    pub clock: ManualClock,
    pub engine: Engine,
}

pub fn config(clock: &ManualClock) -> Config {
    let fast = Argon2Params::insecure_fast_for_tests();
    let mut config = Config::new(
        ADMIN_EMAIL,
        hash_password(ADMIN_PASSWORD, &fast).unwrap(),
        ADMIN_SECRET,
        USER_SECRET,
    );
    config.argon2 = fast;
    config.payments = Some(Arc::new(seatbook::SimulatedPayments::default()));
    config.durability = Durability::None;
    config.clock = Arc::new(clock.clone());
    config
}

impl Fixture {
    pub fn new() -> Self {
        Self::with(|_| {})
    }

    pub fn with(adjust: impl FnOnce(&mut Config)) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let clock = ManualClock::default();
        let mut cfg = config(&clock);
        adjust(&mut cfg);
        let engine = Engine::open(dir.path().join("db.redb"), cfg).unwrap();
        Self { dir, clock, engine }
    }

    pub fn path(&self) -> std::path::PathBuf {
        self.dir.path().join("db.redb")
    }

    /// Drops the engine and opens it again on the same file and clock.
    pub fn reopen(self) -> Self {
        let Self { dir, clock, engine } = self;
        drop(engine);
        let engine = Engine::open(dir.path().join("db.redb"), config(&clock)).unwrap();
        Self { dir, clock, engine }
    }

    pub fn admin(&self) -> seatbook::Admin {
        let token = self
            .engine
            .admin_login(ADMIN_EMAIL, ADMIN_PASSWORD)
            .unwrap();
        self.engine.admin(token.expose()).unwrap()
    }

    pub fn create_app(&self, app_id: &str, origin: &str) -> CreatedApp {
        self.admin()
            .create_app(&NewApp {
                app_id,
                name: app_id,
                allowed_origins: &[origin],
            })
            .unwrap()
    }

    /// An app with `n` seats `{entity}-S{i}` priced 1000 + i EUR cents.
    pub fn app_with_seats(&self, app_id: &str, origin: &str, entity: &str, n: usize) -> AppContext {
        let created = self.create_app(app_id, origin);
        self.admin()
            .create_seats(app_id, entity, &seats(entity, n))
            .unwrap();
        self.engine
            .app(app_id, created.api_key.expose(), origin)
            .unwrap()
    }

    pub fn buyer(&self, app: &AppContext, email: &str) -> UserSession {
        let token = app.signup(email, "buyer-password").unwrap();
        app.user(token.expose()).unwrap()
    }

    pub fn advance(&self, d: Duration) {
        self.clock.advance(d);
    }
}

pub fn seat_id(entity: &str, i: usize) -> String {
    format!("{entity}-S{i}")
}

pub fn seats(entity: &str, n: usize) -> Vec<NewSeat> {
    (0..n)
        .map(|i| NewSeat {
            seat_id: seat_id(entity, i),
            price_minor: 1000 + i as u64,
            currency: "EUR".into(),
            attributes: SeatAttributes {
                section: Some("A".into()),
                row: Some(format!("{}", i / 10)),
                category: None,
            },
        })
        .collect()
}
