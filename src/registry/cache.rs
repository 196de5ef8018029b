//! Answers to the hottest reads, kept in memory: schemas by id (what every consumer's
//! deserializer asks) and lookups and re-registrations of a schema a subject already holds
//! (what producers' serializers ask), and each subject's latest live version (what the broker
//! asks on every produce to a validated topic).
//!
//! The cache is only correct while this process sees every write, so it is enabled only on
//! SQLite, where the data-directory lock guarantees one process. Every committed write
//! clears it and bumps a generation; a reader that started before a write does not store
//! what it read (see [`ReadCache::store`]), so no stale answer outlives the write. With
//! PostgreSQL, other processes write too, and every read goes to the database.

use std::fmt::Write;

use rustc_hash::FxHashMap as HashMap;
use std::sync::{Arc, Mutex};

use super::model::{Config, Mode, Registered, SchemaRequest, StoredSchema, SubjectSchema};

/// Past this many bytes of keys and schema texts, the cache starts over.
const MAX_BYTES: usize = 8 * 1024 * 1024;

#[derive(Default)]
struct State {
    generation: u64,
    bytes: usize,
    by_id: HashMap<i64, Arc<StoredSchema>>,
    lookups: HashMap<String, Arc<SubjectSchema>>,
    registrations: HashMap<String, Arc<Registered>>,
    /// The latest live version by subject, `None` for a subject with none: what the broker
    /// asks on every produce to a validated topic.
    latest: HashMap<String, Option<Arc<SubjectSchema>>>,
    /// Effective config and mode by subject.
    configs: HashMap<String, Config>,
    modes: HashMap<String, Mode>,
}

pub(super) struct ReadCache {
    enabled: bool,
    state: Mutex<State>,
}

/// A generation read before a database read; stores are accepted only if unchanged.
#[derive(Clone, Copy)]
pub(super) struct Ticket(u64);

impl ReadCache {
    pub fn new(enabled: bool) -> ReadCache {
        ReadCache {
            enabled,
            state: Mutex::new(State::default()),
        }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Call before reading the database for an answer to cache.
    pub fn ticket(&self) -> Ticket {
        Ticket(self.state().generation)
    }

    /// After any committed write: forget everything.
    pub fn invalidate(&self) {
        if !self.enabled {
            return;
        }
        let mut state = self.state();
        let generation = state.generation + 1;
        *state = State {
            generation,
            ..State::default()
        };
    }

    /// After committed registrations, which change no config or mode: forget the rest.
    pub fn invalidate_content(&self) {
        if !self.enabled {
            return;
        }
        let mut state = self.state();
        let configs = std::mem::take(&mut state.configs);
        let modes = std::mem::take(&mut state.modes);
        let generation = state.generation + 1;
        let bytes = configs.len() * 256 + modes.len() * 64;
        *state = State {
            generation,
            bytes,
            configs,
            modes,
            ..State::default()
        };
    }

    pub fn schema(&self, id: i64) -> Option<Arc<StoredSchema>> {
        if !self.enabled {
            return None;
        }
        self.state().by_id.get(&id).cloned()
    }

    pub fn store_schema(&self, ticket: Ticket, schema: &StoredSchema) {
        let size = schema.schema.len() + 64;
        self.store(ticket, size, |state| {
            state.by_id.insert(schema.id, Arc::new(schema.clone()));
        });
    }

    pub fn lookup(&self, key: &str) -> Option<Arc<SubjectSchema>> {
        if !self.enabled {
            return None;
        }
        self.state().lookups.get(key).cloned()
    }

    pub fn store_lookup(&self, ticket: Ticket, key: String, found: &SubjectSchema) {
        let size = key.len() + found.schema.schema.len() + 64;
        self.store(ticket, size, |state| {
            state.lookups.insert(key, Arc::new(found.clone()));
        });
    }

    pub fn registration(&self, key: &str) -> Option<Arc<Registered>> {
        if !self.enabled {
            return None;
        }
        self.state().registrations.get(key).cloned()
    }

    pub fn store_registration(&self, ticket: Ticket, key: String, registered: &Registered) {
        let size = key.len() + registered.schema.schema.len() + 64;
        self.store(ticket, size, |state| {
            state.registrations.insert(key, Arc::new(registered.clone()));
        });
    }

    /// `Some(None)`: known to have no live version.
    pub fn latest(&self, subject: &str) -> Option<Option<Arc<SubjectSchema>>> {
        if !self.enabled {
            return None;
        }
        self.state().latest.get(subject).cloned()
    }

    pub fn store_latest(&self, ticket: Ticket, subject: &str, found: Option<&SubjectSchema>) {
        let size = subject.len() + found.map_or(0, |f| f.schema.schema.len()) + 64;
        self.store(ticket, size, |state| {
            state
                .latest
                .insert(subject.to_string(), found.map(|f| Arc::new(f.clone())));
        });
    }

    pub fn config(&self, subject: &str) -> Option<Config> {
        if !self.enabled {
            return None;
        }
        self.state().configs.get(subject).cloned()
    }

    pub fn store_config(&self, ticket: Ticket, subject: &str, config: &Config) {
        self.store(ticket, subject.len() + 256, |state| {
            state.configs.insert(subject.to_string(), config.clone());
        });
    }

    pub fn mode(&self, subject: &str) -> Option<Mode> {
        if !self.enabled {
            return None;
        }
        self.state().modes.get(subject).copied()
    }

    pub fn store_mode(&self, ticket: Ticket, subject: &str, mode: Mode) {
        self.store(ticket, subject.len() + 64, |state| {
            state.modes.insert(subject.to_string(), mode);
        });
    }

    fn store(&self, ticket: Ticket, size: usize, insert: impl FnOnce(&mut State)) {
        if !self.enabled {
            return;
        }
        let mut state = self.state();
        if state.generation != ticket.0 {
            return;
        }
        if state.bytes + size > MAX_BYTES {
            let generation = state.generation;
            *state = State {
                generation,
                ..State::default()
            };
        }
        state.bytes += size;
        insert(&mut state);
    }
}

/// The cache key of a request: everything that decides its answer.
pub(super) fn request_key(kind: &str, subject: &str, request: &SchemaRequest, flags: &[bool]) -> String {
    let mut key = String::with_capacity(subject.len() + request.schema.as_deref().map_or(0, str::len) + 64);
    for part in [
        kind,
        subject,
        request.schema_type.as_str(),
        request.schema.as_deref().unwrap_or(""),
    ] {
        key.push_str(part);
        key.push('\0');
    }
    for r in &request.references {
        let _ = write!(key, "{}\u{1}{}\u{1}{}\0", r.name, r.subject, r.version);
    }
    key.push('\0');
    if let Some(m) = &request.metadata {
        key.push_str(&m.to_string());
    }
    key.push('\0');
    if let Some(r) = &request.rule_set {
        key.push_str(&r.to_string());
    }
    key.push('\0');
    let _ = write!(key, "{:?}{:?}{flags:?}", request.version, request.id);
    key
}
