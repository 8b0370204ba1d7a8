import { z } from 'zod';

export const MirrorConfigSchema = z.object({
  host: z.string().default('0.0.0.0').describe('address to bind; "::" for IPv6 (dual-stack)'),
  port: z.number().int().min(0).max(65535).default(4789).describe('4789 VXLAN (AWS VPC Traffic Mirroring, Azure vTAP), 6081 GENEVE; 0 = any free port'),
  encapsulation: z.enum(['vxlan', 'geneve']).optional().describe('default: geneve on port 6081, vxlan otherwise'),
  localAddress: z.string().ip().optional()
    .describe('outer_dst_ip of every record; default: the bound address, or the only non-loopback address of its family when bound to a wildcard'),
  topic: z.string().default('tapline.packets.v1'),
  observationPoint: z.string().optional().describe('default: mirror:<port>'),
  batchSize: z.number().int().min(1).max(100_000).default(2_000),
  flushIntervalMs: z.number().int().min(1).max(60_000).default(200).describe('a partial batch is sent after this long'),
  maxInflightBatches: z.number().int().min(1).max(64).default(4)
    .describe('batches awaiting Kafka before arriving datagrams are dropped (counted as dropped/backpressure)'),
  receiveBufferBytes: z.number().int().min(65_536).max(1 << 30).optional().describe('SO_RCVBUF (capped by net.core.rmem_max)'),
  payloadPrefixBytes: z.number().int().min(0).max(1500).optional()
    .describe('bytes of inner L4 payload kept; default: the decoder policy (DNS/HTTP/TLS ports only); 0 = none'),
}).strict();

export type MirrorConfig = z.infer<typeof MirrorConfigSchema>;
