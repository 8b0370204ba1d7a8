/**
 * The one module that imports kafkajs. Everything else talks to Kafka through the classes and
 * interfaces exported here, so the client library could be swapped.
 */
export { probeKafka, type ProbeResult } from './probe';
export { partitionForKey } from './partition';
export {
  KafkaClient, TaplineProducer, TaplineConsumer, assertBrokers,
  type KafkaSettings, type TopicSpec, type OutMessage, type InMessage, type InBatch, type OffsetCommit, type BatchHandler,
} from './client';
