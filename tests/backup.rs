//! Online backup (`Engine::backup`) and the offline check (`seatbook::check`).
//!
//! Backup: writers reserve and confirm on several threads while a backup
//! runs; the copy, opened as an engine of its own (a restore), audits
//! clean, holds every booking acknowledged before the backup began, and
//! holds a prefix of each writer's bookings (no partial confirm, no gap).
//!
//! Check: a healthy closed database, one open by a live engine, a missing
//! file, a crash image (files copied by hand from a live engine) with and
//! without a torn journal tail, and a damaged database file.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Barrier, Mutex};
use std::time::{Duration, Instant};

use seatbook::{
    BackupError, CheckError, Durability, Engine, ErrorCode, HasErrorCode, JournalFile, ManualClock,
    QueryError, Recovery, check,
};
use seatbook_testkit::fixtures::{EVENT_ORIGIN, T0, USER_PASSWORD, admin};
use seatbook_testkit::invariants::assert_audit_clean;
use seatbook_testkit::reliability::{app_with_seats, config, open, price, seat_id};
use seatbook_testkit::{fixtures, reliability};

const WRITERS: usize = 4;

fn journal_of(db: &Path) -> PathBuf {
    let mut name = db.as_os_str().to_owned();
    name.push("-journal");
    PathBuf::from(name)
}

/// One writer's acknowledged bookings, in the order it made them, each
/// with the instant the confirm started and returned.
#[derive(Default)]
struct Acks {
    bookings: Vec<(String, Instant, Instant)>,
}

#[test]
#[allow(clippy::too_many_lines)] // one story: book, back up while booking, restore, compare
fn backup_under_concurrent_writers_restores_clean_with_a_consistent_prefix() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("live.redb");
    let clock = ManualClock::new(T0);
    let engine = Arc::new(open(&path, &clock, Durability::Full));
    let admin = admin(&engine);
    // Enough seats that copying them takes a while next to one confirm.
    const SEATS: usize = 20_000;
    let created = app_with_seats(&admin, "event-app", EVENT_ORIGIN, 10_000);
    let more: Vec<_> = (10_000..SEATS)
        .map(|i| fixtures::seat(&seat_id(i), price(i)))
        .collect();
    admin
        .create_seats("event-app", reliability::ENTITY, &more)
        .unwrap();
    let key = created.api_key.expose().to_owned();

    let stop = Arc::new(AtomicBool::new(false));
    let warmed = Arc::new(Barrier::new(WRITERS + 1));
    let acks: Vec<Arc<Mutex<Acks>>> = (0..WRITERS).map(|_| Arc::default()).collect();
    let writers: Vec<_> = (0..WRITERS)
        .map(|w| {
            let (engine, key, stop, warmed, acks) = (
                Arc::clone(&engine),
                key.clone(),
                Arc::clone(&stop),
                Arc::clone(&warmed),
                Arc::clone(&acks[w]),
            );
            std::thread::spawn(move || {
                let app = engine.app("event-app", &key, EVENT_ORIGIN).unwrap();
                let token = app
                    .signup(&format!("writer{w}@backup.test"), USER_PASSWORD)
                    .unwrap();
                let me = app.user(token.expose()).unwrap();
                // Writer w books seat pairs (2k, 2k+1) for k = w, w+4, ...
                let mut k = w;
                let mut n = 0;
                while 2 * k + 1 < SEATS {
                    if n == 5 {
                        warmed.wait();
                    }
                    if n > 5 && stop.load(Ordering::Acquire) {
                        break;
                    }
                    let (a, b) = (seat_id(2 * k), seat_id(2 * k + 1));
                    let started = Instant::now();
                    let hold = app.reserve(&me, &[&a, &b], None).unwrap();
                    let booking = app
                        .confirm(
                            &me,
                            hold.token.expose(),
                            &format!("pay_{w}_{n}"),
                            price(2 * k) + price(2 * k + 1),
                        )
                        .unwrap();
                    acks.lock().unwrap().bookings.push((
                        booking.booking_id,
                        started,
                        Instant::now(),
                    ));
                    k += WRITERS;
                    n += 1;
                }
            })
        })
        .collect();

    // Every writer has 5 acknowledged bookings and keeps going.
    warmed.wait();
    let acked_before: Vec<Vec<String>> = acks
        .iter()
        .map(|a| {
            a.lock()
                .unwrap()
                .bookings
                .iter()
                .map(|b| b.0.clone())
                .collect()
        })
        .collect();
    let backup = dir.path().join("copy.redb");
    let began = Instant::now();
    engine.backup(&backup).unwrap();
    let ended = Instant::now();
    stop.store(true, Ordering::Release);
    for w in writers {
        w.join().unwrap();
    }
    let acks: Vec<Vec<(String, Instant, Instant)>> = acks
        .iter()
        .map(|a| std::mem::take(&mut a.lock().unwrap().bookings))
        .collect();

    // Writers were not stopped by the backup: confirms began and were
    // acknowledged while it ran.
    let during: Vec<Duration> = acks
        .iter()
        .flatten()
        .filter(|(_, s, e)| *s >= began && *e <= ended)
        .map(|(_, s, e)| *e - *s)
        .collect();
    let overlapping_max = acks
        .iter()
        .flatten()
        .filter(|(_, s, e)| *e >= began && *s <= ended)
        .map(|(_, s, e)| *e - *s)
        .max()
        .unwrap_or_default();
    let outside_max = acks
        .iter()
        .flatten()
        .filter(|(_, s, e)| *e < began || *s > ended)
        .map(|(_, s, e)| *e - *s)
        .max()
        .unwrap_or_default();
    eprintln!(
        "backup of {SEATS} seats took {:?}; {} reserve+confirm completed inside it; \
         longest reserve+confirm overlapping it {overlapping_max:?}, longest outside it {outside_max:?}",
        ended - began,
        during.len()
    );
    assert!(
        !during.is_empty(),
        "no confirm completed while the backup ran"
    );
    assert_audit_clean(&engine, "live engine");
    drop(admin);
    drop(engine);

    // The copy carries its own empty journal; restoring is opening it.
    assert!(journal_of(&backup).exists());
    let restored = open(&backup, &clock, Durability::Full);
    assert_audit_clean(&restored, "restored copy");
    let app = restored.app("event-app", &key, EVENT_ORIGIN).unwrap();
    let mut in_copy = 0;
    for (w, mine) in acks.iter().enumerate() {
        let present: Vec<bool> = mine
            .iter()
            .map(|(id, _, _)| match app.booking(id) {
                Ok(b) => {
                    assert_eq!(b.seat_ids.len(), 2);
                    true
                }
                Err(QueryError::BookingNotFound) => false,
                Err(e) => panic!("booking {id}: {e}"),
            })
            .collect();
        // Acknowledged before the backup began: in the copy.
        for id in &acked_before[w] {
            let i = mine.iter().position(|b| &b.0 == id).unwrap();
            assert!(
                present[i],
                "writer {w}: booking {id} acknowledged before the backup is missing"
            );
        }
        // A prefix: once one is missing, all later ones are.
        let k = present.iter().take_while(|p| **p).count();
        assert!(
            present[k..].iter().all(|p| !p),
            "writer {w}: the copy holds booking {k}+ but not an earlier one"
        );
        in_copy += k;
    }
    let stats = restored.audit().unwrap();
    assert_eq!(
        stats.live_bookings, in_copy as u64,
        "no booking outside the writers' lists"
    );
    assert_eq!(stats.booked_seats, 2 * in_copy as u64);
}

#[test]
fn backup_refuses_existing_targets_and_the_engine_own_files() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("live.redb");
    let clock = ManualClock::new(T0);
    let engine = open(&path, &clock, Durability::Full);
    let live = std::fs::read(&path).unwrap();

    let taken = dir.path().join("taken.redb");
    std::fs::write(&taken, b"precious").unwrap();
    let with_journal = dir.path().join("orphan.redb");
    std::fs::write(journal_of(&with_journal), b"stray journal").unwrap();
    for target in [&path, &journal_of(&path), &taken, &with_journal] {
        let err = engine.backup(target).unwrap_err();
        assert!(
            matches!(err, BackupError::TargetExists),
            "{target:?}: {err}"
        );
        assert_eq!(err.code(), ErrorCode::BackupTargetExists);
        assert_eq!(ErrorCode::BackupTargetExists as u32, 56);
    }
    assert_eq!(std::fs::read(&taken).unwrap(), b"precious");
    assert!(!with_journal.exists());
    assert_eq!(std::fs::read(&path).unwrap(), live);

    // A directory that does not exist: an error, and nothing left behind.
    let nowhere = dir.path().join("missing").join("copy.redb");
    let err = engine.backup(&nowhere).unwrap_err();
    assert!(matches!(err, BackupError::Storage(_)), "{err}");
    let mut names: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            "live.redb",
            "live.redb-journal",
            "orphan.redb-journal",
            "taken.redb"
        ]
    );

    // A backup succeeds once, then its target exists.
    let copy = dir.path().join("copy.redb");
    engine.backup(&copy).unwrap();
    assert!(matches!(
        engine.backup(&copy),
        Err(BackupError::TargetExists)
    ));
    let names = std::fs::read_dir(dir.path()).unwrap().count();
    assert_eq!(
        names, 6,
        "the copy and its journal, no temporary file left next to them"
    );
}

/// A database with one app, seats and a few bookings, closed.
fn closed_database(dir: &Path) -> (PathBuf, ManualClock) {
    let path = dir.join("shop.redb");
    let clock = ManualClock::new(T0);
    let engine = open(&path, &clock, Durability::Full);
    book_some(&engine, 3);
    (path, clock)
}

/// Creates an app and books `n` seat pairs as one user.
fn book_some(engine: &Engine, n: usize) {
    let admin = admin(engine);
    let key = app_with_seats(&admin, "event-app", EVENT_ORIGIN, 64).api_key;
    let app = engine.app("event-app", key.expose(), EVENT_ORIGIN).unwrap();
    let token = app.signup("buyer@check.test", USER_PASSWORD).unwrap();
    let me = app.user(token.expose()).unwrap();
    for i in 0..n {
        let free: Vec<String> = app
            .list_seats(reliability::ENTITY, seatbook::SeatFilter::AvailableOnly)
            .unwrap()
            .into_iter()
            .take(2)
            .map(|s| s.seat_id)
            .collect();
        let ids: Vec<&str> = free.iter().map(String::as_str).collect();
        let total: u64 = free.iter().map(|s| price(s[1..].parse().unwrap())).sum();
        let hold = app.reserve(&me, &ids, None).unwrap();
        app.confirm(&me, hold.token.expose(), &format!("pay_check_{i}"), total)
            .unwrap();
    }
}

#[test]
fn check_reports_a_healthy_closed_database_and_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let (path, _clock) = closed_database(dir.path());
    let before = (
        std::fs::read(&path).unwrap(),
        std::fs::read(journal_of(&path)).unwrap(),
    );
    let report = check(&path).unwrap();
    assert_eq!(report.recovery, Recovery::AsIs);
    assert!(matches!(report.journal, JournalFile::Present { .. }));
    assert!(
        !report.replays_journal,
        "a clean close leaves nothing to replay"
    );
    assert_eq!(report.open_error, None);
    let audit = report.audit.as_ref().unwrap();
    assert!(audit.is_clean(), "{:?}", audit.violations);
    assert_eq!(audit.live_bookings, 3);
    assert!(report.is_healthy());
    let after = (
        std::fs::read(&path).unwrap(),
        std::fs::read(journal_of(&path)).unwrap(),
    );
    assert!(before == after, "the check changed the operator's files");
}

#[test]
fn check_refuses_a_live_database_and_a_missing_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("live.redb");
    let clock = ManualClock::new(T0);
    let engine = open(&path, &clock, Durability::Full);
    let err = check(&path).unwrap_err();
    assert!(matches!(err, CheckError::DatabaseOpen), "{err}");
    assert_eq!(err.code(), ErrorCode::DatabaseAlreadyOpen);
    drop(engine);
    assert!(check(&path).unwrap().is_healthy());

    let err = check(dir.path().join("nothing.redb")).unwrap_err();
    assert!(matches!(err, CheckError::DatabaseNotFound), "{err}");
    assert_eq!(err.code(), ErrorCode::DatabaseNotFound);
    let err = check(dir.path()).unwrap_err();
    assert!(
        matches!(err, CheckError::DatabaseNotFound),
        "a directory: {err}"
    );
}

/// Copies a live engine's files by hand: what the README says not to do
/// for a backup, and a faithful image of a crash at that moment.
fn crash_image(dir: &Path) -> PathBuf {
    let path = dir.join("live.redb");
    let clock = ManualClock::new(T0);
    let engine = open(&path, &clock, Durability::Full);
    book_some(&engine, 4);
    let image = dir.join("image.redb");
    std::fs::copy(&path, &image).unwrap();
    std::fs::copy(journal_of(&path), journal_of(&image)).unwrap();
    drop(engine);
    image
}

#[test]
fn check_of_a_crash_image_replays_its_journal() {
    let dir = tempfile::tempdir().unwrap();
    let image = crash_image(dir.path());
    let report = check(&image).unwrap();
    assert_eq!(report.recovery, Recovery::AsIs, "{:?}", report.open_error);
    assert!(
        report.replays_journal,
        "the bookings were only in the journal"
    );
    let audit = report.audit.unwrap();
    assert!(audit.is_clean(), "{:?}", audit.violations);
    assert_eq!(audit.live_bookings, 4);
}

#[test]
fn check_of_a_torn_journal_tail_is_recoverable_without_the_last_commit() {
    let dir = tempfile::tempdir().unwrap();
    let image = crash_image(dir.path());
    // Tear the last group: flip the journal's last non-zero byte (the
    // file is zero-filled past its end).
    let journal = journal_of(&image);
    let mut bytes = std::fs::read(&journal).unwrap();
    let last = bytes.iter().rposition(|b| *b != 0).unwrap();
    bytes[last] ^= 0xff;
    std::fs::write(&journal, &bytes).unwrap();

    let report = check(&image).unwrap();
    assert_eq!(report.recovery, Recovery::AsIs, "{:?}", report.open_error);
    assert!(report.replays_journal);
    let audit = report.audit.unwrap();
    assert!(audit.is_clean(), "{:?}", audit.violations);
    assert_eq!(
        audit.live_bookings, 3,
        "the torn last confirm is dropped whole"
    );
}

#[test]
fn check_of_a_damaged_database_file_is_not_recoverable() {
    let dir = tempfile::tempdir().unwrap();
    let (path, _clock) = closed_database(dir.path());
    let len = std::fs::metadata(&path).unwrap().len() as usize;
    std::fs::write(&path, vec![0xA5; len]).unwrap();
    let report = check(&path).unwrap();
    assert_eq!(report.recovery, Recovery::NotRecoverable);
    assert!(report.open_error.is_some());
    assert!(report.audit.is_none());
    assert!(!report.is_healthy());
}

#[test]
fn a_backup_checks_healthy_with_its_own_empty_journal() {
    let dir = tempfile::tempdir().unwrap();
    let (path, clock) = closed_database(dir.path());
    let engine = open(&path, &clock, Durability::Full);
    let copy = dir.path().join("copy.redb");
    engine.backup(&copy).unwrap();
    let report = check(&copy).unwrap();
    assert!(matches!(report.journal, JournalFile::Present { .. }));
    assert!(!report.replays_journal);
    assert!(report.is_healthy(), "{report:?}");
    assert_eq!(report.audit.unwrap().live_bookings, 3);
}

/// The copy is a database of its own: the source's journal put beside it
/// (an operator restoring by hand, say) is refused, never replayed into it.
#[test]
fn the_source_journal_is_never_replayed_into_a_backup_copy() {
    let dir = tempfile::tempdir().unwrap();
    let (path, clock) = closed_database(dir.path());
    let engine = open(&path, &clock, Durability::Full);
    let copy = dir.path().join("copy.redb");
    engine.backup(&copy).unwrap();
    drop(engine);
    std::fs::remove_file(journal_of(&copy)).unwrap();
    std::fs::copy(journal_of(&path), journal_of(&copy)).unwrap();
    let refused = seatbook::Engine::open(&copy, config(&clock, Durability::Full));
    assert!(
        matches!(
            refused,
            Err(seatbook::OpenError::JournalMismatch(
                seatbook::JournalMismatch::Foreign
            ))
        ),
        "{:?}",
        refused.err()
    );
}

/// The C ABI: backup and check through the exported functions, with
/// NULLs, a wrong handle kind, an out-of-range index and free(NULL).
#[test]
#[allow(clippy::too_many_lines)]
fn c_abi_backup_check_and_report_accessors() {
    use std::ffi::{CStr, CString, c_char};
    use std::ptr::{null, null_mut};

    use seatbook::ffi::seatbook_status::{
        SEATBOOK_BACKUP_TARGET_EXISTS, SEATBOOK_DATABASE_ALREADY_OPEN, SEATBOOK_DATABASE_NOT_FOUND,
        SEATBOOK_INVALID_HANDLE, SEATBOOK_INVALID_INPUT, SEATBOOK_NULL_PARAMETER, SEATBOOK_OK,
    };
    use seatbook::ffi::*;

    let dir = tempfile::tempdir().unwrap();
    let c = |p: &Path| CString::new(p.to_str().unwrap()).unwrap();
    let (path, copy) = (dir.path().join("c.redb"), dir.path().join("c-copy.redb"));
    let fast = seatbook_argon2_params {
        memory_kib: 8,
        iterations: 1,
        parallelism: 1,
    };
    // SAFETY: every pointer passed is valid or deliberately NULL, every
    // handle is live until freed once.
    unsafe {
        let mut hash: *mut c_char = null_mut();
        assert_eq!(
            seatbook_hash_password(c"admin-password".as_ptr(), &fast, &raw mut hash),
            SEATBOOK_OK
        );
        let mut cfg: seatbook_config = std::mem::zeroed();
        cfg.admin_email = c"admin@example.com".as_ptr();
        cfg.admin_password_hash = hash;
        cfg.admin_jwt_secret = c"an-admin-secret-of-at-least-32-bytes!!".as_ptr();
        cfg.user_jwt_secret = c"a-user-secret-of-at-least-32-bytes!!!!".as_ptr();
        cfg.argon2 = fast;
        cfg.use_simulated_payments = true;
        let mut engine = null_mut();
        assert_eq!(
            seatbook_engine_open(c(&path).as_ptr(), &cfg, &raw mut engine),
            SEATBOOK_OK
        );
        seatbook_string_free(hash);

        assert_eq!(
            seatbook_engine_backup(null(), c(&copy).as_ptr()),
            SEATBOOK_NULL_PARAMETER
        );
        assert_eq!(
            seatbook_engine_backup(engine, null()),
            SEATBOOK_NULL_PARAMETER
        );
        assert_eq!(
            seatbook_engine_backup(engine, c(&copy).as_ptr()),
            SEATBOOK_OK
        );
        assert_eq!(
            seatbook_engine_backup(engine, c(&copy).as_ptr()),
            SEATBOOK_BACKUP_TARGET_EXISTS
        );
        assert_eq!(
            seatbook_engine_backup(engine, c(&path).as_ptr()),
            SEATBOOK_BACKUP_TARGET_EXISTS
        );

        let mut report = null_mut();
        assert_eq!(
            seatbook_check(c(&path).as_ptr(), &raw mut report),
            SEATBOOK_DATABASE_ALREADY_OPEN
        );
        assert!(report.is_null());
        assert_eq!(
            seatbook_check(c(&dir.path().join("none.redb")).as_ptr(), &raw mut report),
            SEATBOOK_DATABASE_NOT_FOUND
        );
        assert_eq!(
            seatbook_check(null(), &raw mut report),
            SEATBOOK_NULL_PARAMETER
        );
        assert_eq!(
            seatbook_check(c(&copy).as_ptr(), null_mut()),
            SEATBOOK_NULL_PARAMETER
        );
        assert_eq!(
            seatbook_check(c(&copy).as_ptr(), &raw mut report),
            SEATBOOK_OK
        );
        assert!(!report.is_null());

        let mut view = std::mem::zeroed::<seatbook_check_view>();
        assert_eq!(
            seatbook_check_report_get(report, &raw mut view),
            SEATBOOK_OK
        );
        assert_eq!(view.recovery, seatbook_recovery::SEATBOOK_RECOVERY_AS_IS);
        assert!(view.journal_present && !view.replays_journal && view.open_error.is_null());
        assert!(view.audited && view.audit.clean && view.healthy);
        assert_eq!(
            seatbook_check_report_get(report, null_mut()),
            SEATBOOK_NULL_PARAMETER
        );
        assert_eq!(
            seatbook_check_report_get(null(), &raw mut view),
            SEATBOOK_NULL_PARAMETER
        );
        // An engine handle is not a report.
        assert_eq!(
            seatbook_check_report_get(engine.cast(), &raw mut view),
            SEATBOOK_INVALID_HANDLE
        );
        let mut line: *const c_char = c"stale".as_ptr();
        assert_eq!(
            seatbook_check_report_violation(report, 0, &raw mut line),
            SEATBOOK_INVALID_INPUT,
            "a clean audit has no violation 0"
        );
        assert!(line.is_null());
        seatbook_check_report_free(report);
        seatbook_check_report_free(null_mut());
        seatbook_engine_close(engine);

        // A damaged file: a report, not a failure.
        let damaged = dir.path().join("damaged.redb");
        std::fs::write(&damaged, vec![0xA5; 8192]).unwrap();
        let mut report = null_mut();
        assert_eq!(
            seatbook_check(c(&damaged).as_ptr(), &raw mut report),
            SEATBOOK_OK
        );
        let mut view = std::mem::zeroed::<seatbook_check_view>();
        assert_eq!(
            seatbook_check_report_get(report, &raw mut view),
            SEATBOOK_OK
        );
        assert_eq!(
            view.recovery,
            seatbook_recovery::SEATBOOK_RECOVERY_NOT_RECOVERABLE
        );
        assert!(!view.audited && !view.healthy);
        assert!(!CStr::from_ptr(view.open_error).to_bytes().is_empty());
        seatbook_check_report_free(report);
    }
}
