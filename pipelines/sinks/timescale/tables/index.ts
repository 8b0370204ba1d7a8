/** Every topic the TimescaleDB sink can write, by name (sink.tables / sink.topics in the configuration). */
import type { TableSpec } from './types';
import { flowWindows } from './flow-windows';
import { identifiedFlows } from './identified-flows';
import { flowMetrics } from './flow-metrics';
import { rollups } from './rollups';
import { l7Events } from './l7-events';
import { pathLoss } from './path-loss';
import { probeResults } from './probe-results';
import { captureHealth } from './capture-health';
import { interfaceCounters } from './interface-counters';
import { vmInventory } from './vm-inventory';
import { vmEvents } from './vm-events';
import { alerts } from './alerts';

export type { TableSpec, Target, RowContext, RowOut } from './types';

export const TABLE_SPECS: readonly TableSpec[] = [
  flowWindows, identifiedFlows, flowMetrics, rollups, l7Events, pathLoss, probeResults,
  captureHealth, interfaceCounters, vmInventory, vmEvents, alerts,
];

export const SPEC_NAMES = TABLE_SPECS.map((s) => s.name);

export function tableSpec(name: string): TableSpec {
  const s = TABLE_SPECS.find((x) => x.name === name);
  if (!s) throw new Error(`unknown sink table "${name}" (known: ${SPEC_NAMES.join(', ')})`);
  return s;
}
