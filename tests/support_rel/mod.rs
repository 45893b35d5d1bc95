//! Shared helpers of the reliability suites (stress, simulation, crash,
//! attacks, fuzz regressions): engines on temporary files with a manual
//! clock and cheap argon2, a seeded PRNG, and invariant checks that use
//! only the public API (independently of `Engine::audit`).
#![allow(dead_code)]

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use seatbook::{
    Admin, AppContext, Argon2Params, Config, CreatedApp, Durability, Engine, ManualClock, NewApp,
    NewSeat, SeatAttributes, SeatFilter, SeatState, hash_password,
};

pub const ADMIN_EMAIL: &str = "ops@reliability.test";
pub const ADMIN_PASSWORD: &str = "reliability-admin-pw";
pub const ADMIN_SECRET: &str = "rel-admin-secret-0123456789-0123456789-xyz";
pub const USER_SECRET: &str = "rel-user-secret-0123456789-0123456789-abcde";
pub const USER_PASSWORD: &str = "buyer-password-1";
pub const EVENT_ORIGIN: &str = "https://event-app.com";
pub const BUS_ORIGIN: &str = "https://bus-app.com";
/// 2026-01-01T00:00:00Z, the manual clocks' epoch.
pub const T0: u64 = 1_767_225_600_000;

/// SplitMix64: tiny, fast, good enough to drive tests, and the same
/// sequence for the same seed on every platform.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Self(seed ^ 0x5EED_B00C_0000_0001)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (`n > 0`).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }

    pub fn index(&mut self, n: usize) -> usize {
        self.below(n as u64) as usize
    }

    /// True with probability `per_mille / 1000`.
    pub fn chance(&mut self, per_mille: u64) -> bool {
        self.below(1000) < per_mille
    }

    /// `k` distinct indices of `0..n`, in random order.
    pub fn distinct(&mut self, n: usize, k: usize) -> Vec<usize> {
        let mut out = Vec::with_capacity(k);
        while out.len() < k.min(n) {
            let i = self.index(n);
            if !out.contains(&i) {
                out.push(i);
            }
        }
        out
    }
}

/// A configuration with the suite's secrets, cheap argon2 and `clock`.
pub fn config(clock: &ManualClock, durability: Durability) -> Config {
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
    config.clock = Arc::new(clock.clone());
    // Tiny holds, so expiry races everything else.
    config.holds.min_ttl = Duration::from_millis(10);
    config.holds.default_ttl = Duration::from_millis(50);
    config
}

pub fn open(path: &Path, clock: &ManualClock, durability: Durability) -> Engine {
    Engine::open(path, config(clock, durability)).expect("open engine")
}

pub fn admin(engine: &Engine) -> Admin {
    let token = engine
        .admin_login(ADMIN_EMAIL, ADMIN_PASSWORD)
        .expect("admin login");
    engine.admin(token.expose()).expect("admin token")
}

pub fn seat(id: &str, price_minor: u64) -> NewSeat {
    NewSeat {
        seat_id: id.to_owned(),
        price_minor,
        currency: "EUR".into(),
        attributes: SeatAttributes::default(),
    }
}

/// Creates an app with one origin and `seats` seats named `S0..` in entity
/// `E1`, priced `100 * (i + 1)`. Returns the created app (with its key).
pub fn app_with_seats(admin: &Admin, app_id: &str, origin: &str, seats: usize) -> CreatedApp {
    let created = admin
        .create_app(&NewApp {
            app_id,
            name: app_id,
            allowed_origins: &[origin],
        })
        .expect("create app");
    let list: Vec<NewSeat> = (0..seats)
        .map(|i| seat(&seat_id(i), 100 * (i as u64 + 1)))
        .collect();
    admin.create_seats(app_id, ENTITY, &list).expect("seats");
    created
}

pub const ENTITY: &str = "E1";

pub fn seat_id(i: usize) -> String {
    format!("S{i}")
}

pub fn price(i: usize) -> u64 {
    100 * (i as u64 + 1)
}

/// Effective seat states of entity `E1`, indexed by seat number.
pub fn seat_states(app: &AppContext, seats: usize) -> Vec<SeatState> {
    let listed = app.list_seats(ENTITY, SeatFilter::All).expect("list seats");
    assert_eq!(listed.len(), seats, "seat count");
    let mut out = vec![SeatState::Available; seats];
    for s in listed {
        let i: usize = s.seat_id[1..].parse().expect("seat id");
        out[i] = s.state;
    }
    out
}

/// Fails the test with the audit's violations, if any.
pub fn assert_audit_clean(engine: &Engine, context: &str) {
    let report = engine.audit().expect("audit");
    assert!(
        report.is_clean(),
        "{context}: audit found violations: {:#?}",
        report.violations
    );
}
