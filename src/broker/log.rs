//! A partition's log: segments in one directory, append at the end, read from any offset,
//! roll by size and age, retention by whole closed segments, and recovery after a crash.
//!
//! Durability is explicit: [`PartitionLog::append`] writes, [`PartitionLog::sync`] makes
//! everything written so far durable (fdatasync) and moves the durable point that readers
//! stop at, so a consumer never sees a record a crash could take back. The broker calls
//! `sync` once for many appends (group commit).
//!
//! Files: the log keeps no file open of its own. Segments open their `.log` files through
//! the process's bounded cache of open files ([`super::fds`]) when they are appended to,
//! read or synced, so an idle log costs no descriptor and recovery needs at most one
//! segment file open at a time.
//!
//! Idempotent producers: the log keeps their state ([`ProducerStates`]) and checks a
//! producer's batches against it in [`PartitionLog::append_produced`], under the same lock
//! as the append. A clean shutdown saves it as `producers.snapshot`; any other open rebuilds
//! it from the headers of the batches the recovery scan reads anyway.
//!
//! Recovery: a clean shutdown leaves a `clean-shutdown` marker with the next offset, and the
//! closed segments' saved indexes (and the producers' snapshot saved at the same offset)
//! are trusted; otherwise every segment is scanned. Damage at
//! the end of the last segment (a torn write) is cut off; damage in any older segment, whose
//! data was acknowledged long ago, stops the open with an error naming the file and byte.

use std::fmt;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use bytes::Bytes;

use super::batch::{self, BatchError, BatchHeader, DecodedLog};
use super::fds::{self, FileCache};
use super::producers::{ProducerError, ProducerStates, Verdict};
use super::segment::{file_name, write_atomically, ReadAs, Segment};

const CLEAN_MARKER: &str = "clean-shutdown";
/// The producers' state at a clean shutdown; trusted only with the marker's offset.
const PRODUCER_SNAPSHOT: &str = "producers.snapshot";
/// How much a time lookup reads at a time while it walks records.
const TIME_LOOKUP_READ: usize = 64 * 1024;

/// When segments roll.
#[derive(Debug, Clone, Copy)]
pub struct LogConfig {
    pub segment_bytes: u64,
    pub segment_age: Duration,
}

impl Default for LogConfig {
    fn default() -> Self {
        LogConfig {
            segment_bytes: 256 * 1024 * 1024,
            segment_age: Duration::from_secs(24 * 3600),
        }
    }
}

#[derive(Debug)]
pub enum LogError {
    Io {
        context: String,
        source: io::Error,
    },
    /// A batch handed to `append` is not a valid batch.
    InvalidBatch(BatchError),
    /// A closed segment is damaged: acknowledged data would be lost by cutting it.
    Corrupt {
        file: PathBuf,
        position: u64,
        reason: String,
    },
    /// The log's topic was deleted: its directory may hold another topic by now.
    Deleted,
    /// The log was closed, or a flush of it failed: it takes no more writes.
    Stopped(&'static str),
    /// An idempotent producer's batch is out of sequence or from a fenced epoch.
    Producer(ProducerError),
}

/// Why a log takes no more writes. Checked under the log's lock by every operation that
/// opens files by path, so nothing reaches a directory the log no longer owns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stopped {
    /// Closed cleanly (`close`): reads go on, writes are refused.
    Closed,
    /// A flush failed: what was written may not be on disk, so nothing more is written,
    /// nothing is made visible, and no clean-shutdown marker vouches for it.
    Failed,
    /// The topic was deleted (`retire`): its path may already name a new topic's files, so
    /// nothing is opened, read, written or removed by path any more.
    Deleted,
}

impl fmt::Display for LogError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LogError::Io { context, source } => write!(f, "{context}: {source}"),
            LogError::InvalidBatch(err) => write!(f, "invalid record batch: {err}"),
            LogError::Corrupt { file, position, reason } => write!(
                f,
                "{} is corrupt at byte {position} ({reason}); refusing to open the partition rather than drop acknowledged records",
                file.display()
            ),
            LogError::Deleted => f.write_str("the topic was deleted"),
            LogError::Stopped(why) => write!(f, "the partition takes no more writes: {why}"),
            LogError::Producer(err) => write!(f, "{err}"),
        }
    }
}

impl std::error::Error for LogError {}

fn io_error(context: impl Into<String>) -> impl FnOnce(io::Error) -> LogError {
    let context = context.into();
    move |source| LogError::Io { context, source }
}

/// The wall clock in ms since the Unix epoch (0 if the clock is before it).
fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// What opening the log found and did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Recovery {
    pub clean: bool,
    /// Bytes cut from the end of the last segment, and why.
    pub truncated: Option<(u64, String)>,
}

/// What [`PartitionLog::append_produced`] did with a producer's batches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Produced {
    /// The first batch's base offset (a duplicate's original one).
    pub base_offset: i64,
    /// The last batch's last offset: acknowledged once it is durable.
    pub last_offset: i64,
    /// Already appended before: nothing was appended now.
    pub duplicate: bool,
}

/// What a sync covers: see [`PartitionLog::begin_sync`].
pub struct SyncTicket {
    /// The handles the unsynced writes went through; the files close when the ticket goes
    /// if the cache has let go of them meanwhile.
    pub files: Vec<std::sync::Arc<std::fs::File>>,
    sizes: Vec<(i64, u64)>,
    /// The durable offset once the files are flushed.
    pub offset: i64,
}

impl SyncTicket {
    /// fdatasync of every file the ticket holds.
    pub fn flush(&self) -> io::Result<()> {
        for file in &self.files {
            file.sync_data()?;
        }
        Ok(())
    }
}

pub struct PartitionLog {
    dir: PathBuf,
    config: LogConfig,
    /// Oldest first; the last one is active.
    segments: Vec<Segment>,
    /// One past the last offset made durable by `sync`.
    durable_offset: i64,
    files: &'static FileCache,
    /// `Some` once the log takes no more writes.
    stopped: Option<Stopped>,
    /// Idempotent producers' epochs and last batches.
    producers: ProducerStates,
}

impl PartitionLog {
    /// Opens (creating if needed) the log in `dir`, recovering as the module explains, with
    /// its files in the process's cache.
    pub fn open(dir: &Path, config: LogConfig) -> Result<(PartitionLog, Recovery), LogError> {
        PartitionLog::open_in(dir, config, fds::files())
    }

    /// [`PartitionLog::open`] with the segment files in `files`.
    pub fn open_in(
        dir: &Path,
        config: LogConfig,
        files: &'static FileCache,
    ) -> Result<(PartitionLog, Recovery), LogError> {
        fs::create_dir_all(dir).map_err(io_error(format!("cannot create {}", dir.display())))?;
        let mut bases: Vec<i64> = fs::read_dir(dir)
            .map_err(io_error(format!("cannot list {}", dir.display())))?
            .filter_map(|entry| {
                let name = entry.ok()?.file_name().into_string().ok()?;
                name.strip_suffix(".log")?.parse::<i64>().ok()
            })
            .collect();
        bases.sort_unstable();
        let marker = dir.join(CLEAN_MARKER);
        let clean_next: Option<i64> = fs::read_to_string(&marker).ok().and_then(|t| t.trim().parse().ok());
        // The producers' state saved with the marker; without it (a crash, or a log from an
        // older version) every segment is scanned and the state rebuilt from the headers.
        let snapshot = clean_next.and_then(|next| {
            let bytes = fs::read(dir.join(PRODUCER_SNAPSHOT)).ok()?;
            ProducerStates::decode(&bytes, next)
        });
        let rebuild = snapshot.is_none();
        let mut producers = snapshot.unwrap_or_default();
        let opened_at = now_ms();
        // From here on the log is in use: a crash must not look clean.
        if marker.exists() {
            fs::remove_file(&marker).map_err(io_error("cannot remove the clean-shutdown marker"))?;
        }
        let mut recovery = Recovery {
            clean: clean_next.is_some(),
            truncated: None,
        };
        let mut segments = Vec::with_capacity(bases.len().max(1));
        for (i, &base) in bases.iter().enumerate() {
            let last = i + 1 == bases.len();
            let opened = match (clean_next, bases.get(i + 1)) {
                (Some(_), Some(&next_base)) if !rebuild => Segment::open_indexed(dir, base, next_base, files),
                _ if rebuild => {
                    Segment::open_scanning(dir, base, files, &mut |header| producers.record(header, opened_at))
                }
                _ => Segment::open_scanning(dir, base, files, &mut |_| {}),
            };
            let path = dir.join(file_name(base, "log"));
            let (mut segment, damage) = opened.map_err(io_error(format!("cannot read {}", path.display())))?;
            if let Some(damage) = damage {
                if !last {
                    return Err(LogError::Corrupt {
                        file: path,
                        position: damage.position,
                        reason: damage.reason,
                    });
                }
                let length = fs::metadata(&path).map(|m| m.len()).unwrap_or(damage.position);
                segment
                    .truncate(damage.position)
                    .map_err(io_error(format!("cannot truncate {}", path.display())))?;
                recovery.truncated = Some((length - damage.position, damage.reason));
            }
            if let Some(previous) = segments.last() {
                let previous: &Segment = previous;
                if previous.next_offset != segment.base_offset {
                    return Err(LogError::Corrupt {
                        file: path,
                        position: 0,
                        reason: format!(
                            "segment starts at offset {} but the previous one ends at {}",
                            segment.base_offset, previous.next_offset
                        ),
                    });
                }
            }
            segments.push(segment);
        }
        if segments.is_empty() {
            segments.push(Segment::create(dir, 0, files).map_err(io_error("cannot create the first segment"))?);
        }
        let next = segments.last().map_or(0, |s| s.next_offset);
        Ok((
            PartitionLog {
                dir: dir.to_path_buf(),
                config,
                segments,
                durable_offset: next,
                files,
                stopped: None,
                producers,
            },
            recovery,
        ))
    }

    /// The first offset still stored.
    pub fn start_offset(&self) -> i64 {
        self.segments.first().map_or(0, |s| s.base_offset)
    }

    /// The offset the next record will get.
    pub fn next_offset(&self) -> i64 {
        self.segments.last().map_or(0, |s| s.next_offset)
    }

    /// One past the last durable offset: what readers may see.
    pub fn durable_offset(&self) -> i64 {
        self.durable_offset
    }

    /// The partition's directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn size_bytes(&self) -> u64 {
        self.segments.iter().map(|s| s.size).sum()
    }

    pub fn segment_count(&self) -> usize {
        self.segments.len()
    }

    /// Appends one batch (checked, then given its offsets); answers its first and last
    /// offsets. Not durable until [`PartitionLog::sync`].
    pub fn append(&mut self, bytes: &mut [u8]) -> Result<(i64, i64), LogError> {
        let header = batch::verify_whole(bytes).map_err(LogError::InvalidBatch)?;
        self.append_verified(bytes, header)
    }

    /// [`PartitionLog::append`] for a batch the caller has just checked with
    /// [`batch::verify_whole`] (and whose `header` that returned), so the CRC is not
    /// computed twice.
    pub fn append_verified(&mut self, bytes: &mut [u8], header: batch::BatchHeader) -> Result<(i64, i64), LogError> {
        self.check_writable()?;
        self.roll_if_due(bytes.len() as u64)?;
        let base = self.next_offset();
        batch::set_base_offset(bytes, base);
        let header = batch::BatchHeader {
            base_offset: base,
            ..header
        };
        let active = self.segments.last_mut().expect("a log always has an active segment");
        let path = active.base_offset;
        active
            .append(bytes, &header)
            .map_err(io_error(format!("cannot append to segment {}", file_name(path, "log"))))?;
        if header.producer_id >= 0 {
            self.producers.record(&header, now_ms());
        }
        Ok((base, header.last_offset()))
    }

    /// Appends a producer's batches (`batches[i]` checked with [`batch::check_produced`],
    /// which returned `headers[i]`) after checking their producer ids, epochs and sequences
    /// one after the other against the producers' state: all are appended, or none. When
    /// every batch is a retry of one already appended, nothing is appended and the original
    /// offsets are answered; a retry together with new batches is refused.
    pub fn append_produced(
        &mut self,
        batches: &mut [&mut [u8]],
        headers: &[BatchHeader],
    ) -> Result<Produced, LogError> {
        self.check_writable()?;
        let mut duplicates = Vec::new();
        if headers.iter().any(|h| h.producer_id >= 0) {
            // The request's batches in order, against a copy of their producers' state.
            let mut state = self.producers.of(headers);
            let mut next = self.next_offset();
            for header in headers {
                let placed = BatchHeader {
                    base_offset: next,
                    ..*header
                };
                match state.check(&placed).map_err(LogError::Producer)? {
                    Verdict::Append => {
                        state.record(&placed, 0);
                        next = placed.last_offset() + 1;
                    }
                    Verdict::Duplicate(original) => duplicates.push(original),
                }
            }
        }
        if let (Some(first), Some(last)) = (duplicates.first(), duplicates.last()) {
            if duplicates.len() != headers.len() {
                return Err(LogError::InvalidBatch(BatchError::Unsupported(
                    "the request mixes batches already appended with new ones".to_string(),
                )));
            }
            return Ok(Produced {
                base_offset: first.base_offset,
                last_offset: duplicates
                    .iter()
                    .map(|d| d.last_offset)
                    .max()
                    .unwrap_or(last.last_offset),
                duplicate: true,
            });
        }
        let mut offsets = (0, 0);
        for (i, (bytes, header)) in batches.iter_mut().zip(headers).enumerate() {
            let (base, last) = self.append_verified(bytes, *header)?;
            if i == 0 {
                offsets.0 = base;
            }
            offsets.1 = last;
        }
        Ok(Produced {
            base_offset: offsets.0,
            last_offset: offsets.1,
            duplicate: false,
        })
    }

    /// Refuses a write to a log that is closed, failed or deleted.
    fn check_writable(&self) -> Result<(), LogError> {
        match self.stopped {
            None => Ok(()),
            Some(Stopped::Deleted) => Err(LogError::Deleted),
            Some(Stopped::Closed) => Err(LogError::Stopped("the partition is closed")),
            Some(Stopped::Failed) => Err(LogError::Stopped("a flush failed")),
        }
    }

    /// Rolls to a new segment when the active one is full or old. The old segment is
    /// fdatasynced and lets go of its handle here, so a partition holds at most the active
    /// segment's descriptor plus the one a flush in progress may hold (see `fds::Limits`).
    /// A failed fdatasync stops the log, as a failed flush does: the error is reported once.
    fn roll_if_due(&mut self, incoming: u64) -> Result<(), LogError> {
        let active = self.segments.last_mut().expect("a log always has an active segment");
        let full = active.size > 0 && active.size + incoming > self.config.segment_bytes;
        let old = active.size > 0 && active.created.elapsed().is_ok_and(|age| age >= self.config.segment_age);
        if !(full || old) {
            return Ok(());
        }
        let next = active.next_offset;
        if let Err(source) = active.sync_and_release() {
            self.stopped = Some(Stopped::Failed);
            return Err(LogError::Io {
                context: format!("fdatasync of {} at a roll", file_name(active.base_offset, "log")),
                source,
            });
        }
        active
            .save_indexes(&self.dir)
            .map_err(io_error("cannot save a segment's indexes"))?;
        let segment = Segment::create(&self.dir, next, self.files).map_err(io_error("cannot roll to a new segment"))?;
        self.segments.push(segment);
        Ok(())
    }

    /// The first half of a sync that lets appends go on during the fdatasync: notes what is
    /// written now and hands back file handles to flush. Pass the ticket, after flushing its
    /// files, to [`PartitionLog::finish_sync`].
    pub fn begin_sync(&mut self) -> Result<SyncTicket, LogError> {
        if self.stopped == Some(Stopped::Failed) {
            return Err(LogError::Stopped("a flush failed"));
        }
        let mut files = Vec::new();
        let mut sizes = Vec::new();
        for segment in self.segments.iter_mut() {
            if let Some(file) = segment.take_unsynced() {
                files.push(file);
            }
            sizes.push((segment.base_offset, segment.size));
        }
        Ok(SyncTicket {
            files,
            sizes,
            offset: self.next_offset(),
        })
    }

    /// Marks the log failed after a flush of its ticket failed: no more writes, no durable
    /// point past what was already durable, no clean-shutdown marker.
    pub fn fail(&mut self) {
        self.stopped = Some(Stopped::Failed);
    }

    /// Retires the log of a deleted topic, before its directory is renamed away: from here
    /// on nothing opens, writes, reads or removes files by its path (which may soon name a
    /// re-created topic's files), and its cached files are closed. Handles a flush in
    /// progress holds still reach the old files, harmlessly.
    pub fn retire(&mut self) {
        self.stopped = Some(Stopped::Deleted);
        for segment in &self.segments {
            segment.forget_cached();
        }
    }

    /// Undoes [`PartitionLog::retire`] when the deletion did not happen (its rename failed).
    pub fn unretire(&mut self) {
        if self.stopped == Some(Stopped::Deleted) {
            self.stopped = None;
        }
    }

    /// The second half: the ticket's files are flushed, so what it noted becomes visible.
    pub fn finish_sync(&mut self, ticket: &SyncTicket) {
        for segment in self.segments.iter_mut() {
            if let Some(&(_, size)) = ticket.sizes.iter().find(|(base, _)| *base == segment.base_offset) {
                segment.durable_size = segment.durable_size.max(size);
            }
        }
        self.durable_offset = self.durable_offset.max(ticket.offset);
    }

    /// Makes everything appended so far durable; answers the new durable offset. Not to be
    /// called while a [`SyncTicket`] is being flushed (`Partition` holds its `flushing` lock
    /// around both). A failure stops the log (an fdatasync error is reported once; a retry could falsely succeed).
    pub fn sync(&mut self) -> Result<i64, LogError> {
        if self.stopped == Some(Stopped::Failed) {
            return Err(LogError::Stopped("a flush failed"));
        }
        for segment in self.segments.iter_mut().filter(|s| s.dirty) {
            if let Err(source) = segment.sync() {
                self.stopped = Some(Stopped::Failed);
                return Err(LogError::Io {
                    context: format!("fdatasync of {}", file_name(segment.base_offset, "log")),
                    source,
                });
            }
        }
        // Segments synced at a roll (or by a ticket) become readable to their end too.
        for segment in self.segments.iter_mut() {
            segment.durable_size = segment.size;
        }
        self.durable_offset = self.next_offset();
        Ok(self.durable_offset)
    }

    /// Whole batches from the one holding `offset`, about `max_bytes` of them (at least one
    /// batch when any is durable), never past the durable point. An offset before the log
    /// start reads from the start; at or past the durable point, nothing.
    pub fn read(&self, offset: i64, max_bytes: usize) -> Result<Bytes, LogError> {
        self.read_as(offset, max_bytes, ReadAs::Copy)
    }

    /// The same, with large reads handed over as mappings ([`ReadAs::Mapped`]), for bytes
    /// sent to a socket as they are. Such a read stops at the end of its segment: joining
    /// two would copy (that is, touch) the mapped bytes; the reader asks again for more.
    pub fn read_mapped(&self, offset: i64, max_bytes: usize) -> Result<Bytes, LogError> {
        self.read_as(offset, max_bytes, ReadAs::Mapped)
    }

    fn read_as(&self, offset: i64, max_bytes: usize, how: ReadAs) -> Result<Bytes, LogError> {
        if self.stopped == Some(Stopped::Deleted) {
            return Err(LogError::Deleted);
        }
        if offset >= self.durable_offset {
            return Ok(Bytes::new());
        }
        let offset = offset.max(self.start_offset());
        let index = self
            .segments
            .partition_point(|s| s.base_offset <= offset)
            .saturating_sub(1);
        let mut pieces: Vec<Bytes> = Vec::new();
        let mut total = 0usize;
        for segment in &self.segments[index..] {
            if segment.base_offset >= self.durable_offset || total >= max_bytes {
                break;
            }
            // The active segment may hold batches past the durable point at its end.
            let limit = segment.durable_size;
            let budget = max_bytes.saturating_sub(total).max(1);
            let bytes = segment.read(offset, budget, limit, how).map_err(io_error(format!(
                "cannot read {}",
                file_name(segment.base_offset, "log")
            )))?;
            if total > 0 && total + bytes.len() > max_bytes {
                break;
            }
            total += bytes.len();
            pieces.push(bytes);
            if how == ReadAs::Mapped && total > 0 {
                break;
            }
        }
        // Most reads stay in one segment: its bytes as read, no copy.
        Ok(match pieces.len() {
            0 => Bytes::new(),
            1 => pieces.pop().unwrap_or_default(),
            _ => pieces.concat().into(),
        })
    }

    /// The first record whose timestamp is at or after `timestamp`, as (offset, timestamp),
    /// among the durable ones: the time index finds the first batch whose greatest
    /// timestamp reaches it, and that batch's records (decompressed if need be) are walked.
    pub fn offset_for_timestamp(&self, timestamp: i64) -> Result<Option<(i64, i64)>, LogError> {
        let durable = self.durable_offset;
        let candidate = self.segments.iter().find_map(|s| {
            let &(_, relative) = s.time_index().iter().find(|&&(ts, _)| ts >= timestamp)?;
            Some(s.base_offset + i64::from(relative))
        });
        let Some(mut from) = candidate.filter(|&offset| offset < durable) else {
            return Ok(None);
        };
        // Batches stored by older versions may claim a greatest timestamp they do not hold:
        // the walk goes on past the first batch until a record reaches the timestamp.
        loop {
            let bytes = self.read(from, TIME_LOOKUP_READ)?;
            let log = DecodedLog::new(&bytes);
            let mut last = None;
            for record in log.records(from) {
                let record = record.map_err(LogError::InvalidBatch)?;
                if record.timestamp >= timestamp {
                    return Ok(Some((record.offset, record.timestamp)));
                }
                last = Some(record.offset);
            }
            match last {
                Some(last) => from = last + 1,
                None => return Ok(None),
            }
        }
    }

    /// The durable record with the greatest timestamp (the first of them on a tie), as
    /// (offset, timestamp): Kafka's ListOffsets "max timestamp".
    pub fn max_timestamp(&self) -> Result<Option<(i64, i64)>, LogError> {
        let durable = self.durable_offset;
        let mut best: Option<(i64, i64)> = None;
        for segment in &self.segments {
            // The entries before the durable point end with the greatest timestamp there.
            let greatest = segment
                .time_index()
                .iter()
                .map(|&(ts, relative)| (ts, segment.base_offset + i64::from(relative)))
                .take_while(|&(_, offset)| offset < durable)
                .last();
            if let Some((ts, offset)) = greatest {
                if best.is_none_or(|(best_ts, _)| ts > best_ts) {
                    best = Some((ts, offset));
                }
            }
        }
        let Some((timestamp, batch_offset)) = best else {
            return Ok(None);
        };
        // The batch that reached it: its first record with that timestamp (or, for a batch
        // whose header overstates it, its greatest).
        let bytes = self.read(batch_offset, 1)?;
        let log = DecodedLog::new(&bytes);
        let mut found: Option<(i64, i64)> = None;
        for record in log.records(batch_offset) {
            let record = record.map_err(LogError::InvalidBatch)?;
            if record.timestamp == timestamp {
                return Ok(Some((record.offset, record.timestamp)));
            }
            if found.is_none_or(|(_, ts)| record.timestamp > ts) {
                found = Some((record.offset, record.timestamp));
            }
        }
        Ok(found)
    }

    /// The first offset whose timestamp is at or after `timestamp` (for seeks by time).
    pub fn offset_for_time(&self, timestamp: i64) -> Option<i64> {
        self.segments
            .iter()
            .filter(|s| s.max_timestamp >= timestamp)
            .find_map(|s| s.offset_for_time(timestamp))
    }

    /// Deletes whole closed segments: those whose newest record is older than `max_age`,
    /// then the oldest while the log is larger than `max_bytes`. The active segment stays.
    /// Idempotent producers whose batches went, or that have been idle for a day (by their
    /// newest batch's timestamp), are forgotten. Answers how many segments went.
    pub fn apply_retention(
        &mut self,
        now: SystemTime,
        max_age: Option<Duration>,
        max_bytes: Option<u64>,
    ) -> Result<usize, LogError> {
        if self.stopped == Some(Stopped::Deleted) {
            return Ok(0); // its files go with the topic's directory
        }
        let now_ms = now
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as i64);
        let mut removed = 0;
        while self.segments.len() > 1 {
            let oldest = &self.segments[0];
            let expired = max_age.is_some_and(|age| oldest.max_timestamp < now_ms - age.as_millis() as i64);
            let oversized = max_bytes.is_some_and(|limit| self.size_bytes() > limit);
            if !(expired || oversized) {
                break;
            }
            let segment = self.segments.remove(0);
            let name = file_name(segment.base_offset, "log");
            segment
                .remove(&self.dir)
                .map_err(io_error(format!("cannot delete {name}")))?;
            removed += 1;
        }
        if removed > 0 {
            self.producers.forget_before(self.start_offset());
        }
        self.producers.expire(now_ms);
        Ok(removed)
    }

    /// Syncs, saves the indexes and leaves the clean-shutdown marker; later writes are
    /// refused. A log whose flush failed gets no marker (its next open scans it), and a
    /// deleted one is left alone.
    pub fn close(&mut self) -> Result<(), LogError> {
        match self.stopped {
            Some(Stopped::Deleted) => return Ok(()),
            Some(Stopped::Failed) => return Err(LogError::Stopped("a flush failed")),
            Some(Stopped::Closed) | None => {}
        }
        self.stopped = Some(Stopped::Closed);
        self.sync()?;
        for segment in &self.segments {
            segment
                .save_indexes(&self.dir)
                .map_err(io_error("cannot save a segment's indexes"))?;
        }
        write_atomically(
            &self.dir.join(PRODUCER_SNAPSHOT),
            &self.producers.encode(self.next_offset()),
        )
        .map_err(io_error("cannot save the producers' state"))?;
        write_atomically(&self.dir.join(CLEAN_MARKER), self.next_offset().to_string().as_bytes())
            .map_err(io_error("cannot write the clean-shutdown marker"))
    }
}
