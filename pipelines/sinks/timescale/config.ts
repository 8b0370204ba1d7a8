import { z } from 'zod';

export const TimescaleSinkConfigSchema = z.object({
  /** Legacy single-topic form (flow windows only, from this topic); `tables`/`topics` supersede it. */
  topic: z.string().optional(),
  /** Which tables (TableSpec names) to fill; default: all of them. */
  tables: z.array(z.string()).optional(),
  /** Topic per table name, where it differs from the table's default topic. */
  topics: z.record(z.string(), z.string()).default({}),
  deadLetterTopic: z.string().default('tapline.deadletter.v1'),
  groupId: z.string().default('tapline-sink-timescale'),
  batchSize: z.number().int().min(1).max(50_000).default(2_000),
  /** Cap of the backoff between retries while the database is unreachable. */
  maxBackoffMs: z.number().int().min(10).max(300_000).default(10_000),
}).strict();

export type TimescaleSinkConfig = z.input<typeof TimescaleSinkConfigSchema>;
