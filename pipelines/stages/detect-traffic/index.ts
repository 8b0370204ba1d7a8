/**
 * Stage `detect-traffic`: traffic bursts (per VM and VM pair, robust EWMA baseline) and new
 * communication pairs (per tenant, after a learning period), from identified flows keyed by
 * endpoint (tapline.detect.flows.repartition.v1, stage detect-rekey-flows) -> Alert states on
 * tapline.alerts.v1. See README.md (baseline choice) and docs/detectors.md.
 */
import type { IdentifiedFlow } from '../../../schemas/identified-flow';
import type { StageDefinition } from '../../runtime/types';
import type { StageRegistration } from '../../registry';
import { WINDOWED_STORES } from '../../alerting/windowed';
import { DetectTrafficConfigSchema, type DetectTrafficConfig } from './config';
import { TrafficProcessor, BASELINES_STORE, PAIRS_STORE, SOURCES_STORE } from './traffic';

export { DetectTrafficConfigSchema, type DetectTrafficConfig, TrafficProcessor, BASELINES_STORE, PAIRS_STORE, SOURCES_STORE };

export function detectTrafficStage(raw: Record<string, unknown> = {}): StageDefinition<IdentifiedFlow> {
  const cfg = DetectTrafficConfigSchema.parse(raw);
  return {
    name: 'detect-traffic',
    input: { topic: cfg.inputTopic, schema: 'identified-flow.v1' },
    outputs: { [cfg.outputTopic]: 'alert.v1' },
    stores: [...WINDOWED_STORES, BASELINES_STORE, PAIRS_STORE, SOURCES_STORE],
    timestampOf: (f) => BigInt(f.window_start_ns),
    create: () => new TrafficProcessor(cfg),
  };
}

export const registration: StageRegistration = {
  name: 'detect-traffic',
  description: 'alerts: traffic bursts per VM and VM pair (robust baseline) and new communication pairs (from detect-rekey-flows)',
  create: (c) => detectTrafficStage(c) as unknown as StageDefinition<never>,
};
