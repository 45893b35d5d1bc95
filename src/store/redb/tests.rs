//! Tests of the redb store as a whole: replay, creation, checkpoints,
//! poisoning, indexes.

use std::panic::{self, AssertUnwindSafe};
use std::path::Path;
use std::sync::atomic::Ordering;

use redb::{Database, ReadableDatabase, ReadableTable, ReadableTableMetadata, TableDefinition};
use serde::Serialize;

use super::open::CRASH_AT;
use super::records::{SeatHead, decode_borrowed, decode_user, encode, entity_prefix, prefix_end};
use super::schema::{
    ARCHIVED_ENTITIES, ARCHIVED_SEATS, ENTITIES, META, PENDING_USER_BOOKINGS,
    PENDING_USER_BOOKINGS_MAX, SCHEMA_VERSION_KEY,
};
use super::{RedbStore, fs, journal};
use crate::clock::UnixMillis;
use crate::error::{OpenError, StorageError};
use crate::model::{BookingStatus, ReservationStatus, SeatAttributes, UserId};
use crate::store::{
    AppRecord, BookingRecord, Durability, EntityRecord, ReservationRecord, SeatRecord, SeatStatus,
    UserRecord,
};

#[test]
fn seat_head_decodes_the_leading_fields_of_a_seat_record() {
    let rec = SeatRecord {
        entity_id: "E1".into(),
        price_minor: 12_345,
        currency: *b"EUR",
        attributes: SeatAttributes {
            section: Some("A".into()),
            row: None,
            category: Some("VIP".into()),
        },
        status: SeatStatus::Booked,
        booked_by: Some(UserId(9)),
        booking_id: Some("BK-1".into()),
    };
    let bytes = encode(&rec).unwrap();
    let head: SeatHead<'_> = decode_borrowed(&bytes).unwrap();
    assert_eq!(head.price_minor, 12_345);
    assert_eq!(head.currency, *b"EUR");
    assert_eq!(head.status, SeatStatus::Booked);
}

#[test]
fn prefix_range_covers_exactly_the_prefix() {
    let p = entity_prefix("app", "E1");
    let end = prefix_end(&p);
    let inside = format!("{p}zzzz");
    let sibling = entity_prefix("app", "E10");
    assert!(p.as_str() <= inside.as_str() && inside.as_str() < end.as_str());
    assert!(!(p.as_str() <= sibling.as_str() && sibling.as_str() < end.as_str()));
}

pub(super) fn seat(entity: &str, status: SeatStatus) -> SeatRecord {
    SeatRecord {
        entity_id: entity.into(),
        price_minor: 100,
        currency: *b"EUR",
        attributes: SeatAttributes::default(),
        status,
        booked_by: None,
        booking_id: None,
    }
}

pub(super) fn reservation(expires_at: u64, status: ReservationStatus) -> ReservationRecord {
    ReservationRecord {
        app_id: "app".into(),
        user_id: UserId(7),
        seat_ids: vec!["S1".into()],
        token_hash: [3; 32],
        total_minor: 100,
        currency: *b"EUR",
        created_at: 0,
        expires_at,
        status,
        booking_id: None,
        payment_id: None,
    }
}

fn open(path: &Path, limit: u64) -> RedbStore {
    RedbStore::open_with_limit(path, Durability::Full, false, limit)
        .unwrap_or_else(|_| panic!("open"))
}

/// Every kind of row change, written after open and then lost by the
/// database file (as a crash loses redb's non-durable commits), comes
/// back from the journal on reopen.
#[test]
fn reopen_replays_every_kind_of_row_change_the_database_file_lost() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.redb");
    let s = open(&path, journal::DEFAULT_LIMIT);
    let at_open = std::fs::read(&path).unwrap();
    let app = AppRecord {
        app_id: "app".into(),
        name: "App".into(),
        allowed_origins: vec!["https://a.example".into()],
        active: true,
        api_key_hash: [1; 32],
        created_at: 1,
        updated_at: 2,
    };
    let user = UserRecord {
        email: "a@b.example".into(),
        password_hash: "$argon2id$stub".into(),
        created_at: 3,
        token_generation: 0,
    };
    let changed = UserRecord {
        password_hash: "$argon2id$changed".into(),
        token_generation: 2,
        ..user.clone()
    };
    let booking = BookingRecord {
        app_id: "app".into(),
        user_id: UserId(7),
        seat_ids: vec!["S1".into()],
        reservation_id: 1,
        payment_id: "pay-1".into(),
        amount_minor: 100,
        currency: *b"EUR",
        status: BookingStatus::Success,
        created_at: 4,
        cancelled_at: None,
    };
    s.write(|tx| {
        tx.put_app(&app)?;
        tx.insert_user(UserId(7), &user)?;
        tx.put_seat("app", "S1", &seat("E1", SeatStatus::Available))?;
        tx.put_seat("app", "S2", &seat("E1", SeatStatus::Available))?;
        tx.put_reservation(1, &reservation(500, ReservationStatus::Active))?;
        tx.put_reservation(2, &reservation(600, ReservationStatus::Active))
    })
    .unwrap();
    s.write(|tx| {
        tx.delete_seat("app", "S2")?;
        tx.update_seat("app", "S1", &seat("E1", SeatStatus::Booked))?;
        tx.put_reservation(1, &reservation(500, ReservationStatus::Confirmed))?;
        tx.drop_holds(&[(500, 1)])?;
        tx.put_user(UserId(7), &changed)?;
        tx.put_booking("BK-1", &booking, true)
    })
    .unwrap();
    s.drop_as_if_crashed();
    std::fs::write(&path, at_open).unwrap();

    let s = open(&path, journal::DEFAULT_LIMIT);
    let r = s.read().unwrap();
    assert_eq!(
        r.app("app").unwrap().unwrap().allowed_origins,
        app.allowed_origins
    );
    let (id, found) = r.user_by_email("a@b.example").unwrap().unwrap();
    assert_eq!((id, found.created_at), (UserId(7), 3));
    assert_eq!(found.token_generation, 2);
    assert_eq!(
        r.user(UserId(7)).unwrap().unwrap().password_hash,
        "$argon2id$changed"
    );
    assert_eq!(
        r.seat("app", "S1").unwrap().unwrap().status,
        SeatStatus::Booked
    );
    assert!(r.seat("app", "S2").unwrap().is_none());
    let listed: Vec<String> = r
        .entity_seats("app", "E1")
        .unwrap()
        .into_iter()
        .map(|(id, _)| id)
        .collect();
    assert_eq!(listed, ["S1"]);
    assert_eq!(
        r.reservation(1).unwrap().unwrap().status,
        ReservationStatus::Confirmed
    );
    let holds: Vec<(u64, u64)> = r.expired_holds(u64::MAX, 10).unwrap();
    assert_eq!(holds, [(600, 2)], "only reservation 2 is still ACTIVE");
    assert_eq!(r.booking("BK-1").unwrap().unwrap().payment_id, "pay-1");
    assert_eq!(r.user_booking_ids("app", UserId(7)).unwrap(), ["BK-1"]);
}

/// A crash after a checkpoint's durable commit but before the journal
/// began its next generation: the old groups are still there, and
/// replaying them over the newer file would take back the rows the
/// checkpointing commit changed.
#[test]
fn a_crash_inside_a_checkpoint_never_reverts_the_checkpointing_commit() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.redb");
    let journal_file = journal::journal_path(&path);
    let s = open(&path, 0);
    let mut expires_at = 0;
    loop {
        expires_at += 1;
        let before = std::fs::read(&journal_file).unwrap();
        s.write(|tx| tx.put_reservation(1, &reservation(expires_at, ReservationStatus::Released)))
            .unwrap();
        let after = std::fs::read(&journal_file).unwrap();
        if after[..36] != before[..36] {
            // This commit checkpointed. Crash now, as if before the
            // journal's new header was written: the old one is back,
            // and the database file is as the checkpoint synced it.
            let synced = std::fs::read(&path).unwrap();
            s.drop_as_if_crashed();
            std::fs::write(&journal_file, &before).unwrap();
            std::fs::write(&path, synced).unwrap();
            break;
        }
        assert!(expires_at < 100, "no checkpoint happened");
    }
    assert!(
        expires_at > 1,
        "the journal held groups before the checkpoint"
    );

    let s = open(&path, 0);
    let r = s.read().unwrap();
    assert_eq!(r.reservation(1).unwrap().unwrap().expires_at, expires_at);
}

/// A user's bookings are listed the same whether their index entries
/// are still pending or folded into the index, and across reopen.
#[test]
fn user_bookings_are_listed_before_and_after_the_pending_entries_fold() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.redb");
    let s = open(&path, journal::DEFAULT_LIMIT);
    let booking = |app: &str, user: u128| BookingRecord {
        app_id: app.into(),
        user_id: UserId(user),
        seat_ids: vec!["S1".into()],
        reservation_id: 1,
        payment_id: "pay".into(),
        amount_minor: 100,
        currency: *b"EUR",
        status: BookingStatus::Success,
        created_at: 4,
        cancelled_at: None,
    };
    let pending_rows = |s: &RedbStore| {
        let tx = s.db.begin_read().unwrap();
        tx.open_table(PENDING_USER_BOOKINGS).unwrap().len().unwrap()
    };
    // Users 1 and 2 in app "a", user 1 in app "b"; ids not in write order.
    let mut expected: [Vec<String>; 3] = Default::default();
    let total = PENDING_USER_BOOKINGS_MAX as usize + 100;
    let mut folded = false;
    for i in 0..total {
        let id = format!("BK-{:06}", (i * 7919) % 1_000_000);
        let (slot, app, user) = [(0, "a", 1), (1, "a", 2), (2, "b", 1)][i % 3];
        s.write(|tx| tx.put_booking(&id, &booking(app, user), true))
            .unwrap();
        expected[slot].push(id);
        folded |= pending_rows(&s) < (i + 1) as u64;
        if i % 97 == 0 || i == total - 1 {
            let r = s.read().unwrap();
            for (slot, app, user) in [(0, "a", 1), (1, "a", 2), (2, "b", 1)] {
                let mut want = expected[slot].clone();
                want.sort();
                assert_eq!(r.user_booking_ids(app, UserId(user)).unwrap(), want);
            }
        }
    }
    assert!(folded, "the pending entries never folded");
    assert!(pending_rows(&s) < PENDING_USER_BOOKINGS_MAX);
    drop(s);
    let s = open(&path, journal::DEFAULT_LIMIT);
    let r = s.read().unwrap();
    let mut want = expected[1].clone();
    want.sort();
    assert_eq!(r.user_booking_ids("a", UserId(2)).unwrap(), want);
}

/// A crash at any step of a creation leaves no database (and the next
/// open creates a whole one) or a whole, empty one.
#[test]
fn a_creation_interrupted_at_any_step_leaves_no_database_or_a_whole_one() {
    for step in ["database written", "journal in place"] {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.redb");
        CRASH_AT.with(|c| c.set(Some(step)));
        let crashed = RedbStore::open_with(&path, Durability::Full, false);
        CRASH_AT.with(|c| c.set(None));
        assert!(crashed.is_err(), "{step}");
        assert!(
            !path.exists(),
            "a partial database is in place after {step}"
        );
        let s = open(&path, journal::DEFAULT_LIMIT);
        s.write(|tx| tx.put_reservation(1, &reservation(500, ReservationStatus::Active)))
            .unwrap();
        drop(s);
        let s = open(&path, journal::DEFAULT_LIMIT);
        assert!(
            s.read().unwrap().reservation(1).unwrap().is_some(),
            "{step}"
        );
        let mut names: Vec<String> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        assert_eq!(names, ["t.redb", "t.redb-journal"], "{step}");
    }
}

/// Both files are renamed into place from their temporary names, the
/// journal first, and each rename is followed by a directory sync
/// (without which a power loss may lose the new name).
#[test]
fn creation_renames_the_journal_then_the_database_and_syncs_the_directory_after_each() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.redb");
    journal::STEPS.with(|s| s.borrow_mut().clear());
    drop(open(&path, journal::DEFAULT_LIMIT));
    let steps = journal::STEPS.with(|s| s.borrow().clone());
    assert_eq!(
        steps,
        [
            "rename t.redb-journal.creating -> t.redb-journal",
            "sync dir",
            "rename t.redb.creating -> t.redb",
            "sync dir",
        ]
    );
}

/// A database of the previous format (schema version 1, no id) is
/// refused with a typed error, and left as it was.
#[test]
fn a_database_of_the_previous_format_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.redb");
    {
        let db = Database::create(&path).unwrap();
        let txn = db.begin_write().unwrap();
        txn.open_table(META)
            .unwrap()
            .insert(SCHEMA_VERSION_KEY, 1)
            .unwrap();
        txn.commit().unwrap();
    }
    std::fs::write(journal::journal_path(&path), [0u8; 8192]).unwrap();
    let err = RedbStore::open_with(&path, Durability::Full, false).unwrap_err();
    assert!(
        matches!(
            err,
            OpenError::UnsupportedFormat {
                found: 1,
                expected: 4
            }
        ),
        "{err:?}"
    );
}

/// Databases of versions 2 (before entities) and 3 (before archiving)
/// open: the missing tables are created and the version raised in the
/// open's checkpoint, and their rows are untouched. A version newer than
/// this build's is refused.
#[test]
fn older_databases_are_upgraded_in_place_and_a_newer_one_refused() {
    for (old, dropped) in [
        (2, &[ENTITIES, ARCHIVED_ENTITIES][..]),
        (3, &[ARCHIVED_ENTITIES][..]),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.redb");
        let rec = reservation(500, ReservationStatus::Active);
        {
            let s = RedbStore::open_with(&path, Durability::Full, false).unwrap();
            s.write(|tx| tx.put_reservation(7, &rec)).unwrap();
        }
        let set_version =
            |version: u64, drop: &[TableDefinition<'static, &'static str, &'static [u8]>]| {
                let db = Database::open(&path).unwrap();
                let txn = db.begin_write().unwrap();
                for &table in drop {
                    assert!(txn.delete_table(table).unwrap(), "v4 has the table");
                }
                if version < 4 {
                    assert!(
                        txn.delete_table(ARCHIVED_SEATS).unwrap(),
                        "v4 has the table"
                    );
                }
                txn.open_table(META)
                    .unwrap()
                    .insert(SCHEMA_VERSION_KEY, version)
                    .unwrap();
                txn.commit().unwrap();
            };
        set_version(old, dropped);
        {
            let s = RedbStore::open_with(&path, Durability::Full, false).unwrap();
            let read = s.read().unwrap();
            assert_eq!(
                read.reservation(7).unwrap().map(|r| r.expires_at),
                Some(500)
            );
            assert!(read.entities("app").unwrap().is_empty());
            assert_eq!(read.archived_entity("app", "E0").unwrap(), None);
            s.write(|tx| tx.put_entity("app", "E1", &entity_record()))
                .unwrap();
        }
        {
            let db = Database::open(&path).unwrap();
            let txn = db.begin_read().unwrap();
            let version = txn
                .open_table(META)
                .unwrap()
                .get(SCHEMA_VERSION_KEY)
                .unwrap();
            assert_eq!(version.map(|v| v.value()), Some(4), "from version {old}");
        }
        let s = RedbStore::open_with(&path, Durability::Full, false).unwrap();
        assert_eq!(
            s.read().unwrap().entity("app", "E1").unwrap(),
            Some(entity_record())
        );
        drop(s);
        set_version(5, &[]);
        let err = RedbStore::open_with(&path, Durability::Full, false).unwrap_err();
        assert!(
            matches!(
                err,
                OpenError::UnsupportedFormat {
                    found: 5,
                    expected: 4
                }
            ),
            "{err:?}"
        );
    }
}

fn entity_record() -> EntityRecord {
    EntityRecord {
        name: "Opening night".into(),
        kind: "show".into(),
        starts_at: Some(1_000),
        sale_opens_at: Some(10),
        sale_closes_at: None,
        status: crate::model::EntityStatus::OnSale,
        created_at: 1,
        updated_at: 2,
    }
}

/// A panic inside a write closure, after it changed a row, poisons the
/// storage: the panic reaches its caller, nothing of it is kept, every
/// later write fails with a `StorageError`, and a reopen (which
/// replays the journal) brings back only what was acknowledged.
#[test]
fn a_panic_in_a_write_closure_poisons_the_storage_until_reopen() {
    for group in [false, true] {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.redb");
        let s = RedbStore::open_with(&path, Durability::Full, group).unwrap();
        s.write(|tx| tx.put_reservation(1, &reservation(500, ReservationStatus::Active)))
            .unwrap();
        let panicked = panic::catch_unwind(AssertUnwindSafe(|| {
            s.write(|tx| -> Result<(), StorageError> {
                tx.put_reservation(2, &reservation(600, ReservationStatus::Active))?;
                panic!("injected: panic after a row changed")
            })
        }));
        assert!(panicked.is_err(), "the panic reaches its caller");
        assert!(s.read().unwrap().reservation(2).unwrap().is_none());
        let later =
            s.write(|tx| tx.put_reservation(3, &reservation(700, ReservationStatus::Active)));
        assert!(later.is_err(), "a write after the panic was accepted");
        drop(s);
        let s = RedbStore::open_with(&path, Durability::Full, group).unwrap();
        let r = s.read().unwrap();
        assert!(r.reservation(1).unwrap().is_some(), "group {group}");
        assert!(r.reservation(2).unwrap().is_none(), "group {group}");
        assert!(r.reservation(3).unwrap().is_none(), "group {group}");
        s.write(|tx| tx.put_reservation(4, &reservation(800, ReservationStatus::Active)))
            .unwrap();
    }
}

/// A panic inside the commit itself, between the journal append and
/// redb's commit, is a typed error for the caller (its outcome open:
/// the group is durable) and poisons the storage: nothing commits
/// after a group the database does not hold.
#[test]
fn a_panic_inside_the_commit_poisons_the_storage_until_reopen() {
    for group in [false, true] {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.redb");
        let s = RedbStore::open_with(&path, Durability::Full, group).unwrap();
        s.panic_after_append.store(true, Ordering::Relaxed);
        let failed =
            s.write(|tx| tx.put_reservation(1, &reservation(500, ReservationStatus::Active)));
        s.panic_after_append.store(false, Ordering::Relaxed);
        assert!(failed.is_err(), "group {group}");
        assert!(s.read().unwrap().reservation(1).unwrap().is_none());
        let later =
            s.write(|tx| tx.put_reservation(2, &reservation(600, ReservationStatus::Active)));
        assert!(later.is_err(), "a write after the panic was accepted");
        drop(s);
        // The group reached the journal before the panic: reopen
        // replays it; the refused write never got there.
        let s = RedbStore::open_with(&path, Durability::Full, group).unwrap();
        let r = s.read().unwrap();
        assert!(r.reservation(1).unwrap().is_some(), "group {group}");
        assert!(r.reservation(2).unwrap().is_none(), "group {group}");
    }
}

/// Closing checkpoints: the next open has no journal to replay.
#[test]
fn a_clean_close_leaves_nothing_to_replay() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.redb");
    let s = open(&path, journal::DEFAULT_LIMIT);
    s.write(|tx| tx.put_reservation(1, &reservation(500, ReservationStatus::Active)))
        .unwrap();
    drop(s);
    let journal = journal::Journal::open(&fs::RealFs, &path, journal::DEFAULT_LIMIT)
        .unwrap_or_else(|_| panic!("journal"))
        .unwrap();
    assert!(!journal.holds_groups().unwrap());
    drop(journal);
    let s = open(&path, journal::DEFAULT_LIMIT);
    assert!(s.read().unwrap().reservation(1).unwrap().is_some());
}

/// `put_reservation` only ever adds active-holds rows; `drop_holds`
/// removes exactly the rows listed, whatever lies between them.
#[test]
fn hold_rows_are_added_by_puts_and_removed_only_when_listed() {
    let dir = tempfile::tempdir().unwrap();
    let s = open(&dir.path().join("t.redb"), journal::DEFAULT_LIMIT);
    s.write(|tx| {
        for id in 1..=4 {
            tx.put_reservation(id, &reservation(100 * id, ReservationStatus::Active))?;
        }
        // Extended, then confirmed: both rows stay.
        tx.put_reservation(1, &reservation(900, ReservationStatus::Active))?;
        tx.put_reservation(2, &reservation(200, ReservationStatus::Confirmed))
    })
    .unwrap();
    let rows = |s: &RedbStore| s.read().unwrap().expired_holds(u64::MAX, 100).unwrap();
    assert_eq!(rows(&s), [(100, 1), (200, 2), (300, 3), (400, 4), (900, 1)]);
    s.write(|tx| tx.drop_holds(&[(900, 1), (100, 1), (400, 4), (100, 1), (500, 5)]))
        .unwrap();
    assert_eq!(rows(&s), [(200, 2), (300, 3)]);
}

#[test]
fn user_records_of_the_first_layout_decode_with_generation_zero() {
    #[derive(Serialize)]
    struct V1<'a> {
        email: &'a str,
        password_hash: &'a str,
        created_at: UnixMillis,
    }
    let bytes = encode(&V1 {
        email: "old@b.example",
        password_hash: "$argon2id$old",
        created_at: 9,
    })
    .unwrap();
    let rec = decode_user(&bytes).unwrap();
    assert_eq!(
        (rec.email.as_str(), rec.created_at, rec.token_generation),
        ("old@b.example", 9, 0)
    );
    assert!(decode_user(&bytes[..bytes.len() - 1]).is_err());
}

/// The redo records of every kind of change, byte for byte as the
/// journal format says (and as journals written before the one-primitive
/// write path hold them): tag, `u32` key length, key, and for a put `u32`
/// value length, value; tag `| 0x80` and no value for a removal.
#[test]
fn redo_records_keep_their_byte_format() {
    fn rec(out: &mut Vec<u8>, tag: u8, key: &[u8], value: Option<&[u8]>) {
        out.push(if value.is_some() { tag } else { tag | 0x80 });
        out.extend_from_slice(&u32::try_from(key.len()).unwrap().to_le_bytes());
        out.extend_from_slice(key);
        if let Some(value) = value {
            out.extend_from_slice(&u32::try_from(value.len()).unwrap().to_le_bytes());
            out.extend_from_slice(value);
        }
    }
    let dir = tempfile::tempdir().unwrap();
    let db = Database::create(dir.path().join("t.redb")).unwrap();
    let txn = db.begin_write().unwrap();
    let user = UserRecord {
        email: "a@b.example".into(),
        password_hash: "$argon2id$stub".into(),
        created_at: 3,
        token_generation: 0,
    };
    let active = reservation(500, ReservationStatus::Active);
    let seat_rec = seat("E1", SeatStatus::Available);
    let mut tx = super::WriteTx::new(&txn, true);
    tx.ensure_schema().unwrap();
    tx.insert_user(UserId(7), &user).unwrap();
    tx.put_seat("app", "S1", &seat_rec).unwrap();
    tx.put_reservation(9, &active).unwrap();
    tx.drop_holds(&[(500, 9)]).unwrap();
    tx.delete_seat("app", "S1").unwrap();
    tx.delete_seat("app", "S1").unwrap(); // absent: nothing recorded
    let redo = tx.take_redo();
    drop(tx);

    let mut want = Vec::new();
    rec(
        &mut want,
        2,
        &7u128.to_le_bytes(),
        Some(&encode(&user).unwrap()),
    );
    rec(&mut want, 3, b"a@b.example", Some(&7u128.to_le_bytes()));
    rec(
        &mut want,
        4,
        b"app\x1fS1",
        Some(&encode(&seat_rec).unwrap()),
    );
    rec(&mut want, 5, b"app\x1fE1\x1fS1", Some(&[]));
    rec(
        &mut want,
        6,
        &9u64.to_le_bytes(),
        Some(&encode(&active).unwrap()),
    );
    let mut hold = 500u64.to_le_bytes().to_vec();
    hold.extend_from_slice(&9u64.to_le_bytes());
    rec(&mut want, 7, &hold, Some(&[]));
    rec(&mut want, 7, &hold, None);
    rec(&mut want, 4, b"app\x1fS1", None);
    rec(&mut want, 5, b"app\x1fE1\x1fS1", None);
    assert_eq!(redo, want);
}

/// A closure's changes are undone from the undo log: every row is back
/// as it was (puts over existing rows, new rows, removals, bulk
/// removals), and its redo records are dropped.
#[test]
fn undo_puts_back_every_row_a_closure_changed_and_drops_its_redo() {
    let dir = tempfile::tempdir().unwrap();
    let db = Database::create(dir.path().join("t.redb")).unwrap();
    let txn = db.begin_write().unwrap();
    let mut tx = super::WriteTx::new(&txn, true);
    tx.ensure_schema().unwrap();
    tx.put_seat("app", "S1", &seat("E1", SeatStatus::Available))
        .unwrap();
    tx.put_reservation(1, &reservation(500, ReservationStatus::Active))
        .unwrap();
    let kept = tx.take_redo();
    tx.track_undo(true);
    tx.update_seat("app", "S1", &seat("E1", SeatStatus::Booked))
        .unwrap();
    tx.put_seat("app", "S2", &seat("E1", SeatStatus::Available))
        .unwrap();
    tx.put_reservation(1, &reservation(900, ReservationStatus::Active))
        .unwrap();
    tx.drop_holds(&[(500, 1), (900, 1)]).unwrap();
    tx.delete_seat("app", "S1").unwrap();
    tx.undo().unwrap();
    tx.track_undo(false);
    assert!(
        tx.take_redo().is_empty(),
        "the undone closure's redo is kept"
    );
    assert_eq!(
        tx.seat("app", "S1").unwrap().unwrap().status,
        SeatStatus::Available
    );
    assert!(tx.seat("app", "S2").unwrap().is_none());
    assert_eq!(tx.reservation(1).unwrap().unwrap().expires_at, 500);
    drop(tx);
    txn.commit().unwrap();
    let r = db.begin_read().unwrap();
    let holds: Vec<(u64, u64)> = r
        .open_table(super::schema::ACTIVE_HOLDS)
        .unwrap()
        .iter()
        .unwrap()
        .map(|row| row.unwrap().0.value())
        .collect();
    assert_eq!(holds, [(500, 1)]);
    let entity_rows = r
        .open_table(super::schema::ENTITY_SEATS)
        .unwrap()
        .len()
        .unwrap();
    assert_eq!(entity_rows, 1);
    assert!(!kept.is_empty());
}

/// A record that does not decode, an index row without its record and a
/// malformed journal record are corruption, not I/O.
#[test]
fn data_that_does_not_decode_is_corruption() {
    use crate::error::StorageErrorKind;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.redb");
    let s = open(&path, journal::DEFAULT_LIMIT);
    {
        let txn = s.db.begin_write().unwrap();
        txn.open_table(super::schema::SEATS)
            .unwrap()
            .insert("app\u{1f}S1", [0xFFu8; 3].as_slice())
            .unwrap();
        txn.open_table(super::schema::USER_EMAILS)
            .unwrap()
            .insert("ghost@b.example", 42)
            .unwrap();
        txn.commit().unwrap();
    }
    let r = s.read().unwrap();
    let seat = r.seat("app", "S1").unwrap_err();
    assert_eq!(seat.kind(), StorageErrorKind::Corruption, "{seat}");
    let user = r.user_by_email("ghost@b.example").unwrap_err();
    assert_eq!(user.kind(), StorageErrorKind::Corruption, "{user}");
    let replay = s.write(|tx| tx.replay(&[6, 1, 0, 0, 0, 9])).unwrap_err();
    assert_eq!(replay.kind(), StorageErrorKind::Corruption, "{replay}");
}

/// A failed assertion on the commit path (here: a checkpoint that would
/// take the checkpointed generation back) is no panic for the caller: the
/// commit fails, the store is poisoned, and every later write says so.
#[test]
fn a_failed_commit_path_assertion_poisons_instead_of_committing() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.redb");
    let s = open(&path, 0);
    {
        let txn = s.db.begin_write().unwrap();
        txn.open_table(META)
            .unwrap()
            .insert(super::schema::CHECKPOINTED_GENERATION, 1 << 40)
            .unwrap();
        txn.commit().unwrap();
    }
    let mut failed = None;
    for id in 1..100 {
        let outcome = panic::catch_unwind(AssertUnwindSafe(|| {
            s.write(|tx| tx.put_reservation(id, &reservation(500, ReservationStatus::Active)))
        }))
        .expect("the assertion crossed to the caller");
        if let Err(e) = outcome {
            failed = Some(e);
            break;
        }
    }
    let failed = failed.expect("no checkpoint refused to go back");
    assert!(!failed.is_poisoned(), "{failed}");
    let later = s
        .write(|tx| tx.put_reservation(500, &reservation(500, ReservationStatus::Active)))
        .unwrap_err();
    assert!(later.is_poisoned(), "{later}");
}
