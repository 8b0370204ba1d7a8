import { z } from 'zod';
import { overridesSchema } from '../../alerting/overrides';
import { allowedLatenessMs, lifecycle, outputTopic, windowMs } from '../../alerting/common-config';
import { FLOWS_REPARTITION_TOPIC } from '../detect-rekey-flows';

/** Settings that can differ per tenant / subject. */
export const TrafficSettingsSchema = z.object({
  bursts: z.boolean().default(true).describe('detect traffic bursts of VMs and VM pairs'),
  sensitivity: z.number().min(1).default(6)
    .describe('burst: a window above baseline + sensitivity x scale (scale = robust std-dev estimate from the EW mean absolute deviation)'),
  criticalSensitivity: z.number().min(1).default(12).describe('burst: above baseline + this x scale is critical'),
  minBytesPerSec: z.number().min(0).default(125_000)
    .describe('burst: never below this rate (bytes/s, both directions), so a quiet VM waking up to a few kB/s is no burst'),
  minScaleBytesPerSec: z.number().min(0).default(12_500)
    .describe('smallest scale (bytes/s): a perfectly flat baseline still tolerates this much noise'),
  clearRatio: z.number().min(0).max(1).default(0.7)
    .describe('hysteresis: an open burst alert keeps breaching while above baseline + clearRatio x sensitivity x scale'),
  newPairs: z.boolean().default(true).describe('detect new communication pairs'),
  newPairLearningMs: z.number().int().min(0).default(3_600_000)
    .describe('new pairs: the first this-long of a source VM\'s activity is learned silently (a new VM legitimately meets new peers)'),
  newPairSeverity: z.enum(['info', 'warning', 'critical']).default('warning'),
}).strict();
export type TrafficSettings = z.infer<typeof TrafficSettingsSchema>;

export const DetectTrafficConfigSchema = z.object({
  inputTopic: z.string().default(FLOWS_REPARTITION_TOPIC).describe('identified flows keyed by endpoint (stage detect-rekey-flows)'),
  outputTopic: outputTopic(),
  windowMs: windowMs(10_000),
  allowedLatenessMs: allowedLatenessMs(10_000),
  lifecycle: lifecycle(),
  baseline: z.object({
    alpha: z.number().gt(0).max(1).default(0.05).describe('EWMA weight of a new window (0.05 = memory of ~20 windows)'),
    clip: z.number().min(1).default(3).describe('after warm-up a window updates the baseline clipped to level ± clip x scale'),
    warmupWindows: z.number().int().min(1).default(30).describe('windows a series learns before it may alert (30 x 10 s = 5 min)'),
  }).strict().default({}),
  externalPairs: z.boolean().default(false)
    .describe('also track pairs with an endpoint that is no inventory VM (bursts and new pairs); off: internet peers would flood the state'),
  maxSeries: z.number().int().min(1).default(200_000).describe('baselines and known pairs kept per task (bounded state); new ones beyond are counted, not tracked'),
  idleTtlMs: z.number().int().min(60_000).default(30 * 86_400_000)
    .describe('a baseline / known pair not seen for this long is forgotten (dropped{reason="evicted-idle"}); a pair then counts as new again'),
  defaults: TrafficSettingsSchema.default({}),
  overrides: overridesSchema(TrafficSettingsSchema)
    .describe('per tenant and/or subject: a VM (id, name, address) or a pair "src-vm->dst-vm"'),
}).strict();
export type DetectTrafficConfig = z.infer<typeof DetectTrafficConfigSchema>;
