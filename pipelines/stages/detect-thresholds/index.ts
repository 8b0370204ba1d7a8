/**
 * Stage `detect-thresholds`: RTT (average, maximum, ΔRTT), jitter and loss (average, maximum)
 * limits per VM pair and NIC utilization per VM, from flow metrics repartitioned by endpoint
 * (tapline.detect.flow-metrics.repartition.v1, stage detect-rekey-metrics), tenants and hosts
 * from the global table `inventory` -> Alert states on tapline.alerts.v1. See docs/detectors.md.
 */
import type { FlowMetrics } from '../../../schemas/flow-metrics';
import { inventoryIndexKeys, VM_INVENTORY_SCHEMA, type VmInventory } from '../../../schemas/vm-inventory';
import type { GlobalTableSpec, StageDefinition } from '../../runtime/types';
import type { StageRegistration } from '../../registry';
import { WINDOWED_STORES } from '../../alerting/windowed';
import { DetectThresholdsConfigSchema, type DetectThresholdsConfig } from './config';
import { ThresholdsProcessor, RTT_BASELINES_STORE, INVENTORY_TABLE } from './thresholds';

export { DetectThresholdsConfigSchema, type DetectThresholdsConfig, ThresholdsProcessor };

export function detectThresholdsStage(raw: Record<string, unknown> = {}): StageDefinition<FlowMetrics> {
  const cfg = DetectThresholdsConfigSchema.parse(raw);
  const inventory: GlobalTableSpec<VmInventory> = { name: INVENTORY_TABLE, topic: cfg.inventoryTopic, schema: VM_INVENTORY_SCHEMA,
    timestampOf: (v) => BigInt(v.valid_from_ns), indexKeys: inventoryIndexKeys };
  return {
    name: 'detect-thresholds',
    input: { topic: cfg.inputTopic, schema: 'flow-metrics.v1' },
    outputs: { [cfg.outputTopic]: 'alert.v1' },
    stores: [...WINDOWED_STORES, RTT_BASELINES_STORE],
    globals: [inventory as unknown as GlobalTableSpec<never>],
    timestampOf: (m) => BigInt(m.window_start_ns),
    create: () => new ThresholdsProcessor(cfg),
  };
}

export const registration: StageRegistration = {
  name: 'detect-thresholds',
  description: 'alerts: RTT / ΔRTT / jitter / loss limits per VM pair, NIC utilization per VM (from detect-rekey-metrics)',
  create: (c) => detectThresholdsStage(c) as unknown as StageDefinition<never>,
};
