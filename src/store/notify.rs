//! Cache coherence across instances on one PostgreSQL database: every committed write bumps
//! the database's generation and sends a notification in its own transaction (so it is
//! delivered on commit, and only then), and each instance listens for them.
//!
//! The store knows only generations and what kind of change a write made; what to forget
//! is the registry's business.

use std::str::FromStr;
use std::sync::Arc;

use sqlx::pool::PoolOptions;
use sqlx::postgres::{PgConnectOptions, PgListener};
use sqlx::{AnyConnection, Executor, Postgres};

use super::StoreError;

/// The channel every instance listens on.
const CHANNEL: &str = "herald_registry";

/// How the listener's connection names itself in `pg_stat_activity`.
pub const LISTENER_APPLICATION_NAME: &str = "herald-cache-listener";

/// What a committed write changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Changed {
    /// Versions and schemas only (registrations, imports).
    Schemas,
    /// Anything, configs and modes included (deletes, config and mode changes).
    Everything,
}

impl Changed {
    fn as_str(self) -> &'static str {
        match self {
            Changed::Schemas => "schemas",
            Changed::Everything => "everything",
        }
    }
}

/// A committed write another instance (or this one) made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Notice {
    /// The database's generation after the write; `None` for a payload not written by
    /// Herald.
    pub generation: Option<i64>,
    pub changed: Changed,
}

impl Notice {
    /// Reads a payload written by [`bump`]; anything else (a foreign tool's) counts as a
    /// change of everything at an unknown generation.
    fn parse(payload: &str) -> Notice {
        let mut parts = payload.split(' ');
        let generation = parts.next().and_then(|g| g.parse().ok());
        let changed = match parts.next() {
            Some("schemas") => Changed::Schemas,
            _ => Changed::Everything,
        };
        Notice { generation, changed }
    }
}

/// Inside a write transaction: bumps the generation and queues the notification, which
/// PostgreSQL delivers when (and only if) the transaction commits. Answers the new
/// generation. Writers are serialised, so generations follow commit order.
pub(super) async fn bump(conn: &mut AnyConnection, changed: Changed) -> Result<i64, StoreError> {
    let generation: i64 =
        sqlx::query_scalar("UPDATE registry_generation SET generation = generation + 1 RETURNING generation")
            .fetch_one(&mut *conn)
            .await?;
    // NOTIFY takes no parameters; the payload is a number and a fixed word.
    conn.execute(format!("NOTIFY {CHANNEL}, '{generation} {}'", changed.as_str()).as_str())
        .await?;
    Ok(generation)
}

/// The database's generation, as the caller's transaction sees it.
pub(super) async fn generation(conn: &mut AnyConnection) -> Result<i64, StoreError> {
    Ok(sqlx::query_scalar("SELECT generation FROM registry_generation")
        .fetch_one(conn)
        .await?)
}

/// Where to listen: the database of a PostgreSQL store.
#[derive(Clone)]
pub struct ListenTarget {
    pub(super) url: Arc<str>,
}

impl ListenTarget {
    /// Connects, listens, and then reads the generation: every write committed after the
    /// generation read is notified, so nothing falls between the two.
    pub async fn connect(&self) -> Result<(Listener, i64), StoreError> {
        let options = PgConnectOptions::from_str(&self.url)?.application_name(LISTENER_APPLICATION_NAME);
        // One connection, never recycled: the listener drops it (and this pool) when lost.
        let pool = PoolOptions::<Postgres>::new()
            .max_connections(1)
            .max_lifetime(None)
            .idle_timeout(None)
            .connect_with(options)
            .await?;
        let mut listener = PgListener::connect_with(&pool).await?;
        listener.eager_reconnect(false);
        listener.listen(CHANNEL).await?;
        let generation: i64 = sqlx::query_scalar("SELECT generation FROM registry_generation")
            .fetch_one(&mut listener)
            .await?;
        Ok((Listener(listener), generation))
    }
}

/// A live subscription to committed writes.
pub struct Listener(PgListener);

impl Listener {
    /// The next committed write; `None` once the connection is lost, after which this
    /// listener is useless (notifications sent meanwhile are gone): connect anew.
    pub async fn next(&mut self) -> Result<Option<Notice>, StoreError> {
        Ok(self.0.try_recv().await?.map(|n| Notice::parse(n.payload())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payloads_read_back() {
        assert_eq!(
            Notice::parse("42 schemas"),
            Notice {
                generation: Some(42),
                changed: Changed::Schemas
            }
        );
        assert_eq!(
            Notice::parse("7 everything"),
            Notice {
                generation: Some(7),
                changed: Changed::Everything
            }
        );
        // Anything unexpected forgets everything.
        assert_eq!(
            Notice::parse("hello"),
            Notice {
                generation: None,
                changed: Changed::Everything
            }
        );
    }
}
