//! File descriptors: the process's open-file limit, the share of it the broker's segment
//! files may use, and the bounded cache of open segment files.
//!
//! Partitions hold no file of their own. A segment's `.log` file is opened on demand
//! through one [`FileCache`] for the whole process (the descriptor limit is per process),
//! kept while it is used and closed when it falls out of the cache, so the number of open
//! segment files stays below the cache's capacity however many partitions exist. A segment
//! with writes not yet fdatasynced keeps its own handle (see `Segment`), so a file is never
//! closed with unsynced data: the fdatasync that moves the durable offset runs on the very
//! descriptor the writes went through, and sees any write-back error they caused.
//!
//! At start the soft `RLIMIT_NOFILE` is raised to the hard limit when the hard one allows
//! more ([`limits`]); from the limit then in force come the cache's capacity and the number
//! of partitions the broker accepts. New topics past that number are refused
//! ([`check_room`]); topics already on disk always open, since opening needs only the cache.

use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::hash::BuildHasherDefault;
use std::io;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};

use rustc_hash::FxHasher;

use super::service::BrokerError;

/// Never asked of the kernel: above this the cache only costs memory and start time.
const MAX_CACHED_FILES: usize = 512;
/// The cache's floor, so a tiny limit still lets a few partitions be written without
/// reopening their files on every append.
const MIN_CACHED_FILES: usize = 16;
/// The least kept for everything but segment files: connections, the registry's database,
/// indexes and settings being written, the flusher's transient handles.
const MIN_RESERVED: u64 = 64;
/// Of the reserved share, what is not for connections: the registry's database and its
/// pool, the listener, settings and indexes being written, the flusher's transient handles.
const OTHER_FILES: u64 = 48;
/// Descriptors a written partition may hold outside the cache: the active segment's
/// handle with writes not yet flushed, and the one a flush in progress holds (the cache may
/// have closed its copy, so the next append opens another). A roll fdatasyncs the old
/// segment and lets go of its handle, so no third is ever held.
pub const FILES_PER_PARTITION: u64 = 2;
/// Where the soft limit goes when the hard one is unlimited (Linux's default `nr_open`).
const UNLIMITED_TARGET: u64 = 1 << 20;

/// The descriptor budget, fixed once at start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// The soft `RLIMIT_NOFILE` in force (after raising it).
    pub soft_limit: u64,
    /// How many segment files the cache keeps open.
    pub cache_capacity: usize,
    /// The most partitions the broker accepts across its topics.
    pub max_partitions: u64,
    /// The default cap on client connections: the reserved share less what the database,
    /// the listener and files being written need.
    pub max_connections: usize,
}

impl Limits {
    /// The budget under a soft limit of `soft_limit` descriptors: a quarter (at least
    /// [`MIN_RESERVED`]) for connections and other files, a sixteenth for the cache, and
    /// [`FILES_PER_PARTITION`] descriptors per partition for the rest. A partition needs
    /// descriptors of its own only while it has unsynced writes or a flush in progress, so
    /// this holds even if every partition is written at once.
    pub fn for_soft_limit(soft_limit: u64) -> Limits {
        let cache_capacity = ((soft_limit / 16) as usize).clamp(MIN_CACHED_FILES, MAX_CACHED_FILES);
        let reserved = (soft_limit / 4).max(MIN_RESERVED);
        let max_partitions = soft_limit.saturating_sub(reserved + cache_capacity as u64) / FILES_PER_PARTITION;
        let max_connections = reserved.saturating_sub(OTHER_FILES).clamp(16, 10_000) as usize;
        Limits {
            soft_limit,
            cache_capacity,
            max_partitions,
            max_connections,
        }
    }
}

/// The process's descriptor budget. The first call raises the soft limit to the hard one
/// when it can (`Broker::open` calls this before opening anything).
pub fn limits() -> &'static Limits {
    static LIMITS: OnceLock<Limits> = OnceLock::new();
    LIMITS.get_or_init(|| {
        let limits = Limits::for_soft_limit(raise_soft_limit());
        tracing::info!(
            open_file_limit = limits.soft_limit,
            cached_segment_files = limits.cache_capacity,
            max_partitions = limits.max_partitions,
            "descriptor budget"
        );
        limits
    })
}

/// Raises the soft `RLIMIT_NOFILE` to the hard limit if it is lower; answers the soft
/// limit in force afterwards (unchanged when the kernel refuses).
fn raise_soft_limit() -> u64 {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit only writes the struct it is given, which lives on this stack.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) } != 0 {
        return 1024; // the usual default; nothing better is known
    }
    let current = limit.rlim_cur;
    let target = if limit.rlim_max == libc::RLIM_INFINITY {
        UNLIMITED_TARGET
    } else {
        limit.rlim_max
    };
    if current >= target {
        return current;
    }
    let raised = libc::rlimit {
        rlim_cur: target,
        rlim_max: limit.rlim_max,
    };
    // SAFETY: setrlimit only reads the struct it is given.
    if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &raised) } == 0 {
        target
    } else {
        tracing::warn!(
            soft_limit = current,
            hard_limit = target,
            "cannot raise the open-file limit"
        );
        current
    }
}

/// Refuses `adding` more partitions when the broker already holds `existing` and the
/// descriptor budget allows no more, with an error that names the limit.
pub fn check_room(existing: u64, adding: u32) -> Result<(), BrokerError> {
    check_room_under(limits(), existing, adding)
}

fn check_room_under(limits: &Limits, existing: u64, adding: u32) -> Result<(), BrokerError> {
    if existing + u64::from(adding) <= limits.max_partitions {
        return Ok(());
    }
    Err(BrokerError::Limit(format!(
        "Cannot create {adding} more partition(s): the broker holds {existing} and allows at most {} \
         under its open-file limit of {} descriptors (RLIMIT_NOFILE). Raise the limit (ulimit -n) \
         or delete topics.",
        limits.max_partitions, limits.soft_limit
    )))
}

/// The process's cache of open segment files, sized from [`limits`].
pub fn files() -> &'static FileCache {
    static FILES: OnceLock<FileCache> = OnceLock::new();
    FILES.get_or_init(|| FileCache::new(limits().cache_capacity))
}

type FastMap<K, V> = HashMap<K, V, BuildHasherDefault<FxHasher>>;

/// Open files by key, least recently used closed first when more than `capacity` are open.
///
/// A hit is a short lock, a hash lookup and a reference count: no system call. A miss opens
/// the file outside the lock. An evicted file closes once the last user of its handle (a
/// read in progress, a sync, a segment's unsynced writes) lets go of it.
pub struct FileCache {
    capacity: usize,
    next_key: AtomicU64,
    lru: Mutex<Lru>,
}

#[derive(Default)]
struct Lru {
    slots: FastMap<u64, Slot>,
    /// Counts uses; a slot's `used` is the count at its last use.
    clock: u64,
    /// Files opened so far (for tests and metrics).
    opened: u64,
}

struct Slot {
    file: Arc<File>,
    used: u64,
}

impl FileCache {
    pub fn new(capacity: usize) -> FileCache {
        FileCache {
            capacity: capacity.max(1),
            next_key: AtomicU64::new(0),
            lru: Mutex::new(Lru::default()),
        }
    }

    /// A key no other file in this cache has.
    pub fn key(&self) -> u64 {
        self.next_key.fetch_add(1, Ordering::Relaxed)
    }

    /// The open file under `key`, opening `path` (read and append) if it is not cached.
    pub fn get(&self, key: u64, path: &Path) -> io::Result<Arc<File>> {
        if let Some(file) = self.hit(key) {
            return Ok(file);
        }
        let file = OpenOptions::new().read(true).append(true).open(path)?;
        Ok(self.insert(key, file))
    }

    fn hit(&self, key: u64) -> Option<Arc<File>> {
        let mut lru = self.lock();
        lru.clock += 1;
        let clock = lru.clock;
        let slot = lru.slots.get_mut(&key)?;
        slot.used = clock;
        Some(slot.file.clone())
    }

    /// Caches a file just opened under `key` and answers its handle (the one already cached
    /// if another thread got there first).
    pub fn insert(&self, key: u64, file: File) -> Arc<File> {
        let (file, evicted) = {
            let mut lru = self.lock();
            lru.clock += 1;
            lru.opened += 1;
            let used = lru.clock;
            let file = lru
                .slots
                .entry(key)
                .or_insert_with(|| Slot {
                    file: Arc::new(file),
                    used,
                })
                .file
                .clone();
            (file, lru.evict_over(self.capacity))
        };
        drop(evicted); // closes the files outside the lock
        file
    }

    /// Drops the file under `key` from the cache (its segment is gone).
    pub fn forget(&self, key: u64) {
        let slot = self.lock().slots.remove(&key);
        drop(slot);
    }

    /// Files the cache holds open now.
    pub fn open_count(&self) -> usize {
        self.lock().slots.len()
    }

    /// Files opened since the cache was made.
    pub fn opened(&self) -> u64 {
        self.lock().opened
    }

    fn lock(&self) -> MutexGuard<'_, Lru> {
        self.lru.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Lru {
    /// Takes the least recently used slots out when more than `capacity` are held: an
    /// eighth of the capacity beyond the excess, so the scan runs once per many misses.
    fn evict_over(&mut self, capacity: usize) -> Vec<Slot> {
        if self.slots.len() <= capacity {
            return Vec::new();
        }
        let count = (self.slots.len() - capacity + capacity / 8).min(self.slots.len() - 1);
        let mut ages: Vec<(u64, u64)> = self.slots.iter().map(|(&key, slot)| (slot.used, key)).collect();
        ages.select_nth_unstable(count - 1);
        ages[..count]
            .iter()
            .filter_map(|(_, key)| self.slots.remove(key))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_budget_keeps_room_for_connections_and_the_cache() {
        let low = Limits::for_soft_limit(256);
        assert_eq!(low.cache_capacity, 16);
        assert_eq!(low.max_partitions, (256 - 64 - 16) / 2);
        let usual = Limits::for_soft_limit(1024);
        assert_eq!(
            (usual.cache_capacity, usual.max_partitions),
            (64, (1024 - 256 - 64) / 2)
        );
        let large = Limits::for_soft_limit(1 << 20);
        assert_eq!(large.cache_capacity, MAX_CACHED_FILES);
        assert_eq!(Limits::for_soft_limit(10).max_partitions, 0);
    }

    #[test]
    fn partitions_past_the_budget_are_refused_naming_the_limit() {
        let limits = Limits::for_soft_limit(256);
        assert!(check_room_under(&limits, 80, 8).is_ok());
        let err = check_room_under(&limits, 80, 9).unwrap_err();
        assert!(matches!(err, BrokerError::Limit(_)));
        let message = err.to_string();
        assert!(message.contains("at most 88"), "{message}");
        assert!(message.contains("open-file limit of 256"), "{message}");
    }
}
