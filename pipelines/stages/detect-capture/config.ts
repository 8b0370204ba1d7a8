import { z } from 'zod';
import { CAPTURE_HEALTH_TOPIC } from '../../../schemas/capture-health';
import { overridesSchema } from '../../alerting/overrides';
import { lifecycle, outputTopic } from '../../alerting/common-config';

export const CaptureSettingsSchema = z.object({
  dropRatio: z.number().min(0).max(1).default(0.001)
    .describe('drops (kernel + interface + pipeline) over packets offered between two reports that is an alert (0.001 = 0.1 %)'),
  minDrops: z.number().int().min(1).default(10).describe('... and at least this many drops between the two reports'),
  criticalRatio: z.number().min(0).max(1).default(0.05).describe('drop ratio that makes the alert critical'),
  notCapturing: z.boolean().default(true).describe('alert (critical) while a capture reports capturing=false (device down, being reopened)'),
  staleAfterMs: z.number().int().min(0).default(30_000)
    .describe('alert when a capture (not closed with a final report) has not reported for this long in event time; 0 = off'),
}).strict();
export type CaptureSettings = z.infer<typeof CaptureSettingsSchema>;

export const DetectCaptureConfigSchema = z.object({
  inputTopic: z.string().default(CAPTURE_HEALTH_TOPIC).describe('capture health reports (keyed by observation point: no repartition needed)'),
  outputTopic: outputTopic(),
  lifecycle: lifecycle(),
  defaults: CaptureSettingsSchema.default({}),
  overrides: overridesSchema(CaptureSettingsSchema).describe('per subject: an observation point, a capture host, or "host:interface"'),
}).strict();
export type DetectCaptureConfig = z.infer<typeof DetectCaptureConfigSchema>;
