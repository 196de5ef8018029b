//! Partition-log behaviour on real files: offsets, reads, durability points, rolls,
//! retention, and recovery from torn and corrupted writes.

use std::fs::{self, OpenOptions};
use std::io::Write;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, SystemTime};

use super::batch::{self, Record};
use super::log::{LogConfig, LogError, PartitionLog};

static NEXT: AtomicUsize = AtomicUsize::new(0);

fn temp_dir() -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "herald-log-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::SeqCst)
    ));
    let _ = fs::remove_dir_all(&dir);
    dir
}

fn records(n: usize, tag: &str, timestamp: i64) -> Vec<u8> {
    let records: Vec<Record> = (0..n)
        .map(|i| Record {
            timestamp: timestamp + i as i64,
            key: Some(format!("{tag}-{i}").into_bytes()),
            value: Some(format!("{{\"tag\":\"{tag}\",\"i\":{i},\"pad\":\"{}\"}}", "x".repeat(100)).into_bytes()),
            headers: vec![],
        })
        .collect();
    batch::encode(&records)
}

/// Every record readable from `offset`, as (offset, key).
fn read_all(log: &PartitionLog, offset: i64) -> Vec<(i64, String)> {
    records_in(&log.read(offset, usize::MAX).unwrap())
}

/// The records in `bytes` (whole batches) as (offset, key).
fn records_in(bytes: &[u8]) -> Vec<(i64, String)> {
    let mut out = Vec::new();
    let mut position = 0;
    while position < bytes.len() {
        let header = batch::verify(&bytes[position..]).unwrap();
        for r in batch::records(&bytes[position..position + header.total_len()]).unwrap() {
            out.push((r.offset, String::from_utf8(r.record.key.unwrap()).unwrap()));
        }
        position += header.total_len();
    }
    out
}

fn small_segments() -> LogConfig {
    LogConfig {
        segment_bytes: 4096,
        segment_age: Duration::from_secs(3600),
    }
}

#[test]
fn appends_get_dense_offsets_and_read_back_from_any_offset() {
    let dir = temp_dir();
    let (mut log, recovery) = PartitionLog::open(&dir, LogConfig::default()).unwrap();
    assert!(!recovery.clean && recovery.truncated.is_none());
    assert_eq!(log.append(&mut records(3, "a", 1000)).unwrap(), (0, 2));
    assert_eq!(log.append(&mut records(2, "b", 2000)).unwrap(), (3, 4));
    log.sync().unwrap();
    let all = read_all(&log, 0);
    assert_eq!(all.iter().map(|r| r.0).collect::<Vec<_>>(), vec![0, 1, 2, 3, 4]);
    assert_eq!(all[3].1, "b-0");
    // From the middle of a batch: the whole batch holding the offset comes back.
    assert_eq!(read_all(&log, 4).first().map(|r| r.0), Some(3));
    assert!(read_all(&log, 5).is_empty());
    assert_eq!(log.offset_for_time(2000), Some(3));
    // Bad batches are refused and change nothing.
    let mut damaged = records(1, "c", 0);
    damaged[30] ^= 0xff;
    assert!(matches!(log.append(&mut damaged), Err(LogError::InvalidBatch(_))));
    assert_eq!(log.next_offset(), 5);
}

#[test]
fn readers_stop_at_the_durable_point() {
    let dir = temp_dir();
    let (mut log, _) = PartitionLog::open(&dir, LogConfig::default()).unwrap();
    log.append(&mut records(2, "a", 0)).unwrap();
    assert_eq!(log.durable_offset(), 0);
    assert!(read_all(&log, 0).is_empty(), "nothing is visible before a sync");
    assert_eq!(log.sync().unwrap(), 2);
    log.append(&mut records(2, "b", 0)).unwrap();
    assert_eq!(read_all(&log, 0).len(), 2, "only the synced batch is visible");
    log.sync().unwrap();
    assert_eq!(read_all(&log, 0).len(), 4);
}

/// Large mapped reads are mappings of the segment file (small ones are copies): the same records
/// either way, never past the durable point, and still whole after the file is unlinked
/// (retention, a deleted topic) while an answer holding them is being sent.
#[test]
fn mapped_reads_hold_the_records_below_the_durable_point() {
    let dir = temp_dir();
    let config = LogConfig {
        segment_bytes: 64 * 1024 * 1024,
        segment_age: Duration::from_secs(3600),
    };
    let (mut log, _) = PartitionLog::open(&dir, config).unwrap();
    for i in 0..400 {
        log.append(&mut records(5, &format!("m{i}"), i * 10)).unwrap();
    }
    log.sync().unwrap();
    // Written but not yet durable: no read may show it.
    log.append(&mut records(5, "late", 0)).unwrap();

    let whole = log.read_mapped(0, usize::MAX).unwrap();
    assert!(whole.len() > 128 * 1024, "{} bytes: a mapped read", whole.len());
    let all = records_in(&whole);
    assert_eq!(all.len(), 2000);
    assert!(all.iter().enumerate().all(|(i, r)| r.0 == i as i64));
    assert!(all.iter().all(|r| !r.1.starts_with("late")));

    // From the middle, bounded: whole batches from the one holding the offset.
    let part = log.read_mapped(1003, 100 * 1024).unwrap();
    assert!(part.len() <= 100 * 1024 && part.len() > 64 * 1024, "{}", part.len());
    let from = records_in(&part);
    assert_eq!(from.first().map(|r| r.0), Some(1000));
    assert_eq!(from[..], all[1000..1000 + from.len()]);
    // Small: a copy, the same records.
    let small = log.read(1003, 2048).unwrap();
    assert_eq!(records_in(&small)[..], all[1000..1000 + records_in(&small).len()]);

    // Copied, the same records as mapped.
    assert_eq!(records_in(&log.read(0, usize::MAX).unwrap()), all);

    log.close().unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
    assert_eq!(records_in(&whole), all, "a mapping outlives the unlinked file");

    // A mapped read ends with its segment (joining two would touch the mapped bytes); a
    // copied one goes on into the next.
    let dir = temp_dir();
    let (mut log, _) = PartitionLog::open(&dir, small_segments()).unwrap();
    for i in 0..40 {
        log.append(&mut records(5, &format!("s{i}"), i * 10)).unwrap();
    }
    log.sync().unwrap();
    let mapped = records_in(&log.read_mapped(0, usize::MAX).unwrap());
    let copied = records_in(&log.read(0, usize::MAX).unwrap());
    assert_eq!(copied.len(), 200);
    assert!(!mapped.is_empty() && mapped.len() < 200, "{} records", mapped.len());
    assert_eq!(mapped[..], copied[..mapped.len()]);
    let next = records_in(&log.read_mapped(mapped.len() as i64, usize::MAX).unwrap());
    assert_eq!(
        next.first().map(|r| r.0),
        Some(mapped.len() as i64),
        "the next read starts at the next segment"
    );
}

#[test]
fn segments_roll_by_size_and_reads_cross_them() {
    let dir = temp_dir();
    let (mut log, _) = PartitionLog::open(&dir, small_segments()).unwrap();
    for i in 0..40 {
        log.append(&mut records(5, &format!("s{i}"), i * 10)).unwrap();
    }
    log.sync().unwrap();
    assert!(log.segment_count() > 5, "{} segments", log.segment_count());
    let all = read_all(&log, 0);
    assert_eq!(all.len(), 200);
    assert!(all.iter().enumerate().all(|(i, r)| r.0 == i as i64));
    let from = read_all(&log, 123);
    assert_eq!(from.first().map(|r| r.0), Some(120));
    // A bounded read returns whole batches, at least one.
    let some = log.read(0, 1).unwrap();
    assert_eq!(batch::verify(&some).unwrap().total_len(), some.len());

    // Reopened after a clean close, with saved indexes: the same log.
    log.close().unwrap();
    let (log, recovery) = PartitionLog::open(&dir, small_segments()).unwrap();
    assert!(recovery.clean);
    assert_eq!(log.next_offset(), 200);
    assert_eq!(read_all(&log, 0), all);
}

#[test]
fn a_torn_tail_is_cut_off_and_the_log_goes_on() {
    let dir = temp_dir();
    let (mut log, _) = PartitionLog::open(&dir, LogConfig::default()).unwrap();
    log.append(&mut records(3, "a", 0)).unwrap();
    log.append(&mut records(3, "b", 0)).unwrap();
    log.sync().unwrap();
    drop(log); // a crash: no clean close
    let segment = dir.join(format!("{:020}.log", 0));
    let full = fs::metadata(&segment).unwrap().len();
    // Half a batch written before the crash.
    let half = records(3, "torn", 0);
    OpenOptions::new()
        .append(true)
        .open(&segment)
        .unwrap()
        .write_all(&half[..half.len() / 2])
        .unwrap();
    let (mut log, recovery) = PartitionLog::open(&dir, LogConfig::default()).unwrap();
    assert!(!recovery.clean);
    let (cut, reason) = recovery.truncated.expect("the torn batch is cut");
    assert_eq!(cut, (half.len() / 2) as u64);
    assert!(reason.contains("truncated"), "{reason}");
    assert_eq!(fs::metadata(&segment).unwrap().len(), full);
    assert_eq!(log.next_offset(), 6);
    assert_eq!(log.append(&mut records(1, "c", 0)).unwrap(), (6, 6));
    log.sync().unwrap();
    assert_eq!(read_all(&log, 0).len(), 7);
}

#[test]
fn a_flipped_bit_in_the_last_batch_cuts_that_batch() {
    let dir = temp_dir();
    let (mut log, _) = PartitionLog::open(&dir, LogConfig::default()).unwrap();
    log.append(&mut records(3, "a", 0)).unwrap();
    let second = log.append(&mut records(3, "b", 0)).unwrap();
    log.sync().unwrap();
    drop(log);
    let segment = dir.join(format!("{:020}.log", 0));
    let mut bytes = fs::read(&segment).unwrap();
    let last = bytes.len() - 5;
    bytes[last] ^= 0x10;
    fs::write(&segment, &bytes).unwrap();
    let (log, recovery) = PartitionLog::open(&dir, LogConfig::default()).unwrap();
    let (_, reason) = recovery.truncated.expect("the damaged batch is cut");
    assert!(reason.contains("CRC"), "{reason}");
    assert_eq!(log.next_offset(), second.0);
    assert_eq!(read_all(&log, 0).len(), 3);
}

#[test]
fn damage_in_an_older_segment_refuses_to_open() {
    let dir = temp_dir();
    let (mut log, _) = PartitionLog::open(&dir, small_segments()).unwrap();
    for i in 0..20 {
        log.append(&mut records(5, &format!("s{i}"), 0)).unwrap();
    }
    log.sync().unwrap();
    drop(log);
    let first = dir.join(format!("{:020}.log", 0));
    let mut bytes = fs::read(&first).unwrap();
    bytes[100] ^= 0x01;
    fs::write(&first, &bytes).unwrap();
    match PartitionLog::open(&dir, small_segments()) {
        Err(LogError::Corrupt { file, position, .. }) => {
            assert_eq!(file, first);
            assert_eq!(position, 0);
        }
        Err(other) => panic!("unexpected error {other}"),
        Ok(_) => panic!("a corrupt older segment must not open"),
    }
    // The message says what and where.
    let message = PartitionLog::open(&dir, small_segments()).err().unwrap().to_string();
    assert!(
        message.contains("00000000000000000000.log") && message.contains("refusing"),
        "{message}"
    );
}

#[test]
fn retention_removes_whole_closed_segments() {
    let dir = temp_dir();
    let (mut log, _) = PartitionLog::open(&dir, small_segments()).unwrap();
    let now = SystemTime::now();
    let now_ms = now.duration_since(SystemTime::UNIX_EPOCH).unwrap().as_millis() as i64;
    let day = 24 * 3600 * 1000;
    for i in 0..10 {
        log.append(&mut records(5, &format!("old{i}"), now_ms - 10 * day))
            .unwrap();
    }
    for i in 0..10 {
        log.append(&mut records(5, &format!("new{i}"), now_ms)).unwrap();
    }
    log.sync().unwrap();
    let before = log.segment_count();
    let removed = log
        .apply_retention(now, Some(Duration::from_secs(7 * 24 * 3600)), None)
        .unwrap();
    assert!(removed > 0 && log.segment_count() == before - removed);
    assert!(log.start_offset() > 0);
    let remaining = read_all(&log, 0);
    assert_eq!(remaining.first().map(|r| r.0), Some(log.start_offset()));
    assert!(remaining
        .iter()
        .all(|r| r.1.starts_with("new") || r.1.starts_with("old")));
    assert!(remaining.iter().filter(|r| r.1.starts_with("old")).count() < 50);
    // By size: down to what fits, never the active segment.
    log.apply_retention(now, None, Some(1)).unwrap();
    assert_eq!(log.segment_count(), 1);
    assert_eq!(log.next_offset(), 100);
    // The log start survives a reopen.
    let start = log.start_offset();
    log.close().unwrap();
    let (log, _) = PartitionLog::open(&dir, small_segments()).unwrap();
    assert_eq!((log.start_offset(), log.next_offset()), (start, 100));
}

#[test]
fn every_truncation_of_the_active_segment_recovers_to_a_batch_boundary() {
    let dir = temp_dir();
    let (mut log, _) = PartitionLog::open(&dir, LogConfig::default()).unwrap();
    let mut ends = vec![0u64];
    for i in 0..4 {
        log.append(&mut records(2, &format!("b{i}"), 0)).unwrap();
        log.sync().unwrap();
        ends.push(log.size_bytes());
    }
    drop(log);
    let segment = dir.join(format!("{:020}.log", 0));
    let original = fs::read(&segment).unwrap();
    for len in (0..=original.len()).step_by(7) {
        fs::write(&segment, &original[..len]).unwrap();
        let (log, _) = PartitionLog::open(&dir, LogConfig::default()).unwrap();
        let boundary = *ends.iter().filter(|&&e| e <= len as u64).max().unwrap();
        assert_eq!(log.size_bytes(), boundary, "truncated to {len}");
        let batches = ends.iter().position(|&e| e == boundary).unwrap();
        assert_eq!(log.next_offset(), 2 * batches as i64, "truncated to {len}");
        drop(log);
    }
}

mod file_cache {
    use super::*;
    use crate::broker::fds::FileCache;

    fn cache(capacity: usize) -> &'static FileCache {
        Box::leak(Box::new(FileCache::new(capacity)))
    }

    #[test]
    fn open_files_stay_within_the_capacity_and_an_evicted_file_reopens() {
        let files = cache(4);
        let mut logs: Vec<PartitionLog> = (0..10)
            .map(|_| {
                PartitionLog::open_in(&temp_dir(), LogConfig::default(), files)
                    .unwrap()
                    .0
            })
            .collect();
        assert_eq!(files.open_count(), 0, "idle logs hold no file");
        for (i, log) in logs.iter_mut().enumerate() {
            log.append(&mut records(2, &format!("log{i}"), 0)).unwrap();
            log.sync().unwrap();
            assert!(files.open_count() <= 4, "{} files open", files.open_count());
        }
        // The last log used is cached: reading it opens nothing.
        let opened = files.opened();
        assert_eq!(read_all(&logs[9], 0)[0].1, "log9-0");
        assert_eq!(files.opened(), opened, "a hit opens no file");
        // The first was evicted long ago: reading it opens its file again.
        assert_eq!(read_all(&logs[0], 0)[0].1, "log0-0");
        assert_eq!(files.opened(), opened + 1, "a miss reopens the file");
        assert!(files.open_count() <= 4);
        drop(logs);
        assert_eq!(
            files.open_count(),
            0,
            "a log that goes takes its files out of the cache"
        );
    }

    #[test]
    fn a_file_with_unsynced_writes_outlives_its_eviction_until_the_flush() {
        let files = cache(2);
        let dir = temp_dir();
        let (mut log, _) = PartitionLog::open_in(&dir, LogConfig::default(), files).unwrap();
        log.append(&mut records(3, "dirty", 0)).unwrap();
        // Other logs' files push the dirty log's file out of the cache.
        let others: Vec<PartitionLog> = (0..4)
            .map(|i| {
                let (mut other, _) = PartitionLog::open_in(&temp_dir(), LogConfig::default(), files).unwrap();
                other.append(&mut records(1, &format!("other{i}"), 0)).unwrap();
                other.sync().unwrap();
                other
            })
            .collect();
        assert!(files.open_count() <= 2);
        // The flush still gets the handle the writes went through, and covers them.
        let ticket = log.begin_sync().unwrap();
        assert_eq!(ticket.files.len(), 1, "the unsynced handle was kept, not closed");
        ticket.flush().unwrap();
        log.finish_sync(&ticket);
        assert_eq!(log.durable_offset(), 3);
        drop(ticket);
        assert_eq!(read_all(&log, 0).len(), 3);
        drop(others);
        // A clean reopen sees everything.
        log.close().unwrap();
        drop(log);
        let (log, recovery) = PartitionLog::open_in(&dir, LogConfig::default(), files).unwrap();
        assert!(recovery.clean);
        assert_eq!(read_all(&log, 0).len(), 3);
    }

    /// Descriptors of this process open on files in `dir`.
    fn open_in(dir: &std::path::Path) -> usize {
        fs::read_dir("/proc/self/fd")
            .unwrap()
            .filter_map(|fd| fs::read_link(fd.ok()?.path()).ok())
            .filter(|target| target.starts_with(dir))
            .count()
    }

    #[test]
    fn a_roll_flushes_the_old_segment_and_lets_go_of_its_file() {
        // A cache of one file: what stays open beyond it is held by segments themselves.
        let files = cache(1);
        let dir = temp_dir();
        let (mut log, _) = PartitionLog::open_in(&dir, small_segments(), files).unwrap();
        // Many rolls with no flush between them: only the active segment keeps a handle
        // of its own, besides the cache's.
        for i in 0..40 {
            log.append(&mut records(4, &format!("r{i}"), 0)).unwrap();
        }
        assert!(log.segment_count() > 5, "{} segments", log.segment_count());
        let open = open_in(&dir);
        assert!(open <= 2, "{open} descriptors open on one log's files");
        let ticket = log.begin_sync().unwrap();
        assert_eq!(ticket.files.len(), 1, "only the active segment has writes to flush");
        ticket.flush().unwrap();
        log.finish_sync(&ticket);
        assert_eq!(read_all(&log, 0).len(), 160, "the rolled segments are readable");
    }

    #[test]
    fn a_log_whose_flush_failed_takes_no_writes_and_is_not_marked_clean() {
        let files = cache(4);
        let dir = temp_dir();
        let (mut log, _) = PartitionLog::open_in(&dir, LogConfig::default(), files).unwrap();
        log.append(&mut records(2, "a", 0)).unwrap();
        let ticket = log.begin_sync().unwrap();
        log.fail(); // what the flusher does when the ticket's fdatasync fails
        drop(ticket);
        assert!(matches!(log.append(&mut records(1, "b", 0)), Err(LogError::Stopped(_))));
        assert!(log.begin_sync().is_err(), "nothing more becomes durable");
        assert!(log.close().is_err());
        assert!(
            !dir.join("clean-shutdown").exists(),
            "no marker vouches for unflushed data"
        );
    }

    #[test]
    fn recovery_opens_one_segment_file_at_a_time() {
        let files = cache(2);
        let dir = temp_dir();
        let (mut log, _) = PartitionLog::open_in(&dir, small_segments(), files).unwrap();
        for i in 0..40 {
            log.append(&mut records(4, &format!("r{i}"), 0)).unwrap();
        }
        log.sync().unwrap();
        assert!(log.segment_count() > 5, "{} segments", log.segment_count());
        drop(log); // no clean close: every segment is scanned
        let (log, recovery) = PartitionLog::open_in(&dir, small_segments(), files).unwrap();
        assert!(!recovery.clean);
        assert_eq!(files.open_count(), 0, "recovery leaves no file open");
        assert_eq!(read_all(&log, 0).len(), 160);
        assert!(files.open_count() <= 2);
    }
}

mod partition {
    use std::sync::Arc;

    use super::*;
    use crate::broker::partition::{Durability, Partition};

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn concurrent_producers_share_flushes_and_get_dense_offsets() {
        let dir = temp_dir();
        let (partition, _) = Partition::open(&dir, LogConfig::default(), Durability::Sync).unwrap();
        let partition = Arc::new(partition);
        let mut tasks = Vec::new();
        for producer in 0..16 {
            let partition = partition.clone();
            tasks.push(tokio::spawn(async move {
                let mut acked = Vec::new();
                for i in 0..20 {
                    let mut batches = vec![records(3, &format!("p{producer}-{i}"), 0)];
                    let offsets = partition.append(&mut batches).await.unwrap();
                    // Acknowledged means durable: the records are readable now.
                    let (_, durable, _) = partition.offsets();
                    assert!(durable > offsets[0].1);
                    acked.push(offsets[0]);
                }
                acked
            }));
        }
        let mut acked: Vec<(i64, i64)> = Vec::new();
        for task in tasks {
            acked.extend(task.await.unwrap());
        }
        acked.sort();
        let firsts: Vec<i64> = acked.iter().map(|a| a.0).collect();
        assert_eq!(
            firsts,
            (0..320).map(|i| i * 3).collect::<Vec<_>>(),
            "dense, unique offsets"
        );
        let flushes = partition.flushes();
        assert!(flushes < 320, "{flushes} flushes for 320 appends: no grouping");
        assert_eq!(records_in(&partition.read(0, usize::MAX).unwrap()).len(), 960);
    }

    /// Threads of this process named like the flushers.
    fn flusher_threads() -> usize {
        fs::read_dir("/proc/self/task")
            .unwrap()
            .filter_map(|task| fs::read_to_string(task.ok()?.path().join("comm")).ok())
            .filter(|name| name.trim() == "herald-flusher")
            .count()
    }

    /// Opens `count` synced partitions and appends `rounds` batches of two records to each,
    /// all at once; every acknowledgement must mean durable, and every record be readable.
    async fn append_to_many_at_once(count: usize, rounds: usize) -> Vec<Arc<Partition>> {
        let partitions: Vec<Arc<Partition>> = (0..count)
            .map(|_| {
                Arc::new(
                    Partition::open(&temp_dir(), LogConfig::default(), Durability::Sync)
                        .unwrap()
                        .0,
                )
            })
            .collect();
        let tasks: Vec<_> = partitions
            .iter()
            .enumerate()
            .map(|(i, partition)| {
                let partition = partition.clone();
                tokio::spawn(async move {
                    for round in 0..rounds {
                        let offsets = partition
                            .append(&mut [records(2, &format!("p{i}-{round}"), 0)])
                            .await
                            .unwrap();
                        assert!(partition.offsets().1 > offsets[0].1, "acknowledged means durable");
                    }
                })
            })
            .collect();
        for task in tasks {
            task.await.unwrap();
        }
        for partition in &partitions {
            assert_eq!(records_in(&partition.read(0, usize::MAX).unwrap()).len(), 2 * rounds);
        }
        partitions
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn many_partitions_share_a_few_flusher_threads() {
        let _partitions = append_to_many_at_once(64, 3).await;
        let threads = flusher_threads();
        assert!(
            threads <= crate::broker::partition::FLUSHER_THREADS,
            "{threads} flusher threads for 64 partitions"
        );
    }

    /// Many partitions waiting for a flush at once are made durable together by one
    /// `syncfs` (group commit across partitions), and every acknowledgement still means the
    /// records are durable and readable.
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn partitions_waiting_together_share_one_sync() {
        let before = crate::broker::partition::shared_syncs();
        append_to_many_at_once(128, 5).await;
        let shared = crate::broker::partition::shared_syncs() - before;
        assert!(shared > 0, "640 appends on 128 partitions at once and no shared sync");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_partition_waiting_out_its_interval_holds_up_no_other() {
        let slow = Durability::Interval(Duration::from_secs(60));
        let (waiting, _) = Partition::open(&temp_dir(), LogConfig::default(), slow).unwrap();
        waiting.append(&mut [records(1, "later", 0)]).await.unwrap();
        let syncs: Vec<Partition> = (0..8)
            .map(|_| {
                Partition::open(&temp_dir(), LogConfig::default(), Durability::Sync)
                    .unwrap()
                    .0
            })
            .collect();
        for partition in &syncs {
            let mut batches = [records(1, "now", 0)];
            let acked = tokio::time::timeout(Duration::from_secs(20), partition.append(&mut batches));
            assert_eq!(
                acked.await.expect("a Sync append waits for no interval").unwrap(),
                vec![(0, 0)]
            );
        }
        assert_eq!(
            waiting.offsets().1,
            0,
            "the interval partition is not flushed before its time"
        );
        waiting.close().unwrap();
        assert_eq!(waiting.offsets().1, 1, "closing flushes it");
    }

    #[tokio::test]
    async fn interval_mode_acknowledges_before_the_flush() {
        let dir = temp_dir();
        let every = Duration::from_millis(200);
        let (partition, _) = Partition::open(&dir, LogConfig::default(), Durability::Interval(every)).unwrap();
        let offsets = partition.append(&mut [records(2, "a", 0)]).await.unwrap();
        assert_eq!(offsets, vec![(0, 1)]);
        let (_, durable, next) = partition.offsets();
        assert_eq!((durable, next), (0, 2), "acknowledged, not yet durable nor visible");
        partition.wait_durable(2).await.unwrap();
        assert_eq!(records_in(&partition.read(0, usize::MAX).unwrap()).len(), 2);
    }

    #[tokio::test]
    async fn a_closed_partition_reopens_clean_with_everything() {
        let dir = temp_dir();
        let (partition, _) = Partition::open(&dir, small_segments(), Durability::Sync).unwrap();
        for i in 0..30 {
            partition.append(&mut [records(4, &format!("r{i}"), 0)]).await.unwrap();
        }
        let invalid = partition.append(&mut [records(1, "ok", 0), vec![0u8; 70]]).await;
        assert!(invalid.is_err());
        assert_eq!(
            partition.offsets().2,
            120,
            "a call with an invalid batch appends nothing"
        );
        partition.close().unwrap();
        assert!(
            matches!(
                partition.append(&mut [records(1, "late", 0)]).await,
                Err(LogError::Stopped(_))
            ),
            "a closed partition takes no write"
        );
        drop(partition);
        let (partition, recovery) = Partition::open(&dir, small_segments(), Durability::Sync).unwrap();
        assert!(recovery.clean);
        assert_eq!(partition.offsets(), (0, 120, 120));
        assert_eq!(records_in(&partition.read(0, usize::MAX).unwrap()).len(), 120);
    }
}

mod broker {
    use super::*;
    use crate::broker::topic::TopicConfig;
    use crate::broker::{murmur2, Broker, BrokerError};

    fn record(key: Option<&str>, value: &str) -> Record {
        Record {
            timestamp: 1_000,
            key: key.map(|k| k.as_bytes().to_vec()),
            value: Some(value.as_bytes().to_vec()),
            headers: vec![],
        }
    }

    #[test]
    fn murmur2_matches_kafka() {
        // Kafka's UtilsTest vectors.
        let cases: [(&[u8], i32); 6] = [
            (b"21", -973_932_308),
            (b"foobar", -790_332_482),
            (b"a-little-bit-long-string", -985_981_536),
            (b"a-little-bit-longer-string", -1_486_304_829),
            (b"lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8", -58_897_971),
            (b"abc", 479_470_107),
        ];
        for (input, expected) in cases {
            assert_eq!(murmur2(input) as i32, expected, "{}", String::from_utf8_lossy(input));
        }
    }

    #[tokio::test]
    async fn topics_are_created_used_reopened_and_deleted() {
        let dir = temp_dir();
        let broker = Broker::open(&dir, LogConfig::default()).unwrap();
        let mut config = TopicConfig::new("payments", 3);
        config.owner = Some("payments-team".to_string());
        let topic = broker.create_topic(config.clone()).unwrap();
        assert!(matches!(broker.create_topic(config), Err(BrokerError::TopicExists(_))));
        // One process per log directory.
        assert!(Broker::open(&dir, LogConfig::default()).is_err());
        assert!(broker.create_topic(TopicConfig::new("../escape", 1)).is_err());
        assert!(!dir.join("escape").exists());

        // Keyed records go to one partition, as Kafka's partitioner would send them.
        let p = topic.partition_for(Some(b"order-7"));
        assert_eq!(p, (murmur2(b"order-7") & 0x7fff_ffff) % 3);
        assert_eq!(
            topic
                .produce(p, &[record(Some("order-7"), "a"), record(Some("order-7"), "b")])
                .await
                .unwrap(),
            (0, 1)
        );
        assert_eq!(topic.produce(p, &[record(Some("order-7"), "c")]).await.unwrap(), (2, 2));
        let fetched = topic.fetch(p, 1, usize::MAX).unwrap();
        let values: Vec<&[u8]> = fetched.iter().map(|r| r.record.value.as_deref().unwrap()).collect();
        assert_eq!(values, vec![b"b".as_slice(), b"c".as_slice()]);
        assert!(matches!(
            topic.fetch(7, 0, 100),
            Err(BrokerError::UnknownPartition { .. })
        ));
        // Unkeyed records spread round robin.
        let spread: std::collections::BTreeSet<u32> = (0..3).map(|_| topic.partition_for(None)).collect();
        assert_eq!(spread.len(), 3);
        drop(topic);
        drop(broker);

        let broker = Broker::open(&dir, LogConfig::default()).unwrap();
        let topic = broker.topic("payments").unwrap();
        assert_eq!(topic.config.owner.as_deref(), Some("payments-team"));
        assert_eq!(topic.offsets(p).unwrap(), (0, 3));
        assert_eq!(topic.fetch(p, 0, usize::MAX).unwrap().len(), 3);
        drop(topic);
        broker.delete_topic("payments").unwrap();
        assert!(matches!(broker.topic("payments"), Err(BrokerError::UnknownTopic(_))));
        assert!(!dir.join("topics").join("payments").exists());
        drop(broker);
        let broker = Broker::open(&dir, LogConfig::default()).unwrap();
        assert!(broker.topics().is_empty());
    }
}

/// Kafka allows topic names of 249 characters; the scratch directories that make creation
/// and deletion crash-safe must not push such a name past the file system's limit.
mod long_names {
    use super::*;
    use crate::broker::topic::TopicConfig;
    use crate::broker::Broker;

    #[tokio::test]
    async fn a_topic_with_the_longest_name_is_created_written_deleted_and_created_again() {
        let data = temp_dir();
        let broker = Broker::open(&data, LogConfig::default()).unwrap();
        let name = "n".repeat(249);
        for round in 0..2 {
            let topic = broker
                .create_topic(TopicConfig::new(&name, 2))
                .expect("a 249-character topic is created");
            let record = Record {
                timestamp: 1_000,
                key: None,
                value: Some(format!("round {round}").into_bytes()),
                headers: vec![],
            };
            assert_eq!(topic.produce(1, &[record]).await.unwrap(), (0, 0));
            drop(topic);
            broker.delete_topic(&name).expect("and deleted");
        }
        broker.create_topic(TopicConfig::new(&name, 1)).unwrap();
        drop(broker);
        let broker = Broker::open(&data, LogConfig::default()).unwrap();
        assert_eq!(broker.topic(&name).unwrap().offsets(0).unwrap(), (0, 0));
        let leftovers: Vec<_> = std::fs::read_dir(data.join("topics"))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.contains('~'))
            .collect();
        assert!(leftovers.is_empty(), "{leftovers:?}");
    }
}

/// A topic deleted while a caller still holds it (a produce waiting on the registry, a
/// read in progress) and re-created under the same name: the old handle must not reach the
/// new topic's files, which sit at the very paths the old ones had.
mod deleted_topic {
    use super::*;
    use crate::broker::topic::TopicConfig;
    use crate::broker::{Broker, BrokerError};

    fn record(value: &str) -> Record {
        Record {
            timestamp: 1_000,
            key: None,
            value: Some(value.as_bytes().to_vec()),
            headers: vec![],
        }
    }

    fn values(records: &[batch::StoredRecord]) -> Vec<String> {
        records
            .iter()
            .map(|r| String::from_utf8(r.record.value.clone().unwrap()).unwrap())
            .collect()
    }

    #[tokio::test]
    async fn a_deleted_topics_handle_cannot_write_into_or_read_a_recreated_topic() {
        let data = temp_dir();
        let broker = Broker::open(&data, LogConfig::default()).unwrap();
        // Held across the deletion; never written, so no file of it is cached: its next
        // use would open the segment file by path.
        let old = broker.create_topic(TopicConfig::new("orders", 1)).unwrap();
        broker.delete_topic("orders").unwrap();
        let new = broker.create_topic(TopicConfig::new("orders", 1)).unwrap();
        new.produce(0, &[record("new-0")]).await.unwrap();

        let late = old.produce(0, &[record("old-late")]).await;
        assert!(
            matches!(late, Err(BrokerError::UnknownTopic(ref t)) if t == "orders"),
            "a produce through the deleted topic is refused: {:?}",
            late.map_err(|e| e.to_string())
        );
        assert!(matches!(old.fetch(0, 0, usize::MAX), Err(BrokerError::UnknownTopic(_))));
        assert_eq!(
            old.apply_retention(SystemTime::now()).unwrap(),
            0,
            "retention leaves a deleted topic alone"
        );

        new.produce(0, &[record("new-1")]).await.unwrap();
        assert_eq!(values(&new.fetch(0, 0, usize::MAX).unwrap()), ["new-0", "new-1"]);
        assert_eq!(new.offsets(0).unwrap(), (0, 2));
        drop((old, new));
        broker.close().unwrap();
        drop(broker);

        let broker = Broker::open(&data, LogConfig::default()).expect("the re-created topic reopens");
        let topic = broker.topic("orders").unwrap();
        assert_eq!(topic.offsets(0).unwrap(), (0, 2));
        assert_eq!(values(&topic.fetch(0, 0, usize::MAX).unwrap()), ["new-0", "new-1"]);
    }

    #[tokio::test]
    async fn a_deleted_topic_that_was_written_refuses_writes_too() {
        let data = temp_dir();
        let broker = Broker::open(&data, LogConfig::default()).unwrap();
        let old = broker.create_topic(TopicConfig::new("t", 2)).unwrap();
        old.produce(1, &[record("old-0")]).await.unwrap();
        broker.delete_topic("t").unwrap();
        let new = broker.create_topic(TopicConfig::new("t", 2)).unwrap();
        assert!(matches!(
            old.produce(1, &[record("old-1")]).await,
            Err(BrokerError::UnknownTopic(_))
        ));
        assert!(new.fetch(1, 0, usize::MAX).unwrap().is_empty());
        assert_eq!(new.offsets(1).unwrap(), (0, 0));
    }
}

/// A start after a crash at any moment of a topic's creation or deletion: each half-state
/// that a crash (or an older version) can leave is built by hand, and the broker must open
/// and settle it.
mod recovery {
    use std::time::Duration;

    use super::*;
    use crate::broker::groups::{MemberConfig, Reset};
    use crate::broker::topic::TopicConfig;
    use crate::broker::Broker;

    fn names(broker: &Broker) -> Vec<String> {
        broker.topics().iter().map(|t| t.config.name.clone()).collect()
    }

    /// `topics/<entry>/` holding the settings of `topic` and `partitions` partition dirs.
    fn topic_dir(data: &std::path::Path, entry: &str, topic: &str, partitions: u32) -> PathBuf {
        let path = data.join("topics").join(entry);
        fs::create_dir_all(&path).unwrap();
        for p in 0..partitions {
            fs::create_dir_all(path.join(p.to_string())).unwrap();
        }
        let settings = serde_json::to_string(&TopicConfig::new(topic, partitions)).unwrap();
        fs::write(path.join("topic.json"), settings).unwrap();
        path
    }

    /// A topic with one partition and `n` records in it, written by a broker that then closes.
    async fn topic_with_records(data: &std::path::Path, name: &str, n: usize) {
        let broker = Broker::open(data, LogConfig::default()).unwrap();
        let topic = broker.create_topic(TopicConfig::new(name, 1)).unwrap();
        for i in 0..n {
            topic.produce(0, &[record(&format!("{name}-{i}"))]).await.unwrap();
        }
        drop(topic);
        broker.close().unwrap();
    }

    fn record(value: &str) -> Record {
        Record {
            timestamp: 1_000,
            key: None,
            value: Some(value.as_bytes().to_vec()),
            headers: vec![],
        }
    }

    #[test]
    fn a_topic_directory_without_settings_is_removed_at_start() {
        let data = temp_dir();
        // A creation killed after its directory and before its settings (older versions
        // created them in that order), and stray entries that are no topic at all.
        fs::create_dir_all(data.join("topics/half/0")).unwrap();
        fs::create_dir_all(data.join("topics/not a topic")).unwrap();
        fs::create_dir_all(data.join("topics")).unwrap();
        fs::write(data.join("topics/README.txt"), "notes").unwrap();
        topic_dir(&data, "whole", "whole", 2);

        let broker = Broker::open(&data, LogConfig::default()).expect("a half-created topic must not stop the start");
        assert_eq!(names(&broker), vec!["whole".to_string()]);
        assert!(!data.join("topics/half").exists(), "the half-created topic is removed");
        assert!(data.join("topics/README.txt").exists(), "unknown files are left alone");
        // The name is free again.
        broker.create_topic(TopicConfig::new("half", 1)).unwrap();
    }

    #[test]
    fn an_interrupted_creation_is_removed_at_start() {
        let data = temp_dir();
        // Killed while the staging directory was being filled, and after it was complete
        // but before its rename: never acknowledged, so it must not appear.
        fs::create_dir_all(data.join("topics/early~creating/0")).unwrap();
        topic_dir(&data, "late~creating", "late", 3);

        let broker = Broker::open(&data, LogConfig::default()).unwrap();
        assert!(names(&broker).is_empty(), "{:?}", names(&broker));
        let left: Vec<_> = fs::read_dir(data.join("topics"))
            .unwrap()
            .flatten()
            .map(|e| e.file_name())
            .collect();
        assert!(left.is_empty(), "leftovers: {left:?}");
        broker.create_topic(TopicConfig::new("late", 1)).unwrap();
        assert_eq!(broker.topic("late").unwrap().config.partitions, 1);
    }

    #[tokio::test]
    async fn an_interrupted_deletion_is_finished_at_start() {
        let data = temp_dir();
        topic_with_records(&data, "gone", 3).await;
        // Killed after the rename that deletes, before the files were removed.
        fs::rename(data.join("topics/gone"), data.join("topics/gone~deleting")).unwrap();
        // What older versions left: `<name>.deleted`, half removed.
        topic_dir(&data, "old.deleted", "old", 1);
        fs::create_dir_all(data.join("topics/older.deleted/0")).unwrap();
        // A topic whose name really ends in `.deleted` is a topic like any other.
        topic_dir(&data, "audit.deleted", "audit.deleted", 1);

        let broker = Broker::open(&data, LogConfig::default()).unwrap();
        assert_eq!(names(&broker), vec!["audit.deleted".to_string()]);
        for leftover in ["gone~deleting", "gone", "old.deleted", "older.deleted"] {
            assert!(!data.join("topics").join(leftover).exists(), "{leftover} is left");
        }
    }

    #[tokio::test]
    async fn a_damaged_topic_json_is_set_aside_at_start() {
        let data = temp_dir();
        topic_with_records(&data, "torn", 2).await;
        topic_with_records(&data, "fine", 2).await;
        let settings = data.join("topics/torn/topic.json");
        let text = fs::read(&settings).unwrap();
        fs::write(&settings, &text[..text.len() / 2]).unwrap();

        let broker = Broker::open(&data, LogConfig::default()).expect("damaged settings must not stop the start");
        assert_eq!(names(&broker), vec!["fine".to_string()]);
        assert_eq!(broker.topic("fine").unwrap().offsets(0).unwrap(), (0, 2));
        // The records are kept for the operator, out of the way.
        let aside = data.join("topics/torn~damaged");
        assert!(
            aside.join("0").exists(),
            "the damaged topic is set aside with its records"
        );
        drop(broker);
        // And the next start is as quiet.
        let broker = Broker::open(&data, LogConfig::default()).unwrap();
        assert_eq!(names(&broker), vec!["fine".to_string()]);
    }

    #[tokio::test]
    async fn settings_that_cannot_be_read_now_leave_the_topic_and_its_offsets_alone() {
        let data = temp_dir();
        topic_with_records(&data, "orders", 3).await;
        fs::create_dir_all(data.join("groups")).unwrap();
        fs::write(
            data.join("groups/g.json"),
            br#"{"offsets":[{"topic":"orders","partition":0,"offset":2}]}"#,
        )
        .unwrap();
        // A read error that is no sign of damage (as EMFILE or EIO would be): the settings
        // path is a directory, so reading it fails with EISDIR, even as root.
        let settings = data.join("topics/orders/topic.json");
        let text = fs::read(&settings).unwrap();
        fs::remove_file(&settings).unwrap();
        fs::create_dir(&settings).unwrap();

        let broker = Broker::open(&data, LogConfig::default()).unwrap();
        assert!(names(&broker).is_empty(), "not served while unreadable");
        assert!(data.join("topics/orders/0").exists(), "left where it is");
        assert!(!data.join("topics/orders~damaged").exists(), "not set aside");
        assert_eq!(
            broker.groups().committed("g", &[]).unwrap(),
            vec![(("orders".to_string(), 0), 2)],
            "its offsets are kept"
        );
        drop(broker);

        // Readable again: the next start serves it, with its records and offsets.
        fs::remove_dir(&settings).unwrap();
        fs::write(&settings, text).unwrap();
        let broker = Broker::open(&data, LogConfig::default()).unwrap();
        assert_eq!(broker.topic("orders").unwrap().offsets(0).unwrap(), (0, 3));
        assert_eq!(broker.groups().committed("g", &[]).unwrap().len(), 1);
    }

    #[test]
    fn a_damaged_group_file_is_set_aside_at_start() {
        let data = temp_dir();
        fs::create_dir_all(data.join("groups")).unwrap();
        fs::write(data.join("groups/garbage.json"), b"\x00\xff{not json").unwrap();
        fs::write(data.join("groups/empty.json"), b"").unwrap();
        fs::write(data.join("groups/torn.json"), br#"{"offsets":[{"topic":"t","parti"#).unwrap();
        fs::write(
            data.join("groups/fine.json"),
            br#"{"offsets":[{"topic":"t","partition":0,"offset":4}]}"#,
        )
        .unwrap();
        topic_dir(&data, "t", "t", 1);

        let broker = Broker::open(&data, LogConfig::default()).expect("a damaged group file must not stop the start");
        assert_eq!(broker.groups().list(), vec!["fine".to_string()]);
        assert_eq!(
            broker.groups().committed("fine", &[]).unwrap(),
            vec![(("t".to_string(), 0), 4)]
        );
        assert!(
            data.join("groups/garbage.json.damaged").exists(),
            "kept for the operator"
        );
    }

    fn member() -> MemberConfig {
        MemberConfig {
            owner: None,
            reset: Reset::Earliest,
            auto_commit: false,
            session_timeout: Duration::from_secs(60),
            format: "json".to_string(),
        }
    }

    /// Where member `m` of group `g` reads partition 0 of `topic` from.
    fn position(broker: &Broker, m: &str, topic: &str) -> i64 {
        let assignment = broker.groups().assignment("g", m, broker).unwrap();
        assignment
            .positions
            .iter()
            .find(|((t, p), _)| t == topic && *p == 0)
            .map(|(_, offset)| *offset)
            .expect("partition 0 assigned")
    }

    #[tokio::test]
    async fn a_recreated_topic_is_read_from_its_start_not_the_old_offsets() {
        let data = temp_dir();
        let broker = Broker::open(&data, LogConfig::default()).unwrap();
        let topic = broker.create_topic(TopicConfig::new("orders", 1)).unwrap();
        for i in 0..5 {
            topic.produce(0, &[record(&format!("old-{i}"))]).await.unwrap();
        }
        drop(topic);
        let groups = broker.groups();
        groups.join("g", "a", member()).unwrap();
        groups.subscribe("g", "a", vec!["orders".to_string()]).unwrap();
        assert_eq!(position(&broker, "a", "orders"), 0);
        groups
            .commit("g", "a", Some(vec![(("orders".to_string(), 0), 5)]))
            .unwrap();

        broker.delete_topic("orders").unwrap();
        assert!(
            groups.committed("g", &[]).unwrap().is_empty(),
            "the deleted topic's offsets are gone"
        );
        let topic = broker.create_topic(TopicConfig::new("orders", 1)).unwrap();
        for i in 0..7 {
            topic.produce(0, &[record(&format!("new-{i}"))]).await.unwrap();
        }
        drop(topic);
        // The member that read the old topic, and a new one after a restart, start at 0.
        assert_eq!(position(&broker, "a", "orders"), 0);
        groups.leave("g", "a").unwrap();
        drop(broker);
        let broker = Broker::open(&data, LogConfig::default()).unwrap();
        broker.groups().join("g", "b", member()).unwrap();
        broker.groups().subscribe("g", "b", vec!["orders".to_string()]).unwrap();
        assert_eq!(position(&broker, "b", "orders"), 0);
    }

    #[tokio::test]
    async fn offsets_of_a_topic_deleted_by_an_interrupted_delete_are_dropped_at_start() {
        let data = temp_dir();
        topic_with_records(&data, "orders", 5).await;
        topic_with_records(&data, "kept", 5).await;
        fs::create_dir_all(data.join("groups")).unwrap();
        fs::write(
            data.join("groups/g.json"),
            br#"{"offsets":[{"topic":"orders","partition":0,"offset":5},{"topic":"kept","partition":0,"offset":3}]}"#,
        )
        .unwrap();
        // Killed after the delete's rename, before the group files were rewritten.
        fs::rename(data.join("topics/orders"), data.join("topics/orders~deleting")).unwrap();

        let broker = Broker::open(&data, LogConfig::default()).unwrap();
        assert_eq!(
            broker.groups().committed("g", &[]).unwrap(),
            vec![(("kept".to_string(), 0), 3)]
        );
        let topic = broker.create_topic(TopicConfig::new("orders", 1)).unwrap();
        topic.produce(0, &[record("new")]).await.unwrap();
        drop(topic);
        broker.groups().join("g", "a", member()).unwrap();
        broker.groups().subscribe("g", "a", vec!["orders".to_string()]).unwrap();
        assert_eq!(position(&broker, "a", "orders"), 0);
    }
}

mod groups {
    use std::time::Duration;

    use super::temp_dir;
    use crate::broker::groups::{GroupError, Groups, MemberConfig, Partitions, Reset};

    /// One topic `t` with one partition whose log spans `bounds`.
    struct Fixed {
        bounds: (i64, i64),
    }

    impl Partitions for Fixed {
        fn count(&self, topic: &str) -> Option<u32> {
            (topic == "t").then_some(1)
        }

        fn bounds(&self, topic: &str, partition: u32) -> Option<(i64, i64)> {
            (topic == "t" && partition == 0).then_some(self.bounds)
        }
    }

    fn member(reset: Reset) -> MemberConfig {
        MemberConfig {
            owner: None,
            reset,
            auto_commit: false,
            session_timeout: Duration::from_secs(60),
            format: "json".to_string(),
        }
    }

    #[test]
    fn a_committed_offset_below_the_log_start_is_reset_and_reported() {
        let dir = temp_dir();
        let groups = Groups::open(&dir).unwrap();
        groups.join("g", "a", member(Reset::Earliest)).unwrap();
        groups.subscribe("g", "a", vec!["t".to_string()]).unwrap();
        let log = Fixed { bounds: (0, 20) };
        assert_eq!(
            groups.assignment("g", "a", &log).unwrap().positions,
            vec![(("t".to_string(), 0), 0)]
        );
        groups.commit("g", "a", Some(vec![(("t".to_string(), 0), 5)])).unwrap();
        groups.leave("g", "a").unwrap();
        drop(groups);

        // Retention moved the log start past the commit; the restarted group notices.
        let groups = Groups::open(&dir).unwrap();
        groups.join("g", "b", member(Reset::Earliest)).unwrap();
        groups.subscribe("g", "b", vec!["t".to_string()]).unwrap();
        let log = Fixed { bounds: (10, 20) };
        assert_eq!(
            groups.assignment("g", "b", &log).unwrap().positions,
            vec![(("t".to_string(), 0), 10)]
        );
        let view = groups.describe("g", &log).unwrap();
        assert_eq!(view.resets, 1);
        assert_eq!(view.offsets[0].committed, Some(5));
        assert_eq!(view.offsets[0].lag, 10);

        // With `latest`, the reset goes to the end.
        groups.join("h", "c", member(Reset::Latest)).unwrap();
        groups.subscribe("h", "c", vec!["t".to_string()]).unwrap();
        assert_eq!(groups.assignment("h", "c", &log).unwrap().positions[0].1, 20);
        assert!(matches!(
            groups.join("h", "c", member(Reset::Latest)),
            Err(GroupError::MemberExists { .. })
        ));
        assert!(matches!(
            groups.join("../x", "c", member(Reset::Latest)),
            Err(GroupError::InvalidName(_))
        ));
    }

    #[test]
    fn readers_of_a_topic_are_its_subscribed_members_and_its_recent_committers() {
        let dir = temp_dir();
        let groups = Groups::open(&dir).unwrap();
        let topics = |names: &[&str]| names.iter().map(|n| n.to_string()).collect::<Vec<_>>();
        let week = Duration::from_secs(7 * 86_400);
        // A member subscribed now reads the topic, committed or not.
        groups.join("live", "a", member(Reset::Earliest)).unwrap();
        groups.subscribe("live", "a", topics(&["t"])).unwrap();
        // A group that only committed (as Kafka's coordinator does for its members).
        groups
            .commit_offsets("committed", vec![(("t".to_string(), 0), 3, None)])
            .unwrap();
        groups
            .commit_offsets("elsewhere", vec![(("u".to_string(), 0), 3, None)])
            .unwrap();
        assert_eq!(groups.readers_of(&topics(&["t"]), week), ["committed", "live"]);
        assert_eq!(
            groups.readers_of(&topics(&["t", "u"]), week),
            ["committed", "elsewhere", "live"]
        );
        // A commit older than the window does not count; the file keeps when it was made.
        std::thread::sleep(Duration::from_millis(20));
        groups.leave("live", "a").unwrap();
        assert!(groups.readers_of(&topics(&["t"]), Duration::from_millis(10)).is_empty());
        drop(groups);
        let text = std::fs::read_to_string(dir.join("groups/committed.json")).unwrap();
        assert!(text.contains("\"committed_at\""), "{text}");

        // A group file from before commits carried their time counts as recent.
        std::fs::write(
            dir.join("groups/old.json"),
            r#"{"offsets": [{"topic": "t", "partition": 0, "offset": 9}]}"#,
        )
        .unwrap();
        let groups = Groups::open(&dir).unwrap();
        assert_eq!(groups.readers_of(&topics(&["t"]), Duration::from_millis(1)), ["old"]);
        assert_eq!(groups.readers_of(&topics(&["t"]), week), ["committed", "old"]);
    }

    #[test]
    fn consumers_are_not_held_up_while_a_deleted_topics_offsets_are_written() {
        use std::os::unix::ffi::OsStrExt;
        use std::sync::{mpsc, Arc};

        let dir = temp_dir();
        let groups = Arc::new(Groups::open(&dir).unwrap());
        let log = Fixed { bounds: (0, 20) };
        for group in ["slow", "other"] {
            groups.join(group, "a", member(Reset::Earliest)).unwrap();
            groups.subscribe(group, "a", vec!["t".to_string()]).unwrap();
            groups.assignment(group, "a", &log).unwrap();
            groups
                .commit(group, "a", Some(vec![(("t".to_string(), 0), 5)]))
                .unwrap();
        }
        // The next write of `slow`'s file blocks: its temporary file is a FIFO no one
        // reads yet, whose opening for writing waits for a reader.
        let fifo = dir.join("groups/slow.json.tmp");
        let path = std::ffi::CString::new(fifo.as_os_str().as_bytes()).unwrap();
        // SAFETY: mkfifo reads the NUL-terminated path it is given.
        assert_eq!(unsafe { libc::mkfifo(path.as_ptr(), 0o600) }, 0);

        let forgetting = {
            let groups = groups.clone();
            std::thread::spawn(move || groups.forget_topics(|topic| topic == "t"))
        };
        std::thread::sleep(Duration::from_millis(300)); // let it reach the blocked write
        let (answered, answer) = mpsc::channel();
        {
            let groups = groups.clone();
            std::thread::spawn(move || {
                let _ = answered.send(groups.committed("other", &[]).map(|c| c.len()));
            });
        }
        let during = answer.recv_timeout(Duration::from_secs(2));
        // Unblock the write (reading the FIFO to its end), whatever happened.
        let mut reader = std::fs::File::open(&fifo).unwrap();
        let _ = std::io::Read::read_to_end(&mut reader, &mut Vec::new());
        let _ = forgetting.join().unwrap();
        assert_eq!(
            during.expect("a consumer call answers while another group's file is being written"),
            Ok(0),
            "the deleted topic's offsets are already gone from memory"
        );
    }
}

/// What Kafka producers need of the storage: compressed batches, raw batch appends,
/// idempotence across restarts, producer ids and timestamp lookups.
mod kafka_produce {
    use super::*;
    use crate::broker::batch::tests::{produced, reframe, Codec, CODECS, LIBRDKAFKA};
    use crate::broker::batch::{BatchError, DecodedLog, HEADER_LEN};
    use crate::broker::producers::ProducerError;
    use crate::broker::topic::TopicConfig;
    use crate::broker::{Appended, Broker, BrokerError, Topic};

    fn batch_of(n: usize, tag: &str, timestamp: i64) -> Vec<Record> {
        (0..n)
            .map(|i| Record {
                timestamp: timestamp + i as i64 * 10,
                key: Some(format!("{tag}-{i}").into_bytes()),
                value: Some(format!("{{\"tag\":\"{tag}\",\"i\":{i},\"pad\":\"{}\"}}", "y".repeat(200)).into_bytes()),
                headers: vec![("h".to_string(), Some(tag.as_bytes().to_vec()))],
            })
            .collect()
    }

    /// Segments of a few compressed batches each.
    fn tiny_segments() -> LogConfig {
        LogConfig {
            segment_bytes: 400,
            segment_age: Duration::from_secs(3600),
        }
    }

    fn open(dir: &std::path::Path, config: LogConfig) -> (Broker, std::sync::Arc<Topic>) {
        let broker = Broker::open(dir, config).unwrap();
        let topic = match broker.topic("k") {
            Ok(topic) => topic,
            Err(_) => broker.create_topic(TopicConfig::new("k", 1)).unwrap(),
        };
        (broker, topic)
    }

    /// Every record of partition 0, as (offset, key).
    fn keys(topic: &Topic) -> Vec<(i64, String)> {
        let bytes = topic.read_batches(0, 0, usize::MAX).unwrap();
        let log = DecodedLog::new(&bytes);
        log.records(0)
            .map(|r| {
                let r = r.unwrap();
                (r.offset, String::from_utf8(r.key.unwrap().to_vec()).unwrap())
            })
            .collect()
    }

    fn segment_bytes(dir: &std::path::Path) -> u64 {
        fs::read_dir(dir.join("topics/k/0"))
            .unwrap()
            .filter_map(|e| e.ok())
            .filter(|e| e.file_name().to_string_lossy().ends_with(".log"))
            .map(|e| e.metadata().unwrap().len())
            .sum()
    }

    #[tokio::test]
    async fn batches_of_every_codec_are_stored_as_sent_and_read_record_by_record() {
        let dir = temp_dir();
        let (_broker, topic) = open(&dir, LogConfig::default());
        let mut sent = Vec::new();
        for (i, codec) in CODECS.into_iter().enumerate() {
            let bytes = produced(&batch_of(3, &format!("c{i}"), 1_000), codec, (-1, -1, -1));
            let appended = topic.append_batches(0, vec![bytes.clone()]).await.unwrap();
            assert_eq!(
                appended,
                Appended {
                    base_offset: 3 * i as i64,
                    duplicate: false
                },
                "{codec:?}"
            );
            sent.push(bytes);
        }
        // One record set holding two batches back to back.
        let two = [
            produced(&batch_of(2, "x", 5_000), Codec::Zstd, (-1, -1, -1)),
            produced(&batch_of(2, "y", 5_000), Codec::Lz4, (-1, -1, -1)),
        ];
        let appended = topic.append_batches(0, vec![two.concat()]).await.unwrap();
        assert_eq!(appended.base_offset, 18);
        sent.extend(two);
        assert_eq!(
            topic.offsets(0).unwrap(),
            (0, 22),
            "acknowledged means durable and visible"
        );

        // Stored byte for byte as sent, but for the base offset the log assigned.
        let stored = topic.read_batches(0, 0, usize::MAX).unwrap();
        let mut position = 0;
        for batch in &sent {
            let end = position + batch.len();
            assert_eq!(&stored[position + 8..end], &batch[8..]);
            position = end;
        }
        assert_eq!(position, stored.len());

        // Every reader decodes them: the walk over a read, and fetch.
        let mut expected: Vec<(i64, String)> = Vec::new();
        for (i, tag) in ["c0", "c1", "c2", "c3", "c4", "c5"].iter().enumerate() {
            for j in 0..3 {
                expected.push((3 * i as i64 + j as i64, format!("{tag}-{j}")));
            }
        }
        expected.extend([
            (18, "x-0".into()),
            (19, "x-1".into()),
            (20, "y-0".into()),
            (21, "y-1".into()),
        ]);
        assert_eq!(keys(&topic), expected);
        let fetched = topic.fetch(0, 4, usize::MAX).unwrap();
        assert_eq!(fetched.len(), 18);
        assert_eq!(fetched[0].offset, 4);
        assert_eq!(
            fetched[0].record,
            batch_of(3, "c1", 1_000)[1],
            "headers and timestamps too"
        );
    }

    #[tokio::test]
    async fn batches_librdkafka_sent_are_appended_and_its_retry_is_a_duplicate() {
        let dir = temp_dir();
        let (_broker, topic) = open(&dir, LogConfig::default());
        for (i, (codec, bytes)) in LIBRDKAFKA.into_iter().enumerate() {
            let appended = topic.append_batches(0, vec![bytes.to_vec()]).await.unwrap();
            assert_eq!(appended.base_offset, 3 * i as i64, "{codec}");
        }
        // The zstd batch came from an idempotent producer (id 4242, epoch 3): sent again,
        // it is answered with its offset and not appended twice.
        assert_eq!(
            topic.append_batches(0, vec![LIBRDKAFKA[3].1.to_vec()]).await.unwrap(),
            Appended {
                base_offset: 9,
                duplicate: true
            }
        );
        let keys = keys(&topic);
        assert_eq!(keys.len(), 12);
        assert_eq!(keys[10], (10, "key-1".to_string()));
        assert_eq!(topic.max_timestamp(0).unwrap(), Some((2, 1_700_000_000_020)));
        assert_eq!(
            topic.offset_for_timestamp(0, 1_700_000_000_015).unwrap(),
            Some((2, 1_700_000_000_020))
        );
    }

    #[tokio::test]
    async fn a_checked_record_set_is_walked_once_decoded_then_appended() {
        let dir = temp_dir();
        let (_broker, topic) = open(&dir, LogConfig::default());
        let set = [
            produced(&batch_of(2, "g", 1_000), Codec::Gzip, (-1, -1, -1)),
            produced(&batch_of(1, "s", 2_000), Codec::SnappyXerial, (-1, -1, -1)),
        ]
        .concat();
        let checked = topic.check_batches(set).unwrap();
        // What the contract gate sees: (key, value) of every record, batch by batch.
        let seen: Vec<Vec<String>> = checked
            .batches()
            .map(|(_, records)| {
                records
                    .map(|r| String::from_utf8(r.unwrap().key.unwrap().to_vec()).unwrap())
                    .collect()
            })
            .collect();
        assert_eq!(seen, vec![vec!["g-0", "g-1"], vec!["s-0"]]);
        let appended = topic.append_checked(0, vec![checked]).await.unwrap();
        assert_eq!(appended.base_offset, 0);
        assert_eq!(
            keys(&topic),
            vec![(0, "g-0".into()), (1, "g-1".into()), (2, "s-0".into())]
        );
    }

    #[tokio::test]
    async fn a_damaged_compressed_or_oversized_batch_is_refused_with_nothing_written() {
        let dir = temp_dir();
        let broker = Broker::open(&dir, LogConfig::default()).unwrap();
        let mut config = TopicConfig::new("k", 1);
        config.max_message_bytes = 2048;
        let topic = broker.create_topic(config).unwrap();
        let good = produced(&batch_of(3, "ok", 1_000), Codec::Gzip, (-1, -1, -1));
        // The compressed data cut short, under a CRC computed over it: well-formed outside.
        let cut = &good[HEADER_LEN..good.len() - 12];
        let damaged = reframe(&good, 1, cut, (-1, -1, -1));
        let mut flipped = good.clone();
        flipped[40] ^= 1;
        let unknown_codec = reframe(&good, 6, &good[HEADER_LEN..], (-1, -1, -1));
        for (request, why) in [
            (vec![damaged.clone()], "damaged gzip data"),
            (
                vec![good.clone(), damaged],
                "a good batch with a damaged one: none lands",
            ),
            (
                vec![[good.clone(), flipped.clone()].concat()],
                "a flipped bit in the second batch of a set",
            ),
            (vec![flipped], "a CRC mismatch"),
            (vec![unknown_codec], "codec 6"),
            (vec![good[..good.len() - 1].to_vec()], "a truncated batch"),
            (vec![], "no batch"),
        ] {
            match topic.append_batches(0, request).await {
                Err(BrokerError::InvalidBatch(err)) => {
                    assert!(!err.to_string().is_empty(), "{why}");
                }
                other => panic!("{why}: {other:?}"),
            }
        }
        let large = produced(&batch_of(20, "big", 1_000), Codec::None, (-1, -1, -1));
        assert!(large.len() > 2048);
        assert!(matches!(
            topic.append_batches(0, vec![large]).await,
            Err(BrokerError::RecordTooLarge { max: 2048, .. })
        ));
        assert!(matches!(
            topic.append_batches(3, vec![good.clone()]).await,
            Err(BrokerError::UnknownPartition { .. })
        ));
        assert_eq!(topic.offsets(0).unwrap(), (0, 0));
        assert_eq!(segment_bytes(&dir), 0, "not a byte written");
        // The same batch, compressed, is well under the limit and lands.
        assert_eq!(topic.append_batches(0, vec![good]).await.unwrap().base_offset, 0);
    }

    #[tokio::test]
    async fn idempotent_producers_get_duplicates_answered_and_gaps_and_fenced_epochs_refused() {
        let dir = temp_dir();
        let (broker, topic) = open(&dir, LogConfig::default());
        let (id, epoch) = broker.init_producer_id().unwrap();
        assert_eq!(epoch, 0);
        let batch = |epoch: i16, sequence: i32, tag: &str| {
            produced(&batch_of(3, tag, 1_000), Codec::Snappy, (id, epoch, sequence))
        };
        let append = |bytes: Vec<u8>| topic.append_batches(0, vec![bytes]);
        let new = |base_offset| Appended {
            base_offset,
            duplicate: false,
        };
        let duplicate = |base_offset| Appended {
            base_offset,
            duplicate: true,
        };
        assert_eq!(append(batch(0, 0, "a")).await.unwrap(), new(0));
        assert_eq!(append(batch(0, 3, "b")).await.unwrap(), new(3));
        // Retries: the original offsets, nothing appended.
        assert_eq!(append(batch(0, 0, "a")).await.unwrap(), duplicate(0));
        assert_eq!(append(batch(0, 3, "b")).await.unwrap(), duplicate(3));
        assert_eq!(topic.offsets(0).unwrap(), (0, 6), "the log did not grow");
        // A gap, a sequence that does not start a new epoch, a fenced epoch, an unknown id.
        let gap = append(batch(0, 10, "gap")).await.unwrap_err();
        assert!(
            matches!(
                gap,
                BrokerError::Producer(ProducerError::OutOfOrderSequence {
                    expected: 6,
                    got: 10,
                    ..
                })
            ),
            "{gap:?}"
        );
        assert_eq!(
            gap.to_string(),
            format!("out of order sequence for producer {id}: expected 6, got 10")
        );
        assert!(matches!(
            append(batch(1, 6, "c")).await,
            Err(BrokerError::Producer(ProducerError::OutOfOrderSequence {
                expected: 0,
                got: 6,
                ..
            }))
        ));
        assert_eq!(append(batch(1, 0, "c")).await.unwrap(), new(6));
        assert!(matches!(
            append(batch(0, 6, "old")).await,
            Err(BrokerError::Producer(ProducerError::InvalidProducerEpoch {
                epoch: 0,
                current: 1,
                ..
            }))
        ));
        assert!(matches!(
            topic
                .append_batches(0, vec![produced(&batch_of(1, "u", 0), Codec::None, (id + 500, 0, 7))])
                .await,
            Err(BrokerError::Producer(ProducerError::UnknownProducerId {
                sequence: 7,
                ..
            }))
        ));
        // Two batches of one producer in one request follow on from each other.
        let pair = [batch(1, 3, "d"), batch(1, 6, "e")].concat();
        assert_eq!(topic.append_batches(0, vec![pair.clone()]).await.unwrap(), new(9));
        assert_eq!(topic.append_batches(0, vec![pair]).await.unwrap(), duplicate(9));
        // A retry sent together with a new batch is refused whole.
        let mixed = [batch(1, 6, "e"), batch(1, 9, "f")].concat();
        assert!(matches!(
            topic.append_batches(0, vec![mixed]).await,
            Err(BrokerError::InvalidBatch(BatchError::Unsupported(_)))
        ));
        // Batches without a producer id are never checked.
        let plain = produced(&batch_of(1, "p", 0), Codec::None, (-1, -1, -1));
        assert_eq!(topic.append_batches(0, vec![plain.clone()]).await.unwrap(), new(15));
        assert_eq!(topic.append_batches(0, vec![plain]).await.unwrap(), new(16));
        let tags: Vec<String> = keys(&topic).into_iter().map(|(_, key)| key).collect();
        assert_eq!(tags.len(), 17);
        assert_eq!(tags.iter().filter(|k| k.starts_with("a-")).count(), 3, "appended once");
    }

    #[tokio::test]
    async fn producer_state_survives_a_clean_restart_and_a_crash() {
        let dir = temp_dir();
        let batch = |id: i64, sequence: i32| {
            produced(
                &batch_of(4, &format!("s{sequence}"), 1_000),
                Codec::Lz4,
                (id, 0, sequence),
            )
        };
        let (broker, topic) = open(&dir, tiny_segments());
        let (id, _) = broker.init_producer_id().unwrap();
        for sequence in (0..40).step_by(4) {
            topic.append_batches(0, vec![batch(id, sequence)]).await.unwrap();
        }
        let segments = fs::read_dir(dir.join("topics/k/0"))
            .unwrap()
            .filter(|e| e.as_ref().unwrap().file_name().to_string_lossy().ends_with(".log"))
            .count();
        assert!(segments > 3, "{segments} segments");
        drop(topic);
        broker.close().unwrap();
        drop(broker);
        assert!(dir.join("topics/k/0/producers.snapshot").exists());

        // Clean restart: the saved state.
        let (broker, topic) = open(&dir, tiny_segments());
        assert_eq!(
            topic.append_batches(0, vec![batch(id, 36)]).await.unwrap(),
            Appended {
                base_offset: 36,
                duplicate: true
            }
        );
        assert!(matches!(
            topic.append_batches(0, vec![batch(id, 44)]).await,
            Err(BrokerError::Producer(ProducerError::OutOfOrderSequence {
                expected: 40,
                ..
            }))
        ));
        topic.append_batches(0, vec![batch(id, 40)]).await.unwrap();
        // A crash (no clean close): the snapshot left from the clean shutdown is stale
        // (it knows sequences up to 39) and must not be trusted; the scan rebuilds.
        drop(topic);
        drop(broker);
        let (broker, topic) = open(&dir, tiny_segments());
        assert_eq!(
            topic.append_batches(0, vec![batch(id, 40)]).await.unwrap(),
            Appended {
                base_offset: 40,
                duplicate: true
            },
            "the batch appended after the snapshot is known"
        );
        assert_eq!(
            topic.append_batches(0, vec![batch(id, 32)]).await.unwrap().base_offset,
            32,
            "the fifth-newest batch, from an older segment"
        );
        assert!(matches!(
            topic.append_batches(0, vec![batch(id, 16)]).await,
            Err(BrokerError::Producer(ProducerError::OutOfOrderSequence {
                expected: 44,
                got: 16,
                ..
            }))
        ));
        assert_eq!(
            topic.append_batches(0, vec![batch(id, 44)]).await.unwrap().base_offset,
            44
        );
        assert_eq!(topic.offsets(0).unwrap(), (0, 48));
        drop(broker);
    }

    #[tokio::test]
    async fn a_set_without_some_records_keeps_offsets_and_sequences_and_survives_a_crash() {
        let dir = temp_dir();
        let (broker, topic) = open(&dir, tiny_segments());
        let (id, _) = broker.init_producer_id().unwrap();
        let set = |topic: &Topic, sequence: i32, codec: Codec| {
            let bytes = produced(&batch_of(4, &format!("s{sequence}"), 1_000), codec, (id, 0, sequence));
            topic.check_batches(bytes).unwrap()
        };
        // Records 1 and 3 of a compressed batch leave holes at offsets 1 and 3; a batch that
        // loses every record is kept, empty, for its sequences.
        let thinned = set(&topic, 0, Codec::Lz4).without(&[1, 3]).unwrap();
        let (header, records) = thinned.batches().next().unwrap();
        assert_eq!(
            (header.record_count, header.last_offset_delta, header.compression()),
            (2, 3, 0)
        );
        assert_eq!(header.max_timestamp, 1_020, "the greatest timestamp left");
        assert_eq!(records.count(), 2);
        let appended = topic.append_checked(0, vec![thinned]).await.unwrap();
        assert_eq!(appended.base_offset, 0);
        let emptied = set(&topic, 4, Codec::None).without(&[0, 1, 2, 3]).unwrap();
        assert_eq!(topic.append_checked(0, vec![emptied]).await.unwrap().base_offset, 4);
        topic
            .append_checked(0, vec![set(&topic, 8, Codec::Zstd)])
            .await
            .unwrap();
        let expected = vec![
            (0, "s0-0".to_string()),
            (2, "s0-2".to_string()),
            (8, "s8-0".to_string()),
            (9, "s8-1".to_string()),
            (10, "s8-2".to_string()),
            (11, "s8-3".to_string()),
        ];
        assert_eq!(keys(&topic), expected);
        assert_eq!(topic.offsets(0).unwrap(), (0, 12));
        // A read from a hole starts at the next record.
        let bytes = topic.read_batches(0, 5, usize::MAX).unwrap();
        let log = DecodedLog::new(&bytes);
        let first = log.records(5).next().unwrap().unwrap();
        assert_eq!(first.offset, 8);

        // After a crash the state is rebuilt from the headers: the producer's retry of the
        // emptied batch is a duplicate, and its next sequence follows the whole span.
        drop(topic);
        drop(broker);
        let (broker, topic) = open(&dir, tiny_segments());
        assert_eq!(
            topic
                .append_checked(0, vec![set(&topic, 4, Codec::None)])
                .await
                .unwrap(),
            Appended {
                base_offset: 4,
                duplicate: true
            }
        );
        assert_eq!(
            topic
                .append_checked(0, vec![set(&topic, 12, Codec::Gzip)])
                .await
                .unwrap()
                .base_offset,
            12
        );
        assert_eq!(keys(&topic).len(), expected.len() + 4);
        drop(broker);
    }

    #[tokio::test]
    async fn a_producer_idle_for_a_day_is_forgotten_by_the_retention_pass() {
        let dir = temp_dir();
        let (broker, topic) = open(&dir, LogConfig::default());
        let (id, _) = broker.init_producer_id().unwrap();
        let batch = |sequence| produced(&batch_of(3, "r", 1_000), Codec::None, (id, 0, sequence));
        topic.append_batches(0, vec![batch(0)]).await.unwrap();
        let hour = Duration::from_secs(3600);
        broker.apply_retention(SystemTime::now() + hour).unwrap();
        topic.append_batches(0, vec![batch(3)]).await.unwrap();
        broker.apply_retention(SystemTime::now() + 25 * hour).unwrap();
        assert!(matches!(
            topic.append_batches(0, vec![batch(6)]).await,
            Err(BrokerError::Producer(ProducerError::UnknownProducerId {
                sequence: 6,
                ..
            }))
        ));
        assert_eq!(topic.offsets(0).unwrap(), (0, 6), "its records stay");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn concurrent_retries_of_one_batch_append_it_once() {
        let dir = temp_dir();
        let (broker, topic) = open(&dir, LogConfig::default());
        let (id, _) = broker.init_producer_id().unwrap();
        let bytes = produced(&batch_of(3, "once", 1_000), Codec::Gzip, (id, 0, 0));
        let tasks: Vec<_> = (0..8)
            .map(|_| {
                let topic = topic.clone();
                let bytes = bytes.clone();
                tokio::spawn(async move { topic.append_batches(0, vec![bytes]).await.unwrap() })
            })
            .collect();
        let mut answers = Vec::new();
        for task in tasks {
            answers.push(task.await.unwrap());
        }
        assert_eq!(answers.iter().filter(|a| !a.duplicate).count(), 1, "{answers:?}");
        assert!(answers.iter().all(|a| a.base_offset == 0));
        assert_eq!(topic.offsets(0).unwrap(), (0, 3));
    }

    #[tokio::test]
    async fn a_batch_lost_to_a_torn_write_is_appended_again_when_retried() {
        let dir = temp_dir();
        let (broker, topic) = open(&dir, LogConfig::default());
        let (id, _) = broker.init_producer_id().unwrap();
        let first = produced(&batch_of(2, "a", 1_000), Codec::Zstd, (id, 0, 0));
        let second = produced(&batch_of(2, "b", 1_000), Codec::Zstd, (id, 0, 2));
        topic.append_batches(0, vec![first]).await.unwrap();
        topic.append_batches(0, vec![second.clone()]).await.unwrap();
        drop(topic);
        drop(broker);
        // The crash tore the second batch: the log keeps the first only.
        let segment = dir.join("topics/k/0/00000000000000000000.log");
        let length = fs::metadata(&segment).unwrap().len();
        OpenOptions::new()
            .write(true)
            .open(&segment)
            .unwrap()
            .set_len(length - 5)
            .unwrap();
        let (_broker, topic) = open(&dir, LogConfig::default());
        assert_eq!(topic.offsets(0).unwrap(), (0, 2));
        assert_eq!(
            topic.append_batches(0, vec![second]).await.unwrap(),
            Appended {
                base_offset: 2,
                duplicate: false
            },
            "the producer's retry lands: the state does not remember what the log lost"
        );
        assert_eq!(keys(&topic).len(), 4);
    }

    #[test]
    fn producer_ids_are_never_handed_out_twice_across_restarts() {
        let dir = temp_dir();
        let mut seen = std::collections::BTreeSet::new();
        let broker = Broker::open(&dir, LogConfig::default()).unwrap();
        // Past one reserved block.
        for _ in 0..1_005 {
            let (id, epoch) = broker.init_producer_id().unwrap();
            assert_eq!(epoch, 0);
            assert!(seen.insert(id), "id {id} twice");
        }
        drop(broker); // a crash: the block in hand is not given back
        for clean in [false, true] {
            let broker = Broker::open(&dir, LogConfig::default()).unwrap();
            for _ in 0..3 {
                let (id, _) = broker.init_producer_id().unwrap();
                assert!(seen.insert(id), "id {id} handed out again");
                assert!(id > 1_004);
            }
            if clean {
                broker.close().unwrap();
            }
        }
        fs::write(dir.join("producer-ids"), "garbage").unwrap();
        let refused = Broker::open(&dir, LogConfig::default())
            .err()
            .expect("a damaged file stops the start");
        assert!(refused.to_string().contains("producer-ids"), "{refused}");
    }

    /// A log of batches with timestamps 1000·i + 10·j for record j of batch i, over several
    /// segments; the records of batch 5 are out of order.
    fn timed_log(dir: &std::path::Path) -> PartitionLog {
        let (mut log, _) = PartitionLog::open(dir, tiny_segments()).unwrap();
        for i in 0..12i64 {
            let mut records = batch_of(4, &format!("t{i}"), 1_000 * i);
            if i == 5 {
                records.reverse(); // 5030, 5020, 5010, 5000
            }
            let codec = [Codec::None, Codec::Zstd, Codec::SnappyXerial][i as usize % 3];
            log.append(&mut produced(&records, codec, (-1, -1, -1))).unwrap();
        }
        log.sync().unwrap();
        log
    }

    #[test]
    fn timestamp_lookups_cross_segments_and_stop_at_the_durable_point() {
        let dir = temp_dir();
        let mut log = timed_log(&dir);
        assert!(log.segment_count() > 3, "{} segments", log.segment_count());
        assert_eq!(log.offset_for_timestamp(i64::MIN).unwrap(), Some((0, 0)));
        assert_eq!(log.offset_for_timestamp(0).unwrap(), Some((0, 0)));
        assert_eq!(log.offset_for_timestamp(1).unwrap(), Some((1, 10)));
        assert_eq!(
            log.offset_for_timestamp(2_015).unwrap(),
            Some((10, 2_020)),
            "inside a zstd batch"
        );
        assert_eq!(log.offset_for_timestamp(3_000).unwrap(), Some((12, 3_000)));
        assert_eq!(
            log.offset_for_timestamp(5_015).unwrap(),
            Some((20, 5_030)),
            "first record at or after it"
        );
        assert_eq!(log.offset_for_timestamp(11_030).unwrap(), Some((47, 11_030)));
        assert_eq!(log.offset_for_timestamp(11_031).unwrap(), None);
        assert_eq!(log.max_timestamp().unwrap(), Some((47, 11_030)));

        // Appended, not yet durable: invisible to both lookups.
        log.append(&mut produced(&batch_of(2, "late", 50_000), Codec::Gzip, (-1, -1, -1)))
            .unwrap();
        assert_eq!(log.offset_for_timestamp(20_000).unwrap(), None);
        assert_eq!(log.max_timestamp().unwrap(), Some((47, 11_030)));
        log.sync().unwrap();
        assert_eq!(log.offset_for_timestamp(20_000).unwrap(), Some((48, 50_000)));
        assert_eq!(log.max_timestamp().unwrap(), Some((49, 50_010)));

        // The greatest timestamp twice: the first record holding it.
        log.append(&mut produced(&batch_of(1, "tie", 50_010), Codec::None, (-1, -1, -1)))
            .unwrap();
        log.sync().unwrap();
        assert_eq!(log.max_timestamp().unwrap(), Some((49, 50_010)));

        // After a clean reopen the saved time indexes answer the same.
        log.close().unwrap();
        drop(log);
        let (log, recovery) = PartitionLog::open(&dir, tiny_segments()).unwrap();
        assert!(recovery.clean);
        assert_eq!(log.offset_for_timestamp(5_015).unwrap(), Some((20, 5_030)));
        assert_eq!(log.max_timestamp().unwrap(), Some((49, 50_010)));

        // An empty log has neither.
        let (empty, _) = PartitionLog::open(&temp_dir(), tiny_segments()).unwrap();
        assert_eq!(empty.offset_for_timestamp(0).unwrap(), None);
        assert_eq!(empty.max_timestamp().unwrap(), None);
    }

    #[tokio::test]
    async fn topics_answer_timestamp_lookups_per_partition() {
        let dir = temp_dir();
        let (_broker, topic) = open(&dir, LogConfig::default());
        assert_eq!(topic.max_timestamp(0).unwrap(), None);
        topic
            .append_batches(0, vec![produced(&batch_of(3, "a", 7_000), Codec::Gzip, (-1, -1, -1))])
            .await
            .unwrap();
        assert_eq!(topic.offset_for_timestamp(0, 7_005).unwrap(), Some((1, 7_010)));
        assert_eq!(topic.max_timestamp(0).unwrap(), Some((2, 7_020)));
        assert!(matches!(
            topic.offset_for_timestamp(1, 0),
            Err(BrokerError::UnknownPartition { .. })
        ));
    }
}
