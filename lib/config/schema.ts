/**
 * The configuration schema (zod). One YAML file, validated here; every key has a default so an
 * empty file (or none) is a valid configuration that runs everything embedded on 127.0.0.1.
 */
import { z } from 'zod';
import { StorageSectionSchema } from '../db/storage-config';
import { AlertConsumerConfigSchema } from './alert-consumers';

/** Kafka Streams' exactly-once default commit interval; the stage runner uses it when none is given. */
export const DEFAULT_COMMIT_INTERVAL_MS = 100;

const port = z.number().int().min(1).max(65535);

export const ConfigSchema = z.object({
  stateDir: z.string().default('.tapline').describe('where embedded services keep data, logs and pid files'),
  kafka: z.object({
    brokers: z.array(z.string().regex(/^[^:\s]+:\d+$/, 'host:port')).default([])
      .describe('existing cluster; empty = tapline starts its own single-node broker'),
    embeddedPort: port.default(19092),
    clientId: z.string().default('tapline'),
    partitions: z.number().int().min(1).max(1024).default(4),
    compression: z.enum(['none', 'gzip']).default('none'),
    sessionTimeoutMs: z.number().int().min(6_000).max(300_000).default(30_000)
      .describe('a worker that stops heart-beating loses its partitions after this long'),
    maxBytesPerPartition: z.number().int().min(1024).default(4 * 1024 * 1024),
    guarantee: z.enum(['exactly_once', 'at_least_once']).default('exactly_once')
      .describe('stages: Kafka transactions with changelog-backed state, or idempotent at-least-once'),
    commitIntervalMs: z.number().int().min(0).max(60_000).default(DEFAULT_COMMIT_INTERVAL_MS)
      .describe('exactly_once stages: a transaction covers the batches of up to this many ms (0 = one per fetched batch); a caught-up task commits at once'),
  }).strict().default({}),
  timescale: z.object({
    url: z.string().regex(/^postgres(ql)?:\/\//, 'postgres://user@host:port/db').nullable().default(null)
      .describe('existing TimescaleDB server; null = embedded PGlite+TimescaleDB'),
    embeddedPort: port.default(15433),
  }).strict().default({}),
  schemaRegistry: z.object({
    url: z.string().url().nullable().default(null)
      .describe('Confluent-compatible Schema Registry; set = messages use its wire format (0x00 + schema id)'),
  }).strict().default({}),
  topics: z.object({
    packets: z.string().default('tapline.packets.v1'),
    flows: z.string().default('tapline.flows.v1'),
    late: z.string().default('tapline.late.v1'),
    deadLetter: z.string().default('tapline.deadletter.v1'),
  }).strict().default({}),
  metrics: z.object({
    host: z.string().default('127.0.0.1'),
    port: z.number().int().min(0).max(65535).default(9464).describe('0 = no /metrics endpoint'),
  }).strict().default({}),
  // One section per stage, named as the stage; each stage validates its own section strictly
  // when it is created (pipelines/registry.ts), so its schema lives next to its code.
  stages: z.record(z.string(), z.record(z.string(), z.unknown())).default({}),
  sink: z.object({
    batchSize: z.number().int().min(1).max(50_000).default(2_000),
    tables: z.array(z.string()).optional().describe('TimescaleDB sink: tables to fill (pipelines/sinks/timescale/tables); default all'),
    topics: z.record(z.string(), z.string()).default({}).describe('TimescaleDB sink: topic per table where it is not the default'),
  }).strict().default({}),
  // retention, compression and aggregate refresh windows (lib/db/storage-config.ts, docs/sql.md)
  storage: StorageSectionSchema,
  // `tapline serve` (dashboard/server): loopback by default; every API call needs one of these
  // bearer tokens (viewer = read-only, operator = may also ack/resolve alerts).
  dashboard: z.object({
    host: z.string().default('127.0.0.1'),
    port: z.number().int().min(0).max(65535).default(8470).describe('0 = any free port'),
    tokens: z.object({
      viewer: z.array(z.string().min(16, 'tokens must be at least 16 characters')).default([]),
      operator: z.array(z.string().min(16, 'tokens must be at least 16 characters')).default([]),
    }).strict().default({}),
    pollMs: z.number().int().min(200).max(60_000).default(2_000).describe('live updates: how often the database is polled'),
  }).strict().default({}),
  // `tapline alerts send` (lib/config/alert-consumers.ts, docs/alerts.md): its --set
  // key=value options set alerts.key; the webhook secret is resolved only by that command.
  alerts: AlertConsumerConfigSchema.default({}),
}).strict();

export type TaplineConfig = z.infer<typeof ConfigSchema>;
