/**
 * The one module that imports kafkajs. Everything else talks to Kafka through the functions
 * and small interfaces exported from lib/kafka, so the client library could be swapped.
 */
export { probeKafka } from './probe';
