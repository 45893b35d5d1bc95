//! Power loss at any instant: crash images of a multi-threaded workload
//! (group commit on, `Durability::Full`, a small journal so the workload
//! crosses checkpoints), each opened by a real engine and checked.
//!
//! A workload runs on the fault-injecting file layer
//! (`seatbook_testkit::faults`), which logs every write, sync and directory
//! change. Every acknowledged operation is stamped with the number of
//! events logged when it returned: a crash at event `k` must keep every
//! operation stamped `<= k`. For each image a crash point `k` is drawn, the
//! image is built (durable data plus a random subset of the unsynced
//! writes, torn at 512 B or 4 KiB), written into a temporary directory and
//! opened with `Engine::open`; then:
//!
//! - the open succeeds and `Engine::audit()` is clean (docs/design.md:
//!   invariants 1, 2, 4 and 11, the lock table's agreement with the disk);
//! - every acknowledged booking is SUCCESS with its seats BOOKED;
//! - every acknowledged reservation is there, with the status of its last
//!   acknowledged change (or of a change that was under way), its seats
//!   held while it is ACTIVE;
//! - no partial confirm: any reservation found CONFIRMED has its booking,
//!   SUCCESS, with its seats BOOKED.
//!
//! `POWERLOSS_IMAGES` sets the number of images (default 120; the ignored
//! long variant defaults to 10 000). A failure prints
//! `POWERLOSS_SEED=<run seed>` and keeps the image's files; that seed
//! replays the workload's choices and the images' choices. The workload's
//! thread interleaving is the scheduler's, so the event log (hence the
//! image) may differ between runs: the kept files are the exact image.
//!
//! The strict directory-entry model (a new file's entry is lost unless
//! its directory was synced) is on by default
//! ([`STRICT_DIR_ENTRIES_DEFAULT`]; `POWERLOSS_STRICT_DIR_ENTRIES=0` turns
//! it off), and so are crash points inside the first open, while the
//! database and its journal are created ([`CRASH_IN_CREATION_DEFAULT`];
//! `POWERLOSS_CRASH_IN_CREATION=0` turns them off). Both hold since
//! creation is atomic (temporary names, renames, directory syncs).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;

use seatbook::{
    BookingStatus, Durability, Engine, ManualClock, ReservationStatus, SeatFilter, SeatState,
    Secret,
};
use seatbook_testkit::faults::{FaultFs, Model, materialize};
use seatbook_testkit::fixtures::{EVENT_ORIGIN, T0, USER_PASSWORD};
use seatbook_testkit::rng::Rng;
use seatbook_testkit::{fixtures, reliability};

/// Strict directory-entry loss, by default: every creation, rename and
/// removal of the storage is followed by a directory sync before anything
/// depends on it. Turn off with `POWERLOSS_STRICT_DIR_ENTRIES=0`.
const STRICT_DIR_ENTRIES_DEFAULT: bool = true;

/// Crash points inside the first open (while the database file is being
/// created), by default: the database is written whole under
/// `<file>.creating` and renamed into place after its journal, so a crash
/// there leaves no database or a whole, empty one. Turn off with
/// `POWERLOSS_CRASH_IN_CREATION=0`.
const CRASH_IN_CREATION_DEFAULT: bool = true;

const THREADS: usize = 4;
const SEATS: usize = 24;
const OPS_PER_THREAD: usize = 40;
const IMAGES_PER_RUN: usize = 20;
/// Small, so a workload crosses several checkpoints.
const JOURNAL_LIMIT: u64 = 16 << 10;
const APP: &str = "event-app";

fn db_path() -> PathBuf {
    PathBuf::from("/powerloss/db.redb")
}

fn env_u64(name: &str) -> Option<u64> {
    std::env::var(name).ok().and_then(|v| v.parse().ok())
}

fn model() -> Model {
    Model {
        strict_dir_entries: std::env::var("POWERLOSS_STRICT_DIR_ENTRIES")
            .map_or(STRICT_DIR_ENTRIES_DEFAULT, |v| v == "1"),
    }
}

/// An acknowledged operation, stamped with the event count at its return.
#[derive(Debug, Clone)]
enum Ack {
    App {
        api_key: String,
    },
    User {
        user: usize,
        token: String,
    },
    Reserved {
        user: usize,
        id: u64,
        token: String,
        seats: Vec<String>,
    },
    Confirmed {
        reservation: u64,
        booking: String,
        seats: Vec<String>,
    },
    Released {
        reservation: u64,
    },
}

#[derive(Default)]
struct Journal {
    acks: Vec<(usize, Ack)>,
    /// Statuses a reservation may have reached by an operation that was
    /// issued (acknowledged or not).
    attempted: HashMap<u64, Vec<ReservationStatus>>,
}

struct Run {
    fs: FaultFs,
    /// Events logged when the first open returned.
    created: usize,
    journal: Journal,
}

fn config(clock: &ManualClock) -> seatbook::Config {
    let mut config = reliability::config(clock, Durability::Full);
    config.group_commit = true;
    config
}

/// Runs the workload on a fresh fault layer.
fn workload(seed: u64, clock: &ManualClock) -> Run {
    let fs = FaultFs::new();
    let log = Mutex::new(Journal::default());
    let created;
    let stamp = |ack: Ack| {
        let at = fs.events();
        log.lock().unwrap().acks.push((at, ack));
    };
    {
        let engine = Engine::open_with_fs(db_path(), config(clock), &fs, JOURNAL_LIMIT)
            .expect("open on the fault layer");
        created = fs.events();
        let admin = fixtures::admin(&engine);
        let created = reliability::app_with_seats(&admin, APP, EVENT_ORIGIN, SEATS);
        stamp(Ack::App {
            api_key: created.api_key.expose().to_owned(),
        });
        let app = engine
            .app(APP, created.api_key.expose(), EVENT_ORIGIN)
            .expect("app");
        let mut tokens = Vec::new();
        for user in 0..THREADS {
            let token = app
                .signup(&format!("buyer{user}@powerloss.test"), USER_PASSWORD)
                .expect("signup");
            stamp(Ack::User {
                user,
                token: token.expose().to_owned(),
            });
            tokens.push(token);
        }
        std::thread::scope(|s| {
            for (user, token) in tokens.iter().enumerate() {
                let app = &app;
                let log = &log;
                let stamp = &stamp;
                s.spawn(move || {
                    let mut rng = Rng::new(seed.wrapping_mul(31).wrapping_add(user as u64));
                    let session = app.user(token.expose()).expect("session");
                    let mut mine: Vec<(u64, Secret, Vec<String>, u64)> = Vec::new();
                    for op in 0..OPS_PER_THREAD {
                        let choice = rng.below(10);
                        if mine.is_empty() || choice < 5 {
                            let k = 1 + rng.index(2);
                            let picks = rng.distinct(SEATS, k);
                            let seats: Vec<String> =
                                picks.iter().map(|&i| reliability::seat_id(i)).collect();
                            let refs: Vec<&str> = seats.iter().map(String::as_str).collect();
                            if let Ok(r) =
                                app.reserve(&session, &refs, Some(Duration::from_secs(600)))
                            {
                                stamp(Ack::Reserved {
                                    user,
                                    id: r.info.reservation_id,
                                    token: r.token.expose().to_owned(),
                                    seats: seats.clone(),
                                });
                                mine.push((
                                    r.info.reservation_id,
                                    r.token,
                                    seats,
                                    r.info.total_minor,
                                ));
                            }
                        } else {
                            let (id, token, seats, total) = mine.swap_remove(rng.index(mine.len()));
                            let confirm = choice < 8;
                            log.lock()
                                .unwrap()
                                .attempted
                                .entry(id)
                                .or_default()
                                .push(if confirm {
                                    ReservationStatus::Confirmed
                                } else {
                                    ReservationStatus::Released
                                });
                            if confirm {
                                let pay = format!("pay-{seed}-{user}-{op}");
                                if let Ok(b) = app.confirm(&session, token.expose(), &pay, total)
                                    && b.status == BookingStatus::Success
                                {
                                    stamp(Ack::Confirmed {
                                        reservation: id,
                                        booking: b.booking_id,
                                        seats,
                                    });
                                }
                            } else if app.release(&session, token.expose()).is_ok() {
                                stamp(Ack::Released { reservation: id });
                            }
                        }
                    }
                });
            }
        });
    }
    Run {
        journal: log.into_inner().unwrap(),
        fs,
        created,
    }
}

/// Opens the image in `dir` and checks it against what was acknowledged
/// by event `at`. `Err` describes the first violation.
/// Acknowledged bookings and reservations found intact, over every image
/// checked (the long variant prints them).
static BOOKINGS_CHECKED: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
static RESERVATIONS_CHECKED: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

fn count(counter: &std::sync::atomic::AtomicU64) {
    counter.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
}

fn check_image(dir: &Path, at: usize, run: &Run, clock: &ManualClock) -> Result<(), String> {
    let engine = Engine::open(dir.join("db.redb"), config(clock))
        .map_err(|e| format!("open failed: {e}"))?;
    let report = engine.audit().map_err(|e| format!("audit: {e}"))?;
    if !report.is_clean() {
        return Err(format!("audit: {:?}", report.violations));
    }
    let acked = |ack: &(usize, Ack)| ack.0 <= at;
    let j = &run.journal;
    let Some(api_key) = j.acks.iter().find_map(|a| match &a.1 {
        Ack::App { api_key } if acked(a) => Some(api_key.clone()),
        _ => None,
    }) else {
        return Ok(());
    };
    let app = engine
        .app(APP, &api_key, EVENT_ORIGIN)
        .map_err(|e| format!("acknowledged app lost: {e}"))?;
    let listed = app
        .list_seats(reliability::ENTITY, SeatFilter::All)
        .map_err(|e| format!("list seats: {e}"))?;
    if listed.len() != SEATS {
        return Err(format!("{} of {SEATS} acknowledged seats", listed.len()));
    }
    let state: HashMap<String, SeatState> =
        listed.into_iter().map(|s| (s.seat_id, s.state)).collect();
    // Sessions of the users whose signup was acknowledged; a user whose
    // signup was not acknowledged may or may not exist.
    let mut sessions = HashMap::new();
    for a in &j.acks {
        if let Ack::User { user, token } = &a.1 {
            match app.user(token) {
                Ok(s) => {
                    sessions.insert(*user, s);
                }
                Err(e) if acked(a) => return Err(format!("acknowledged user {user} lost: {e}")),
                Err(_) => {}
            }
        }
    }
    let mut last: HashMap<u64, ReservationStatus> = HashMap::new();
    let mut booking_of: HashMap<u64, String> = HashMap::new();
    for a in j.acks.iter().filter(|a| acked(a)) {
        match &a.1 {
            Ack::Confirmed {
                reservation,
                booking,
                seats,
            } => {
                last.insert(*reservation, ReservationStatus::Confirmed);
                booking_of.insert(*reservation, booking.clone());
                let b = app
                    .booking(booking)
                    .map_err(|e| format!("acknowledged booking {booking} lost: {e}"))?;
                if b.status != BookingStatus::Success || b.seat_ids != *seats {
                    return Err(format!("acknowledged booking {booking} is {b:?}"));
                }
                for seat in seats {
                    if state.get(seat) != Some(&SeatState::Booked) {
                        return Err(format!("seat {seat} of booking {booking} not BOOKED"));
                    }
                }
                count(&BOOKINGS_CHECKED);
            }
            Ack::Released { reservation } => {
                last.insert(*reservation, ReservationStatus::Released);
            }
            _ => {}
        }
    }
    for a in &j.acks {
        let Ack::Reserved {
            user,
            id,
            token,
            seats,
        } = &a.1
        else {
            continue;
        };
        let Some(session) = sessions.get(user) else {
            if acked(a) {
                return Err(format!("user of acknowledged reservation {id} lost"));
            }
            continue;
        };
        let info = match app.reservation(session, token) {
            Ok(info) => info,
            Err(e) if acked(a) => return Err(format!("acknowledged reservation {id} lost: {e}")),
            Err(_) => continue,
        };
        // No partial confirm, acknowledged or not.
        if info.status == ReservationStatus::Confirmed {
            let Some(booking) = &info.booking_id else {
                return Err(format!("reservation {id} CONFIRMED without a booking"));
            };
            let b = app
                .booking(booking)
                .map_err(|e| format!("reservation {id} CONFIRMED, its booking lost: {e}"))?;
            if b.status != BookingStatus::Success
                || seats
                    .iter()
                    .any(|s| state.get(s) != Some(&SeatState::Booked))
            {
                return Err(format!("reservation {id}: partial confirm ({b:?})"));
            }
            if let Some(acked_booking) = booking_of.get(id)
                && acked_booking != booking
            {
                return Err(format!(
                    "reservation {id} booked as {booking}, acknowledged {acked_booking}"
                ));
            }
        }
        if !acked(a) {
            continue;
        }
        count(&RESERVATIONS_CHECKED);
        let ok = match last.get(id) {
            Some(&s) => info.status == s,
            None => {
                info.status == ReservationStatus::Active
                    || j.attempted
                        .get(id)
                        .is_some_and(|v| v.contains(&info.status))
            }
        };
        if !ok {
            return Err(format!(
                "acknowledged reservation {id} is {:?} (last acknowledged {:?})",
                info.status,
                last.get(id)
            ));
        }
        if info.status == ReservationStatus::Active {
            for seat in seats {
                if !matches!(state.get(seat), Some(SeatState::Held { .. })) {
                    return Err(format!("seat {seat} of ACTIVE reservation {id} not held"));
                }
            }
        }
    }
    drop(engine);
    Ok(())
}

/// Runs workloads until `images` images have been checked.
fn run_images(images: usize, base_seed: u64) -> (usize, usize) {
    let model = model();
    let in_creation = std::env::var("POWERLOSS_CRASH_IN_CREATION")
        .map_or(CRASH_IN_CREATION_DEFAULT, |v| v == "1");
    let clock = ManualClock::new(T0);
    let mut checked = 0;
    let mut runs = 0;
    let mut seed = base_seed;
    while checked < images {
        let run = workload(seed, &clock);
        runs += 1;
        // One journal header per checkpoint: the first open's, the
        // closing one's, and at least one while the threads ran.
        let journal = PathBuf::from(format!("{}-journal", db_path().display()));
        let checkpoints = run.fs.writes_at(&journal, 0);
        assert!(
            checkpoints >= 3,
            "POWERLOSS_SEED={seed}: the workload crossed no checkpoint ({checkpoints} headers)"
        );
        let events = run.fs.events();
        let mut rng = Rng::new(seed ^ 0x1A6E);
        for _ in 0..IMAGES_PER_RUN.min(images - checked) {
            let first = if in_creation { 0 } else { run.created };
            let at = first + rng.index(events - first + 1);
            let image = run.fs.crash_image(at, model, Some(&mut rng));
            let dir = tempfile::tempdir().expect("tempdir");
            materialize(&image, dir.path());
            if let Err(why) = check_image(dir.path(), at, &run, &clock) {
                let kept = dir.keep();
                panic!(
                    "POWERLOSS_SEED={seed}: crash at event {at} of {events} ({model:?}): {why}\n\
                     image kept in {}",
                    kept.display()
                );
            }
            checked += 1;
        }
        seed = seed.wrapping_add(1);
    }
    (checked, runs)
}

fn base_seed() -> u64 {
    env_u64("POWERLOSS_SEED").unwrap_or_else(|| {
        let s = getrandom_seed();
        eprintln!("POWERLOSS_SEED={s}");
        s
    })
}

fn getrandom_seed() -> u64 {
    use std::hash::{BuildHasher, RandomState};
    RandomState::new().hash_one(std::time::SystemTime::now())
}

#[test]
fn every_crash_image_keeps_what_was_acknowledged() {
    let images = env_u64("POWERLOSS_IMAGES").map_or(120, |n| n as usize);
    let (checked, runs) = run_images(images, base_seed());
    eprintln!("powerloss: {checked} images from {runs} workloads");
    assert!(checked >= images);
}

#[test]
#[ignore = "long variant: cargo test --release --test powerloss -- --ignored --nocapture"]
fn every_crash_image_keeps_what_was_acknowledged_long() {
    let images = env_u64("POWERLOSS_IMAGES").map_or(10_000, |n| n as usize);
    let started = std::time::Instant::now();
    let (checked, runs) = run_images(images, base_seed());
    eprintln!(
        "powerloss long: {checked} images from {runs} workloads in {:.1} s; \
         acknowledged bookings checked {}, acknowledged reservations checked {} \
         (0 lost, 0 invariant violations: any would have failed the run)",
        started.elapsed().as_secs_f64(),
        BOOKINGS_CHECKED.load(std::sync::atomic::Ordering::Relaxed),
        RESERVATIONS_CHECKED.load(std::sync::atomic::Ordering::Relaxed),
    );
    assert!(checked >= images);
}

/// The checker itself: images that keep only what was synced just after
/// an acknowledged booking, but lose the journal, must be caught losing
/// a booking (so the checks above can fail).
#[test]
fn the_checker_catches_a_lost_journal() {
    let clock = ManualClock::new(T0);
    let run = workload(7, &clock);
    // Crash just after each acknowledged booking in turn, and lose the
    // journal: a booking made since the last checkpoint is only there.
    let caught = run
        .journal
        .acks
        .iter()
        .filter(|(_, a)| matches!(a, Ack::Confirmed { .. }))
        .any(|&(at, _)| {
            let mut image = run.fs.crash_image(at, model(), None);
            image.retain(|p, _| !p.to_string_lossy().ends_with("-journal"));
            let dir = tempfile::tempdir().unwrap();
            materialize(&image, dir.path());
            check_image(dir.path(), at, &run, &clock).is_err()
        });
    assert!(caught, "a lost journal went unnoticed");
}
