//! A partition in service: its log behind a lock, made durable in groups by the process's
//! few flusher threads.
//!
//! Producers append (a `write`, under the lock, short) and then wait until the durable
//! offset passes their last offset. An append that finds its partition idle puts it in the
//! flushers' queue; a flusher takes everything written since the partition's last flush,
//! fdatasyncs it outside the lock (appends go on meanwhile), publishes the new durable
//! offset and wakes every producer it covers: many appends, one flush (group commit). What
//! was written during a flush is queued again behind the other partitions. In `Interval`
//! mode producers do not wait; a partition is flushed one interval after its first unflushed
//! write, and a crash can lose what was acknowledged within that window.
//!
//! Threads do not grow with partitions: [`FLUSHER_THREADS`] flushers serve them all, and a
//! partition with nothing to flush is in no queue and costs no thread.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};
use std::path::Path;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, OnceLock};
use std::thread;
use std::time::{Duration, Instant};

use bytes::Bytes;
use tokio::sync::watch;

use super::batch::{BatchError, ProducedBatches};
use super::log::{LogConfig, LogError, PartitionLog, Produced, Recovery, SyncTicket};

/// When an acknowledgement is given.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Durability {
    /// After the records are fdatasynced (the default).
    Sync,
    /// After the records are written; flushed every interval. Up to one interval of
    /// acknowledged records can be lost in a power failure or kernel crash.
    Interval(Duration),
}

/// The durable point as producers and readers see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Durable {
    Offset(i64),
    /// A flush failed: the data's fate is unknown, and the partition takes no more writes.
    Failed(String),
}

struct FlushState {
    /// Appends not yet covered by a flush.
    pending: bool,
    /// In the flushers' queue or being flushed: one entry per partition at most.
    queued: bool,
    /// Flushes done, for tests and metrics.
    flushes: u64,
}

struct Shared {
    log: Mutex<PartitionLog>,
    state: Mutex<FlushState>,
    /// Held for a whole flush (and by `close`): flushes of one partition never overlap, so
    /// the durable offset only moves past data an fdatasync has covered.
    flushing: Mutex<()>,
    durable: watch::Sender<Durable>,
    durability: Durability,
    flushers: &'static Flushers,
}

/// A partition's log in service. It holds no thread: the process's flusher threads
/// ([`Flushers`]) make its appends durable.
pub struct Partition {
    shared: Arc<Shared>,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

impl Partition {
    pub fn open(dir: &Path, config: LogConfig, durability: Durability) -> Result<(Partition, Recovery), LogError> {
        let flushers = flushers()?;
        let (log, recovery) = PartitionLog::open(dir, config)?;
        let (durable, _) = watch::channel(Durable::Offset(log.durable_offset()));
        let shared = Arc::new(Shared {
            log: Mutex::new(log),
            state: Mutex::new(FlushState {
                pending: false,
                queued: false,
                flushes: 0,
            }),
            flushing: Mutex::new(()),
            durable,
            durability,
            flushers,
        });
        Ok((Partition { shared }, recovery))
    }

    /// Appends batches (each given its offsets) and answers the offsets of each, once they
    /// are acknowledged under the partition's durability. Batches are checked before any is
    /// written: an invalid one fails the call with nothing appended.
    ///
    /// A closed, failed or deleted partition refuses the append: the log checks that under
    /// its lock, so no append lands after `close` or `retire` has taken it.
    pub async fn append(&self, batches: &mut [Vec<u8>]) -> Result<Vec<(i64, i64)>, LogError> {
        // Every batch is checked before the first is written: all land, or none.
        let headers = batches
            .iter()
            .map(|b| super::batch::verify_whole(b))
            .collect::<Result<Vec<_>, _>>()
            .map_err(LogError::InvalidBatch)?;
        let offsets = {
            let mut log = lock(&self.shared.log);
            let mut offsets = Vec::with_capacity(batches.len());
            for (batch, header) in batches.iter_mut().zip(headers) {
                offsets.push(log.append_verified(batch, header)?);
            }
            offsets
        };
        self.schedule_flush();
        if let Some(&(_, last)) = offsets.last() {
            self.acknowledge(last).await?;
        }
        Ok(offsets)
    }

    /// Appends Kafka producers' checked record sets ([`ProducedBatches`]): under the log's
    /// lock, the idempotent producers' sequences are checked and all batches appended, or
    /// none ([`PartitionLog::append_produced`]). Answered once acknowledged under the
    /// partition's durability, like [`Partition::append`]; a duplicate is answered once its
    /// original is durable, so a retry never acknowledges what a crash could take back.
    pub async fn append_produced(&self, sets: Vec<ProducedBatches>) -> Result<Produced, LogError> {
        let produced = self.append_produced_now(sets)?;
        self.acknowledge(produced.last_offset).await?;
        Ok(produced)
    }

    /// The first half of [`Partition::append_produced`]: appends (or finds the duplicate)
    /// and queues the flush, without waiting; [`Partition::acknowledge`] with the answer's
    /// `last_offset` is the second half. A caller that must append in a given order (a
    /// connection's pipelined Produce requests) appends one set after another and then
    /// waits for all of them, so their writes still share flushes.
    pub fn append_produced_now(&self, mut sets: Vec<ProducedBatches>) -> Result<Produced, LogError> {
        let mut batches: Vec<&mut [u8]> = Vec::new();
        let mut headers = Vec::new();
        for set in sets.iter_mut() {
            let (slices, set_headers) = set.split_mut();
            batches.extend(slices);
            headers.extend(set_headers);
        }
        if batches.is_empty() {
            return Err(LogError::InvalidBatch(BatchError::BadRecords(
                "the record set holds no batch".to_string(),
            )));
        }
        let produced = lock(&self.shared.log).append_produced(&mut batches, &headers)?;
        if !produced.duplicate {
            self.schedule_flush();
        }
        Ok(produced)
    }

    /// Notes unflushed writes and queues the partition for the flushers if it is not queued.
    fn schedule_flush(&self) {
        let idle = {
            let mut state = lock(&self.shared.state);
            state.pending = true;
            !std::mem::replace(&mut state.queued, true)
        };
        if idle {
            self.shared.flushers.schedule(self.shared.clone());
        }
    }

    /// Waits, under `Sync` durability, until `last_offset` is durable.
    pub async fn acknowledge(&self, last_offset: i64) -> Result<(), LogError> {
        if self.shared.durability == Durability::Sync {
            self.wait_durable(last_offset + 1).await?;
        }
        Ok(())
    }

    /// The durable point as it moves: what a reader that waits for this partition's new
    /// records watches (woken by its flushes only, not every partition's).
    pub fn durable_changes(&self) -> watch::Receiver<Durable> {
        self.shared.durable.subscribe()
    }

    /// Waits until every offset below `offset` is durable.
    pub async fn wait_durable(&self, offset: i64) -> Result<(), LogError> {
        let mut receiver = self.shared.durable.subscribe();
        let reached = receiver
            .wait_for(|d| match d {
                Durable::Offset(o) => *o >= offset,
                Durable::Failed(_) => true,
            })
            .await
            .map_err(|_| failed("the partition was closed"))?;
        match &*reached {
            Durable::Offset(_) => Ok(()),
            Durable::Failed(reason) => Err(failed(reason)),
        }
    }

    /// Whole batches from the one holding `offset`, up to about `max_bytes`, never past the
    /// durable point.
    pub fn read(&self, offset: i64, max_bytes: usize) -> Result<Bytes, LogError> {
        lock(&self.shared.log).read(offset, max_bytes)
    }

    /// The same, with large reads as mappings, for bytes sent to a socket as they are
    /// (see [`PartitionLog::read_mapped`]).
    pub fn read_mapped(&self, offset: i64, max_bytes: usize) -> Result<Bytes, LogError> {
        lock(&self.shared.log).read_mapped(offset, max_bytes)
    }

    /// (log start, durable end, next offset).
    pub fn offsets(&self) -> (i64, i64, i64) {
        let log = lock(&self.shared.log);
        (log.start_offset(), log.durable_offset(), log.next_offset())
    }

    /// Flushes done so far.
    pub fn flushes(&self) -> u64 {
        lock(&self.shared.state).flushes
    }

    /// Runs `f` on the log (retention, time lookups).
    pub fn with_log<T>(&self, f: impl FnOnce(&mut PartitionLog) -> T) -> T {
        f(&mut lock(&self.shared.log))
    }

    /// Takes the partition of a deleted topic out of service before its directory is
    /// renamed: later appends and reads are refused (`LogError::Deleted`) rather than reach
    /// files by a path that may soon name a re-created topic's, and retention leaves it.
    pub fn retire(&self) {
        lock(&self.shared.log).retire();
    }

    /// Puts a retired partition back in service (its topic's deletion failed).
    pub fn unretire(&self) {
        lock(&self.shared.log).unretire();
    }

    /// Makes everything written durable and closes the log cleanly (the next open trusts
    /// its saved indexes). Later appends are refused. A partition whose flush failed is
    /// not marked clean and answers the failure.
    pub fn close(&self) -> Result<(), LogError> {
        let _no_flush_meanwhile = lock(&self.shared.flushing);
        let mut log = lock(&self.shared.log);
        log.close()?;
        let offset = log.durable_offset();
        self.shared.durable.send_if_modified(|durable| match durable {
            Durable::Offset(current) if *current < offset => {
                *current = offset;
                true
            }
            _ => false,
        });
        Ok(())
    }
}

fn failed(reason: &str) -> LogError {
    LogError::Io {
        context: "the partition stopped taking writes".to_string(),
        source: std::io::Error::other(reason.to_string()),
    }
}

/// How many threads flush the partitions of the whole process. Flushes are fdatasyncs,
/// bound by the disk: a few in parallel keep it busy (the load benchmark's four producers
/// write four partitions), more only cost threads.
pub const FLUSHER_THREADS: usize = 4;

/// The process's flusher threads and their queue of partitions with writes to flush.
struct Flushers {
    queue: Mutex<FlushQueue<Arc<Shared>>>,
    wake: Condvar,
}

/// The flushers' queue: `Sync` partitions to flush now, and `Interval` partitions by when
/// they are due. A due `Interval` partition goes before any `Sync` one, so however many
/// busy `Sync` partitions keep `ready` full, every interval is kept (an `Interval`
/// partition is due at most once per interval, so it cannot starve `Sync` ones in turn).
struct FlushQueue<T> {
    /// To flush now, oldest first.
    ready: VecDeque<T>,
    /// To flush at a time, earliest first.
    later: BinaryHeap<Reverse<Due<T>>>,
    /// Orders entries due at the same instant.
    sequence: u64,
}

/// What the queue has for a flusher at a given instant.
#[derive(Debug, PartialEq, Eq)]
enum Next<T> {
    Flush(T),
    /// Nothing is due before this instant.
    WaitUntil(Instant),
    Empty,
}

impl<T> Default for FlushQueue<T> {
    fn default() -> Self {
        FlushQueue {
            ready: VecDeque::new(),
            later: BinaryHeap::new(),
            sequence: 0,
        }
    }
}

impl<T> FlushQueue<T> {
    fn push_now(&mut self, item: T) {
        self.ready.push_back(item);
    }

    fn push_at(&mut self, at: Instant, item: T) {
        self.sequence += 1;
        let sequence = self.sequence;
        self.later.push(Reverse(Due { at, sequence, item }));
    }

    /// Up to `max` more ready entries, oldest first: the partitions that wait for a flush
    /// while one is already being taken, to be flushed together with it.
    fn take_ready(&mut self, max: usize) -> Vec<T> {
        let count = self.ready.len().min(max);
        self.ready.drain(..count).collect()
    }

    /// The next entry to flush at `now`: the earliest due timed entry, else the oldest
    /// ready one.
    fn pop(&mut self, now: Instant) -> Next<T> {
        if self.later.peek().is_some_and(|Reverse(first)| first.at <= now) {
            let Reverse(due) = self.later.pop().expect("peeked");
            return Next::Flush(due.item);
        }
        if let Some(item) = self.ready.pop_front() {
            return Next::Flush(item);
        }
        match self.later.peek() {
            Some(Reverse(first)) => Next::WaitUntil(first.at),
            None => Next::Empty,
        }
    }
}

struct Due<T> {
    at: Instant,
    sequence: u64,
    item: T,
}

impl<T> PartialEq for Due<T> {
    fn eq(&self, other: &Self) -> bool {
        (self.at, self.sequence) == (other.at, other.sequence)
    }
}

impl<T> Eq for Due<T> {}

impl<T> PartialOrd for Due<T> {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl<T> Ord for Due<T> {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        (self.at, self.sequence).cmp(&(other.at, other.sequence))
    }
}

/// The flushers, started on first use.
fn flushers() -> Result<&'static Flushers, LogError> {
    static FLUSHERS: OnceLock<Flushers> = OnceLock::new();
    static STARTED: OnceLock<Result<(), String>> = OnceLock::new();
    let flushers = FLUSHERS.get_or_init(|| Flushers {
        queue: Mutex::new(FlushQueue::default()),
        wake: Condvar::new(),
    });
    match STARTED.get_or_init(|| flushers.start()) {
        Ok(()) => Ok(flushers),
        Err(reason) => Err(LogError::Io {
            context: "cannot start the flusher threads".to_string(),
            source: std::io::Error::other(reason.clone()),
        }),
    }
}

impl Flushers {
    /// Starts the threads; fails only if not even one starts.
    fn start(&'static self) -> Result<(), String> {
        let mut started = 0;
        let mut last_error = String::new();
        for _ in 0..FLUSHER_THREADS {
            match thread::Builder::new()
                .name("herald-flusher".to_string())
                .spawn(move || self.run())
            {
                Ok(_) => started += 1,
                Err(err) => last_error = err.to_string(),
            }
        }
        match started {
            0 => Err(last_error),
            n if n < FLUSHER_THREADS => {
                tracing::warn!(started = n, error = %last_error, "fewer flusher threads than planned");
                Ok(())
            }
            _ => Ok(()),
        }
    }

    /// Queues a partition whose writes need a flush: now under `Sync`, one interval from now
    /// under `Interval` (gathering an interval's writes into one flush).
    fn schedule(&self, shared: Arc<Shared>) {
        let mut queue = lock(&self.queue);
        match shared.durability {
            Durability::Sync => queue.push_now(shared),
            Durability::Interval(every) => queue.push_at(Instant::now() + every, shared),
        }
        drop(queue);
        self.wake.notify_one();
    }

    fn run(&self) {
        loop {
            let group = self.next();
            flush(&group);
        }
    }

    /// Waits for the next partition to flush, and takes with it every other partition
    /// already waiting (up to [`MAX_SHARED_FLUSH`]): they are flushed together.
    fn next(&self) -> Vec<Arc<Shared>> {
        let mut queue = lock(&self.queue);
        loop {
            let now = Instant::now();
            queue = match queue.pop(now) {
                Next::Flush(shared) => {
                    let mut group = vec![shared];
                    group.extend(queue.take_ready(MAX_SHARED_FLUSH - 1));
                    return group;
                }
                Next::WaitUntil(at) => {
                    self.wake
                        .wait_timeout(queue, at - now)
                        .unwrap_or_else(|e| e.into_inner())
                        .0
                }
                Next::Empty => self.wake.wait(queue).unwrap_or_else(|e| e.into_inner()),
            };
        }
    }
}

/// Woken whenever any partition's durable point moves: readers that wait for new records
/// (Kafka's Fetch long poll) wait on this one signal and then look at their partitions,
/// instead of subscribing to each of possibly hundreds of partitions.
pub fn arrivals() -> &'static tokio::sync::Notify {
    static ARRIVALS: OnceLock<tokio::sync::Notify> = OnceLock::new();
    ARRIVALS.get_or_init(tokio::sync::Notify::new)
}

/// Partitions one flusher takes at once at most.
const MAX_SHARED_FLUSH: usize = 512;

/// From this many partitions in one flush on, one `syncfs` of their file system replaces
/// their fdatasyncs: it costs one journal commit and one device cache flush for all of them,
/// where each fdatasync of a file that grew costs a commit and a flush of its own. Below it,
/// per-file fdatasyncs leave other writers on the file system alone.
const SHARED_SYNC_FROM: usize = 4;

/// Flushes taken by one `syncfs` for many partitions, for tests and metrics.
static SHARED_SYNCS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// How many flushes so far covered several partitions with one `syncfs`.
pub fn shared_syncs() -> u64 {
    SHARED_SYNCS.load(std::sync::atomic::Ordering::Relaxed)
}

/// One flush of a group of partitions: everything written to each before the flush starts
/// becomes durable; what is written meanwhile queues the partition again.
///
/// A group of [`SHARED_SYNC_FROM`] or more is made durable by one `syncfs` when all its
/// files are on one file system (group commit across partitions); if that fails, each
/// partition's files are fdatasynced on their own, so a write-back error is charged to the
/// partitions it belongs to and no other.
fn flush(group: &[Arc<Shared>]) {
    // Each partition's `flushing` lock is held from before its ticket is taken until its
    // durable point is published. A partition is in the queue once at most, so no two
    // flushers ever hold the same partition's lock, and `close` takes one lock only.
    let mut taken = Vec::with_capacity(group.len());
    let mut dir = None;
    for shared in group {
        let no_overlap = lock(&shared.flushing);
        lock(&shared.state).pending = false;
        let ticket = {
            let mut log = lock(&shared.log);
            dir.get_or_insert_with(|| log.dir().to_path_buf());
            log.begin_sync()
        };
        taken.push((shared, no_overlap, ticket));
    }
    let synced_together = taken.len() >= SHARED_SYNC_FROM
        && dir.is_some_and(|dir| sync_file_system(&dir, taken.iter().filter_map(|(_, _, t)| t.as_ref().ok())));
    for (shared, no_overlap, ticket) in taken {
        let outcome = ticket.and_then(|ticket| {
            if !synced_together {
                ticket.flush().map_err(|source| LogError::Io {
                    context: "fdatasync".to_string(),
                    source,
                })?;
            }
            Ok(ticket)
        });
        finish(shared, no_overlap, outcome);
    }
}

/// The descriptor shared syncs go through (a partition directory, opened at the first
/// shared sync) and its file system's device. One descriptor for all of them matters: a
/// write-back error anywhere on the file system after it was opened is reported by the next
/// `syncfs` through it, whichever partitions that flush holds.
static SYNC_ROOT: Mutex<Option<(u64, std::fs::File)>> = Mutex::new(None);

/// Set once a `syncfs` has failed: from then on every partition is flushed on its own, so
/// that each file's fdatasync reports its own write-back errors (a `syncfs` that reported
/// an error once would not report it again for the files it concerned).
static SHARED_SYNC_OFF: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// One `syncfs` for every file of the tickets, if they are all on the file system of `dir`
/// and it succeeds; `false` sends the caller back to per-file fdatasyncs.
fn sync_file_system<'a>(dir: &Path, tickets: impl Iterator<Item = &'a SyncTicket>) -> bool {
    use std::os::unix::fs::MetadataExt;
    use std::os::unix::io::AsRawFd;
    use std::sync::atomic::Ordering;
    if SHARED_SYNC_OFF.load(Ordering::Relaxed) {
        return false;
    }
    let mut root = lock(&SYNC_ROOT);
    if root.is_none() {
        let Ok(opened) = std::fs::File::open(dir) else {
            return false;
        };
        let Ok(device) = opened.metadata().map(|m| m.dev()) else {
            return false;
        };
        *root = Some((device, opened));
    }
    let Some((device, handle)) = root.as_ref() else {
        return false;
    };
    let mut files = tickets.flat_map(|ticket| ticket.files.iter());
    if !files.all(|file| file.metadata().is_ok_and(|m| m.dev() == *device)) {
        return false;
    }
    // SAFETY: the descriptor stays open while `root` is locked.
    if unsafe { libc::syncfs(handle.as_raw_fd()) } != 0 {
        let err = std::io::Error::last_os_error();
        SHARED_SYNC_OFF.store(true, Ordering::Relaxed);
        tracing::warn!(
            error = %err,
            "syncfs failed; from now on every partition is flushed on its own, so each file reports its own errors"
        );
        return false;
    }
    SHARED_SYNCS.fetch_add(1, Ordering::Relaxed);
    true
}

/// Publishes a partition's flush: its new durable point, or its failure.
fn finish(shared: &Arc<Shared>, no_overlap: MutexGuard<'_, ()>, outcome: Result<SyncTicket, LogError>) {
    match outcome {
        Ok(ticket) => {
            lock(&shared.log).finish_sync(&ticket);
            lock(&shared.state).flushes += 1;
            shared.durable.send_replace(Durable::Offset(ticket.offset));
            arrivals().notify_waiters();
        }
        Err(err) => {
            // The partition stays marked as queued: nothing schedules it again. The log
            // refuses writes and its clean-shutdown marker from here on.
            lock(&shared.log).fail();
            tracing::error!(error = %err, "flush failed; the partition takes no more writes");
            shared.durable.send_replace(Durable::Failed(err.to_string()));
            return;
        }
    }
    drop(no_overlap);
    let again = {
        let mut state = lock(&shared.state);
        if !state.pending {
            state.queued = false;
        }
        state.pending
    };
    if again {
        shared.flushers.schedule(shared.clone());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_due_interval_entry_goes_before_ready_ones() {
        let mut queue = FlushQueue::default();
        let start = Instant::now();
        queue.push_at(start + Duration::from_millis(10), "interval");
        for _ in 0..3 {
            queue.push_now("sync");
        }
        assert_eq!(queue.pop(start), Next::Flush("sync"), "not due yet: ready entries go");
        let later = start + Duration::from_millis(10);
        assert_eq!(
            queue.pop(later),
            Next::Flush("interval"),
            "due: it goes before the ready entries that are still waiting"
        );
        assert_eq!(queue.pop(later), Next::Flush("sync"));
        assert_eq!(queue.pop(later), Next::Flush("sync"));
        assert_eq!(queue.pop(later), Next::Empty);
    }

    #[test]
    fn timed_entries_come_in_due_order_and_the_queue_says_how_long_to_wait() {
        let mut queue = FlushQueue::default();
        let start = Instant::now();
        queue.push_at(start + Duration::from_millis(20), "b");
        queue.push_at(start + Duration::from_millis(10), "a");
        queue.push_at(start + Duration::from_millis(20), "c");
        assert_eq!(queue.pop(start), Next::WaitUntil(start + Duration::from_millis(10)));
        let end = start + Duration::from_millis(30);
        assert_eq!(queue.pop(end), Next::Flush("a"));
        assert_eq!(queue.pop(end), Next::Flush("b"), "same instant: first queued first");
        assert_eq!(queue.pop(end), Next::Flush("c"));
    }
}
