/**
 * Stage `detect-capacity`: per VM NIC and per host pair, a linear trend of the hourly peak
 * utilization and the date it reaches a level -> capacity_forecast alerts on tapline.alerts.v1.
 * Input: identified flows keyed by endpoint and host pair (tapline.detect.flows.repartition.v1,
 * stage detect-rekey-flows); NIC capacities from the global table `inventory`.
 */
import type { IdentifiedFlow } from '../../../schemas/identified-flow';
import { inventoryIndexKeys, VM_INVENTORY_SCHEMA, type VmInventory } from '../../../schemas/vm-inventory';
import type { GlobalTableSpec, StageDefinition } from '../../runtime/types';
import type { StageRegistration } from '../../registry';
import { WINDOWED_STORES } from '../../alerting/windowed';
import { DetectCapacityConfigSchema, type DetectCapacityConfig } from './config';
import { CapacityProcessor, HISTORY_STORE, INVENTORY_TABLE } from './capacity';

export { DetectCapacityConfigSchema, type DetectCapacityConfig, CapacityProcessor, HISTORY_STORE };

export function detectCapacityStage(raw: Record<string, unknown> = {}): StageDefinition<IdentifiedFlow> {
  const cfg = DetectCapacityConfigSchema.parse(raw);
  const inventory: GlobalTableSpec<VmInventory> = { name: INVENTORY_TABLE, topic: cfg.inventoryTopic, schema: VM_INVENTORY_SCHEMA,
    timestampOf: (v) => BigInt(v.valid_from_ns), indexKeys: inventoryIndexKeys };
  return {
    name: 'detect-capacity',
    input: { topic: cfg.inputTopic, schema: 'identified-flow.v1' },
    outputs: { [cfg.outputTopic]: 'alert.v1' },
    stores: [...WINDOWED_STORES, HISTORY_STORE],
    globals: [inventory as unknown as GlobalTableSpec<never>],
    timestampOf: (f) => BigInt(f.window_start_ns),
    create: () => new CapacityProcessor(cfg),
  };
}

export const registration: StageRegistration = {
  name: 'detect-capacity',
  description: 'alerts: when, at the current growth, a VM NIC or host pair reaches a utilization level (linear trend of hourly peaks)',
  create: (c) => detectCapacityStage(c) as unknown as StageDefinition<never>,
};
