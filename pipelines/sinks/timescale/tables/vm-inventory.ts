/**
 * tapline.inventory.v1 (VmInventory, compacted, keyed by vm_id) -> vm_inventory: one row per
 * version, so the table keeps the history compaction removes from the topic. A tombstone (VM
 * removed) is expected on a compacted topic: counted, not dead-lettered (it carries no time).
 * View vm_inventory_history adds valid_to (the next version's valid_from).
 */
import { simpleSpec } from './simple';

export const vmInventory = simpleSpec('vm_inventory', 'vm-inventory.v1', 'tapline.inventory.v1', ['vm_id', 'valid_from'], { tombstones: 'skip', topicSettings: { partitions: 1, compacted: true } });
