/**
 * Brings up what a command needs: Kafka and TimescaleDB, each either the user's (given by
 * --brokers / --pg, config or environment; only checked) or the embedded one (started, or
 * reused when already running). stopStarted() stops only what this call started.
 */
import path from 'node:path';
import type { Pool } from 'pg';
import { KafkaBroker, ensureKafka } from '../lib/services/kafka-broker';
import { EmbeddedTimescale } from '../lib/services/timescale/embedded';
import { assertTimescale, createPool, ensureTimescale } from '../lib/db/pool';
import { KafkaClient } from '../lib/kafka';
import type { TaplineConfig } from '../lib/config';
import { logger } from '../lib/log';
import { allSchemas, useSchemaRegistry } from '../schemas';
import { sinkConfigFrom, sinkTopics } from '../pipelines/sinks/timescale';
import { DETECTOR_REPARTITION_TOPICS } from '../pipelines/alerting/topics';

const log = logger('services');

export interface Services {
  brokers: string[];
  pgUrl: string;
  embeddedDb: boolean;
  kafka: KafkaClient;
  pool: Pool;
  startedKafka: boolean;
  startedDb: boolean;
  /** Stops the embedded services that this call started (not ones that were already running). */
  stopStarted(): Promise<void>;
  /** Closes clients; leaves services running. */
  closeClients(): Promise<void>;
}

export interface ServiceNeeds { kafka?: boolean; db?: boolean }

export async function startServices(cfg: TaplineConfig, onProgress?: (line: string) => void): Promise<Services> {
  let broker: KafkaBroker | null = null;
  let startedKafka = false;
  let brokers = cfg.kafka.brokers;
  if (brokers.length > 0) {
    brokers = (await ensureKafka({ brokers })).brokers;
  } else {
    broker = new KafkaBroker({ stateDir: path.join(cfg.stateDir, 'kafka'), port: cfg.kafka.embeddedPort, numPartitions: cfg.kafka.partitions, onProgress });
    const r = await broker.start();
    brokers = r.brokers;
    startedKafka = r.started;
  }
  let db: EmbeddedTimescale | null = null;
  let startedDb = false;
  let pgUrl: string;
  try {
    if (cfg.timescale.url) {
      pgUrl = (await ensureTimescale({ url: cfg.timescale.url })).url;
    } else {
      db = new EmbeddedTimescale({ stateDir: path.join(cfg.stateDir, 'timescale'), port: cfg.timescale.embeddedPort });
      const r = await db.start();
      pgUrl = r.url;
      startedDb = r.started;
    }
  } catch (e) {
    if (startedKafka) await broker?.stop();
    throw e;
  }
  if (cfg.schemaRegistry.url) await useSchemaRegistry(cfg.schemaRegistry.url, allSchemas());
  const embeddedDb = db !== null;
  const pool = createPool(pgUrl, { embedded: embeddedDb });
  await assertTimescale(pool, pgUrl);
  const kafka = new KafkaClient({ brokers, clientId: cfg.kafka.clientId, compression: cfg.kafka.compression,
    sessionTimeoutMs: cfg.kafka.sessionTimeoutMs, maxBytesPerPartition: cfg.kafka.maxBytesPerPartition });
  log.info({ brokers, pgUrl, startedKafka, startedDb }, 'services ready');
  const closeClients = async () => {
    await kafka.close().catch(() => undefined);
    await pool.end().catch(() => undefined);
  };
  return {
    brokers, pgUrl, embeddedDb, kafka, pool, startedKafka, startedDb, closeClients,
    stopStarted: async () => {
      await closeClients();
      if (startedDb) await db?.stop();
      if (startedKafka) await broker?.stop();
    },
  };
}

/** The topics the pipeline uses, created when missing. */
export async function ensurePipelineTopics(cfg: TaplineConfig, kafka: KafkaClient): Promise<void> {
  const n = cfg.kafka.partitions;
  await kafka.ensureTopics([
    { topic: cfg.topics.packets, partitions: n },
    { topic: cfg.topics.flows, partitions: n },
    { topic: cfg.topics.late, partitions: n },
    { topic: cfg.topics.deadLetter, partitions: 1 },
    // the detectors' internal repartition topics, so a detector can start before its rekey stage
    ...DETECTOR_REPARTITION_TOPICS.map((topic) => ({ topic, partitions: n })),
    // the TimescaleDB sink's inputs, so it can subscribe before their stages first write
    ...[...sinkTopics(sinkConfigFrom(cfg))].filter(([t]) => t !== cfg.topics.flows)
      .map(([topic, spec]) => ({ topic, partitions: spec.topicSettings?.partitions ?? n, compacted: spec.topicSettings?.compacted })),
  ]);
}
