/**
 * TypeScript view of schemas/vm-inventory.v1.avsc (topic tapline.inventory.v1, compacted, keyed
 * by vm_id), written by the `inventory-file` connector and read by every worker as the global
 * table `inventory`. Field names and nullability must match the .avsc (schemas/inventory-schemas.test.ts).
 */
import type { Long } from './types';

export const VM_INVENTORY_SCHEMA = 'vm-inventory.v1';
export const VM_INVENTORY_TOPIC = 'tapline.inventory.v1';

export interface VmInventory {
  vm_id: string;
  name: string;
  macs: string[];
  ips: string[];
  host: string;
  tenant: string | null;
  project: string | null;
  subnet: string | null;
  nic_capacity_bps: Long | null;
  valid_from_ns: Long;
}

/** Index keys of a version in the global table: its IPs as `ip:<addr>` and MACs as `mac:<mac>`. */
export function inventoryIndexKeys(v: VmInventory): string[] {
  return [...v.ips.map((ip) => `ip:${ip}`), ...v.macs.map((m) => `mac:${m.toLowerCase()}`)];
}
