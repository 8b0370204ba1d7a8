import { z } from 'zod';

export const PathLossConfigSchema = z.object({
  inputTopic: z.string().default('tapline.packets.v1'),
  outputTopic: z.string().default('tapline.path-loss.v1'),
  windowMs: z.number().int().min(100).default(10_000),
  horizonMs: z.number().int().min(1).default(1_000)
    .describe('how long a packet waits, from its first sighting, for its copy at the other points: must cover the one-way delay between the points PLUS the skew with which the sensors\' batches reach the partition (stream time is the task\'s, driven by every sensor)'),
  allowedLatenessMs: z.number().int().min(0).default(0)
    .describe('a window is emitted once stream time passes its end + horizonMs + allowedLatenessMs; a packet of an emitted window is late (dropped, counted)'),
  duplicateWindowUs: z.number().int().min(0).default(1_000)
    .describe('copies of one fingerprint at ONE point closer than this are one packet seen twice (mirror "both", SPAN duplicates), not two packets'),
  maxPendingPerFlow: z.number().int().min(1).default(20_000)
    .describe('unmatched packets kept per flow; beyond it the oldest is decided early (counted: evicted)'),
  points: z.array(z.string()).optional()
    .describe('observation points expected to see every flow; pairs are formed among them even when one saw nothing of a flow. Default: the points that have seen the flow'),
  senderPoints: z.record(z.string(), z.string()).default({})
    .describe('source address (exact, or IPv4 CIDR a.b.c.d/n) -> the observation point nearest to those senders: that point is upstream for their packets (orientation CONFIGURED)'),
}).strict();

export type PathLossConfig = z.infer<typeof PathLossConfigSchema>;
