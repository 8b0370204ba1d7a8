import { z } from 'zod';

export const AggregateConfigSchema = z.object({
  inputTopic: z.string().default('tapline.packets.v1'),
  outputTopic: z.string().default('tapline.flows.v1'),
  lateTopic: z.string().default('tapline.late.v1'),
  windowMs: z.number().int().min(100).default(10_000),
  advanceMs: z.number().int().min(100).optional().describe('hopping windows: a new window every advanceMs (must divide windowMs); default = windowMs (tumbling)'),
  allowedLatenessMs: z.number().int().min(0).default(5_000),
  hotEntries: z.number().int().min(0).default(20_000).describe('window states kept as objects per task; beyond this all are packed (compact Avro) on punctuate and come back when touched'),
}).strict();

export type AggregateConfig = z.infer<typeof AggregateConfigSchema>;
