//! The broker's answer to the registry's question "which consumer groups read this
//! subject?", for the reader-aware compatibility policy: the groups that committed offsets
//! on, or are subscribed to, a topic whose records the subject may govern.

use std::sync::Arc;
use std::time::Duration;

use crate::broker::Broker;
use crate::registry::readers::GroupActivity;

use super::subject::may_govern;

/// The broker as a [`GroupActivity`].
pub struct BrokerActivity(pub Arc<Broker>);

impl GroupActivity for BrokerActivity {
    fn groups_reading(&self, subject: &str, window: Duration) -> Vec<String> {
        let topics: Vec<String> = self
            .0
            .topics()
            .iter()
            .filter(|topic| may_govern(&topic.config, subject))
            .map(|topic| topic.config.name.clone())
            .collect();
        if topics.is_empty() {
            return Vec::new();
        }
        self.0.groups().readers_of(&topics, window)
    }
}
