//! Answers to the hottest reads, kept in memory: schemas by id (what every consumer's
//! deserializer asks) and lookups and re-registrations of a schema a subject already holds
//! (what producers' serializers ask), and each subject's latest live version (what the broker
//! asks on every produce to a validated topic).
//!
//! The cache is only correct while this process hears of every write. On SQLite the
//! data-directory lock guarantees one process, which makes every write itself. Every
//! committed write clears the cache and bumps a local generation; a reader that started
//! before a write does not store what it read (see [`ReadCache::store`]), so no stale answer
//! outlives the write.
//!
//! On PostgreSQL other instances write too. Every committed write bumps the database's
//! generation and notifies every instance in its own transaction (`store::notify`);
//! [`coherence`](super::coherence) listens and calls [`ReadCache::notified`], which clears
//! what the write changed, as a local write does. The cache serves only while the listener
//! is connected: when its connection is lost the cache is suspended (every read goes to the
//! database and nothing is stored) until a new listener is listening and has read the
//! database's generation; if that moved while nobody listened, everything is forgotten.

use std::fmt::Write;

use rustc_hash::FxHashMap as HashMap;
use std::sync::{Arc, Mutex};

use super::context::Context;
use super::model::{Config, Mode, Registered, SchemaRequest, StoredSchema, SubjectSchema};
use crate::store::{Changed, Notice};

/// Past this many bytes of keys and schema texts, the cache starts over.
const MAX_BYTES: usize = 8 * 1024 * 1024;

#[derive(Default)]
struct State {
    /// Answers are served and stored only while this is set: always on SQLite, while the
    /// listener is connected on PostgreSQL.
    serving: bool,
    /// The database's generation this cache is exact for (PostgreSQL; 0 on SQLite).
    known: i64,
    /// Local: bumped whenever anything is forgotten, so reads that raced it store nothing.
    generation: u64,
    bytes: usize,
    /// Schemas by context, then id: looked up without building a key.
    by_id: HashMap<String, HashMap<i64, Arc<StoredSchema>>>,
    lookups: HashMap<String, Arc<SubjectSchema>>,
    registrations: HashMap<String, Arc<Registered>>,
    /// The latest live version by subject, `None` for a subject with none: what the broker
    /// asks on every produce to a validated topic.
    latest: HashMap<String, Option<Arc<SubjectSchema>>>,
    /// The contexts other than the default one: asked whenever an id is looked up with an
    /// unqualified subject.
    contexts: Option<Arc<[String]>>,
    /// Effective config and mode by subject.
    configs: HashMap<String, Config>,
    modes: HashMap<String, Mode>,
}

pub(super) struct ReadCache {
    state: Mutex<State>,
}

/// A generation read before a database read; stores are accepted only if unchanged.
#[derive(Clone, Copy)]
pub(super) struct Ticket(u64);

impl ReadCache {
    /// A cache that serves at once (SQLite), or only once [`ReadCache::resume`]d.
    pub fn new(serving: bool) -> ReadCache {
        ReadCache {
            state: Mutex::new(State {
                serving,
                ..State::default()
            }),
        }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Call before reading the database for an answer to cache.
    pub fn ticket(&self) -> Ticket {
        Ticket(self.state().generation)
    }

    /// After any committed write (at the database's `committed` generation, on
    /// PostgreSQL): forget everything.
    pub fn invalidate(&self, committed: Option<i64>) {
        let mut state = self.state();
        state.saw(committed);
        state.forget(Changed::Everything);
    }

    /// After committed registrations, which change no config or mode: forget the rest.
    pub fn invalidate_content(&self, committed: Option<i64>) {
        let mut state = self.state();
        state.saw(committed);
        state.forget(Changed::Schemas);
    }

    /// Another instance's write (or this one's, heard back): forget what it changed, unless
    /// a later generation was already seen, which forgot as much.
    pub fn notified(&self, notice: Notice) {
        let mut state = self.state();
        match notice.generation {
            Some(generation) if generation <= state.known => return,
            Some(generation) => state.known = generation,
            None => {}
        }
        state.forget(notice.changed);
    }

    /// A write transaction found the database at `generation`, under the write lock: forget
    /// everything if a write this cache has not heard of came first.
    pub fn catch_up(&self, generation: Option<i64>) {
        if let Some(generation) = generation {
            self.notified(Notice {
                generation: Some(generation),
                changed: Changed::Everything,
            });
        }
    }

    /// The listener is gone: serve and store nothing until [`ReadCache::resume`].
    pub fn suspend(&self) {
        let mut state = self.state();
        state.serving = false;
        state.generation += 1;
    }

    /// A listener is listening again and read the database at `generation`: serve again,
    /// after forgetting everything if anything was written while nobody listened.
    pub fn resume(&self, generation: i64) {
        let mut state = self.state();
        if generation != state.known {
            state.forget(Changed::Everything);
            state.known = generation;
        }
        state.generation += 1;
        state.serving = true;
    }

    /// Whether answers are served from memory (for tests and health).
    pub fn serving(&self) -> bool {
        self.state().serving
    }

    pub fn schema(&self, context: &Context, id: i64) -> Option<Arc<StoredSchema>> {
        let state = self.state();
        if !state.serving {
            return None;
        }
        state.by_id.get(context.as_str())?.get(&id).cloned()
    }

    pub fn store_schema(&self, ticket: Ticket, schema: &StoredSchema) {
        let size = schema.schema.len() + 64;
        self.store(ticket, size, |state| {
            state
                .by_id
                .entry(schema.context.as_str().to_string())
                .or_default()
                .insert(schema.id, Arc::new(schema.clone()));
        });
    }

    pub fn lookup(&self, key: &str) -> Option<Arc<SubjectSchema>> {
        let state = self.state();
        if !state.serving {
            return None;
        }
        state.lookups.get(key).cloned()
    }

    pub fn store_lookup(&self, ticket: Ticket, key: String, found: &SubjectSchema) {
        let size = key.len() + found.schema.schema.len() + 64;
        self.store(ticket, size, |state| {
            state.lookups.insert(key, Arc::new(found.clone()));
        });
    }

    pub fn registration(&self, key: &str) -> Option<Arc<Registered>> {
        let state = self.state();
        if !state.serving {
            return None;
        }
        state.registrations.get(key).cloned()
    }

    pub fn store_registration(&self, ticket: Ticket, key: String, registered: &Registered) {
        let size = key.len() + registered.schema.schema.len() + 64;
        self.store(ticket, size, |state| {
            state.registrations.insert(key, Arc::new(registered.clone()));
        });
    }

    /// `Some(None)`: known to have no live version.
    pub fn latest(&self, subject: &str) -> Option<Option<Arc<SubjectSchema>>> {
        let state = self.state();
        if !state.serving {
            return None;
        }
        state.latest.get(subject).cloned()
    }

    pub fn store_latest(&self, ticket: Ticket, subject: &str, found: Option<&SubjectSchema>) {
        let size = subject.len() + found.map_or(0, |f| f.schema.schema.len()) + 64;
        self.store(ticket, size, |state| {
            state
                .latest
                .insert(subject.to_string(), found.map(|f| Arc::new(f.clone())));
        });
    }

    pub fn contexts(&self) -> Option<Arc<[String]>> {
        let state = self.state();
        if !state.serving {
            return None;
        }
        state.contexts.clone()
    }

    pub fn store_contexts(&self, ticket: Ticket, contexts: &[String]) {
        let size = contexts.iter().map(|c| c.len() + 16).sum::<usize>() + 64;
        self.store(ticket, size, |state| {
            state.contexts = Some(contexts.into());
        });
    }

    pub fn config(&self, subject: &str) -> Option<Config> {
        let state = self.state();
        if !state.serving {
            return None;
        }
        state.configs.get(subject).cloned()
    }

    pub fn store_config(&self, ticket: Ticket, subject: &str, config: &Config) {
        self.store(ticket, subject.len() + 256, |state| {
            state.configs.insert(subject.to_string(), config.clone());
        });
    }

    pub fn mode(&self, subject: &str) -> Option<Mode> {
        let state = self.state();
        if !state.serving {
            return None;
        }
        state.modes.get(subject).copied()
    }

    pub fn store_mode(&self, ticket: Ticket, subject: &str, mode: Mode) {
        self.store(ticket, subject.len() + 64, |state| {
            state.modes.insert(subject.to_string(), mode);
        });
    }

    fn store(&self, ticket: Ticket, size: usize, insert: impl FnOnce(&mut State)) {
        let mut state = self.state();
        if !state.serving || state.generation != ticket.0 {
            return;
        }
        if state.bytes + size > MAX_BYTES {
            // Starting over is no change in the database: the generation stays.
            state.clear(Changed::Everything);
        }
        state.bytes += size;
        insert(&mut state);
    }
}

impl State {
    /// Records the database generation a local commit reached.
    fn saw(&mut self, committed: Option<i64>) {
        if let Some(generation) = committed {
            self.known = self.known.max(generation);
        }
    }

    /// Forgets what a write changed, so that reads in flight store nothing.
    fn forget(&mut self, changed: Changed) {
        self.generation += 1;
        self.clear(changed);
    }

    fn clear(&mut self, changed: Changed) {
        self.by_id.clear();
        self.lookups.clear();
        self.registrations.clear();
        self.latest.clear();
        self.contexts = None;
        self.bytes = 0;
        if changed == Changed::Everything {
            self.configs.clear();
            self.modes.clear();
        } else {
            self.bytes = self.configs.len() * 256 + self.modes.len() * 64;
        }
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

#[cfg(test)]
mod tests {
    use super::*;

    fn schema(id: i64) -> StoredSchema {
        StoredSchema {
            context: Context::default_context(),
            id,
            schema_type: crate::schema::SchemaType::Avro,
            schema: "\"string\"".to_string(),
            references: Vec::new(),
            metadata: None,
            rule_set: None,
        }
    }

    fn notice(generation: i64, changed: Changed) -> Notice {
        Notice {
            generation: Some(generation),
            changed,
        }
    }

    /// A PostgreSQL instance's cache, listening at database generation `generation`, holding id 1.
    fn listening(generation: i64) -> ReadCache {
        let cache = ReadCache::new(false);
        cache.resume(generation);
        cache.store_schema(cache.ticket(), &schema(1));
        assert!(cache.schema(&Context::default_context(), 1).is_some());
        cache
    }

    #[test]
    fn nothing_is_served_or_stored_before_the_listener_listens() {
        let cache = ReadCache::new(false);
        cache.store_schema(cache.ticket(), &schema(1));
        assert!(cache.schema(&Context::default_context(), 1).is_none());
        assert!(!cache.serving());
    }

    #[test]
    fn a_notice_forgets_what_it_changed_and_old_notices_nothing() {
        let cache = listening(5);
        cache.store_mode(cache.ticket(), "s", Mode::ReadOnly);
        cache.notified(notice(5, Changed::Everything));
        assert!(
            cache.schema(&Context::default_context(), 1).is_some(),
            "generation 5 was already known"
        );
        cache.notified(notice(6, Changed::Schemas));
        assert!(cache.schema(&Context::default_context(), 1).is_none());
        assert_eq!(cache.mode("s"), Some(Mode::ReadOnly), "registrations change no mode");
        cache.notified(notice(7, Changed::Everything));
        assert_eq!(cache.mode("s"), None);
    }

    #[test]
    fn a_local_commit_makes_its_own_notice_redundant() {
        let cache = listening(5);
        cache.invalidate_content(Some(6));
        cache.store_schema(cache.ticket(), &schema(2));
        cache.notified(notice(6, Changed::Schemas));
        assert!(cache.schema(&Context::default_context(), 2).is_some());
    }

    #[test]
    fn a_read_that_raced_a_notice_is_not_stored() {
        let cache = listening(5);
        let ticket = cache.ticket();
        cache.notified(notice(6, Changed::Schemas));
        cache.store_schema(ticket, &schema(2));
        assert!(cache.schema(&Context::default_context(), 2).is_none());
    }

    #[test]
    fn while_suspended_reads_go_through_and_resuming_checks_the_generation() {
        let cache = listening(5);
        let ticket = cache.ticket();
        cache.suspend();
        assert!(cache.schema(&Context::default_context(), 1).is_none());
        cache.store_schema(ticket, &schema(2));
        // Nothing was written meanwhile: what was held is still exact.
        cache.resume(5);
        assert!(cache.schema(&Context::default_context(), 1).is_some());
        assert!(
            cache.schema(&Context::default_context(), 2).is_none(),
            "stored while suspended"
        );
        // Something was written while nobody listened: everything goes.
        cache.suspend();
        cache.resume(8);
        assert!(cache.schema(&Context::default_context(), 1).is_none());
        cache.notified(notice(8, Changed::Everything));
        cache.store_schema(cache.ticket(), &schema(1));
        cache.notified(notice(8, Changed::Everything));
        assert!(
            cache.schema(&Context::default_context(), 1).is_some(),
            "generation 8 was read at resumption"
        );
    }

    #[test]
    fn sqlite_serves_at_once() {
        let cache = ReadCache::new(true);
        cache.store_schema(cache.ticket(), &schema(1));
        assert!(cache.schema(&Context::default_context(), 1).is_some());
        cache.invalidate(None);
        assert!(cache.schema(&Context::default_context(), 1).is_none());
    }
}
