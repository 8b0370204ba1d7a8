/**
 * Stage `detect-rekey-metrics`: flow metrics (keyed by flow key) -> the same records keyed by
 * endpoint (`ep|<vm id or ip:addr>`, one copy per end) on
 * tapline.detect.flow-metrics.repartition.v1, read by detect-thresholds: a pair's flows all
 * meet in its client's task, a VM's flows (for NIC utilization) in the VM's task.
 */
import { z } from 'zod';
import type { FlowMetrics } from '../../../schemas/flow-metrics';
import type { StageDefinition } from '../../runtime/types';
import type { StageRegistration } from '../../registry';
import { RekeyProcessor } from '../../alerting/rekey';
import { endpointId } from '../../alerting/flow-view';

export const METRICS_REPARTITION_TOPIC = 'tapline.detect.flow-metrics.repartition.v1';

export const RekeyMetricsConfigSchema = z.object({
  inputTopic: z.string().default('tapline.flow-metrics.v1'),
  outputTopic: z.string().default(METRICS_REPARTITION_TOPIC).describe('internal repartition topic keyed by endpoint'),
}).strict();
export type RekeyMetricsConfig = z.infer<typeof RekeyMetricsConfigSchema>;

export const metricsEndpointKey = (vm: string | null, addr: string): string => `ep|${endpointId(vm, addr)}`;

export function rekeyMetricsStage(raw: Partial<RekeyMetricsConfig> = {}): StageDefinition<FlowMetrics> {
  const cfg = RekeyMetricsConfigSchema.parse(raw);
  return {
    name: 'detect-rekey-metrics',
    input: { topic: cfg.inputTopic, schema: 'flow-metrics.v1' },
    outputs: { [cfg.outputTopic]: 'flow-metrics.v1' },
    stores: [],
    timestampOf: (m) => BigInt(m.window_start_ns),
    create: () => new RekeyProcessor<FlowMetrics>(cfg.outputTopic, (m) => [metricsEndpointKey(m.vm_a, m.addr_a), metricsEndpointKey(m.vm_b, m.addr_b)]),
  };
}

export const registration: StageRegistration = {
  name: 'detect-rekey-metrics',
  description: 'repartition flow metrics by endpoint for detect-thresholds',
  create: (c) => rekeyMetricsStage(c as Partial<RekeyMetricsConfig>) as unknown as StageDefinition<never>,
};
