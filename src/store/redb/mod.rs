//! The redb store: durable state in one redb file and its write-ahead
//! journal.
//!
//! Owns the table layout ([`schema`]), the record encodings and key
//! codecs ([`records`]), opening, creation and replay ([`open`]), what the
//! engine loads on reopen ([`load`]), reads ([`read`]), the typed writes
//! with their undo and redo records ([`write`](mod@write)), group commit
//! ([`commit`]), the journal ([`journal`]), backups ([`backup`]) and the
//! file layer ([`fs`]). This file holds the store itself and its commit
//! path: [`RedbStore::write`] and what a commit does.
//!
//! It implements the contract of [`crate::store`] and must never decide
//! booking rules (who may hold, what may be confirmed) and never look at
//! the lock table.
//!
//! Records are postcard-encoded serde structs in `&[u8]` values, so a record
//! that fails to decode is reported as a storage error, never a panic.
//! Composite keys join validated ids with `0x1F` (unit separator), which the
//! id charset excludes, so prefix ranges list an app's or an entity's rows.
//!
//! # Assertions on the commit path
//!
//! What must hold is asserted where it lives. Release asserts, each a
//! comparison or two per commit or checkpoint, where going on would put a
//! wrong state on disk:
//!
//! * the checkpointed generation never goes back (`checkpoint`);
//! * journal generations only increase, and a group is never empty nor
//!   past the journal's limit ([`journal`]);
//! * a closure's redo records are taken only between closures, and undo
//!   never finds the redo log shorter than when the closure began
//!   ([`write`](mod@write)).
//!
//! `debug_assert!`s, for checks that cost a pass over a batch or restate
//! what the control flow already ensures: a batch's redo bytes frame
//! exactly the changes applied ([`WriteTx::take_redo`]), no commit after
//! the store is poisoned, every job of a combining round finished before
//! the role is handed on ([`commit`]).
//!
//! A failed assertion is a panic on the commit path: inside
//! [`RedbStore::commit`] it is caught, the store is poisoned and the
//! callers get a [`StorageError`](struct@crate::StorageError) (test
//! `a_failed_commit_path_assertion_poisons_instead_of_committing`);
//! anywhere else in [`RedbStore::write`] it poisons the store and reaches
//! the closure's caller as a panic, which the C boundary catches
//! (`SEATBOOK_PANIC`): none crosses it.

mod backup;
mod commit;
pub(crate) mod fs;
pub(crate) mod journal;
mod load;
mod open;
mod read;
mod records;
mod schema;
#[cfg(test)]
mod tests;
mod write;

pub(crate) use backup::content_digest;
pub(crate) use journal::journal_path;
pub(crate) use open::OpenOptions;
#[cfg(test)]
pub(crate) use open::identity_of;
pub(crate) use read::ReadTx;
pub(crate) use write::WriteTx;

use std::panic::{self, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, Ordering};

use redb::{Database, Durability as RedbDurability};

use self::schema::{CHECKPOINTED_GENERATION, META};
use crate::error::StorageError;
use crate::store::Durability;

/// The redb database and its journal. `Send + Sync`.
pub(crate) struct RedbStore {
    db: Database,
    durability: Durability,
    /// Orders commits with their journal groups (a group is appended
    /// before its commit is made visible, under this lock). Held open
    /// (and locked) in every mode; written only with [`Durability::Full`].
    journal: parking_lot::Mutex<journal::Journal>,
    /// `Some` when concurrent writes share commits (see [`commit`]).
    combiner: Option<commit::Combiner>,
    /// Set when a commit failed after its outcome could no longer be
    /// taken back, or anything on the write path panicked (see
    /// [`write`](Self::write)): every later write is refused until the
    /// engine is reopened (which replays the journal).
    failed: AtomicBool,
    /// Test hook: the next journaled commit panics after its append.
    #[cfg(test)]
    panic_after_append: AtomicBool,
}

impl std::fmt::Debug for RedbStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedbStore")
            .field("durability", &self.durability)
            .field("group_commit", &self.combiner.is_some())
            .finish_non_exhaustive()
    }
}

impl RedbStore {
    /// Runs `f` in one write transaction and commits it with the configured
    /// durability. If `f` fails (or panics), nothing it wrote is kept.
    ///
    /// Every durable change goes through here. With group commit on, `f`
    /// may share its transaction with other threads' closures and may run
    /// on another caller's thread (hence `Send`): one thread runs the
    /// queued closures back to back in one redb transaction, which commits
    /// once (one journal sync), and every caller returns only after that
    /// commit is durable. A closure that fails has its own writes undone
    /// before the next one runs (see [`commit`]).
    ///
    /// A [`StorageError`](struct@crate::StorageError) from the commit itself (an I/O error) leaves the
    /// outcome open: the writes may be in the journal and come back when
    /// the engine is reopened. Every later write then fails until reopen.
    ///
    /// A panic anywhere on this path (in `f`, in encoding a row, in redb,
    /// in the journal) *poisons* the storage the moment it happens: the
    /// transaction it happened in is never committed (batch mates get a
    /// [`StorageError`](struct@crate::StorageError)), `f`'s caller gets the panic, and every later
    /// write fails with a [`StorageError`](struct@crate::StorageError) until the engine is reopened
    /// (which replays the journal, where nothing of that transaction is).
    /// Why not undo the panicking closure and go on, as for an `Err`: a
    /// panic can stop a [`WriteTx`] between a row's change and its undo
    /// record, and nothing half-applied may ever be committed.
    pub(crate) fn write<T, E>(
        &self,
        f: impl FnOnce(&mut WriteTx<'_>) -> Result<T, E> + Send,
    ) -> Result<T, E>
    where
        T: Send,
        E: From<StorageError> + Send,
    {
        let f = |tx: &mut WriteTx<'_>| {
            panic::catch_unwind(AssertUnwindSafe(|| f(tx))).unwrap_or_else(|payload| {
                self.fail();
                panic::resume_unwind(payload)
            })
        };
        let outcome = panic::catch_unwind(AssertUnwindSafe(|| match &self.combiner {
            Some(combiner) => combiner.write(
                || self.begin(),
                |txn, redo| self.commit(txn, redo),
                self.journaled(),
                f,
            ),
            None => self.write_alone(f),
        }));
        outcome.unwrap_or_else(|payload| {
            self.fail();
            panic::resume_unwind(payload)
        })
    }

    fn journaled(&self) -> bool {
        self.durability == Durability::Full
    }

    fn begin(&self) -> Result<redb::WriteTransaction, StorageError> {
        if self.failed.load(Ordering::Acquire) {
            return Err(StorageError::poisoned());
        }
        let mut txn = self.db.begin_write()?;
        // Durable commits are made durable by the journal (or by raising a
        // checkpoint's durability in `commit`).
        txn.set_durability(RedbDurability::None)?;
        Ok(txn)
    }

    /// Makes a transaction's writes durable (with [`Durability::Full`])
    /// and visible. `redo` is the transaction's redo records.
    ///
    /// Normally the group goes to the journal (one write, one sync) and
    /// only then does redb commit, in memory. When the journal is full, or
    /// the group would not fit, this commit is a *checkpoint* instead: redb
    /// commits durably (which makes every earlier non-durable commit
    /// durable too) and records that the database holds the journal's
    /// generation, which is then started over. A crash between those two
    /// steps replays nothing: the record says the groups are already in.
    ///
    /// Refused (the transaction aborted) once the storage is poisoned,
    /// also when that happened during this transaction; a panic inside
    /// poisons it (see [`write`](Self::write)).
    fn commit(&self, txn: redb::WriteTransaction, redo: &[u8]) -> Result<(), StorageError> {
        if self.failed.load(Ordering::Acquire) {
            let _ = txn.abort();
            return Err(StorageError::poisoned());
        }
        panic::catch_unwind(AssertUnwindSafe(|| self.commit_unguarded(txn, redo))).unwrap_or_else(
            |_| {
                self.fail();
                Err(StorageError::other(
                    "the commit panicked: reopen the engine",
                ))
            },
        )
    }

    fn commit_unguarded(
        &self,
        txn: redb::WriteTransaction,
        redo: &[u8],
    ) -> Result<(), StorageError> {
        // Every change goes through `WriteTx`, which records it: no
        // records, nothing to make durable (a closure that found nothing
        // to do, or whose writes were all undone).
        if !self.journaled() || redo.is_empty() {
            return Ok(txn.commit()?);
        }
        let mut journal = self.journal.lock();
        // Nothing poisons the store between `commit`'s check and here:
        // only the thread holding the write transaction runs closures.
        debug_assert!(
            !self.failed.load(Ordering::Acquire),
            "a commit after the store was poisoned"
        );
        if journal.has_room(redo.len()) {
            if let Err(e) = journal.append(redo) {
                // The group may reach the disk all the same: its outcome
                // is open until reopen, and nothing may commit after it.
                self.fail();
                let _ = txn.abort();
                return Err(StorageError::io(format!("journal write failed: {e}")));
            }
            #[cfg(test)]
            assert!(
                !self.panic_after_append.load(Ordering::Relaxed),
                "injected: panic between the journal append and redb's commit"
            );
            return txn.commit().map_err(|e| {
                self.fail();
                e.into()
            });
        }
        let checkpoint = Self::checkpoint(txn, &mut journal);
        if checkpoint.is_err() {
            self.fail();
        }
        checkpoint
    }

    /// Commits `txn` durably, recording that the database now holds the
    /// journal's generation, and starts the next generation.
    fn checkpoint(
        mut txn: redb::WriteTransaction,
        journal: &mut journal::Journal,
    ) -> Result<(), StorageError> {
        txn.set_durability(RedbDurability::Immediate)?;
        let previous = txn
            .open_table(META)?
            .insert(CHECKPOINTED_GENERATION, journal.generation())?
            .map(|v| v.value());
        // The checkpointed generation never goes back: a checkpoint
        // records the journal's generation, which only increases, and
        // opening adopts the database's (see `journal`'s Generations
        // section). Going back would make the next open replay groups
        // the database already holds over newer rows. A release assert,
        // once per checkpoint; inside a commit it poisons (see `commit`).
        assert!(
            previous.is_none_or(|p| p <= journal.generation()),
            "checkpointed generation going back"
        );
        txn.commit()?;
        journal
            .start_generation()
            .map_err(|e| StorageError::io(format!("journal: {e}")))
    }

    fn fail(&self) {
        self.failed.store(true, Ordering::Release);
    }

    /// One transaction, one commit, for this caller alone.
    fn write_alone<T, E>(&self, f: impl FnOnce(&mut WriteTx<'_>) -> Result<T, E>) -> Result<T, E>
    where
        E: From<StorageError>,
    {
        let txn = self.begin()?;
        let mut tx = WriteTx::new(&txn, self.journaled());
        let result = f(&mut tx);
        let redo = tx.take_redo();
        drop(tx);
        match result {
            Ok(value) => {
                self.commit(txn, &redo)?;
                Ok(value)
            }
            Err(e) => {
                // Abort errors are moot: the transaction is dropped either way.
                let _ = txn.abort();
                Err(e)
            }
        }
    }

    /// Drops without the closing checkpoint, as a crash would: the tests'
    /// stand-in for SIGKILL (with the database file put back to a synced
    /// state by the test).
    #[cfg(test)]
    pub(crate) fn drop_as_if_crashed(self) {
        self.failed.store(true, Ordering::Release);
    }

    /// Makes every later write fail, as a failed commit does (tests of
    /// what a confirm does when storage fails after the verifier approved).
    #[cfg(test)]
    pub(crate) fn fail_for_tests(&self) {
        self.fail();
    }

    /// Commits since open that carried at least one write (tests and benches).
    #[cfg(test)]
    pub(crate) fn commits(&self) -> u64 {
        self.combiner.as_ref().map_or(0, commit::Combiner::commits)
    }
}

impl Drop for RedbStore {
    /// Closing checkpoints, so the next open has nothing to replay. Best
    /// effort: should it fail, the next open replays the journal instead.
    fn drop(&mut self) {
        if !self.journaled() || self.failed.load(Ordering::Acquire) {
            return;
        }
        if let Ok(txn) = self.db.begin_write() {
            let _ = Self::checkpoint(txn, &mut self.journal.lock());
        }
    }
}
