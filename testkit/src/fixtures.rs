//! Engines, configs, admins, apps, seats and buyers for the tests, the
//! fuzz bodies and the benches: one set of credentials, one base config
//! (cheap argon2, simulated payments), and the [`Fixture`] of the
//! functional suites (an engine on a temporary file with a manual clock).
//!
//! Every config here uses `Argon2Params::insecure_fast_for_tests()`: the
//! suites exercise booking, not password hashing. The defaults of
//! `Config` are never lowered.

use std::sync::Arc;
use std::time::Duration;

use seatbook::{
    Admin, AppContext, Argon2Params, Clock, Config, CreatedApp, Durability, Engine, ManualClock,
    NewApp, NewSeat, SeatAttributes, UserSession, hash_password,
};

pub const ADMIN_EMAIL: &str = "admin@booking.test";
pub const ADMIN_PASSWORD: &str = "admin-password-123";
pub const ADMIN_SECRET: &str = "admin-secret-0123456789-0123456789-abcdef";
pub const USER_SECRET: &str = "user-secret-0123456789-0123456789-abcdefgh";
/// The password of every buyer the kit signs up.
pub const USER_PASSWORD: &str = "buyer-password";
pub const EVENT_ORIGIN: &str = "https://event-app.com";
pub const BUS_ORIGIN: &str = "https://bus-app.com";
/// 2026-01-01T00:00:00Z, the manual clocks' epoch.
pub const T0: u64 = 1_767_225_600_000;

/// The kit's credentials and secrets, cheap argon2, the simulated payment
/// verifier, `clock` and `durability`; every other setting at its default.
pub fn base_config(clock: Arc<dyn Clock>, durability: Durability) -> Config {
    let fast = Argon2Params::insecure_fast_for_tests();
    let mut config = Config::new(
        ADMIN_EMAIL,
        hash_password(ADMIN_PASSWORD, &fast).expect("hash"),
        ADMIN_SECRET,
        USER_SECRET,
    );
    config.argon2 = fast;
    config.payments = Some(Arc::new(seatbook::SimulatedPayments::default()));
    config.durability = durability;
    config.clock = clock;
    config
}

/// [`base_config`] on `clock`, durability off: the functional suites'.
pub fn config(clock: &ManualClock) -> Config {
    base_config(Arc::new(clock.clone()), Durability::None)
}

/// The admin of `engine`, logged in with the kit's credentials.
pub fn admin(engine: &Engine) -> Admin {
    let token = engine
        .admin_login(ADMIN_EMAIL, ADMIN_PASSWORD)
        .expect("admin login");
    engine.admin(token.expose()).expect("admin token")
}

/// Creates app `app_id` (named after its id) with one allowed origin.
pub fn create_app(admin: &Admin, app_id: &str, origin: &str) -> CreatedApp {
    admin
        .create_app(&NewApp {
            app_id,
            name: app_id,
            allowed_origins: &[origin],
        })
        .expect("create app")
}

/// A seat in EUR with no attributes.
pub fn seat(id: &str, price_minor: u64) -> NewSeat {
    NewSeat {
        seat_id: id.to_owned(),
        price_minor,
        currency: "EUR".into(),
        attributes: SeatAttributes::default(),
    }
}

pub struct Fixture {
    pub dir: tempfile::TempDir,
    pub clock: ManualClock,
    pub engine: Engine,
}

impl Default for Fixture {
    fn default() -> Self {
        Self::new()
    }
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

    pub fn admin(&self) -> Admin {
        admin(&self.engine)
    }

    pub fn create_app(&self, app_id: &str, origin: &str) -> CreatedApp {
        create_app(&self.admin(), app_id, origin)
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
        let token = app.signup(email, USER_PASSWORD).unwrap();
        app.user(token.expose()).unwrap()
    }

    pub fn advance(&self, d: Duration) {
        self.clock.advance(d);
    }
}

pub fn seat_id(entity: &str, i: usize) -> String {
    format!("{entity}-S{i}")
}

/// `n` seats `{entity}-S{i}` priced 1000 + i, in section A, row `i / 10`.
pub fn seats(entity: &str, n: usize) -> Vec<NewSeat> {
    (0..n)
        .map(|i| NewSeat {
            attributes: SeatAttributes {
                section: Some("A".into()),
                row: Some(format!("{}", i / 10)),
                category: None,
            },
            ..seat(&seat_id(entity, i), 1000 + i as u64)
        })
        .collect()
}
