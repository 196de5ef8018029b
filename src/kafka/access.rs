//! Who sent a request on a connection and what they may do: the principal SASL
//! authenticated, judged by the same grants as the HTTP door. Without security configured
//! every request may do everything.

use std::sync::Arc;

use kafka_protocol::error::ResponseError;

use super::cluster::unknown_topic_code;
use super::Kafka;
use crate::broker::Topic;
use crate::security::{Operation, Principal, Resource, Security};

#[derive(Clone, Default)]
pub struct Access {
    principal: Option<Arc<Principal>>,
    security: Option<Arc<Security>>,
}

impl Access {
    /// A connection SASL authenticated as `principal`.
    pub fn authenticated(principal: Principal, security: Arc<Security>) -> Access {
        Access {
            principal: Some(Arc::new(principal)),
            security: Some(security),
        }
    }

    /// The principal's name, for logs (`None` without security).
    pub fn name(&self) -> Option<&str> {
        self.principal.as_deref().map(|p| &*p.name)
    }

    pub fn may(&self, operation: Operation, resource: &Resource) -> bool {
        match (&self.principal, &self.security) {
            (Some(principal), Some(security)) => security.permits(principal, operation, resource),
            // A connection of a server with security is always authenticated before any
            // request reaches a handler, so no principal means no security.
            _ => true,
        }
    }

    pub fn may_topic(&self, operation: Operation, name: &str) -> bool {
        self.may(operation, &Resource::topic(name))
    }

    pub fn may_group(&self, operation: Operation, name: &str) -> bool {
        self.may(operation, &Resource::group(name))
    }

    /// A topic the principal may do `operation` on, or the error code to answer: asked
    /// before the topic is looked up, so a refusal does not tell whether it exists.
    pub fn topic(&self, kafka: &Kafka, operation: Operation, name: &str) -> Result<Arc<Topic>, i16> {
        if !self.may_topic(operation, name) {
            return Err(TOPIC_DENIED);
        }
        kafka.broker.topic(name).map_err(|_| unknown_topic_code(name))
    }
}

pub const TOPIC_DENIED: i16 = ResponseError::TopicAuthorizationFailed.code();
pub const GROUP_DENIED: i16 = ResponseError::GroupAuthorizationFailed.code();
pub const CLUSTER_DENIED: i16 = ResponseError::ClusterAuthorizationFailed.code();
