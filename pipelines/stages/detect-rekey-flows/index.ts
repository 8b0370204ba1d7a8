/**
 * Stage `detect-rekey-flows`: identified flows (keyed by flow key) -> the same records keyed by
 * detector subject on tapline.detect.flows.repartition.v1, read by detect-traffic,
 * detect-scans and detect-capacity. Each flow goes out once per endpoint (`ep|tenant|id`, so
 * a VM's inbound and outbound flows meet in one task) and once per host pair
 * (`hp|h1|h2`, unordered, inter-host traffic only, for the capacity forecast).
 */
import { z } from 'zod';
import type { IdentifiedFlow } from '../../../schemas/identified-flow';
import type { StageDefinition } from '../../runtime/types';
import type { StageRegistration } from '../../registry';
import { RekeyProcessor } from '../../alerting/rekey';
import { endpointKey, hostPairKey, viewOf } from '../../alerting/flow-view';

export const FLOWS_REPARTITION_TOPIC = 'tapline.detect.flows.repartition.v1';

export const RekeyFlowsConfigSchema = z.object({
  inputTopic: z.string().default('tapline.flows.identified.v1'),
  outputTopic: z.string().default(FLOWS_REPARTITION_TOPIC).describe('internal repartition topic keyed by detector subject'),
  hostPairs: z.boolean().default(true).describe('also key inter-host flows by host pair (needed by detect-capacity host-pair forecasts)'),
}).strict();
export type RekeyFlowsConfig = z.infer<typeof RekeyFlowsConfigSchema>;

export function flowDetectorKeys(f: IdentifiedFlow, hostPairs = true): string[] {
  const v = viewOf(f);
  const keys = [endpointKey(v.src), endpointKey(v.dst)];
  if (hostPairs && f.traffic_class === 'inter_host' && v.src.host && v.dst.host && v.src.host !== v.dst.host) keys.push(hostPairKey(v.src.host, v.dst.host));
  return keys;
}

export function rekeyFlowsStage(raw: Partial<RekeyFlowsConfig> = {}): StageDefinition<IdentifiedFlow> {
  const cfg = RekeyFlowsConfigSchema.parse(raw);
  return {
    name: 'detect-rekey-flows',
    input: { topic: cfg.inputTopic, schema: 'identified-flow.v1' },
    outputs: { [cfg.outputTopic]: 'identified-flow.v1' },
    stores: [],
    timestampOf: (f) => BigInt(f.window_start_ns),
    create: () => new RekeyProcessor<IdentifiedFlow>(cfg.outputTopic, (f) => flowDetectorKeys(f, cfg.hostPairs)),
  };
}

export const registration: StageRegistration = {
  name: 'detect-rekey-flows',
  description: 'repartition identified flows by detector subject (endpoint, host pair) for the flow detectors',
  create: (c) => rekeyFlowsStage(c as Partial<RekeyFlowsConfig>) as unknown as StageDefinition<never>,
};
