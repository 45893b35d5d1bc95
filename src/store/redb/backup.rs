//! Every row of every table, read from one snapshot: copied into another
//! database (online backup) or folded into a digest (offline check).
//!
//! Owns the table-agnostic walk over [`visit_every_table`]. It reads the
//! live database only through a redb read transaction, so it never blocks
//! a writer and never looks at the journal; where the copy goes and how it
//! becomes durable and visible is `crate::backup`'s business.

use std::collections::HashSet;

use redb::{
    Database, Durability as RedbDurability, ReadTransaction, ReadableDatabase, ReadableTable,
    TableDefinition, TableHandle,
};
use sha2::{Digest, Sha256};

use super::RedbStore;
use super::schema::{META, TableVisitor, visit_every_table};
use crate::error::StorageError;

impl RedbStore {
    /// Copies every committed row, as of one read snapshot, into `target`
    /// (a database with no tables yet), in one transaction committed with
    /// full durability. Returns how many rows were copied.
    ///
    /// The snapshot is redb's: it holds every commit made visible so far,
    /// including those that are durable only through the journal (redb
    /// holds them as committed, non-durable transactions). Writers keep
    /// committing meanwhile; their commits are simply not in the snapshot.
    ///
    /// # Errors
    /// [`StorageError`](struct@crate::StorageError) if reading or writing fails, or if the database
    /// holds a table [`visit_every_table`] does not name (a copy without it
    /// would silently lose rows).
    ///
    /// The copy is a database of its own: it gets a new random id, so the
    /// source's journal can never be replayed into it (it is refused as
    /// another database's). Returns the copy's id and its checkpointed
    /// generation along with the row count; its journal must continue
    /// that generation (see [`journal`](super::journal)).
    pub(crate) fn backup_into(&self, target: &Database) -> Result<BackupCopy, StorageError> {
        let snapshot = self.db.begin_read()?;
        let mut txn = target.begin_write()?;
        txn.set_durability(RedbDurability::Immediate)?;
        let mut copy = Copy {
            from: &snapshot,
            into: &txn,
            names: HashSet::new(),
            rows: 0,
        };
        visit_every_table(&mut copy)?;
        let (names, rows) = (copy.names, copy.rows);
        for table in snapshot.list_tables()? {
            if !names.contains(table.name()) {
                return Err(StorageError::corrupt(format!(
                    "backup: table {} is unknown to this version",
                    table.name()
                )));
            }
        }
        let (db_id, checkpointed) = super::open::rebrand(&txn)?;
        txn.commit()?;
        Ok(BackupCopy {
            rows,
            db_id,
            checkpointed,
        })
    }

    /// [`content_digest`] of the open database.
    pub(crate) fn content_digest(&self) -> Result<[u8; 32], StorageError> {
        digest_of(&self.db.begin_read()?)
    }
}

/// What [`RedbStore::backup_into`] wrote.
#[derive(Debug)]
pub(crate) struct BackupCopy {
    /// Rows copied (tests check it).
    #[cfg_attr(not(test), allow(dead_code))]
    pub(crate) rows: u64,
    /// The copy's own database id.
    pub(crate) db_id: u128,
    /// The copy's last checkpointed journal generation.
    pub(crate) checkpointed: u64,
}

/// SHA-256 over every row of every table except `meta` (whose journal
/// bookkeeping changes on every open): two databases with the same digest
/// hold the same rows. The offline check compares the digest of a file as
/// it is with the digest after opening replayed the journal.
pub(crate) fn content_digest(db: &Database) -> Result<[u8; 32], StorageError> {
    digest_of(&db.begin_read()?)
}

fn digest_of(snapshot: &ReadTransaction) -> Result<[u8; 32], StorageError> {
    let mut fold = Fold {
        from: snapshot,
        hasher: Sha256::new(),
    };
    visit_every_table(&mut fold)?;
    Ok(fold.hasher.finalize().into())
}

/// Opens `table` in `snapshot`, `None` if the database never created it.
fn open_existing<K: redb::Key + 'static, V: redb::Value + 'static>(
    snapshot: &ReadTransaction,
    table: TableDefinition<'static, K, V>,
) -> Result<Option<redb::ReadOnlyTable<K, V>>, StorageError> {
    match snapshot.open_table(table) {
        Ok(t) => Ok(Some(t)),
        Err(redb::TableError::TableDoesNotExist(_)) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

struct Copy<'a> {
    from: &'a ReadTransaction,
    into: &'a redb::WriteTransaction,
    names: HashSet<String>,
    rows: u64,
}

impl TableVisitor for Copy<'_> {
    fn visit<K: redb::Key + 'static, V: redb::Value + 'static>(
        &mut self,
        table: TableDefinition<'static, K, V>,
    ) -> Result<(), StorageError> {
        self.names.insert(TableHandle::name(&table).to_owned());
        let Some(from) = open_existing(self.from, table)? else {
            return Ok(());
        };
        let mut into = self.into.open_table(table)?;
        for row in from.iter()? {
            let (k, v) = row?;
            into.insert(k.value(), v.value())?;
            self.rows += 1;
        }
        Ok(())
    }
}

struct Fold<'a> {
    from: &'a ReadTransaction,
    hasher: Sha256,
}

impl TableVisitor for Fold<'_> {
    fn visit<K: redb::Key + 'static, V: redb::Value + 'static>(
        &mut self,
        table: TableDefinition<'static, K, V>,
    ) -> Result<(), StorageError> {
        let name = TableHandle::name(&table);
        if name == TableHandle::name(&META) {
            return Ok(());
        }
        let Some(from) = open_existing(self.from, table)? else {
            return Ok(());
        };
        for row in from.iter()? {
            let (k, v) = row?;
            let (k, v) = (k.value(), v.value());
            let (k, v) = (K::as_bytes(&k), V::as_bytes(&v));
            // Lengths first, so no two different rows hash the same.
            for part in [name.as_bytes(), k.as_ref(), v.as_ref()] {
                self.hasher.update((part.len() as u64).to_le_bytes());
                self.hasher.update(part);
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::reservation;
    use super::*;
    use crate::model::ReservationStatus;
    use crate::store::Durability;

    /// A journal whose replay fails (a group that is intact but whose
    /// body is not row changes): the check finds that the database opens
    /// without it. Made through the journal's own API, not its format.
    #[test]
    fn a_journal_that_fails_to_replay_is_recoverable_by_discarding_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.redb");
        let s =
            RedbStore::open_with(&path, Durability::Full, false).unwrap_or_else(|_| panic!("open"));
        s.write(|tx| tx.put_reservation(1, &reservation(5, ReservationStatus::Active)))
            .unwrap();
        drop(s);
        let (db_id, checkpointed) = super::super::identity_of(&path);
        let mut journal =
            super::super::journal::Journal::open(&super::super::fs::RealFs, &path, 1 << 20)
                .unwrap_or_else(|_| panic!("journal"))
                .expect("a journal beside the database");
        assert!(journal.recover(db_id, checkpointed).unwrap().is_ok());
        journal.append(&[0xff; 64]).unwrap();
        drop(journal);

        let report = crate::check(&path).unwrap();
        assert_eq!(report.recovery, crate::Recovery::DiscardingJournal);
        assert!(report.open_error.is_some());
        assert!(!report.replays_journal);
        let audit = report.audit.unwrap();
        assert!(audit.is_clean(), "{:?}", audit.violations);
        assert_eq!(audit.reservations, 1);
    }

    /// A table the list does not name makes the backup fail rather than
    /// leave its rows behind.
    #[test]
    fn a_table_missing_from_the_list_fails_the_backup() {
        let dir = tempfile::tempdir().unwrap();
        let s = RedbStore::open_with(&dir.path().join("t.redb"), Durability::Full, false)
            .unwrap_or_else(|_| panic!("open"));
        s.write(|tx| tx.put_reservation(1, &reservation(5, ReservationStatus::Active)))
            .unwrap();
        let copy = Database::create(dir.path().join("copy.redb")).unwrap();
        assert!(s.backup_into(&copy).unwrap().rows > 0);
        let before = s.content_digest().unwrap();
        assert_eq!(content_digest(&copy).unwrap(), before);

        let extra: TableDefinition<u64, u64> = TableDefinition::new("not_in_the_list");
        let txn = s.db.begin_write().unwrap();
        txn.open_table(extra).unwrap().insert(1, 2).unwrap();
        txn.commit().unwrap();
        let copy = Database::create(dir.path().join("copy2.redb")).unwrap();
        let err = s.backup_into(&copy).unwrap_err();
        assert!(err.to_string().contains("not_in_the_list"), "{err}");
    }
}
