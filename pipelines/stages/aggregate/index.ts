/**
 * Stage `aggregate`: packet summaries -> per-flow tumbling-window totals.
 * Input tapline.packets.v1 (PacketSummary), output tapline.flows.v1 (FlowWindow).
 */
import type { StageDefinition } from '../../runtime/types';
import type { StageRegistration } from '../../registry';
import { AggregateConfigSchema, type AggregateConfig } from './config';
import { AggregateProcessor, AGGREGATE_FIELDS, FLOW_STORE, type AggregatePacket } from './aggregate';
import { flowStateSerde } from './state-serde';

export { AggregateConfigSchema, type AggregateConfig, AggregateProcessor, AGGREGATE_FIELDS, FLOW_STORE, type AggregatePacket };

export function aggregateStage(raw: Partial<AggregateConfig> = {}): StageDefinition<AggregatePacket> {
  const cfg = AggregateConfigSchema.parse(raw);
  return {
    name: 'aggregate',
    input: { topic: cfg.inputTopic, schema: 'packet-summary.v1', batchSchema: 'packet-batch.v1', fields: AGGREGATE_FIELDS },
    outputs: { [cfg.outputTopic]: 'flow-window.v1', [cfg.lateTopic]: 'packet-summary.v1' },
    stores: [FLOW_STORE],
    serdes: { [FLOW_STORE]: flowStateSerde },
    hotEntries: cfg.hotEntries,
    timestampOf: (p) => BigInt(p.ts_ns),
    create: () => new AggregateProcessor(cfg),
  };
}

export const registration: StageRegistration = {
  name: 'aggregate',
  description: 'per-flow tumbling-window packet and byte totals',
  create: (c, g) => aggregateStage({ inputTopic: g.topics.packets, outputTopic: g.topics.flows, lateTopic: g.topics.late,
    ...(c as Partial<AggregateConfig>) }) as unknown as StageDefinition<never>,
};
