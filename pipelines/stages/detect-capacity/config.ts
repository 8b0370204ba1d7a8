import { z } from 'zod';
import { overridesSchema } from '../../alerting/overrides';
import { allowedLatenessMs, lifecycle, outputTopic } from '../../alerting/common-config';
import { FLOWS_REPARTITION_TOPIC } from '../detect-rekey-flows';

export const CapacitySettingsSchema = z.object({
  level: z.number().gt(0).max(10).default(0.8).describe('the utilization to forecast (0.8 = 80 % of the NIC / link)'),
  horizonDays: z.number().gt(0).default(30).describe('alert when the forecast crossing is at most this many days away'),
  minPoints: z.number().int().min(3).default(24).describe('history points (pointMs each) needed before forecasting'),
  minR2: z.number().min(0).max(1).default(0.5).describe('the linear fit must explain at least this share of the variance (no dates from noise)'),
  nicCapacityBps: z.number().min(0).default(0).describe('VM NIC capacity (bits/s); 0 = from the inventory (nic_capacity_bps); a VM with neither is skipped'),
  linkCapacityBps: z.number().gt(0).default(10_000_000_000).describe('host pair: capacity of the path between the two hosts (bits/s)'),
  vms: z.boolean().default(true).describe('forecast per VM NIC'),
  hostPairs: z.boolean().default(true).describe('forecast per host pair'),
}).strict();
export type CapacitySettings = z.infer<typeof CapacitySettingsSchema>;

export const DetectCapacityConfigSchema = z.object({
  inputTopic: z.string().default(FLOWS_REPARTITION_TOPIC).describe('identified flows keyed by endpoint and host pair (stage detect-rekey-flows)'),
  inventoryTopic: z.string().default('tapline.inventory.v1').describe('VM inventory: NIC capacities'),
  outputTopic: outputTopic(),
  windowMs: z.number().int().min(10_000).default(3_600_000)
    .describe('one history point per subject and this much event time: the peak utilization of its sub-windows (also the evaluation cadence)'),
  subWindowMs: z.number().int().min(1_000).default(10_000).describe('utilization is measured per sub-window (the flow window size); the point keeps the peak'),
  allowedLatenessMs: allowedLatenessMs(60_000),
  maxPoints: z.number().int().min(3).max(10_000).default(336).describe('history points kept per subject (336 x 1 h = 14 days)'),
  idleTtlMs: z.number().int().min(60_000).default(30 * 86_400_000).describe('history of a subject not seen for this long is forgotten'),
  lifecycle: lifecycle(),
  defaults: CapacitySettingsSchema.default({}),
  overrides: overridesSchema(CapacitySettingsSchema).describe('per tenant and/or subject: a VM id / name / address, or a host pair "h1<->h2" (lower name first)'),
}).strict();
export type DetectCapacityConfig = z.infer<typeof DetectCapacityConfigSchema>;
