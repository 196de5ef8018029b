//! Herald's errors as Kafka error codes: the one place the Kafka door maps domain errors,
//! as `http/error.rs` is for the HTTP door.

use kafka_protocol::error::ResponseError;

use crate::broker::log::LogError;
use crate::broker::producers::ProducerError;
use crate::broker::BrokerError;

pub fn broker_code(err: &BrokerError) -> i16 {
    match err {
        BrokerError::TopicExists(_) => ResponseError::TopicAlreadyExists,
        BrokerError::UnknownTopic(_) | BrokerError::UnknownPartition { .. } | BrokerError::Log(LogError::Deleted) => {
            ResponseError::UnknownTopicOrPartition
        }
        BrokerError::Topic(_) => ResponseError::InvalidConfig,
        BrokerError::Limit(_) => ResponseError::PolicyViolation,
        BrokerError::Log(LogError::InvalidBatch(_)) | BrokerError::InvalidBatch(_) => ResponseError::CorruptMessage,
        BrokerError::RecordTooLarge { .. } => ResponseError::MessageTooLarge,
        BrokerError::Producer(ProducerError::OutOfOrderSequence { .. }) => ResponseError::OutOfOrderSequenceNumber,
        BrokerError::Producer(ProducerError::InvalidProducerEpoch { .. }) => ResponseError::InvalidProducerEpoch,
        BrokerError::Producer(ProducerError::UnknownProducerId { .. }) => ResponseError::UnknownProducerId,
        BrokerError::Log(_) => ResponseError::KafkaStorageError,
    }
    .code()
}
