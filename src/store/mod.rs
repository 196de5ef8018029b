//! Persistence of the registry's state through sqlx: SQLite (the embedded default) or
//! PostgreSQL (several registry instances on one database).
//!
//! Both engines run the same SQL through sqlx's `Any` driver: the statements use `$n`
//! placeholders, which both accept, and only types both share (64-bit integers and text; flags are 0 or 1). What
//! differs is how writers are serialised, see [`Store::write`].
//!
//! This is the only module that writes SQL. It knows rows, not rules: what a version or a
//! delete means is the registry's business.

pub mod notify;
pub mod queries;

use std::borrow::Cow;
use std::fmt;
use std::fs::File;
use std::path::Path;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::migrate::{Migration, MigrationType, Migrator};
use sqlx::{AnyConnection, AnyPool, Executor, Transaction};
use tokio::sync::{Mutex, OwnedMutexGuard};

pub use notify::{Changed, ListenTarget, Listener, Notice};
pub use queries::{ConfigScope, SchemaRow, VersionRow};

/// Which database engine is behind the pool.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    Sqlite,
    Postgres,
}

/// A failure of the database, never of the caller's input.
#[derive(Debug)]
pub struct StoreError(pub String);

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for StoreError {}

impl From<sqlx::Error> for StoreError {
    fn from(err: sqlx::Error) -> Self {
        StoreError(format!("database error: {err}"))
    }
}

impl From<sqlx::migrate::MigrateError> for StoreError {
    fn from(err: sqlx::migrate::MigrateError) -> Self {
        StoreError(format!("database migration failed: {err}"))
    }
}

/// The migration sets, embedded so the binary needs no files beside it.
const SQLITE_MIGRATIONS: &[(i64, &str, &str)] = &[
    (1, "registry", include_str!("../../migrations/sqlite/0001_registry.sql")),
    (2, "contexts", include_str!("../../migrations/sqlite/0002_contexts.sql")),
    (
        3,
        "schema_sources",
        include_str!("../../migrations/sqlite/0003_schema_sources.sql"),
    ),
    (
        4,
        "consumer_contracts",
        include_str!("../../migrations/sqlite/0004_consumer_contracts.sql"),
    ),
];
const POSTGRES_MIGRATIONS: &[(i64, &str, &str)] = &[
    (
        1,
        "registry",
        include_str!("../../migrations/postgres/0001_registry.sql"),
    ),
    (
        2,
        "generation",
        include_str!("../../migrations/postgres/0002_generation.sql"),
    ),
    (
        3,
        "contexts",
        include_str!("../../migrations/postgres/0003_contexts.sql"),
    ),
    (
        4,
        "schema_sources",
        include_str!("../../migrations/postgres/0004_schema_sources.sql"),
    ),
    (
        5,
        "consumer_contracts",
        include_str!("../../migrations/postgres/0005_consumer_contracts.sql"),
    ),
];

/// A lock that keeps every writer of a PostgreSQL database, in any process, one at a time.
/// The registry's rules (next version = max + 1, next id = max + 1, one id per content)
/// are decided by reading then writing; serialising writers makes that safe. Registrations
/// are rare next to reads, so one lock costs nothing that matters.
const POSTGRES_WRITE_LOCK: i64 = 0x4845_5241_4c44; // "HERALD"

#[derive(Clone)]
pub struct Store {
    pool: AnyPool,
    dialect: Dialect,
    /// SQLite allows one writer at a time; queueing writers here, in order, is cheaper and
    /// fairer than letting them spin on SQLITE_BUSY.
    writer: Arc<Mutex<()>>,
    /// PostgreSQL's URL, for the cache listener's own connection.
    url: Option<Arc<str>>,
    /// Held for the life of the store: keeps a second process off the same SQLite file.
    _data_dir_lock: Option<Arc<File>>,
}

impl fmt::Debug for Store {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Store").field("dialect", &self.dialect).finish()
    }
}

impl Store {
    /// Opens (creating if needed) the SQLite database `registry.db` in `data_dir`, and
    /// brings its schema up to date. Commits are durable: WAL with `synchronous=FULL`.
    pub async fn open_sqlite(data_dir: &Path) -> Result<Store, StoreError> {
        std::fs::create_dir_all(data_dir)
            .map_err(|e| StoreError(format!("cannot create data directory {}: {e}", data_dir.display())))?;
        let lock_path = data_dir.join("herald.lock");
        let lock =
            File::create(&lock_path).map_err(|e| StoreError(format!("cannot create {}: {e}", lock_path.display())))?;
        // A process that is shutting down may hold the lock a moment longer.
        let mut attempts = 0;
        while lock.try_lock().is_err() {
            attempts += 1;
            if attempts > 30 {
                return Err(StoreError(format!(
                    "the data directory {} is in use by another herald process",
                    data_dir.display()
                )));
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let db_path = data_dir.join("registry.db");
        let url = format!("sqlite://{}?mode=rwc", db_path.display());
        let store = Store::connect(&url, Dialect::Sqlite, Some(Arc::new(lock))).await?;
        Ok(store)
    }

    /// Connects to PostgreSQL and brings its schema up to date.
    pub async fn open_postgres(url: &str) -> Result<Store, StoreError> {
        Store::connect(url, Dialect::Postgres, None).await
    }

    async fn connect(url: &str, dialect: Dialect, lock: Option<Arc<File>>) -> Result<Store, StoreError> {
        sqlx::any::install_default_drivers();
        let options = AnyConnectOptions::from_str(url)?;
        let pool_options = AnyPoolOptions::new()
            .max_connections(match dialect {
                Dialect::Sqlite => 8,
                Dialect::Postgres => 16,
            })
            .acquire_timeout(Duration::from_secs(10));
        let pool = match dialect {
            Dialect::Sqlite => {
                pool_options
                    .after_connect(|conn, _meta| {
                        Box::pin(async move {
                            conn.execute(
                                "PRAGMA busy_timeout = 10000; PRAGMA journal_mode = WAL; \
                                 PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON; \
                                 PRAGMA cache_size = -1024;",
                            )
                            .await?;
                            Ok(())
                        })
                    })
                    .connect_with(options)
                    .await?
            }
            Dialect::Postgres => pool_options.connect_with(options).await?,
        };
        let store = Store {
            pool,
            dialect,
            writer: Arc::new(Mutex::new(())),
            url: (dialect == Dialect::Postgres).then(|| Arc::from(url)),
            _data_dir_lock: lock,
        };
        store.migrate().await?;
        Ok(store)
    }

    async fn migrate(&self) -> Result<(), StoreError> {
        let set = match self.dialect {
            Dialect::Sqlite => SQLITE_MIGRATIONS,
            Dialect::Postgres => POSTGRES_MIGRATIONS,
        };
        let migrations = set
            .iter()
            .map(|&(version, description, sql)| {
                Migration::new(
                    version,
                    Cow::Borrowed(description),
                    MigrationType::Simple,
                    Cow::Borrowed(sql),
                    false,
                )
            })
            .collect::<Vec<_>>();
        let migrator = Migrator {
            migrations: Cow::Owned(migrations),
            ..Migrator::DEFAULT
        };
        migrator.run(&self.pool).await?;
        Ok(())
    }

    pub fn dialect(&self) -> Dialect {
        self.dialect
    }

    /// Where to hear of other instances' writes: `None` on SQLite, where this process is
    /// the only writer.
    pub fn listen_target(&self) -> Option<ListenTarget> {
        self.url.clone().map(|url| ListenTarget { url })
    }

    /// The database's generation, bumped by every committed write (PostgreSQL; `None` on
    /// SQLite).
    pub async fn generation(&self) -> Result<Option<i64>, StoreError> {
        match self.dialect {
            Dialect::Postgres => Ok(Some(notify::generation(self.read().await?.conn()).await?)),
            Dialect::Sqlite => Ok(None),
        }
    }

    /// Is the database answering? For readiness probes.
    pub async fn ping(&self) -> Result<(), StoreError> {
        self.pool.execute("SELECT 1").await?;
        Ok(())
    }

    /// A connection for reads outside any write transaction.
    pub async fn read(&self) -> Result<Reader, StoreError> {
        Ok(Reader(self.pool.acquire().await?))
    }

    /// Starts the one write transaction allowed at a time. Everything it does becomes
    /// visible at [`Writer::commit`], or not at all.
    pub async fn write(&self) -> Result<Writer, StoreError> {
        let guard = self.writer.clone().lock_owned().await;
        let tx = match self.dialect {
            // IMMEDIATE takes SQLite's write lock now, not at the first write, so nothing
            // read in the transaction can change before it commits.
            Dialect::Sqlite => self.pool.begin_with("BEGIN IMMEDIATE").await?,
            Dialect::Postgres => {
                let mut tx = self.pool.begin().await?;
                sqlx::query("SELECT pg_advisory_xact_lock($1)")
                    .bind(POSTGRES_WRITE_LOCK)
                    .execute(&mut *tx)
                    .await?;
                tx
            }
        };
        let mut writer = Writer {
            tx,
            dialect: self.dialect,
            generation: None,
            _guard: guard,
        };
        if self.dialect == Dialect::Postgres {
            writer.generation = Some(notify::generation(&mut writer.tx).await?);
        }
        Ok(writer)
    }

    /// Closes every connection; for a clean shutdown.
    pub async fn close(&self) {
        self.pool.close().await;
    }
}

/// A pooled connection for reads.
pub struct Reader(sqlx::pool::PoolConnection<sqlx::Any>);

impl Reader {
    pub fn conn(&mut self) -> &mut AnyConnection {
        &mut self.0
    }
}

/// The write transaction; dropped without [`Writer::commit`], it rolls back.
pub struct Writer {
    tx: Transaction<'static, sqlx::Any>,
    dialect: Dialect,
    generation: Option<i64>,
    _guard: OwnedMutexGuard<()>,
}

impl Writer {
    pub fn conn(&mut self) -> &mut AnyConnection {
        &mut self.tx
    }

    /// Commits what the transaction wrote, saying what kind of thing it `changed`. On
    /// PostgreSQL the commit also bumps the database's generation and notifies the other
    /// instances (see [`notify`]); answers that generation, or `None` on SQLite.
    /// The database's generation as this transaction found it, under the write lock, so
    /// final until it commits (PostgreSQL; `None` on SQLite).
    pub fn generation(&self) -> Option<i64> {
        self.generation
    }

    pub async fn commit(mut self, changed: Changed) -> Result<Option<i64>, StoreError> {
        let generation = match self.dialect {
            Dialect::Postgres => Some(notify::bump(&mut self.tx, changed).await?),
            Dialect::Sqlite => None,
        };
        self.tx.commit().await?;
        Ok(generation)
    }
}
