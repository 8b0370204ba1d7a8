import { z } from 'zod';
import { overridesSchema } from '../../alerting/overrides';
import { allowedLatenessMs, clearRatio, criticalFactor, lifecycle, outputTopic, windowMs } from '../../alerting/common-config';
import { FLOWS_REPARTITION_TOPIC } from '../detect-rekey-flows';

/** Thresholds, per evaluation window; every one can be overridden per tenant / subject. */
export const ScanSettingsSchema = z.object({
  portScanPorts: z.number().int().min(2).default(100)
    .describe('port scan: distinct destination ports a source opened flows to in one window'),
  hostSweepHosts: z.number().int().min(2).default(50)
    .describe('host sweep: distinct destination addresses a source opened flows to in one window'),
  synFloodSynPerSec: z.number().min(0).default(200)
    .describe('SYN flood: SYN segments per second towards one destination ...'),
  halfOpenRatio: z.number().min(0).max(1).default(0.8)
    .describe('... of which at least this share of the SYN-carrying flows stayed half-open (the client sent nothing but SYNs)'),
  icmpFloodPps: z.number().min(0).default(1000).describe('ICMP flood: ICMP packets per second towards one destination'),
  failureMinAttempts: z.number().int().min(1).default(20)
    .describe('connection failures: connection attempts (flows with a SYN) of a source in one window before its failure rate counts'),
  failureRatio: z.number().min(0).max(1).default(0.5)
    .describe('connection failures: share of attempts that failed (no SYN-ACK: unanswered or refused by RST)'),
  criticalFactor: criticalFactor(),
  clearRatio: clearRatio(),
}).strict();
export type ScanSettings = z.infer<typeof ScanSettingsSchema>;

export const DetectScansConfigSchema = z.object({
  inputTopic: z.string().default(FLOWS_REPARTITION_TOPIC).describe('identified flows keyed by endpoint (stage detect-rekey-flows)'),
  outputTopic: outputTopic(),
  windowMs: windowMs(10_000),
  allowedLatenessMs: allowedLatenessMs(10_000),
  maxTracked: z.number().int().min(16).max(1_000_000).default(4096)
    .describe('distinct ports / addresses remembered per subject and window (bounded state); counts saturate there'),
  lifecycle: lifecycle(),
  defaults: ScanSettingsSchema.default({}),
  overrides: overridesSchema(ScanSettingsSchema)
    .describe('per tenant (the endpoint\'s tenant) and/or subject (VM id, VM name or address of the endpoint)'),
}).strict();
export type DetectScansConfig = z.infer<typeof DetectScansConfigSchema>;
