import os from 'node:os';
import { z } from 'zod';
import { DEFAULT_PROBE_PORT } from './wire';

/** "host:port", "[v6]:port" or "host" (default port). */
export function parseTarget(s: string): { host: string; port: number } {
  const m = /^\[([^\]]+)\](?::(\d+))?$/.exec(s) ?? /^([^:]+)(?::(\d+))?$/.exec(s);
  if (!m) return { host: s, port: DEFAULT_PROBE_PORT }; // bare IPv6 address
  return { host: m[1], port: m[2] ? Number(m[2]) : DEFAULT_PROBE_PORT };
}

const TargetSchema = z.union([
  z.string().min(1).transform((s) => ({ ...parseTarget(s), kinds: ['tcp', 'udp'] as Array<'tcp' | 'udp'> })),
  z.object({
    host: z.string().min(1),
    port: z.number().int().min(1).max(65535).default(DEFAULT_PROBE_PORT),
    kinds: z.array(z.enum(['tcp', 'udp'])).min(1).default(['tcp', 'udp']),
  }).strict(),
]);

export const ProbeConfigSchema = z.object({
  targets: z.array(TargetSchema).min(1).describe('"host:port" or {host, port, kinds: [tcp, udp]}; each runs tapline probe-responder'),
  intervalMs: z.number().int().min(10).max(3_600_000).default(10_000),
  udpPacketsPerInterval: z.number().int().min(1).max(10_000).default(10),
  tcpConnectsPerInterval: z.number().int().min(1).max(1_000).default(1),
  timeoutMs: z.number().int().min(1).max(60_000).default(1_000).describe('a reply later than this counts as lost'),
  udpPayloadBytes: z.number().int().min(16).max(1472).default(64),
  prober: z.string().default(`probe:${os.hostname()}`).describe('who measures (ProbeResult.prober)'),
  intervals: z.number().int().min(1).optional().describe('stop after this many intervals (default: run until closed)'),
  topic: z.string().default('tapline.probes.v1'),
  topicPartitions: z.number().int().min(1).max(1024).default(4).describe('partitions when start() has to create the topic'),
  maxInflightSends: z.number().int().min(1).max(1024).default(64).describe('results awaiting Kafka before new ones are dropped (counted)'),
}).strict();

export type ProbeConfig = z.infer<typeof ProbeConfigSchema>;
