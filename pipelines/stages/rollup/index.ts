/**
 * Stage `rollup`: identified flows -> per window totals by dimension.
 * Input tapline.flows.identified.v1 (IdentifiedFlow), output tapline.rollups.v1 (Rollup).
 */
import type { IdentifiedFlow } from '../../../schemas/identified-flow';
import type { StageDefinition } from '../../runtime/types';
import type { StageRegistration } from '../../registry';
import { RollupConfigSchema, type RollupConfig } from './config';
import { RollupProcessor, ROLLUP_FLOWS_STORE, rollupsOf, flowCopy, dimensionKeys, protoName } from './rollup';

export { RollupConfigSchema, type RollupConfig, RollupProcessor, ROLLUP_FLOWS_STORE, rollupsOf, flowCopy, dimensionKeys, protoName };

export function rollupStage(raw: Partial<RollupConfig> = {}): StageDefinition<IdentifiedFlow> {
  const cfg = RollupConfigSchema.parse(raw);
  return {
    name: 'rollup',
    input: { topic: cfg.inputTopic, schema: 'identified-flow.v1' },
    outputs: { [cfg.outputTopic]: 'rollup.v1' },
    stores: [ROLLUP_FLOWS_STORE],
    // windows arrive roughly in window order; their start is the stream time that closes them
    timestampOf: (f) => BigInt(f.window_start_ns),
    create: () => new RollupProcessor(cfg),
  };
}

export const registration: StageRegistration = {
  name: 'rollup',
  description: 'per-window totals of identified flows by VM, VM pair, protocol, service port, host pair and tenant',
  create: (c) => rollupStage(c as Partial<RollupConfig>) as unknown as StageDefinition<never>,
};
