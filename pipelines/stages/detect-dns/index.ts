/**
 * Stage `detect-dns`: NXDOMAIN bursts and DNS tunnel suspects (long / high-entropy query
 * names) per DNS client, from DNS events repartitioned by client (tapline.detect.dns.repartition.v1,
 * stage detect-rekey-dns) and the global table `inventory` -> Alert states on tapline.alerts.v1.
 */
import type { L7Event } from '../../../schemas/l7-event';
import { inventoryIndexKeys, VM_INVENTORY_SCHEMA, type VmInventory } from '../../../schemas/vm-inventory';
import type { GlobalTableSpec, StageDefinition } from '../../runtime/types';
import type { StageRegistration } from '../../registry';
import { WINDOWED_STORES } from '../../alerting/windowed';
import { DetectDnsConfigSchema, type DetectDnsConfig } from './config';
import { DnsProcessor, INVENTORY_TABLE } from './dns';

export { DetectDnsConfigSchema, type DetectDnsConfig, DnsProcessor };

export function detectDnsStage(raw: Record<string, unknown> = {}): StageDefinition<L7Event> {
  const cfg = DetectDnsConfigSchema.parse(raw);
  const inventory: GlobalTableSpec<VmInventory> = { name: INVENTORY_TABLE, topic: cfg.inventoryTopic, schema: VM_INVENTORY_SCHEMA,
    timestampOf: (v) => BigInt(v.valid_from_ns), indexKeys: inventoryIndexKeys };
  return {
    name: 'detect-dns',
    input: { topic: cfg.inputTopic, schema: 'l7-event.v1' },
    outputs: { [cfg.outputTopic]: 'alert.v1' },
    stores: WINDOWED_STORES,
    globals: [inventory as unknown as GlobalTableSpec<never>],
    timestampOf: (e) => BigInt(e.ts_ns),
    create: () => new DnsProcessor(cfg),
  };
}

export const registration: StageRegistration = {
  name: 'detect-dns',
  description: 'alerts: NXDOMAIN bursts and DNS tunnel suspects per DNS client (from detect-rekey-dns)',
  create: (c) => detectDnsStage(c) as unknown as StageDefinition<never>,
};
