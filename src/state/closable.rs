//! The storage handle that [`Engine::close`](crate::Engine::close) can
//! release while contexts still hold the rest of the engine's state.
//!
//! Owns [`ClosableStorage`] and nothing else; it never decides what is
//! read or written.

use parking_lot::RwLock;

use crate::error::StorageError;
use crate::store::{ReadTx, Storage, WriteTx};

/// The storage of an engine that [`Engine::close`](crate::Engine::close) can release while
/// contexts still hold the rest of the engine's state.
///
/// Every access takes a read lock for as long as it uses the storage (a
/// read transaction is begun under it and then lives on its own; a write
/// holds it until committed); close takes the write lock, so it waits for
/// accesses in progress, then drops the storage, which checkpoints and
/// releases the journal and the database file. Accesses after that fail
/// with [`StorageError::closed`] (code `EngineClosed`).
pub(crate) struct ClosableStorage(RwLock<Option<Storage>>);

impl ClosableStorage {
    pub(super) fn new(storage: Storage) -> Self {
        Self(RwLock::new(Some(storage)))
    }
}

impl ClosableStorage {
    fn closed() -> StorageError {
        StorageError::closed()
    }

    pub(crate) fn read(&self) -> Result<ReadTx, StorageError> {
        // Recursive: an access never waits behind a pending close while
        // another access of the same thread holds the lock.
        self.0
            .read_recursive()
            .as_ref()
            .ok_or_else(Self::closed)?
            .read()
    }

    pub(crate) fn write<T, E>(
        &self,
        f: impl FnOnce(&mut WriteTx<'_>) -> Result<T, E> + Send,
    ) -> Result<T, E>
    where
        T: Send,
        E: From<StorageError> + Send,
    {
        let guard = self.0.read_recursive();
        let storage = guard.as_ref().ok_or_else(|| E::from(Self::closed()))?;
        storage.write(f)
    }

    /// Runs `f` on the open storage; a close waits until it returns.
    pub(crate) fn with<T>(&self, f: impl FnOnce(&Storage) -> T) -> Result<T, StorageError> {
        let guard = self.0.read_recursive();
        Ok(f(guard.as_ref().ok_or_else(Self::closed)?))
    }

    /// Waits for accesses in progress, then drops the storage.
    pub(super) fn close(&self) {
        let storage = self.0.write().take();
        drop(storage);
    }
}

impl std::fmt::Debug for ClosableStorage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &*self.0.read_recursive() {
            Some(s) => s.fmt(f),
            None => f.write_str("Storage(closed)"),
        }
    }
}
