import { z } from 'zod';
import { CAPTURE_HEALTH_TOPIC } from '../../schemas/capture-health';

export const PcapLiveConfigSchema = z.object({
  interface: z.string().min(1).describe('device to capture on, e.g. tl-mon-h1 (see docs/lab.md)'),
  filter: z.string().default('').describe('BPF filter (pcap-filter(7)); empty = everything'),
  bufferSize: z.number().int().min(64 * 1024).max(1 << 30).default(16 * 1024 * 1024)
    .describe('libpcap kernel buffer in bytes (pcap_set_buffer_size)'),
  snaplen: z.number().int().min(14).max(65535).default(65535)
    .describe('bytes kept per frame; the wire length is always the full one'),
  promiscuous: z.boolean().default(true)
    .describe('cap 0.2.1 always opens the device promiscuous; false is refused rather than ignored'),
  topic: z.string().default('tapline.packets.v1'),
  healthTopic: z.string().default(CAPTURE_HEALTH_TOPIC),
  healthIntervalMs: z.number().int().min(100).max(3_600_000).default(10_000),
  observationPoint: z.string().optional().describe('default: live:<hostname>:<interface>'),
  batchSize: z.number().int().min(1).max(100_000).default(2_000),
  flushIntervalMs: z.number().int().min(1).max(60_000).default(200)
    .describe('a partial batch is sent after this long, so a quiet link still reaches Kafka promptly'),
  maxQueuedPackets: z.number().int().min(1).max(10_000_000).default(50_000)
    .describe('summaries waiting for Kafka; beyond this, packets are dropped and counted (never blocking the capture)'),
  payloadPrefixBytes: z.number().int().min(0).max(1500).optional()
    .describe('bytes of L4 payload kept; default: the decoder policy (DNS/HTTP/TLS ports only); 0 = none'),
  isolate: z.boolean().default(true)
    .describe('capture in a helper process: a device that goes down or away (which makes the cap addon abort its process) cannot take tapline down; the capture is reopened'),
  maxPipeBytes: z.number().int().min(256 * 1024).max(1 << 30).default(8 * 1024 * 1024)
    .describe('isolate: frame bytes the helper lets wait for tapline before it drops (reason pipe-full)'),
  user: z.string().min(1).optional().describe('when started as root: drop to this user after opening the device (as tcpdump -Z)'),
  group: z.string().min(1).optional().describe('group for `user` (default: the user\'s primary group)'),
  drainTimeoutMs: z.number().int().min(0).max(600_000).default(10_000)
    .describe('on close, how long to wait for queued summaries to reach Kafka'),
}).strict();

export type PcapLiveConfig = z.infer<typeof PcapLiveConfigSchema>;
