/**
 * Stage `identify`: flow windows -> flow windows attributed to inventory VMs, plus VM events.
 * Input tapline.flows.v1 (FlowWindow), global table `inventory` (tapline.inventory.v1,
 * VmInventory, index keys ip:<addr> and mac:<mac>, versions by valid_from_ns), outputs
 * tapline.flows.identified.v1 (IdentifiedFlow) and tapline.vm-events.v1 (VmEvent).
 */
import type { FlowWindow } from '../../../schemas/types';
import { inventoryIndexKeys, VM_INVENTORY_SCHEMA, type VmInventory } from '../../../schemas/vm-inventory';
import type { GlobalTableSpec, StageDefinition } from '../../runtime/types';
import type { StageRegistration } from '../../registry';
import { IdentifyConfigSchema, type IdentifyConfig } from './config';
import { IdentifyProcessor, INVENTORY_TABLE, VM_HOSTS_STORE, type VmHostState } from './identify';

export { IdentifyConfigSchema, type IdentifyConfig, IdentifyProcessor, INVENTORY_TABLE, VM_HOSTS_STORE, type VmHostState };

export function inventoryTableSpec(topic = 'tapline.inventory.v1'): GlobalTableSpec<VmInventory> {
  return {
    name: INVENTORY_TABLE,
    topic,
    schema: VM_INVENTORY_SCHEMA,
    timestampOf: (v) => BigInt(v.valid_from_ns),
    indexKeys: inventoryIndexKeys,
  };
}

export function identifyStage(raw: Partial<IdentifyConfig> = {}): StageDefinition<FlowWindow> {
  const cfg = IdentifyConfigSchema.parse(raw);
  return {
    name: 'identify',
    input: { topic: cfg.inputTopic, schema: 'flow-window.v1' },
    outputs: { [cfg.outputTopic]: 'identified-flow.v1', [cfg.eventsTopic]: 'vm-event.v1' },
    stores: [VM_HOSTS_STORE],
    globals: [inventoryTableSpec(cfg.inventoryTopic) as unknown as GlobalTableSpec<never>],
    timestampOf: (f) => BigInt(f.first_seen_ns),
    create: () => new IdentifyProcessor(cfg),
  };
}

export const registration: StageRegistration = {
  name: 'identify',
  description: 'attribute flow endpoints to inventory VMs at their time; intra/inter-host/external; migration events',
  create: (c, g) => identifyStage({ inputTopic: g.topics.flows, ...(c as Partial<IdentifyConfig>) }) as unknown as StageDefinition<never>,
};
