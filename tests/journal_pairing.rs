//! The database and its journal are a pair (docs/design.md, invariant 10).
//!
//! Recovery applies only what belongs to this database and is newer than
//! it: a journal of another database, of an older generation, of a newer
//! one, a missing journal or one with a damaged group followed by valid
//! ones is refused at open with a typed [`OpenError`] and nothing is
//! replayed; `Config::discard_unmatched_journal` sets such a journal aside
//! explicitly. Creating a database is atomic, and its stale temporary files
//! are cleaned up.

use std::path::{Path, PathBuf};

use seatbook::{
    BookingStatus, Durability, Engine, ErrorCode, HasErrorCode, JournalMismatch, ManualClock,
    OpenError,
};
use seatbook_testkit::fixtures;
use seatbook_testkit::fixtures::{EVENT_ORIGIN, Fixture, config, seat_id};

fn full(clock: &ManualClock) -> seatbook::Config {
    let mut c = config(clock);
    c.durability = Durability::Full;
    c
}

fn discarding(clock: &ManualClock) -> seatbook::Config {
    let mut c = full(clock);
    c.discard_unmatched_journal = true;
    c
}

fn journal_of(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push("-journal");
    PathBuf::from(name)
}

/// Files in `dir` whose name starts with `prefix`.
fn files_starting_with(dir: &Path, prefix: &str) -> Vec<String> {
    let mut out: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(prefix))
        .collect();
    out.sort();
    out
}

/// A durable engine with one app of four seats, closed again; returns the
/// fixture's parts and the app's key.
fn durable_fixture() -> (tempfile::TempDir, ManualClock, String) {
    let f = Fixture::with(|c| c.durability = Durability::Full);
    let key = f.create_app("event-app", EVENT_ORIGIN).api_key;
    f.admin()
        .create_seats("event-app", "E1", &fixtures::seats("E1", 4))
        .unwrap();
    let Fixture { dir, clock, engine } = f;
    drop(engine);
    (dir, clock, key.expose().to_owned())
}

/// The scenario: an operator puts an older `<file>-journal` (left
/// by an earlier crash) back beside a newer database. Replaying it would
/// bring a cancelled booking back to life, and its seat would be claimed
/// by two live bookings. It must be refused, and nothing changed.
#[test]
fn an_older_journal_put_back_beside_a_newer_database_is_refused() {
    let (dir, clock, key) = durable_fixture();
    let path = dir.path().join("db.redb");
    let seat = seat_id("E1", 0);

    let engine = Engine::open(&path, full(&clock)).unwrap();
    let app = engine.app("event-app", &key, EVENT_ORIGIN).unwrap();
    let token = app.signup("alice@x.io", "alice-password").unwrap();
    let alice = app.user(token.expose()).unwrap();
    let hold = app.reserve(&alice, &[&*seat], None).unwrap();
    let first = app
        .confirm(&alice, hold.token.expose(), "pay-1", hold.info.total_minor)
        .unwrap();
    // The journal as an earlier crash would have left it: it holds the
    // first booking's group.
    let old_journal = std::fs::read(journal_of(&path)).unwrap();
    drop(app);
    drop(engine);

    // Later: the booking is cancelled and the seat sold to someone else.
    let engine = Engine::open(&path, full(&clock)).unwrap();
    let app = engine.app("event-app", &key, EVENT_ORIGIN).unwrap();
    app.cancel_booking(&first.booking_id).unwrap();
    let token = app.signup("bob@x.io", "bob-password").unwrap();
    let bob = app.user(token.expose()).unwrap();
    let hold = app.reserve(&bob, &[&*seat], None).unwrap();
    let second = app
        .confirm(&bob, hold.token.expose(), "pay-2", hold.info.total_minor)
        .unwrap();
    drop(app);
    drop(engine);

    std::fs::write(journal_of(&path), &old_journal).unwrap();
    let err = Engine::open(&path, full(&clock)).unwrap_err();
    assert!(
        matches!(
            err,
            OpenError::JournalMismatch(JournalMismatch::Stale { .. })
        ),
        "{err:?}"
    );
    assert_eq!(err.code(), ErrorCode::JournalMismatch);
    // Refused before any write: the journal is as it was (the database's
    // rows are checked below; redb's own header may note the open).
    assert!(std::fs::read(journal_of(&path)).unwrap() == old_journal);

    // The host discards the stale journal explicitly: it is set aside,
    // never replayed, and the newer state stands.
    let engine = Engine::open(&path, discarding(&clock)).unwrap();
    let app = engine.app("event-app", &key, EVENT_ORIGIN).unwrap();
    assert_eq!(
        app.booking(&first.booking_id).unwrap().status,
        BookingStatus::Cancelled
    );
    assert_eq!(
        app.booking(&second.booking_id).unwrap().status,
        BookingStatus::Success
    );
    let report = engine.audit().unwrap();
    assert!(report.is_clean(), "{report:?}");
    assert_eq!(report.double_booked_seats, 0);
    let aside = files_starting_with(dir.path(), "db.redb-journal.discarded-");
    assert_eq!(aside.len(), 1, "{aside:?}");
    assert!(std::fs::read(dir.path().join(&aside[0])).unwrap() == old_journal);
}

/// The journal of another database (same generations, other id) is
/// refused, even when its generation would follow.
#[test]
fn the_journal_of_another_database_is_refused() {
    let (dir_a, clock, _) = durable_fixture();
    let (dir_b, _, _) = durable_fixture();
    let a = dir_a.path().join("db.redb");
    let b = dir_b.path().join("db.redb");
    // Only its header block: a refused journal must not even be
    // zero-filled to its size.
    let foreign = std::fs::read(journal_of(&b)).unwrap()[..4096].to_vec();
    std::fs::write(journal_of(&a), &foreign).unwrap();
    let err = Engine::open(&a, full(&clock)).unwrap_err();
    assert!(
        matches!(err, OpenError::JournalMismatch(JournalMismatch::Foreign)),
        "{err:?}"
    );
    assert!(
        std::fs::read(journal_of(&a)).unwrap() == foreign,
        "a refused journal changed"
    );
}

/// A database put back to an older copy beside its current journal: the
/// journal continues a generation the database never reached.
#[test]
fn a_journal_newer_than_its_database_is_refused() {
    let (dir, clock, _) = durable_fixture();
    let path = dir.path().join("db.redb");
    let old_database = std::fs::read(&path).unwrap();
    // Two more opens: two more checkpoints and generations.
    drop(Engine::open(&path, full(&clock)).unwrap());
    drop(Engine::open(&path, full(&clock)).unwrap());
    std::fs::write(&path, old_database).unwrap();
    let err = Engine::open(&path, full(&clock)).unwrap_err();
    assert!(
        matches!(
            err,
            OpenError::JournalMismatch(JournalMismatch::Newer { .. })
        ),
        "{err:?}"
    );
}

#[test]
fn a_missing_journal_is_refused_unless_discarding_is_asked_for() {
    let (dir, clock, key) = durable_fixture();
    let path = dir.path().join("db.redb");
    std::fs::remove_file(journal_of(&path)).unwrap();
    let err = Engine::open(&path, full(&clock)).unwrap_err();
    assert!(matches!(err, OpenError::JournalMissing), "{err:?}");
    assert_eq!(err.code(), ErrorCode::JournalMissing);
    assert!(
        !journal_of(&path).exists(),
        "a refused open creates nothing"
    );

    let engine = Engine::open(&path, discarding(&clock)).unwrap();
    assert!(journal_of(&path).exists(), "a new journal was created");
    assert!(engine.app("event-app", &key, EVENT_ORIGIN).is_ok());
    drop(engine);
    // From then on the pair opens normally.
    drop(Engine::open(&path, full(&clock)).unwrap());
}

/// Temporary files of a creation that crashed (a database file that redb
/// never finished, a half-written journal) neither block nor survive the
/// next open.
#[test]
fn stale_temporary_files_of_a_crashed_creation_are_cleaned_up() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::default();
    let path = dir.path().join("db.redb");
    std::fs::write(dir.path().join("db.redb.creating"), [0xAB; 100]).unwrap();
    std::fs::write(dir.path().join("db.redb-journal.creating"), [0xCD; 100]).unwrap();
    drop(Engine::open(&path, full(&clock)).unwrap());
    assert_eq!(
        files_starting_with(dir.path(), "db.redb"),
        ["db.redb", "db.redb-journal"]
    );
    drop(Engine::open(&path, full(&clock)).unwrap());
}

/// A journal whose database is gone (deleted, or a creation that crashed
/// after the journal's rename) is reused only when it holds nothing.
#[test]
fn an_empty_journal_without_database_is_reused_and_one_with_writes_refused() {
    let (dir, clock, _) = durable_fixture();
    let path = dir.path().join("db.redb");
    // After a clean close the journal holds no group.
    std::fs::remove_file(&path).unwrap();
    drop(Engine::open(&path, full(&clock)).unwrap());

    // Now one holding an acknowledged write (copied while the engine is
    // live, as a crash would leave it).
    let f = Fixture::with(|c| c.durability = Durability::Full);
    let app = f.app_with_seats("event-app", EVENT_ORIGIN, "E1", 1);
    let user = f.buyer(&app, "carol@x.io");
    app.reserve(&user, &[&*seat_id("E1", 0)], None).unwrap();
    let journal = std::fs::read(journal_of(&f.path())).unwrap();
    drop(app);
    let path = f.path();
    let Fixture { dir, clock, engine } = f;
    drop(engine);
    std::fs::remove_file(&path).unwrap();
    std::fs::write(journal_of(&path), &journal).unwrap();
    let err = Engine::open(&path, full(&clock)).unwrap_err();
    assert!(
        matches!(
            err,
            OpenError::JournalMismatch(JournalMismatch::WithoutDatabase)
        ),
        "{err:?}"
    );
    assert!(!path.exists(), "a refused open creates no database");
    assert!(std::fs::read(journal_of(&path)).unwrap() == journal);
    drop(dir);
}

/// A damaged group with intact ones behind it is corruption, not a torn
/// tail: refused at open, nothing replayed (and with the host's explicit
/// option, set aside).
#[test]
fn a_damaged_group_followed_by_intact_ones_is_refused_as_corruption() {
    let (dir, clock, key) = durable_fixture();
    let path = dir.path().join("db.redb");
    let engine = Engine::open(&path, full(&clock)).unwrap();
    // What a disk holds for sure from here on.
    let synced_at_open = std::fs::read(&path).unwrap();
    let app = engine.app("event-app", &key, EVENT_ORIGIN).unwrap();
    let token = app.signup("dave@x.io", "dave-password").unwrap();
    let dave = app.user(token.expose()).unwrap();
    for i in 0..3 {
        app.reserve(&dave, &[&*seat_id("E1", i)], None).unwrap();
    }
    let mut journal = std::fs::read(journal_of(&path)).unwrap();
    drop(app);
    drop(engine);
    // The first group after the header block (the signup's) is damaged;
    // the reserves' groups behind it are intact.
    journal[4096 + 40] ^= 0xFF;
    std::fs::write(journal_of(&path), &journal).unwrap();
    std::fs::write(&path, &synced_at_open).unwrap();

    let err = Engine::open(&path, full(&clock)).unwrap_err();
    assert!(
        matches!(err, OpenError::JournalCorrupted { offset: 4096 }),
        "{err:?}"
    );
    assert_eq!(err.code(), ErrorCode::JournalCorrupted);

    let engine = Engine::open(&path, discarding(&clock)).unwrap();
    let app = engine.app("event-app", &key, EVENT_ORIGIN).unwrap();
    assert!(
        app.login("dave@x.io", "dave-password").is_err(),
        "nothing of the corrupt journal was replayed"
    );
    assert_eq!(
        files_starting_with(dir.path(), "db.redb-journal.discarded-").len(),
        1
    );
}

/// Two engines racing to create the same database: one creates it whole,
/// the other is refused as already open, never a second database renamed
/// over the first; leftovers of the loser go at the next open.
#[test]
fn racing_creations_make_one_whole_database() {
    for _ in 0..10 {
        let dir = tempfile::tempdir().unwrap();
        let clock = ManualClock::default();
        let path = dir.path().join("db.redb");
        let barrier = std::sync::Barrier::new(2);
        let results: Vec<Result<Engine, OpenError>> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..2)
                .map(|_| {
                    s.spawn(|| {
                        barrier.wait();
                        Engine::open(&path, full(&clock))
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        let opened: Vec<&Engine> = results.iter().filter_map(|r| r.as_ref().ok()).collect();
        assert_eq!(opened.len(), 1, "{results:?}");
        for r in &results {
            if let Err(e) = r {
                assert!(matches!(e, OpenError::DatabaseAlreadyOpen), "{e:?}");
            }
        }
        let engine = opened[0];
        let admin = engine
            .admin(
                engine
                    .admin_login(fixtures::ADMIN_EMAIL, fixtures::ADMIN_PASSWORD)
                    .unwrap()
                    .expose(),
            )
            .unwrap();
        admin
            .create_app(&seatbook::NewApp {
                app_id: "event-app",
                name: "event-app",
                allowed_origins: &[EVENT_ORIGIN],
            })
            .unwrap();
        drop(admin);
        drop(results);
        // The winner's database is the one in place.
        let engine = Engine::open(&path, full(&clock)).unwrap();
        let token = engine
            .admin_login(fixtures::ADMIN_EMAIL, fixtures::ADMIN_PASSWORD)
            .unwrap();
        let again = engine
            .admin(token.expose())
            .unwrap()
            .create_app(&seatbook::NewApp {
                app_id: "event-app",
                name: "event-app",
                allowed_origins: &[EVENT_ORIGIN],
            });
        assert!(
            matches!(again, Err(seatbook::AdminError::AppAlreadyExists)),
            "{again:?}"
        );
        drop(engine);
        assert_eq!(
            files_starting_with(dir.path(), "db.redb"),
            ["db.redb", "db.redb-journal"]
        );
    }
}
