/**
 * Stage `pathloss`: packet summaries seen at several observation points -> per (window, flow,
 * direction, upstream point, downstream point): packets seen at each, matched, lost, extra,
 * duplicates and the one-way delay between the points. See README.md.
 * Input tapline.packets.v1 (PacketSummary batches), output tapline.path-loss.v1 (PathLoss).
 */
import type { PacketSummary } from '../../../schemas/types';
import { PATH_LOSS_SCHEMA } from '../../../schemas/path-loss';
import type { StageDefinition } from '../../runtime/types';
import type { StageRegistration } from '../../registry';
import { PathLossConfigSchema, type PathLossConfig } from './config';
import { PathLossProcessor, FLOW_STORE, WINDOW_STORE } from './pathloss';

export { PathLossConfigSchema, type PathLossConfig, PathLossProcessor, FLOW_STORE, WINDOW_STORE };

export function pathLossStage(raw: Partial<PathLossConfig> = {}): StageDefinition<PacketSummary> {
  const cfg = PathLossConfigSchema.parse(raw);
  return {
    name: 'pathloss',
    input: { topic: cfg.inputTopic, schema: 'packet-summary.v1', batchSchema: 'packet-batch.v1' },
    outputs: { [cfg.outputTopic]: PATH_LOSS_SCHEMA },
    stores: [FLOW_STORE, WINDOW_STORE],
    timestampOf: (p) => BigInt(p.ts_ns),
    // Pending packets are settled when the horizon has passed: punctuate at that granularity.
    punctuateEveryNs: BigInt(Math.max(10, Math.min(cfg.horizonMs, 1000))) * 1_000_000n,
    create: () => new PathLossProcessor(cfg),
  };
}

export const registration: StageRegistration = {
  name: 'pathloss',
  description: 'loss and one-way delay between two observation points of the same traffic, by matching packets',
  create: (c, g) => pathLossStage({ inputTopic: g.topics.packets, ...(c as Partial<PathLossConfig>) }) as unknown as StageDefinition<never>,
};
