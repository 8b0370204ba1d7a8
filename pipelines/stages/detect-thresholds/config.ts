import { z } from 'zod';
import { overridesSchema } from '../../alerting/overrides';
import { allowedLatenessMs, clearRatio, lifecycle, outputTopic, windowMs } from '../../alerting/common-config';
import { METRICS_REPARTITION_TOPIC } from '../detect-rekey-metrics';

/** Limits, per pair (RTT, jitter, loss) or per VM (utilization); overridable per tenant / subject. 0 = off. */
export const ThresholdSettingsSchema = z.object({
  rttAvgMs: z.number().min(0).default(50).describe('average RTT of the pair in a window (ms)'),
  rttMaxMs: z.number().min(0).default(200).describe('largest RTT of the pair in a window (ms)'),
  deltaRttMs: z.number().min(0).default(20)
    .describe('ΔRTT: average RTT above the pair\'s own RTT baseline (ms), once the baseline has warmed up'),
  jitterMs: z.number().min(0).default(30).describe('jitter: mean |difference| of consecutive RTT samples (ms)'),
  lossAvg: z.number().min(0).max(1).default(0.01)
    .describe('acceptable loss: lost segments / data segments of the pair in a window (retransmitted + lost before the mirror − spurious)'),
  lossMax: z.number().min(0).max(1).default(0.05).describe('loss rate of the worst flow direction of the pair in a window'),
  minSegments: z.number().int().min(1).default(50).describe('loss counts only with at least this many data segments (per pair, per flow direction for lossMax)'),
  minRttSamples: z.number().int().min(1).default(3).describe('RTT limits count only with at least this many RTT samples in the window'),
  utilization: z.number().min(0).default(0.8).describe('VM NIC utilization (bits/s over NIC capacity), in or out, averaged over the window'),
  criticalFactor: z.number().min(1).default(2).describe('value >= factor x threshold is critical (else warning)'),
  clearRatio: clearRatio(),
}).strict();
export type ThresholdSettings = z.infer<typeof ThresholdSettingsSchema>;

export const DetectThresholdsConfigSchema = z.object({
  inputTopic: z.string().default(METRICS_REPARTITION_TOPIC).describe('flow metrics keyed by endpoint (stage detect-rekey-metrics)'),
  inventoryTopic: z.string().default('tapline.inventory.v1').describe('VM inventory (tenant, host, name of the endpoints)'),
  outputTopic: outputTopic(),
  windowMs: windowMs(10_000),
  allowedLatenessMs: allowedLatenessMs(10_000),
  lifecycle: lifecycle(),
  rttBaseline: z.object({
    alpha: z.number().gt(0).max(1).default(0.05),
    warmupWindows: z.number().int().min(1).default(12).describe('windows with RTT samples before ΔRTT may alert'),
  }).strict().default({}),
  maxSeries: z.number().int().min(1).default(200_000).describe('RTT baselines kept per task; idle ones go after idleTtlMs'),
  idleTtlMs: z.number().int().min(60_000).default(7 * 86_400_000),
  defaults: ThresholdSettingsSchema.default({}),
  overrides: overridesSchema(ThresholdSettingsSchema)
    .describe('per tenant (from the inventory) and/or subject: pair "client->server" (VM ids, else addresses), a VM id or name, an address'),
}).strict();
export type DetectThresholdsConfig = z.infer<typeof DetectThresholdsConfigSchema>;
