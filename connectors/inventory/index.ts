/** Connector `inventory-file`: VM inventory (YAML/JSON file, or virsh) -> tapline.inventory.v1 (compacted). */
import type { ConnectorRegistration } from '../registry';
import { InventoryConnector, FileSource, type InventoryChange } from './inventory';
import { InventoryConfigSchema, type InventoryConfig } from './config';
import { parseInventory, type VmEntry } from './entries';
import { VirshSource, parseVirshList, parseDomiflist, parseDomifaddr } from './virsh';

export { InventoryConnector, FileSource, InventoryConfigSchema, type InventoryConfig, type InventoryChange, parseInventory, type VmEntry,
  VirshSource, parseVirshList, parseDomiflist, parseDomifaddr };

export const registration: ConnectorRegistration<InventoryConfig> = {
  type: 'inventory-file',
  description: 'VM inventory from a YAML/JSON file (watched) or virsh -> compacted tapline.inventory.v1, changes and tombstones only',
  configSchema: InventoryConfigSchema,
  create: (cfg, kafka) => new InventoryConnector(cfg, kafka),
};
