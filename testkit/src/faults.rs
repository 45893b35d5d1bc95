//! A fault-injecting file layer (`seatbook::Vfs`) for the power-loss and
//! I/O-error suites (`tests/powerloss.rs`, `tests/io_errors.rs`).
//!
//! Files live in memory: what the running process reads is the *page
//! cache* (every write so far). Every write, `set_len`, sync, creation,
//! rename, removal and directory sync is also appended to an event log,
//! from which [`FaultFs::crash_image`] builds what a disk could hold after
//! a power loss just before event `at`:
//!
//! - per file, the *durable image* (its content as of its last successful
//!   sync), plus a random subset of the writes and `set_len`s not synced
//!   since, applied in order, each possibly torn at 512 B or 4 KiB sectors
//!   (a random prefix of its sectors, or random sectors of it);
//! - a sync that failed makes nothing durable, and the writes it covered
//!   never reach the disk, not even through a later sync that succeeds (the
//!   kernel marked their pages clean: PostgreSQL's "fsyncgate"), while the
//!   page cache keeps showing them to the process;
//! - with [`Model::strict_dir_entries`], the creations, renames and
//!   removals since the last sync of their directory are kept only as a
//!   random prefix (so a new file may vanish).
//!
//! [`FaultFs::inject`] fails the n-th I/O point (write, `set_len`, sync,
//! directory sync) with `EIO` or, for writes, `ENOSPC`.

use std::collections::{BTreeMap, HashMap};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use seatbook::{Vfs, VfsFile};

use crate::rng::Rng;

/// The injected error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// `EIO` on a write or a sync.
    Eio,
    /// `ENOSPC` on a write or `set_len` (a sync point gets `EIO` instead).
    Enospc,
}

/// How unkind the simulated disk and file system are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Model {
    /// Directory entries (new files, renames, removals) survive only if
    /// their directory was synced after them; otherwise each crash keeps
    /// a random prefix of them. When off, they are durable at once (as
    /// ext4 with `data=ordered` behaves in practice).
    pub strict_dir_entries: bool,
}

#[derive(Debug, Clone)]
enum Event {
    Create { ino: u64, path: PathBuf },
    Write { ino: u64, off: u64, data: Vec<u8> },
    SetLen { ino: u64, len: u64 },
    Sync { ino: u64, ok: bool },
    SyncDir { dir: PathBuf },
    Rename { from: PathBuf, to: PathBuf },
    Remove { path: PathBuf },
}

#[derive(Debug, Default)]
struct State {
    names: BTreeMap<PathBuf, u64>,
    cache: HashMap<u64, Vec<u8>>,
    next_ino: u64,
    locks: HashMap<u64, u64>,
    next_handle: u64,
    log: Vec<Event>,
    io_points: u64,
    inject: Option<(u64, Fault)>,
    /// `(io point, what failed)` of every injected error.
    injected: Vec<(u64, String)>,
    /// Syncs called through a handle whose earlier sync had failed.
    sync_retries: u64,
    /// I/O points reached by syncs, in order (for tests that target them).
    sync_points: Vec<u64>,
}

/// The fault-injecting file system. Cheap to clone (shared state): a clone
/// opened again after dropping an engine is the same boot, page cache
/// included.
#[derive(Debug, Clone, Default)]
pub struct FaultFs {
    state: Arc<Mutex<State>>,
}

fn eio() -> io::Error {
    io::Error::from_raw_os_error(5)
}

fn enospc() -> io::Error {
    io::Error::from_raw_os_error(28)
}

impl FaultFs {
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Events so far: a crash point in `0..=events()`.
    pub fn events(&self) -> usize {
        self.lock().log.len()
    }

    /// I/O points so far (writes, `set_len`s, syncs, directory syncs).
    pub fn io_points(&self) -> u64 {
        self.lock().io_points
    }

    /// I/O points that were syncs.
    pub fn sync_points(&self) -> Vec<u64> {
        self.lock().sync_points.clone()
    }

    /// Writes so far at `offset` of the file now at `path` (tests count
    /// journal header writes, one per checkpoint, with it).
    pub fn writes_at(&self, path: &Path, offset: u64) -> usize {
        let s = self.lock();
        let Some(&ino) = s.names.get(path) else {
            return 0;
        };
        s.log
            .iter()
            .filter(
                |e| matches!(e, Event::Write { ino: i, off, .. } if *i == ino && *off == offset),
            )
            .count()
    }

    /// Fails I/O point `point` (counted from this file system's start).
    pub fn inject(&self, point: u64, fault: Fault) {
        self.lock().inject = Some((point, fault));
    }

    /// The injected errors so far: `(io point, operation)`.
    pub fn injected(&self) -> Vec<(u64, String)> {
        self.lock().injected.clone()
    }

    /// Syncs retried through a handle whose earlier sync failed.
    pub fn sync_retries(&self) -> u64 {
        self.lock().sync_retries
    }

    /// Counts an I/O point; `Err` if it is the injected one.
    fn point(state: &mut State, what: &str, sync: bool) -> io::Result<()> {
        let point = state.io_points;
        state.io_points += 1;
        if sync {
            state.sync_points.push(point);
        }
        match state.inject {
            Some((at, fault)) if at == point => {
                state.injected.push((point, what.to_owned()));
                Err(if fault == Fault::Enospc && !sync {
                    enospc()
                } else {
                    eio()
                })
            }
            _ => Ok(()),
        }
    }

    /// What the disk could hold after a power loss just before event `at`
    /// (`rng` picks which unsynced writes landed, and how torn); with
    /// `rng` `None`, only what was synced. File name → content.
    pub fn crash_image(
        &self,
        at: usize,
        model: Model,
        mut rng: Option<&mut Rng>,
    ) -> BTreeMap<PathBuf, Vec<u8>> {
        let log = self.lock().log[..at].to_vec();
        #[derive(Default)]
        struct Node {
            durable: Vec<u8>,
            pending: Vec<Event>,
        }
        let mut nodes: HashMap<u64, Node> = HashMap::new();
        let mut durable_names: BTreeMap<PathBuf, u64> = BTreeMap::new();
        let mut pending_dir: Vec<Event> = Vec::new();
        let mut live_names: BTreeMap<PathBuf, u64> = BTreeMap::new();
        let apply_dir = |names: &mut BTreeMap<PathBuf, u64>, e: &Event| match e {
            Event::Create { ino, path } => {
                names.insert(path.clone(), *ino);
            }
            Event::Rename { from, to } => {
                if let Some(ino) = names.remove(from) {
                    names.insert(to.clone(), ino);
                }
            }
            Event::Remove { path } => {
                names.remove(path);
            }
            _ => {}
        };
        for e in log {
            match &e {
                Event::Create { ino, .. } => {
                    nodes.entry(*ino).or_default();
                }
                Event::Write { ino, .. } | Event::SetLen { ino, .. } => {
                    nodes.entry(*ino).or_default().pending.push(e.clone());
                }
                Event::Sync { ino, ok } => {
                    let node = nodes.entry(*ino).or_default();
                    let pending = std::mem::take(&mut node.pending);
                    if *ok {
                        for p in &pending {
                            apply(&mut node.durable, p, None);
                        }
                    }
                    // A failed sync: those pages are marked clean and never
                    // reach the disk.
                }
                Event::SyncDir { dir } => {
                    let (now, later): (Vec<Event>, Vec<Event>) = pending_dir
                        .drain(..)
                        .partition(|d| dir_of(d) == Some(dir.as_path()));
                    for d in &now {
                        apply_dir(&mut durable_names, d);
                    }
                    pending_dir = later;
                }
                Event::Rename { .. } | Event::Remove { .. } => {}
            }
            if matches!(
                e,
                Event::Create { .. } | Event::Rename { .. } | Event::Remove { .. }
            ) {
                apply_dir(&mut live_names, &e);
                if model.strict_dir_entries {
                    pending_dir.push(e.clone());
                } else {
                    apply_dir(&mut durable_names, &e);
                }
            }
        }
        if let Some(rng) = rng.as_deref_mut() {
            let keep = rng.index(pending_dir.len() + 1);
            for d in &pending_dir[..keep] {
                apply_dir(&mut durable_names, d);
            }
        }
        let mut out = BTreeMap::new();
        for (path, ino) in durable_names {
            let node = nodes.remove(&ino).unwrap_or_default();
            let mut data = node.durable;
            if let Some(rng) = rng.as_deref_mut() {
                for p in &node.pending {
                    if rng.chance(500) {
                        apply(&mut data, p, Some(&mut *rng));
                    }
                }
            }
            out.insert(path, data);
        }
        out
    }
}

fn dir_of(e: &Event) -> Option<&Path> {
    match e {
        Event::Create { path, .. } | Event::Remove { path } => path.parent(),
        Event::Rename { to, .. } => to.parent(),
        _ => None,
    }
}

/// Applies a write or `set_len` to `data`; with `rng`, a write may be torn
/// at 512 B or 4 KiB sectors (of the file's offsets).
fn apply(data: &mut Vec<u8>, e: &Event, rng: Option<&mut Rng>) {
    match e {
        Event::SetLen { len, .. } => data.resize(*len as usize, 0),
        Event::Write { off, data: w, .. } => {
            let off = *off as usize;
            let mut pieces = vec![(off, off + w.len())];
            if let Some(rng) = rng {
                let sector = if rng.chance(500) { 512 } else { 4096 };
                let mut sectors = Vec::new();
                let mut at = off;
                while at < off + w.len() {
                    let end = ((at / sector + 1) * sector).min(off + w.len());
                    sectors.push((at, end));
                    at = end;
                }
                pieces = match rng.below(3) {
                    0 => sectors,
                    1 => {
                        let n = rng.index(sectors.len() + 1);
                        sectors[..n].to_vec()
                    }
                    _ => sectors.into_iter().filter(|_| rng.chance(500)).collect(),
                };
            }
            for (a, b) in pieces {
                if data.len() < b {
                    data.resize(b, 0);
                }
                data[a..b].copy_from_slice(&w[a - off..b - off]);
            }
        }
        _ => {}
    }
}

/// Writes an image's files into `dir` (by file name).
pub fn materialize(image: &BTreeMap<PathBuf, Vec<u8>>, dir: &Path) {
    for (path, data) in image {
        std::fs::write(dir.join(path.file_name().expect("file name")), data).expect("write image");
    }
}

impl Vfs for FaultFs {
    fn open(&self, path: &Path, create: bool) -> io::Result<Box<dyn VfsFile>> {
        let mut s = self.lock();
        let ino = match s.names.get(path) {
            Some(&ino) => ino,
            None if create => {
                s.next_ino += 1;
                let ino = s.next_ino;
                s.names.insert(path.to_owned(), ino);
                s.cache.insert(ino, Vec::new());
                s.log.push(Event::Create {
                    ino,
                    path: path.to_owned(),
                });
                ino
            }
            None => return Err(io::Error::from(io::ErrorKind::NotFound)),
        };
        s.next_handle += 1;
        let handle = s.next_handle;
        Ok(Box::new(FaultFile {
            fs: self.clone(),
            ino,
            handle,
            sync_failed: AtomicBool::new(false),
        }))
    }

    fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        let mut s = self.lock();
        let ino = s
            .names
            .remove(from)
            .ok_or_else(|| io::Error::from(io::ErrorKind::NotFound))?;
        s.names.insert(to.to_owned(), ino);
        s.log.push(Event::Rename {
            from: from.to_owned(),
            to: to.to_owned(),
        });
        Ok(())
    }

    fn remove_file(&self, path: &Path) -> io::Result<()> {
        let mut s = self.lock();
        s.names
            .remove(path)
            .ok_or_else(|| io::Error::from(io::ErrorKind::NotFound))?;
        s.log.push(Event::Remove {
            path: path.to_owned(),
        });
        Ok(())
    }

    fn sync_dir(&self, dir: &Path) -> io::Result<()> {
        let mut s = self.lock();
        Self::point(&mut s, "sync_dir", true)?;
        s.log.push(Event::SyncDir {
            dir: dir.to_owned(),
        });
        Ok(())
    }

    fn exists(&self, path: &Path) -> io::Result<bool> {
        Ok(self.lock().names.contains_key(path))
    }
}

/// An open file of a [`FaultFs`].
#[derive(Debug)]
struct FaultFile {
    fs: FaultFs,
    ino: u64,
    handle: u64,
    sync_failed: AtomicBool,
}

impl FaultFile {
    fn sync(&self, what: &str) -> io::Result<()> {
        let mut s = self.fs.lock();
        if self.sync_failed.load(Ordering::Acquire) {
            s.sync_retries += 1;
        }
        let result = FaultFs::point(&mut s, what, true);
        s.log.push(Event::Sync {
            ino: self.ino,
            ok: result.is_ok(),
        });
        if result.is_err() {
            self.sync_failed.store(true, Ordering::Release);
        }
        result
    }
}

impl VfsFile for FaultFile {
    fn read_exact_at(&self, buf: &mut [u8], offset: u64) -> io::Result<()> {
        let s = self.fs.lock();
        let data = &s.cache[&self.ino];
        let start = usize::try_from(offset).map_err(io::Error::other)?;
        let src = data
            .get(start..start + buf.len())
            .ok_or_else(|| io::Error::from(io::ErrorKind::UnexpectedEof))?;
        buf.copy_from_slice(src);
        Ok(())
    }

    fn write_all_at(&self, buf: &[u8], offset: u64) -> io::Result<()> {
        let mut s = self.fs.lock();
        FaultFs::point(&mut s, "write", false)?;
        let start = offset as usize;
        let data = s.cache.get_mut(&self.ino).expect("open file");
        if data.len() < start + buf.len() {
            data.resize(start + buf.len(), 0);
        }
        data[start..start + buf.len()].copy_from_slice(buf);
        s.log.push(Event::Write {
            ino: self.ino,
            off: offset,
            data: buf.to_vec(),
        });
        Ok(())
    }

    fn len(&self) -> io::Result<u64> {
        Ok(self.fs.lock().cache[&self.ino].len() as u64)
    }

    fn set_len(&self, len: u64) -> io::Result<()> {
        let mut s = self.fs.lock();
        FaultFs::point(&mut s, "set_len", false)?;
        s.cache
            .get_mut(&self.ino)
            .expect("open file")
            .resize(len as usize, 0);
        s.log.push(Event::SetLen { ino: self.ino, len });
        Ok(())
    }

    fn sync_data(&self) -> io::Result<()> {
        self.sync("sync_data")
    }

    fn sync_all(&self) -> io::Result<()> {
        self.sync("sync_all")
    }

    fn try_lock(&self) -> io::Result<bool> {
        let mut s = self.fs.lock();
        match s.locks.get(&self.ino) {
            Some(&h) => Ok(h == self.handle),
            None => {
                s.locks.insert(self.ino, self.handle);
                Ok(true)
            }
        }
    }

    fn unlock(&self) -> io::Result<()> {
        let mut s = self.fs.lock();
        if s.locks.get(&self.ino) == Some(&self.handle) {
            s.locks.remove(&self.ino);
        }
        Ok(())
    }
}

impl Drop for FaultFile {
    fn drop(&mut self) {
        let _ = self.unlock();
    }
}
