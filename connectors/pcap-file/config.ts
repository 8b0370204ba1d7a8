import { z } from 'zod';

export const PcapFileConfigSchema = z.object({
  path: z.string().min(1),
  topic: z.string().default('tapline.packets.v1'),
  observationPoint: z.string().optional().describe('default: file:<basename>'),
  speed: z.number().min(0).default(0).describe('0 = as fast as possible; N = real time x N'),
  batchSize: z.number().int().min(1).max(100_000).default(2_000),
  payloadPrefixBytes: z.number().int().min(0).max(1500).optional()
    .describe('bytes of L4 payload kept; default: the decoder policy (DNS/HTTP/TLS ports only); 0 = none'),
  progress: z.boolean().default(false).describe('progress bar on stderr (only on a terminal)'),
}).strict();

export type PcapFileConfig = z.infer<typeof PcapFileConfigSchema>;
