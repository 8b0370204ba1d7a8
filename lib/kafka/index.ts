/**
 * The one module that imports kafkajs. Everything else talks to Kafka through the classes and
 * interfaces exported here, so the client library could be swapped.
 */
export { probeKafka, type ProbeResult } from './probe';
export { partitionForKey } from './partition';
export {
  KafkaClient, assertBrokers,
  type KafkaSettings, type TopicSpec, type OutMessage, type InMessage, type InBatch, type OffsetCommit,
} from './client';
export { TaplineProducer, TransactionalProducer, type TxnOffsets } from './producer';
export { TaplineConsumer, type BatchHandler, type RunOptions } from './consumer';
export { readPartitionsToEnd } from './restore';
