import { z } from 'zod';

export const SflowConfigSchema = z.object({
  host: z.string().default('0.0.0.0').describe('address to bind; "::" for IPv6 (dual-stack)'),
  port: z.number().int().min(0).max(65535).default(6343).describe('0 = any free port'),
  topic: z.string().default('tapline.packets.v1').describe('PacketSummary records from flow samples'),
  countersTopic: z.string().default('tapline.interface-counters.v1').describe('InterfaceCounters records from counter samples'),
  countersTopicPartitions: z.number().int().min(1).max(1024).default(4).describe('partitions when start() has to create countersTopic'),
  observationPoint: z.string().optional().describe('default: sflow:<agent>/<source id index> (the sampled interface)'),
  batchSize: z.number().int().min(1).max(100_000).default(2_000),
  flushIntervalMs: z.number().int().min(1).max(60_000).default(200),
  maxInflightBatches: z.number().int().min(1).max(64).default(4)
    .describe('batches awaiting Kafka before arriving samples are dropped (counted as dropped/backpressure)'),
  receiveBufferBytes: z.number().int().min(65_536).max(1 << 30).optional(),
  payloadPrefixBytes: z.number().int().min(0).max(1500).optional()
    .describe('bytes of L4 payload kept from sampled headers; default: the decoder policy; 0 = none'),
}).strict();

export type SflowConfig = z.infer<typeof SflowConfigSchema>;
