//! Keeps an instance's read cache exact on PostgreSQL, where other instances write too: one
//! task per registry listens for the notifications every committed write sends (see
//! `store::notify`) and has the cache forget what each write changed. While the listener's
//! connection is down the cache is suspended, so reads go to the database; it serves again
//! once a new connection is listening and has checked the database's generation.
//!
//! A connection that dies silently (no reset ever reaches this host) would leave the
//! listener waiting for ever, so the task also reads the generation once a second: a write
//! it has not heard of by then is forgotten all the same, which bounds staleness to about a
//! second whatever happens to the listener.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::oneshot;

use super::cache::ReadCache;
use crate::store::{ListenTarget, Store};

/// The first wait before connecting again; it doubles up to [`MAX_RETRY`].
const FIRST_RETRY: Duration = Duration::from_millis(50);
const MAX_RETRY: Duration = Duration::from_secs(2);

/// How often the generation is read besides listening.
const CHECK_EVERY: Duration = Duration::from_secs(1);

/// Starts the listener task; it ends when `stop`'s sender is dropped (with the registry).
/// Without a Tokio runtime nothing starts, and the cache never serves.
pub(super) fn spawn(store: Store, target: ListenTarget, cache: Arc<ReadCache>, stop: oneshot::Receiver<()>) {
    let Ok(runtime) = tokio::runtime::Handle::try_current() else {
        tracing::warn!("no async runtime: the registry's read cache stays off");
        return;
    };
    runtime.spawn(async move {
        tokio::select! {
            () = listen(target, &cache) => {}
            () = check(store, &cache) => {}
            _ = stop => {}
        }
    });
}

/// Listens for ever, reconnecting with a growing pause whenever the connection is lost.
async fn listen(target: ListenTarget, cache: &ReadCache) {
    let mut retry = FIRST_RETRY;
    loop {
        match target.connect().await {
            Ok((mut listener, generation)) => {
                cache.resume(generation);
                retry = FIRST_RETRY;
                let lost = loop {
                    match listener.next().await {
                        Ok(Some(notice)) => cache.notified(notice),
                        Ok(None) => break "connection lost".to_string(),
                        Err(e) => break e.to_string(),
                    }
                };
                cache.suspend();
                tracing::warn!(error = %lost, "registry cache listener lost; reading through to the database");
            }
            Err(e) => {
                tracing::warn!(error = %e, "registry cache listener cannot connect; reading through to the database");
            }
        }
        tokio::time::sleep(retry).await;
        retry = (retry * 2).min(MAX_RETRY);
    }
}

/// Reads the generation every [`CHECK_EVERY`], for writes whose notification never came.
async fn check(store: Store, cache: &ReadCache) {
    loop {
        tokio::time::sleep(CHECK_EVERY).await;
        match store.generation().await {
            Ok(generation) => cache.catch_up(generation),
            Err(e) => tracing::debug!(error = %e, "cannot read the registry's generation"),
        }
    }
}
