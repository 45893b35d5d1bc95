//! Injected I/O errors: `EIO` on a write or a sync, `ENOSPC` on a write,
//! at every I/O point of a small workload in turn (opening, setting up,
//! reserving, confirming, releasing, crossing a checkpoint, closing).
//!
//! For each injected point, on the fault-injecting file layer
//! (`seatbook_testkit::faults`):
//!
//! - every failed call returns a typed storage error (`Storage` or, once
//!   the engine refuses writes, `StoragePoisoned`);
//! - once a commit has failed, every later write is refused as poisoned,
//!   and no sync that failed is ever retried through the same handle;
//! - nothing acknowledged is missing from the *durable* image (only what
//!   was synced, as a power loss right after the workload would leave);
//! - a reopen in the same boot (the page cache still showing writes whose
//!   sync failed, which will never reach the disk) recovers everything
//!   acknowledged, and a power loss after that reopen and its close still
//!   loses nothing acknowledged: recovery must not trust those pages.

use std::path::{Path, PathBuf};
use std::time::Duration;

use seatbook::{
    BookingStatus, Durability, Engine, ErrorCode, HasErrorCode, ManualClock, OpenError,
    ReservationStatus, Secret,
};
use seatbook_testkit::faults::{Fault, FaultFs, Model};
use seatbook_testkit::fixtures::{EVENT_ORIGIN, T0, USER_PASSWORD};
use seatbook_testkit::{faults, fixtures, reliability};

const APP: &str = "event-app";
const SEATS: usize = 6;
/// The smallest journal: the workload crosses checkpoints.
const JOURNAL_LIMIT: u64 = 8 << 10;
const LENIENT: Model = Model {
    strict_dir_entries: false,
};

fn db_path() -> PathBuf {
    PathBuf::from("/io-errors/db.redb")
}

fn config(clock: &ManualClock) -> seatbook::Config {
    reliability::config(clock, Durability::Full)
}

/// What the workload was told.
#[derive(Debug, Default)]
struct Acked {
    app_key: Option<String>,
    user_token: Option<String>,
    /// `(reservation id, token, seats, last acknowledged status)`.
    reservations: Vec<(u64, String, Vec<String>, ReservationStatus)>,
    /// `(reservation id, booking id)`.
    bookings: Vec<(u64, String)>,
    /// Calls that failed.
    failures: usize,
    /// Whether a poisoned error was seen.
    poisoned: bool,
}

impl Acked {
    /// A failed call: its error must be typed storage, and poisoned once
    /// an earlier commit has failed. A confirm whose booking commit fails
    /// after the verifier approved says `RefundDueUnrecorded` instead (its
    /// refund-due record could not be written either: the storage is
    /// poisoned by then); its reservation's outcome stays open (reopening
    /// finds it CONFIRMED or records the refund due).
    fn failed(&mut self, what: &str, code: ErrorCode, message: &str) {
        assert!(
            matches!(code, ErrorCode::Storage | ErrorCode::StoragePoisoned)
                || (what == "confirm" && code == ErrorCode::RefundDueUnrecorded),
            "{what}: untyped failure {code:?}: {message}"
        );
        if self.failures > 0 && !self.poisoned {
            // The first failed commit poisons: later writes say so.
            assert_eq!(
                code,
                ErrorCode::StoragePoisoned,
                "{what} after a failed commit: {message}"
            );
        }
        if code == ErrorCode::StoragePoisoned {
            self.poisoned = true;
        }
        self.failures += 1;
    }
}

fn record<T, E: HasErrorCode + std::fmt::Display>(
    acked: &mut Acked,
    what: &str,
    r: Result<T, E>,
) -> Option<T> {
    match r {
        Ok(v) => {
            assert!(
                acked.failures == 0,
                "{what} succeeded after a failed commit (the engine did not poison itself)"
            );
            Some(v)
        }
        Err(e) => {
            acked.failed(what, e.code(), &e.to_string());
            None
        }
    }
}

/// Runs the workload; `Err` if the open itself failed (typed).
fn workload(fs: &FaultFs, clock: &ManualClock) -> Result<Acked, OpenError> {
    let engine = Engine::open_with_fs(db_path(), config(clock), fs, JOURNAL_LIMIT)?;
    let mut acked = Acked::default();
    let admin = fixtures::admin(&engine);
    let seats: Vec<_> = (0..SEATS)
        .map(|i| fixtures::seat(&reliability::seat_id(i), reliability::price(i)))
        .collect();
    let created = record(
        &mut acked,
        "create app",
        admin.create_app(&seatbook::NewApp {
            app_id: APP,
            name: APP,
            allowed_origins: &[EVENT_ORIGIN],
        }),
    );
    let Some(created) = created else {
        return Ok(acked);
    };
    // An app without its seats is useless to the rest; the key is kept
    // only once both are acknowledged.
    if record(
        &mut acked,
        "create seats",
        admin.create_seats(APP, reliability::ENTITY, &seats),
    )
    .is_some()
    {
        acked.app_key = Some(created.api_key.expose().to_owned());
    }
    let Some(key) = acked.app_key.clone() else {
        return Ok(acked);
    };
    let app = engine.app(APP, &key, EVENT_ORIGIN).expect("app");
    let Some(token) = record(
        &mut acked,
        "signup",
        app.signup("buyer@io-errors.test", USER_PASSWORD),
    ) else {
        return Ok(acked);
    };
    acked.user_token = Some(token.expose().to_owned());
    let session = app.user(token.expose()).expect("session");
    // Reserve, then confirm every other one and release the rest, until
    // the seats run out or the engine refuses.
    for round in 0..SEATS {
        let seat = reliability::seat_id(round);
        let Some(r) = record(
            &mut acked,
            "reserve",
            app.reserve(&session, &[&seat], Some(Duration::from_secs(600))),
        ) else {
            continue;
        };
        let id = r.info.reservation_id;
        let token: Secret = r.token;
        acked.reservations.push((
            id,
            token.expose().to_owned(),
            vec![seat.clone()],
            ReservationStatus::Active,
        ));
        let status = if round % 2 == 0 {
            let pay = format!("pay-{round}");
            record(
                &mut acked,
                "confirm",
                app.confirm(&session, token.expose(), &pay, reliability::price(round)),
            )
            .map(|b| {
                acked.bookings.push((id, b.booking_id));
                ReservationStatus::Confirmed
            })
        } else {
            record(&mut acked, "release", app.release(&session, token.expose()))
                .map(|()| ReservationStatus::Released)
        };
        if let Some(s) = status {
            acked.reservations.last_mut().expect("pushed").3 = s;
        }
    }
    drop(engine);
    Ok(acked)
}

/// Every acknowledged write is in `engine`; the audit is clean.
fn check(engine: &Engine, acked: &Acked, context: &str) {
    let report = engine.audit().expect("audit");
    assert!(report.is_clean(), "{context}: {:?}", report.violations);
    let Some(key) = &acked.app_key else { return };
    let app = engine
        .app(APP, key, EVENT_ORIGIN)
        .unwrap_or_else(|e| panic!("{context}: acknowledged app lost: {e}"));
    let Some(token) = &acked.user_token else {
        return;
    };
    let session = app
        .user(token)
        .unwrap_or_else(|e| panic!("{context}: acknowledged user lost: {e}"));
    for (id, token, _, status) in &acked.reservations {
        let info = app
            .reservation(&session, token)
            .unwrap_or_else(|e| panic!("{context}: acknowledged reservation {id} lost: {e}"));
        // The last change may have committed without its acknowledgement.
        assert!(
            info.status == *status || *status == ReservationStatus::Active,
            "{context}: reservation {id} is {:?}, acknowledged {status:?}",
            info.status
        );
    }
    for (id, booking) in &acked.bookings {
        let b = app
            .booking(booking)
            .unwrap_or_else(|e| panic!("{context}: acknowledged booking {booking} lost: {e}"));
        assert_eq!(
            b.status,
            BookingStatus::Success,
            "{context}: booking of {id}"
        );
    }
}

/// Opens the durable image of `fs` (what was synced) on real files.
fn open_durable(fs: &FaultFs, dir: &Path, clock: &ManualClock) -> Engine {
    let image = fs.crash_image(fs.events(), LENIENT, None);
    faults::materialize(&image, dir);
    Engine::open(dir.join("db.redb"), config(clock))
        .unwrap_or_else(|e| panic!("open of the durable image failed: {e}"))
}

/// I/O points inside the first open (the database file's creation) are
/// injected by default: the database is created whole under a temporary
/// name and renamed into place, so a failure there leaves no database (or
/// a whole, empty one), never a half-created file. Turn off with
/// `IO_ERRORS_IN_CREATION=0`.
const IN_CREATION_DEFAULT: bool = true;

/// The first I/O point to inject: 0, or the first after the first open.
fn first_point() -> u64 {
    if std::env::var("IO_ERRORS_IN_CREATION").map_or(IN_CREATION_DEFAULT, |v| v == "1") {
        return 0;
    }
    first_point_after_open()
}

/// The first I/O point after the first open (the database's creation).
fn first_point_after_open() -> u64 {
    let fs = FaultFs::new();
    let clock = ManualClock::new(T0);
    let engine = Engine::open_with_fs(db_path(), config(&clock), &fs, JOURNAL_LIMIT).expect("open");
    let points = fs.io_points();
    drop(engine);
    points
}

/// The I/O points of a fault-free run.
fn points_of_a_clean_run() -> u64 {
    let fs = FaultFs::new();
    let clock = ManualClock::new(T0);
    let acked = workload(&fs, &clock).expect("clean run");
    assert_eq!(acked.failures, 0);
    assert_eq!(acked.bookings.len(), SEATS / 2, "the workload confirms");
    fs.io_points()
}

fn inject_at(point: u64, fault: Fault) {
    let context = format!("{fault:?} at I/O point {point}");
    let fs = FaultFs::new();
    let clock = ManualClock::new(T0);
    fs.inject(point, fault);
    let acked = match workload(&fs, &clock) {
        Ok(acked) => acked,
        Err(OpenError::Storage(_)) => Acked::default(),
        Err(e) => panic!("{context}: open failed with an untyped error: {e}"),
    };
    assert_eq!(
        fs.injected().len(),
        1,
        "{context}: the fault was not reached"
    );
    assert_eq!(fs.sync_retries(), 0, "{context}: a failed sync was retried");
    // Power loss right after the workload: only what was synced.
    let dir = tempfile::tempdir().unwrap();
    check(
        &open_durable(&fs, dir.path(), &clock),
        &acked,
        &format!("{context}, durable image"),
    );
    // Same boot: the page cache still shows whatever a failed sync lost.
    {
        let engine = Engine::open_with_fs(db_path(), config(&clock), &fs, JOURNAL_LIMIT)
            .unwrap_or_else(|e| panic!("{context}: reopen in the same boot failed: {e}"));
        check(&engine, &acked, &format!("{context}, same-boot reopen"));
    }
    // ...and a power loss after that reopen and its clean close.
    let dir = tempfile::tempdir().unwrap();
    check(
        &open_durable(&fs, dir.path(), &clock),
        &acked,
        &format!("{context}, durable image after the same-boot reopen"),
    );
}

#[test]
fn eio_at_every_io_point() {
    let points = points_of_a_clean_run();
    assert!(points > 20, "only {points} I/O points");
    let first = first_point();
    for point in first..points {
        inject_at(point, Fault::Eio);
    }
    eprintln!("io_errors: EIO at each of I/O points {first}..{points}");
}

#[test]
fn enospc_at_every_io_point() {
    let points = points_of_a_clean_run();
    let first = first_point();
    for point in first..points {
        inject_at(point, Fault::Enospc);
    }
    eprintln!("io_errors: ENOSPC at each of I/O points {first}..{points}");
}

/// The sync cases on their own: any sync after the first open fails (a
/// journal append, a checkpoint's database sync, the closing
/// checkpoint), the engine refuses writes (poisoned, typed), and both a
/// same-boot reopen and a power loss after it keep every acknowledged
/// write. Without the rewrite of the database file at such a reopen
/// (`rewrite_through_page_cache` in `src/store/redb/open.rs`) the power loss
/// after the reopen finds a database whose pages never reached the disk.
#[test]
fn a_failed_checkpoint_sync_poisons_and_recovery_does_not_trust_the_page_cache() {
    // Find a sync of the database file after setup: the syncs of a clean
    // run, minus those of the journal (which the journal's appends make).
    let clean = FaultFs::new();
    let clock = ManualClock::new(T0);
    workload(&clean, &clock).expect("clean run");
    let syncs = clean.sync_points();
    let first = first_point_after_open();
    let mut found = false;
    for &point in syncs.iter().rev().filter(|&&p| p >= first) {
        let fs = FaultFs::new();
        fs.inject(point, Fault::Eio);
        let acked = workload(&fs, &clock).expect("open");
        // Failed in an operation (poisoned from then on) or in the closing
        // checkpoint (nothing told, the journal kept).
        found |= acked.poisoned;
        assert_eq!(fs.sync_retries(), 0);
        let engine = Engine::open_with_fs(db_path(), config(&clock), &fs, JOURNAL_LIMIT)
            .expect("same-boot reopen");
        check(&engine, &acked, "same-boot reopen");
        drop(engine);
        let dir = tempfile::tempdir().unwrap();
        check(
            &open_durable(&fs, dir.path(), &clock),
            &acked,
            "power loss after the same-boot reopen",
        );
    }
    assert!(found, "no injected sync failure poisoned the engine");
}
