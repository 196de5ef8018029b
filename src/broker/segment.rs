//! One segment of a partition's log: `<base offset, 20 digits>.log` holding whole record
//! batches back to back, with a sparse offset index and a time index beside it.
//!
//! The `.log` file is the truth. The indexes live in memory while the segment is written and
//! are saved (`.index`: u32 relative offset + u32 file position per entry; `.timeindex`: i64
//! max timestamp so far + u32 relative offset) when the segment closes; they are hints,
//! rebuilt by scanning whenever there is doubt.
//!
//! A segment holds no open file while it is idle: its `.log` file is opened on demand
//! through the process's [`FileCache`]. Between an append and the fdatasync that covers it,
//! the segment keeps the handle the append used (`unsynced`), so the file cannot be closed
//! with writes not yet on disk and the flush runs on the very descriptor they went through.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::SystemTime;

use bytes::Bytes;
use memmap2::MmapOptions;

use super::batch::{self, BatchError, BatchHeader};
use super::fds::FileCache;

/// Reads at least this large are mapped rather than copied where mapping is allowed (see
/// [`read_range`]).
const MAP_AT_LEAST: usize = 64 * 1024;

/// An index entry about every this many bytes of log.
pub const INDEX_INTERVAL: u64 = 4096;

pub struct Segment {
    pub base_offset: i64,
    path: PathBuf,
    /// Where the `.log` file is opened, and its key there.
    files: &'static FileCache,
    key: u64,
    /// The handle of the writes not yet fdatasynced: `Some` exactly while `dirty`.
    unsynced: Option<Arc<File>>,
    /// Bytes of whole batches in the file.
    pub size: u64,
    /// Bytes known to be on disk: readers stop here.
    pub durable_size: u64,
    /// One past the last offset stored here (`base_offset` when empty).
    pub next_offset: i64,
    /// The newest record timestamp stored here; `i64::MIN` when empty.
    pub max_timestamp: i64,
    /// When the segment was created (or, for a reopened one, last modified).
    pub created: SystemTime,
    index: Vec<(u32, u32)>,
    time_index: Vec<(i64, u32)>,
    bytes_since_entry: u64,
    /// Written since the last fdatasync.
    pub dirty: bool,
}

/// What a scan found past the last whole, valid batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Damage {
    /// Where the valid part ends.
    pub position: u64,
    pub reason: String,
}

pub fn file_name(base_offset: i64, extension: &str) -> String {
    format!("{base_offset:020}.{extension}")
}

impl Segment {
    /// Creates an empty segment (and makes its directory entry durable). The file is not
    /// kept open: a new topic's partitions cost no descriptor until they are used.
    pub fn create(dir: &Path, base_offset: i64, files: &'static FileCache) -> io::Result<Segment> {
        let path = dir.join(file_name(base_offset, "log"));
        OpenOptions::new().create_new(true).append(true).open(&path)?;
        File::open(dir)?.sync_all()?;
        Ok(Segment::empty(base_offset, path, files, files.key(), SystemTime::now()))
    }

    /// A segment with nothing known about its contents yet.
    fn empty(base_offset: i64, path: PathBuf, files: &'static FileCache, key: u64, created: SystemTime) -> Segment {
        Segment {
            base_offset,
            path,
            files,
            key,
            unsynced: None,
            size: 0,
            durable_size: 0,
            next_offset: base_offset,
            max_timestamp: i64::MIN,
            created,
            index: Vec::new(),
            time_index: Vec::new(),
            bytes_since_entry: 0,
            dirty: false,
        }
    }

    /// Opens a segment by scanning every batch in it, checking lengths, magic, CRCs and
    /// offset order, and rebuilding its indexes; `on_batch` sees the header of every valid
    /// batch (the log rebuilds its producers' state from them). Answers where the valid part
    /// ends if something after it is damaged (the caller decides whether to truncate).
    pub fn open_scanning(
        dir: &Path,
        base_offset: i64,
        files: &'static FileCache,
        on_batch: &mut dyn FnMut(&BatchHeader),
    ) -> io::Result<(Segment, Option<Damage>)> {
        let (mut segment, file) = Segment::open_file(dir, base_offset, files)?;
        let length = file.metadata()?.len();
        let mut data = vec![0u8; length as usize];
        file.read_exact_at(&mut data, 0)?;
        drop(file);
        let mut position = 0usize;
        let mut damage = None;
        while position < data.len() {
            match batch::verify(&data[position..]) {
                Ok(header) if header.base_offset != segment.next_offset => {
                    damage = Some(Damage {
                        position: position as u64,
                        reason: format!(
                            "batch at byte {position} starts at offset {}, expected {}",
                            header.base_offset, segment.next_offset
                        ),
                    });
                    break;
                }
                Ok(header) => {
                    on_batch(&header);
                    segment.note_batch(&header, position as u64);
                    position += header.total_len();
                }
                Err(err) => {
                    damage = Some(Damage {
                        position: position as u64,
                        reason: describe(&err, position),
                    });
                    break;
                }
            }
        }
        segment.size = position as u64;
        segment.durable_size = segment.size;
        Ok((segment, damage))
    }

    /// Opens a closed segment from its saved indexes, without scanning, when they look
    /// sane; otherwise scans it.
    pub fn open_indexed(
        dir: &Path,
        base_offset: i64,
        next_offset: i64,
        files: &'static FileCache,
    ) -> io::Result<(Segment, Option<Damage>)> {
        let (mut segment, file) = Segment::open_file(dir, base_offset, files)?;
        let size = file.metadata()?.len();
        drop(file);
        let loaded = load_pairs(&dir.join(file_name(base_offset, "index")), 8, |b| {
            (
                u32::from_be_bytes(b[0..4].try_into().expect("4")),
                u32::from_be_bytes(b[4..8].try_into().expect("4")),
            )
        })
        .zip(load_pairs(&dir.join(file_name(base_offset, "timeindex")), 12, |b| {
            (
                i64::from_be_bytes(b[0..8].try_into().expect("8")),
                u32::from_be_bytes(b[8..12].try_into().expect("4")),
            )
        }));
        let sane = |index: &[(u32, u32)], time: &[(i64, u32)]| {
            index.windows(2).all(|w| w[0].0 < w[1].0 && w[0].1 < w[1].1)
                && index.last().is_none_or(|&(_, pos)| u64::from(pos) < size)
                && time.windows(2).all(|w| w[0].0 <= w[1].0)
        };
        match loaded {
            Some((index, time_index)) if sane(&index, &time_index) && size > 0 => {
                segment.size = size;
                segment.durable_size = size;
                segment.next_offset = next_offset;
                segment.max_timestamp = time_index.last().map_or(i64::MIN, |&(ts, _)| ts);
                segment.index = index;
                segment.time_index = time_index;
                Ok((segment, None))
            }
            _ => {
                drop(segment);
                Segment::open_scanning(dir, base_offset, files, &mut |_| {})
            }
        }
    }

    /// A segment over an existing file, with the file opened for recovery to read. The
    /// file is not cached: opening every partition at start holds one file at a time.
    fn open_file(dir: &Path, base_offset: i64, files: &'static FileCache) -> io::Result<(Segment, File)> {
        let path = dir.join(file_name(base_offset, "log"));
        let file = File::open(&path)?;
        let created = file.metadata()?.modified().unwrap_or_else(|_| SystemTime::now());
        Ok((Segment::empty(base_offset, path, files, files.key(), created), file))
    }

    /// The open `.log` file: the unsynced writes' handle, or the cache's (opening it again
    /// if it was closed).
    fn file(&self) -> io::Result<Arc<File>> {
        match &self.unsynced {
            Some(file) => Ok(file.clone()),
            None => self.files.get(self.key, &self.path),
        }
    }

    /// Cuts the file back to `position` (a batch boundary found by a scan) and makes it stick.
    pub fn truncate(&mut self, position: u64) -> io::Result<()> {
        let file = self.file()?;
        file.set_len(position)?;
        file.sync_all()?;
        self.size = position;
        self.durable_size = position;
        Ok(())
    }

    /// Records a batch written at `position` in the indexes.
    fn note_batch(&mut self, header: &BatchHeader, position: u64) {
        let relative = (header.base_offset - self.base_offset) as u32;
        if self.bytes_since_entry >= INDEX_INTERVAL || self.index.is_empty() {
            self.index.push((relative, position as u32));
            self.bytes_since_entry = 0;
        }
        self.bytes_since_entry += header.total_len() as u64;
        if header.max_timestamp > self.max_timestamp {
            self.max_timestamp = header.max_timestamp;
            self.time_index.push((header.max_timestamp, relative));
        }
        self.next_offset = header.last_offset() + 1;
    }

    /// Appends one verified batch whose base offset is already set.
    pub fn append(&mut self, bytes: &[u8], header: &BatchHeader) -> io::Result<()> {
        if self.unsynced.is_none() {
            self.unsynced = Some(self.files.get(self.key, &self.path)?);
        }
        let mut file: &File = self.unsynced.as_deref().expect("set above");
        file.write_all(bytes)?;
        let position = self.size;
        self.size += bytes.len() as u64;
        self.note_batch(header, position);
        self.dirty = true;
        Ok(())
    }

    /// The handle holding writes not yet fdatasynced, for a flush outside the log's lock;
    /// the segment counts as clean from here on (the caller flushes it). `None` if clean.
    pub fn take_unsynced(&mut self) -> Option<Arc<File>> {
        self.dirty = false;
        self.unsynced.take()
    }

    /// fdatasync: the batches written so far survive a crash.
    pub fn sync(&mut self) -> io::Result<()> {
        if let Some(file) = self.unsynced.take() {
            if let Err(err) = file.sync_data() {
                self.unsynced = Some(file);
                return Err(err);
            }
        }
        self.dirty = false;
        self.durable_size = self.size;
        Ok(())
    }

    /// fdatasync of the writes not yet flushed, letting go of their handle (a roll: the
    /// segment will not be written again). The durable size is left to the next flush,
    /// which moves it together with the log's durable offset, so readers never see past
    /// the offset the log reports as its end.
    pub fn sync_and_release(&mut self) -> io::Result<()> {
        if let Some(file) = &self.unsynced {
            file.sync_data()?;
        }
        self.unsynced = None;
        self.dirty = false;
        Ok(())
    }

    /// Whole batches from the one holding `offset`, up to `max_bytes` (but always the first
    /// batch whole) and never past byte `limit` of the file.
    pub fn read(&self, offset: i64, max_bytes: usize, limit: u64, how: ReadAs) -> io::Result<Bytes> {
        let relative = (offset.max(self.base_offset) - self.base_offset) as u32;
        let start = match self.index.partition_point(|&(rel, _)| rel <= relative) {
            0 => 0,
            i => u64::from(self.index[i - 1].1),
        };
        // Walk batch headers from the indexed position to the batch that holds `offset`.
        let file = self.file()?;
        let mut position = start;
        let mut header = [0u8; batch::HEADER_LEN];
        while position < limit {
            file.read_exact_at(&mut header, position)?;
            let parsed =
                batch::header_only(&header).map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e.to_string()))?;
            if parsed.last_offset() >= offset {
                break;
            }
            position += parsed.total_len() as u64;
        }
        if position >= limit {
            return Ok(Bytes::new());
        }
        // Take whole batches until max_bytes (at least one).
        let mut end = position;
        while end < limit {
            file.read_exact_at(&mut header, end)?;
            let parsed =
                batch::header_only(&header).map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e.to_string()))?;
            let next = end + parsed.total_len() as u64;
            if next > limit || (end > position && (next - position) as usize > max_bytes) {
                break;
            }
            end = next;
        }
        read_range(&file, position, (end - position) as usize, how)
    }

    /// The time index: (greatest record timestamp so far, offset of the batch, relative to
    /// the segment's base, where it was reached), one entry each time it grows.
    pub fn time_index(&self) -> &[(i64, u32)] {
        &self.time_index
    }

    /// The first offset whose batch's max timestamp is at or after `timestamp`, if any.
    pub fn offset_for_time(&self, timestamp: i64) -> Option<i64> {
        self.time_index
            .iter()
            .find(|&&(ts, _)| ts >= timestamp)
            .map(|&(_, rel)| self.base_offset + i64::from(rel))
    }

    /// Saves the indexes (at close or roll), each through a temporary file and a rename.
    pub fn save_indexes(&self, dir: &Path) -> io::Result<()> {
        let mut index = Vec::with_capacity(self.index.len() * 8);
        for &(rel, pos) in &self.index {
            index.extend_from_slice(&rel.to_be_bytes());
            index.extend_from_slice(&pos.to_be_bytes());
        }
        write_atomically(&dir.join(file_name(self.base_offset, "index")), &index)?;
        let mut time = Vec::with_capacity(self.time_index.len() * 12);
        for &(ts, rel) in &self.time_index {
            time.extend_from_slice(&ts.to_be_bytes());
            time.extend_from_slice(&rel.to_be_bytes());
        }
        write_atomically(&dir.join(file_name(self.base_offset, "timeindex")), &time)
    }

    /// Closes the cached `.log` file, if the cache holds it (the segment's topic is gone).
    pub fn forget_cached(&self) {
        self.files.forget(self.key);
    }

    /// Deletes the segment's files.
    pub fn remove(self, dir: &Path) -> io::Result<()> {
        let base = self.base_offset;
        let path = self.path.clone();
        drop(self); // closes the file
        fs::remove_file(&path)?;
        for extension in ["index", "timeindex"] {
            match fs::remove_file(dir.join(file_name(base, extension))) {
                Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(e),
                _ => {}
            }
        }
        Ok(())
    }
}

impl Drop for Segment {
    /// A segment that goes (retention, a deleted topic, a closed log) takes its file out of
    /// the cache, so no descriptor stays open on a deleted file.
    fn drop(&mut self) {
        self.files.forget(self.key);
    }
}

fn describe(err: &BatchError, position: usize) -> String {
    format!("at byte {position}: {err}")
}

/// Reads fixed-width entries; `None` if the file is missing or not a whole number of them.
fn load_pairs<T>(path: &Path, width: usize, decode: impl Fn(&[u8]) -> T) -> Option<Vec<T>> {
    let bytes = fs::read(path).ok()?;
    if bytes.len() % width != 0 {
        return None;
    }
    Some(bytes.chunks_exact(width).map(decode).collect())
}

/// Writes a small file so that it is either the old or the new one after a crash: the bytes
/// go to `<file name>.tmp` beside it, are fsynced, renamed over `path`, and the directory is
/// fsynced so the rename itself survives a power failure. The temporary name keeps the whole
/// file name (`topic.json.tmp`, `…0.index.tmp`), so two files in one directory never share
/// one, and no reader mistakes it for the real file (every reader matches a suffix).
pub fn write_atomically(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let mut temporary = path.as_os_str().to_owned();
    temporary.push(".tmp");
    let temporary = PathBuf::from(temporary);
    let mut file = File::create(&temporary)?;
    file.write_all(bytes)?;
    file.sync_all()?;
    fs::rename(&temporary, path)?;
    if let Some(dir) = path.parent() {
        sync_dir(dir)?;
    }
    Ok(())
}

/// fsync of a directory: its entries (files created, renamed or removed in it) survive a
/// power failure.
pub fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

/// How a read hands over its bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReadAs {
    /// In a buffer of their own: for readers that look at the bytes in process.
    Copy,
    /// Large reads as a read-only mapping of the file: for bytes handed to a socket as
    /// they are (a Kafka Fetch answer), from the page cache with no buffer to allocate,
    /// zero and fill, and nothing left resident once sent. Never for bytes the server
    /// reads itself: a disk error under a mapping is a SIGBUS when touched in process,
    /// where the kernel's socket write only fails with EFAULT.
    Mapped,
}

/// `len` bytes of a segment file from `position`, all below the segment's durable size.
/// Small reads (a consumer at the tail) are copied even when a mapping is allowed: they
/// are cheaper copied than mapped and unmapped; so is any read the kernel will not map
/// (out of mappings, `vm.max_map_count`).
fn read_range(file: &File, position: u64, len: usize, how: ReadAs) -> io::Result<Bytes> {
    if how == ReadAs::Mapped && len >= MAP_AT_LEAST {
        // SAFETY: a mapping is unsound if the file changes under it, or is cut short
        // (SIGBUS). The bytes mapped here are below the durable size, which the broker
        // never writes again and never truncates while it runs (only recovery truncates,
        // before the segment is readable); retention and topic deletion unlink the file,
        // which leaves a mapping whole. Only another process altering the data directory
        // could break this.
        match unsafe { MmapOptions::new().offset(position).len(len).populate().map(file) } {
            Ok(map) => return Ok(Bytes::from_owner(map)),
            Err(err) => tracing::debug!(error = %err, len, "a log read could not be mapped; copied"),
        }
    }
    let mut out = vec![0u8; len];
    file.read_exact_at(&mut out, position)?;
    Ok(Bytes::from(out))
}
