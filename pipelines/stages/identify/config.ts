import { z } from 'zod';

export const IdentifyConfigSchema = z.object({
  inputTopic: z.string().default('tapline.flows.v1'),
  outputTopic: z.string().default('tapline.flows.identified.v1'),
  /** migration candidates, keyed by VM id; the `vm-events` stage makes them one event per move (tapline.vm-events.v1) */
  eventsTopic: z.string().default('tapline.vm-events.candidates.v1'),
  inventoryTopic: z.string().default('tapline.inventory.v1'),
  /**
   * observation point -> physical host it watches (e.g. {"live:hv1:mon0": "hv1"}). An
   * observation point not listed maps to the first of its ':'-separated parts that is a host
   * of the inventory ("lab:h1" -> "h1"); with none, traffic says nothing about migrations.
   */
  observationHosts: z.record(z.string(), z.string()).default({}),
  /** traffic overrides of a VM's host kept per VM (migrations seen before the inventory knew) */
  maxOverrides: z.number().int().min(1).max(64).default(8),
}).strict();

export type IdentifyConfig = z.infer<typeof IdentifyConfigSchema>;
