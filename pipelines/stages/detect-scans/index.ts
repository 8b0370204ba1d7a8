/**
 * Stage `detect-scans`: port scans, host sweeps, SYN floods, ICMP floods and connection
 * failures per endpoint, from identified flows repartitioned by endpoint
 * (tapline.detect.flows.repartition.v1, stage detect-rekey-flows) -> Alert states on
 * tapline.alerts.v1 keyed by dedup_key. See docs/detectors.md.
 */
import type { IdentifiedFlow } from '../../../schemas/identified-flow';
import type { StageDefinition } from '../../runtime/types';
import type { StageRegistration } from '../../registry';
import { WINDOWED_STORES } from '../../alerting/windowed';
import { DetectScansConfigSchema, type DetectScansConfig } from './config';
import { ScansProcessor } from './scans';

export { DetectScansConfigSchema, type DetectScansConfig, ScansProcessor };

export function detectScansStage(raw: Record<string, unknown> = {}): StageDefinition<IdentifiedFlow> {
  const cfg = DetectScansConfigSchema.parse(raw);
  return {
    name: 'detect-scans',
    input: { topic: cfg.inputTopic, schema: 'identified-flow.v1' },
    outputs: { [cfg.outputTopic]: 'alert.v1' },
    stores: WINDOWED_STORES,
    timestampOf: (f) => BigInt(f.window_start_ns),
    create: () => new ScansProcessor(cfg),
  };
}

export const registration: StageRegistration = {
  name: 'detect-scans',
  description: 'alerts: port scans, host sweeps, SYN/ICMP floods, connection failures (per endpoint, from detect-rekey-flows)',
  create: (c) => detectScansStage(c) as unknown as StageDefinition<never>,
};
