/**
 * Stage `metrics`: packet summaries -> per flow, observation point and tumbling event-time
 * window, network performance: RTT (handshake split, data->ACK per direction with Karn's rule,
 * TCP timestamps, ICMP echo) with mergeable DDSketch bins, throughput (mean and peak 1 s) and
 * loss indicators (retransmissions, loss before/after the mirror, reordering, duplicate ACKs,
 * zero windows). Input tapline.packets.v1 (PacketBatch of PacketSummary), output
 * tapline.flow-metrics.v1 (FlowMetrics, schemas/flow-metrics.v1.avsc). Global table `inventory`
 * (tapline.inventory.v1): the VMs holding the endpoints' addresses, for utilization against their
 * NIC capacity.
 */
import { FLOW_METRICS_SCHEMA } from '../../../schemas/flow-metrics';
import { inventoryIndexKeys, VM_INVENTORY_SCHEMA, type VmInventory } from '../../../schemas/vm-inventory';
import type { GlobalTableSpec, StageDefinition } from '../../runtime/types';
import type { StageRegistration } from '../../registry';
import { MetricsConfigSchema, type MetricsConfig } from './config';
import { MetricsProcessor, CONN_STORE, WINDOW_STORE, META_STORE, INVENTORY_TABLE } from './processor';
import { connSerde, windowSerde } from './state-serde';
import { METRICS_FIELDS, type MetricsPacket } from './packet';

export { MetricsConfigSchema, type MetricsConfig, MetricsProcessor, CONN_STORE, WINDOW_STORE, META_STORE, INVENTORY_TABLE, METRICS_FIELDS, type MetricsPacket };

/** The VM inventory (compacted, read by every task), versions by valid_from_ns, looked up by `ip:<addr>`. */
function inventoryTable(topic: string): GlobalTableSpec<VmInventory> {
  return { name: INVENTORY_TABLE, topic, schema: VM_INVENTORY_SCHEMA, timestampOf: (v) => BigInt(v.valid_from_ns), indexKeys: inventoryIndexKeys };
}

export function metricsStage(raw: Partial<MetricsConfig> = {}): StageDefinition<MetricsPacket> {
  const cfg = MetricsConfigSchema.parse(raw);
  return {
    name: 'metrics',
    input: { topic: cfg.inputTopic, schema: 'packet-summary.v1', batchSchema: 'packet-batch.v1', fields: METRICS_FIELDS },
    outputs: { [cfg.outputTopic]: FLOW_METRICS_SCHEMA },
    stores: [CONN_STORE, WINDOW_STORE, META_STORE],
    // compact Avro state: small changelog records, and idle connections kept packed in memory
    serdes: { [CONN_STORE]: connSerde, [WINDOW_STORE]: windowSerde },
    hotEntries: cfg.hotEntries,
    globals: [inventoryTable(cfg.inventoryTopic) as unknown as GlobalTableSpec<never>],
    timestampOf: (p) => BigInt(p.ts_ns),
    create: () => new MetricsProcessor(cfg),
  };
}

export const registration: StageRegistration = {
  name: 'metrics',
  description: 'per-flow window RTT (handshake, data->ACK, TCP timestamps, ICMP echo) with DDSketch bins, throughput and loss',
  create: (c, g) => metricsStage({ inputTopic: g.topics.packets, ...(c as Partial<MetricsConfig>) }) as unknown as StageDefinition<never>,
};
