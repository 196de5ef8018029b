//! A partition in service: its log behind a lock, and a flusher thread that makes appends
//! durable in groups.
//!
//! Producers append (a `write`, under the lock, short) and then wait until the durable
//! offset passes their last offset. The flusher takes everything written since its last
//! round, fdatasyncs it outside the lock (appends go on meanwhile), publishes the new durable
//! offset and wakes every producer it covers: many appends, one flush (group commit). In
//! `Interval` mode producers do not wait; the flusher runs every interval, and a crash can
//! lose what was acknowledged within that window.

use std::path::Path;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread;
use std::time::Duration;

use tokio::sync::watch;

use super::log::{LogConfig, LogError, PartitionLog, Recovery};

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
    shutdown: bool,
    /// Flushes done, for tests and metrics.
    flushes: u64,
}

struct Shared {
    log: Mutex<PartitionLog>,
    state: Mutex<FlushState>,
    wake: Condvar,
    durable: watch::Sender<Durable>,
    durability: Durability,
}

/// A partition's log in service; dropping the last handle stops its flusher.
pub struct Partition {
    shared: Arc<Shared>,
    flusher: Mutex<Option<thread::JoinHandle<()>>>,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

impl Partition {
    pub fn open(dir: &Path, config: LogConfig, durability: Durability) -> Result<(Partition, Recovery), LogError> {
        let (log, recovery) = PartitionLog::open(dir, config)?;
        let (durable, _) = watch::channel(Durable::Offset(log.durable_offset()));
        let shared = Arc::new(Shared {
            log: Mutex::new(log),
            state: Mutex::new(FlushState {
                pending: false,
                shutdown: false,
                flushes: 0,
            }),
            wake: Condvar::new(),
            durable,
            durability,
        });
        let flusher = {
            let shared = shared.clone();
            thread::Builder::new()
                .name("herald-flusher".to_string())
                .spawn(move || flush_loop(&shared))
                .map_err(|source| LogError::Io {
                    context: "cannot start a flusher thread".to_string(),
                    source,
                })?
        };
        Ok((
            Partition {
                shared,
                flusher: Mutex::new(Some(flusher)),
            },
            recovery,
        ))
    }

    /// Appends batches (each given its offsets) and answers the offsets of each, once they
    /// are acknowledged under the partition's durability. Batches are checked before any is
    /// written: an invalid one fails the call with nothing appended.
    pub async fn append(&self, batches: &mut [Vec<u8>]) -> Result<Vec<(i64, i64)>, LogError> {
        if let Durable::Failed(reason) = &*self.shared.durable.borrow() {
            return Err(failed(reason));
        }
        if lock(&self.shared.state).shutdown {
            return Err(failed("the partition is closed"));
        }
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
        {
            let mut state = lock(&self.shared.state);
            state.pending = true;
        }
        self.shared.wake.notify_one();
        let Some(&(_, last)) = offsets.last() else {
            return Ok(offsets);
        };
        if self.shared.durability == Durability::Sync {
            self.wait_durable(last + 1).await?;
        }
        Ok(offsets)
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
    pub fn read(&self, offset: i64, max_bytes: usize) -> Result<Vec<u8>, LogError> {
        lock(&self.shared.log).read(offset, max_bytes)
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

    /// Stops the flusher after a last flush and closes the log cleanly (the next open
    /// trusts its saved indexes). Later appends are refused.
    pub fn close(&self) -> Result<(), LogError> {
        self.stop_flusher();
        let mut log = lock(&self.shared.log);
        log.close()
    }

    fn stop_flusher(&self) {
        lock(&self.shared.state).shutdown = true;
        self.shared.wake.notify_one();
        if let Some(flusher) = lock(&self.flusher).take() {
            let _ = flusher.join();
        }
    }
}

impl Drop for Partition {
    fn drop(&mut self) {
        self.stop_flusher();
    }
}

fn failed(reason: &str) -> LogError {
    LogError::Io {
        context: "the partition stopped taking writes".to_string(),
        source: std::io::Error::other(reason.to_string()),
    }
}

fn flush_loop(shared: &Shared) {
    loop {
        {
            let mut state = lock(&shared.state);
            while !state.pending && !state.shutdown {
                state = match shared.durability {
                    Durability::Sync => shared.wake.wait(state).unwrap_or_else(|e| e.into_inner()),
                    Durability::Interval(every) => {
                        shared
                            .wake
                            .wait_timeout(state, every)
                            .unwrap_or_else(|e| e.into_inner())
                            .0
                    }
                };
            }
            if !state.pending {
                return; // shut down with nothing left to flush
            }
            state.pending = false;
        }
        if let Durability::Interval(every) = shared.durability {
            // Gather an interval's worth of writes into one flush.
            thread::sleep(every);
        }
        let ticket = lock(&shared.log).begin_sync();
        let outcome = ticket.and_then(|ticket| {
            ticket.flush().map_err(|source| LogError::Io {
                context: "fdatasync".to_string(),
                source,
            })?;
            Ok(ticket)
        });
        match outcome {
            Ok(ticket) => {
                lock(&shared.log).finish_sync(&ticket);
                lock(&shared.state).flushes += 1;
                shared.durable.send_replace(Durable::Offset(ticket.offset));
            }
            Err(err) => {
                tracing::error!(error = %err, "flush failed; the partition takes no more writes");
                shared.durable.send_replace(Durable::Failed(err.to_string()));
                return;
            }
        }
    }
}
