//! The main demo: a sell-out rush.
//!
//! Three tenants (an event, a bus line and a cinema) put a few hundred seats
//! on sale; thousands of simulated buyers on several threads race for them
//! with short holds. Some buyers abandon their hold, some think too long,
//! some payments fail. At the end: a report and an audit that reads the
//! database back and counts double-booked seats (it must be 0).
//!
//! Run: `cargo run --release --example rush -- [--buyers N] [--threads N]
//!      [--db PATH] [--seed N] [--no-fsync] [--owasp-argon2]`

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressStyle};
use parking_lot::Mutex;
use seatbook::{
    AppContext, Argon2Params, Config, ConfirmError, Durability, Engine, NewApp, NewSeat,
    ReserveError, SeatAttributes, SeatFilter, SimulatedPayments, UserSession, hash_password,
};

struct Options {
    buyers: usize,
    threads: usize,
    db: Option<std::path::PathBuf>,
    seed: u64,
    fsync: bool,
    owasp_argon2: bool,
}

fn parse_args() -> Result<Options, String> {
    let mut o = Options {
        buyers: 4000,
        threads: 8,
        db: None,
        seed: 42,
        fsync: true,
        owasp_argon2: false,
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = |name: &str| args.next().ok_or(format!("{name} needs a value"));
        match arg.as_str() {
            "--buyers" => {
                o.buyers = value("--buyers")?
                    .parse()
                    .map_err(|e| format!("--buyers: {e}"))?
            }
            "--threads" => {
                o.threads = value("--threads")?
                    .parse()
                    .map_err(|e| format!("--threads: {e}"))?
            }
            "--seed" => {
                o.seed = value("--seed")?
                    .parse()
                    .map_err(|e| format!("--seed: {e}"))?
            }
            "--db" => o.db = Some(value("--db")?.into()),
            "--no-fsync" => o.fsync = false,
            "--owasp-argon2" => o.owasp_argon2 = true,
            "-h" | "--help" => {
                println!(
                    "usage: rush [--buyers N] [--threads N] [--db PATH] [--seed N] [--no-fsync] [--owasp-argon2]"
                );
                std::process::exit(0);
            }
            other => return Err(format!("unknown argument {other}")),
        }
    }
    if o.buyers == 0 || o.threads == 0 {
        return Err("--buyers and --threads must be positive".into());
    }
    Ok(o)
}

/// xorshift64*: a reproducible stream per buyer.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Self {
        Self(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn percent(&mut self) -> usize {
        self.below(100)
    }
    /// Skewed towards 0: everybody wants the front rows.
    fn front(&mut self, n: usize) -> usize {
        self.below(n).min(self.below(n))
    }
}

#[derive(Default)]
struct Tally {
    reserve_calls: AtomicUsize,
    holds_won: AtomicUsize,
    rejected_held: AtomicUsize,
    rejected_booked: AtomicUsize,
    bookings: AtomicUsize,
    abandoned: AtomicUsize,
    expired_before_confirm: AtomicUsize,
    payment_failures: AtomicUsize,
    sold_out: AtomicUsize,
    gave_up: AtomicUsize,
}

struct Tenant {
    app: AppContext,
    entities: Vec<String>,
}

const DEMO_ADMIN: &str = "admin@booking-backend.com";
const DEMO_PASSWORD: &str = "demo-admin-password";

fn main() {
    let options = match parse_args() {
        Ok(o) => o,
        Err(e) => {
            eprintln!("rush: {e}");
            std::process::exit(2);
        }
    };
    match run(&options) {
        Ok(0) => {}
        Ok(_) => std::process::exit(1),
        Err(e) => {
            eprintln!("rush: {e}");
            std::process::exit(2);
        }
    }
}

fn run(o: &Options) -> Result<u64, Box<dyn std::error::Error>> {
    let temp = tempfile::tempdir()?;
    let path =
        o.db.clone()
            .unwrap_or_else(|| temp.path().join("rush.redb"));
    let argon2 = if o.owasp_argon2 {
        Argon2Params::default()
    } else {
        Argon2Params::insecure_fast_for_tests()
    };
    let mut config = Config::new(
        DEMO_ADMIN,
        hash_password(DEMO_PASSWORD, &argon2)?,
        "rush-demo-admin-secret-0123456789abcdef",
        "rush-demo-user-secret-0123456789abcdefgh",
    )
    // The deterministic simulation, picked by name: payment ids starting
    // with "fail" are declined (a real host passes its provider's verifier).
    .with_payments(SimulatedPayments::default());
    config.argon2 = argon2;
    config.durability = if o.fsync {
        Durability::Full
    } else {
        Durability::None
    };
    config.holds.min_ttl = Duration::from_millis(100);
    config.holds.default_ttl = Duration::from_millis(400);
    let engine = Arc::new(Engine::open(&path, config)?);

    println!("seatbook rush demo — database {}", path.display());
    println!(
        "  {} buyers on {} threads, holds of 150-600 ms, durability {}",
        o.buyers,
        o.threads,
        if o.fsync {
            "FULL (fsync per commit)"
        } else {
            "NONE"
        }
    );
    if !o.owasp_argon2 {
        println!(
            "  (argon2 cost lowered through Config.argon2 so that sign-ups take seconds; the default is OWASP's)"
        );
    }

    let tenants = set_up_tenants(&engine)?;
    let total_seats: usize = tenants
        .iter()
        .map(|t| {
            t.entities
                .iter()
                .map(|e| t.app.list_seats(e, SeatFilter::All).map_or(0, |s| s.len()))
                .sum::<usize>()
        })
        .sum();
    println!("  3 tenants, {total_seats} seats on sale");

    let signup = ProgressBar::new(o.buyers as u64);
    signup.set_style(ProgressStyle::with_template(
        "  signing up buyers {bar:40} {pos}/{len}",
    )?);
    let buyers = sign_up_buyers(&tenants, o, &signup)?;
    signup.finish_and_clear();

    let bar = ProgressBar::new(o.buyers as u64);
    bar.set_style(ProgressStyle::with_template(
        "  rush {bar:40.cyan/blue} {pos}/{len} buyers done  {msg}",
    )?);
    let tally = Tally::default();
    let reserve_latency = Mutex::new(Vec::with_capacity(o.buyers * 2));
    let confirm_latency = Mutex::new(Vec::with_capacity(o.buyers));
    let views = Views::new(&tenants);
    let started = Instant::now();
    std::thread::scope(|s| {
        for worker in 0..o.threads {
            let (tenants, buyers, tally, views, bar) = (&tenants, &buyers, &tally, &views, &bar);
            let (reserve_latency, confirm_latency) = (&reserve_latency, &confirm_latency);
            s.spawn(move || {
                let mut lat = Latencies::default();
                let mine: Vec<usize> = (worker..buyers.len()).step_by(o.threads).collect();
                run_worker(
                    tenants, buyers, &mine, o.seed, started, tally, views, bar, &mut lat,
                );
                reserve_latency.lock().extend(lat.reserve);
                confirm_latency.lock().extend(lat.confirm);
            });
        }
    });
    let elapsed = started.elapsed();
    bar.finish_and_clear();

    // Let every abandoned hold run out, then make the records agree.
    std::thread::sleep(Duration::from_millis(650));
    let swept = engine.sweep_expired()?;
    let audit = engine.audit()?;
    let stats = engine.stats();

    let mut reserve_latency = reserve_latency.into_inner();
    let mut confirm_latency = confirm_latency.into_inner();
    let get = |a: &AtomicUsize| a.load(Ordering::Relaxed);
    let attempts = get(&tally.reserve_calls);
    println!();
    println!("== rush report ==");
    println!("  reserve attempts           {attempts:>9}");
    println!("  holds won                  {:>9}", get(&tally.holds_won));
    println!(
        "  rejected: seat held        {:>9}",
        get(&tally.rejected_held)
    );
    println!(
        "  rejected: seat booked      {:>9}",
        get(&tally.rejected_booked)
    );
    println!("  bookings (paid)            {:>9}", get(&tally.bookings));
    println!("  holds abandoned            {:>9}", get(&tally.abandoned));
    println!(
        "  holds expired before pay   {:>9}",
        get(&tally.expired_before_confirm)
    );
    println!(
        "  payment failures           {:>9}",
        get(&tally.payment_failures)
    );
    println!("  buyers who found sold out  {:>9}", get(&tally.sold_out));
    println!("  buyers who gave up         {:>9}", get(&tally.gave_up));
    println!(
        "  reservations expired       {:>9}  ({} by the final sweep)",
        stats.expiries, swept
    );
    println!("  engine counters            {stats:?}");
    println!(
        "  wall time {:.2} s, {:.0} reserve attempts/s, {:.0} buyers/s",
        elapsed.as_secs_f64(),
        attempts as f64 / elapsed.as_secs_f64(),
        o.buyers as f64 / elapsed.as_secs_f64()
    );
    print_latency("reserve", &mut reserve_latency);
    print_latency("confirm", &mut confirm_latency);
    println!();
    println!("== audit (database read back) ==");
    for t in &tenants {
        for e in &t.entities {
            let c = t.app.seat_counts(e)?;
            println!(
                "  {:<10} {:<10} available {:>3}  held {:>3}  booked {:>3}",
                t.app.app_id(),
                e,
                c.available,
                c.held,
                c.booked
            );
        }
    }
    println!(
        "  seats {}, booked {}, live bookings {}, failed payments recorded {}",
        audit.seats, audit.booked_seats, audit.live_bookings, audit.failed_bookings
    );
    println!("  invariant violations: {}", audit.violations.len());
    for v in audit.violations.iter().take(10) {
        println!("    {v}");
    }
    println!("  DOUBLE-BOOKED SEATS: {}", audit.double_booked_seats);
    if !audit.is_clean() {
        return Ok(audit.double_booked_seats.max(1));
    }
    Ok(audit.double_booked_seats)
}

fn print_latency(name: &str, samples: &mut [u64]) {
    if samples.is_empty() {
        return;
    }
    samples.sort_unstable();
    let us = |q: f64| samples[((samples.len() - 1) as f64 * q) as usize] as f64 / 1000.0;
    println!(
        "  {name} latency µs: p50 {:.1}  p90 {:.1}  p99 {:.1}  max {:.1}  (n = {})",
        us(0.50),
        us(0.90),
        us(0.99),
        us(1.0),
        samples.len()
    );
}

/// (entity id, rows, seats per row, base price in cents)
type Entity = (&'static str, usize, usize, u64);

fn set_up_tenants(engine: &Engine) -> Result<Vec<Tenant>, Box<dyn std::error::Error>> {
    let admin = engine.admin(engine.admin_login(DEMO_ADMIN, DEMO_PASSWORD)?.expose())?;
    // (app, origin, [(entity, rows, seats per row, price in cents)])
    let plan: [(&str, &str, &[Entity]); 3] = [
        (
            "event-app",
            "https://event-app.com",
            &[("EVENT_001", 10, 15, 8_900)],
        ),
        (
            "bus-app",
            "https://bus-app.com",
            &[("ROUTE_7", 10, 4, 2_450), ("ROUTE_9", 10, 4, 1_990)],
        ),
        (
            "movie-app",
            "https://movie-app.com",
            &[("SHOW_X", 6, 10, 1_250), ("SHOW_Y", 6, 10, 1_250)],
        ),
    ];
    let mut tenants = Vec::new();
    for (app_id, origin, entities) in plan {
        let created = admin.create_app(&NewApp {
            app_id,
            name: app_id,
            allowed_origins: &[origin],
        })?;
        for &(entity, rows, per_row, price) in entities {
            let seats: Vec<NewSeat> = (0..rows * per_row)
                .map(|i| {
                    let row = char::from(b'A' + (i / per_row) as u8);
                    NewSeat {
                        seat_id: format!("{entity}-{row}{}", i % per_row + 1),
                        price_minor: price + (rows - i / per_row) as u64 * 100,
                        currency: "EUR".into(),
                        attributes: SeatAttributes {
                            section: None,
                            row: Some(row.to_string()),
                            category: None,
                        },
                    }
                })
                .collect();
            admin.create_seats(app_id, entity, &seats)?;
        }
        tenants.push(Tenant {
            app: engine.app(app_id, created.api_key.expose(), origin)?,
            entities: entities.iter().map(|e| e.0.to_string()).collect(),
        });
    }
    Ok(tenants)
}

fn sign_up_buyers(
    tenants: &[Tenant],
    o: &Options,
    bar: &ProgressBar,
) -> Result<Vec<(usize, UserSession)>, Box<dyn std::error::Error>> {
    let next = AtomicUsize::new(0);
    let out = Mutex::new(HashMap::new());
    let failed = Mutex::new(None);
    std::thread::scope(|s| {
        for _ in 0..o.threads {
            s.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= o.buyers {
                        break;
                    }
                    let tenant = i % tenants.len();
                    let app = &tenants[tenant].app;
                    let result = app
                        .signup(&format!("buyer{i}@rush.example"), "buyer-password-123")
                        .map_err(|e| e.to_string())
                        .and_then(|t| app.user(t.expose()).map_err(|e| e.to_string()));
                    match result {
                        Ok(session) => {
                            out.lock().insert(i, (tenant, session));
                        }
                        Err(e) => *failed.lock() = Some(e),
                    }
                    bar.inc(1);
                }
            });
        }
    });
    if let Some(e) = failed.into_inner() {
        return Err(e.into());
    }
    let mut out: Vec<_> = out.into_inner().into_iter().collect();
    out.sort_by_key(|(i, _)| *i);
    Ok(out.into_iter().map(|(_, v)| v).collect())
}

#[derive(Default)]
struct Latencies {
    reserve: Vec<u64>,
    confirm: Vec<u64>,
}

/// What buyers see of the seat map: refreshed every 50 ms, so that — as in
/// a real rush — many buyers aim at seats that someone just took.
struct Views {
    /// Per tenant, per entity: when it was read and the seat ids then available.
    lists: Vec<Vec<Mutex<View>>>,
}

type View = (Instant, Vec<String>);

impl Views {
    fn new(tenants: &[Tenant]) -> Self {
        let stale = Instant::now()
            .checked_sub(Duration::from_secs(1))
            .unwrap_or_else(Instant::now);
        Self {
            lists: tenants
                .iter()
                .map(|t| {
                    t.entities
                        .iter()
                        .map(|_| Mutex::new((stale, Vec::new())))
                        .collect()
                })
                .collect(),
        }
    }

    fn available(&self, tenants: &[Tenant], tenant: usize, entity: usize) -> Vec<String> {
        let mut view = self.lists[tenant][entity].lock();
        if view.0.elapsed() > Duration::from_millis(50) {
            let t = &tenants[tenant];
            if let Ok(seats) = t
                .app
                .list_seats(&t.entities[entity], SeatFilter::AvailableOnly)
            {
                *view = (
                    Instant::now(),
                    seats.into_iter().map(|s| s.seat_id).collect(),
                );
            }
        }
        view.1.clone()
    }
}

enum Step {
    /// Look at the seat map and try to hold seats (attempt number).
    Try(u32),
    /// Pay for a hold.
    Pay(seatbook::Reservation),
}

/// One worker drives many buyers at once: each buyer is a small state
/// machine (arrive, try, think, pay) scheduled on this worker's timeline,
/// so thousands of buyers are in the middle of a purchase at the same time.
#[allow(clippy::too_many_arguments)]
fn run_worker(
    tenants: &[Tenant],
    buyers: &[(usize, UserSession)],
    mine: &[usize],
    seed: u64,
    started: Instant,
    tally: &Tally,
    views: &Views,
    bar: &ProgressBar,
    lat: &mut Latencies,
) {
    use std::cmp::Reverse;
    use std::collections::BinaryHeap;
    let mut rng = Rng::new(seed ^ mine.first().copied().unwrap_or(0) as u64);
    let mut steps: HashMap<usize, Step> = HashMap::new();
    let mut due = BinaryHeap::new();
    for &b in mine {
        // Everybody arrives within the first second.
        due.push(Reverse((
            started + Duration::from_micros(rng.below(1_000_000) as u64),
            b,
        )));
        steps.insert(b, Step::Try(0));
    }
    while let Some(Reverse((at, b))) = due.pop() {
        if let Some(wait) = at.checked_duration_since(Instant::now()) {
            std::thread::sleep(wait);
        }
        let (tenant, me) = &buyers[b];
        let t = &tenants[*tenant];
        let next = match steps.remove(&b) {
            Some(Step::Try(attempt)) => try_to_hold(
                tenants, *tenant, t, me, attempt, &mut rng, tally, views, lat,
            ),
            Some(Step::Pay(hold)) => {
                pay(t, me, &hold, b as u64 ^ seed, &mut rng, tally, lat);
                None
            }
            None => None,
        };
        match next {
            Some((after, step)) => {
                steps.insert(b, step);
                due.push(Reverse((Instant::now() + after, b)));
            }
            None => {
                bar.inc(1);
                if b % 64 == 0 {
                    bar.set_message(format!(
                        "{} bookings",
                        tally.bookings.load(Ordering::Relaxed)
                    ));
                }
            }
        }
    }
}

#[allow(clippy::too_many_arguments)]
fn try_to_hold(
    tenants: &[Tenant],
    tenant: usize,
    t: &Tenant,
    me: &UserSession,
    attempt: u32,
    rng: &mut Rng,
    tally: &Tally,
    views: &Views,
    lat: &mut Latencies,
) -> Option<(Duration, Step)> {
    if attempt >= 5 {
        tally.gave_up.fetch_add(1, Ordering::Relaxed);
        return None;
    }
    let entity = rng.below(t.entities.len());
    let want = 1 + rng.front(3);
    let available = views.available(tenants, tenant, entity);
    if available.len() < want {
        tally.sold_out.fetch_add(1, Ordering::Relaxed);
        return None;
    }
    // Adjacent seats near the front: that is where everybody aims.
    let start = rng.front(available.len() - want + 1);
    let ids: Vec<&str> = available[start..start + want]
        .iter()
        .map(String::as_str)
        .collect();
    let ttl = Duration::from_millis(150 + rng.below(450) as u64);
    tally.reserve_calls.fetch_add(1, Ordering::Relaxed);
    let began = Instant::now();
    let result = t.app.reserve(me, &ids, Some(ttl));
    lat.reserve.push(began.elapsed().as_nanos() as u64);
    let retry = Some((
        Duration::from_millis(5 + rng.below(30) as u64),
        Step::Try(attempt + 1),
    ));
    match result {
        Ok(hold) => {
            tally.holds_won.fetch_add(1, Ordering::Relaxed);
            let roll = rng.percent();
            if roll < 12 {
                tally.abandoned.fetch_add(1, Ordering::Relaxed);
                return None;
            }
            // Fill in card details; 6% take longer than the hold lasts.
            let think = if roll < 18 {
                ttl + Duration::from_millis(20)
            } else {
                Duration::from_millis(10 + rng.below(60) as u64)
            };
            Some((think, Step::Pay(hold)))
        }
        Err(ReserveError::SeatHeld(_)) => {
            tally.rejected_held.fetch_add(1, Ordering::Relaxed);
            retry
        }
        Err(ReserveError::SeatBooked(_)) => {
            tally.rejected_booked.fetch_add(1, Ordering::Relaxed);
            retry
        }
        Err(e) => {
            eprintln!("reserve failed: {e}");
            None
        }
    }
}

fn pay(
    t: &Tenant,
    me: &UserSession,
    hold: &seatbook::Reservation,
    id: u64,
    rng: &mut Rng,
    tally: &Tally,
    lat: &mut Latencies,
) {
    let payment = if rng.percent() < 8 {
        format!("fail-{id}")
    } else {
        format!("pay-{id}")
    };
    let began = Instant::now();
    let result = t
        .app
        .confirm(me, hold.token.expose(), &payment, hold.info.total_minor);
    lat.confirm.push(began.elapsed().as_nanos() as u64);
    match result {
        Ok(_) => {
            tally.bookings.fetch_add(1, Ordering::Relaxed);
        }
        Err(ConfirmError::PaymentDeclined { .. }) => {
            tally.payment_failures.fetch_add(1, Ordering::Relaxed);
        }
        Err(ConfirmError::HoldExpired | ConfirmError::ReservationNotActive) => {
            tally.expired_before_confirm.fetch_add(1, Ordering::Relaxed);
        }
        Err(e) => eprintln!("confirm failed: {e}"),
    }
}
