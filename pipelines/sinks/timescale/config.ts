import { z } from 'zod';

export const TimescaleSinkConfigSchema = z.object({
  topic: z.string().default('tapline.flows.v1'),
  deadLetterTopic: z.string().default('tapline.deadletter.v1'),
  groupId: z.string().default('tapline-sink-timescale'),
  batchSize: z.number().int().min(1).max(50_000).default(2_000),
}).strict();

export type TimescaleSinkConfig = z.infer<typeof TimescaleSinkConfigSchema>;
