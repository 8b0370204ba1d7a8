/**
 * tapline.flow-metrics.v1 (FlowMetrics, metrics stage) -> flow_metrics (one row per flow,
 * observation point and window; each RttStats flattened to <field>_count, _sum_ns, ... _p99_ns)
 * plus rtt_sketch_bins: the DDSketch bins of every RttStats, one row per (kind, bin), so
 * percentiles over any set of windows can be computed exactly from summed bin counts.
 */
import { avroColumns, type ColumnDef } from '../../../../lib/db/avro-columns';
import { rowBuilder } from './convert';
import { nsToIso } from '../rows';
import type { TableSpec } from './types';

/** Bin number of the sketch's zero_count (samples of 0 ns have no logarithmic key). */
export const ZERO_BIN = -2147483648;
export const RTT_KINDS = { rtt_data_ab: 'data_ab', rtt_data_ba: 'data_ba', rtt_ts_ab: 'ts_ab', rtt_ts_ba: 'ts_ba', rtt_icmp_echo: 'icmp_echo' } as const;

const col = (name: string, pgType: string, conv: ColumnDef['conv'], nullable = false): ColumnDef => ({ name, pgType, conv, nullable, path: [name] });
export const SKETCH_BIN_COLUMNS: ColumnDef[] = [
  col('window_start', 'timestamp with time zone', 'ts'), col('window_end', 'timestamp with time zone', 'ts'),
  col('observation_point', 'text', 'text'), col('flow_key', 'text', 'text'),
  col('vm_a', 'text', 'text', true), col('vm_b', 'text', 'text', true),
  col('addr_a', 'inet', 'inet'), col('addr_b', 'inet', 'inet'),
  col('kind', 'text', 'text'), col('gamma', 'double precision', 'num'), col('bin', 'integer', 'num'), col('count', 'double precision', 'num'),
];

interface Sketch { gamma: number; zero_count: number; keys: number[]; counts: number[] }
interface Metrics extends Record<string, unknown> {
  window_start_ns: bigint; window_end_ns: bigint; observation_point: string; flow_key: string;
  vm_a: string | null; vm_b: string | null; addr_a: string; addr_b: string;
}

const columns = avroColumns('flow-metrics.v1');
const mainRow = rowBuilder(columns);

export const flowMetrics: TableSpec = {
  name: 'flow_metrics',
  schema: 'flow-metrics.v1',
  defaultTopic: 'tapline.flow-metrics.v1',
  targets: [
    { table: 'flow_metrics', columns, conflictKey: ['flow_key', 'observation_point', 'window_start'] },
    { table: 'rtt_sketch_bins', columns: SKETCH_BIN_COLUMNS, conflictKey: ['flow_key', 'observation_point', 'kind', 'bin', 'window_start'] },
  ],
  rows(rec, _ctx, out) {
    out(0, mainRow(rec));
    const m = rec as Metrics;
    let ws: string | null = null;
    let we: string | null = null;
    for (const [field, kind] of Object.entries(RTT_KINDS)) {
      const st = m[field] as { sketch: Sketch } | null;
      if (!st) continue;
      ws ??= nsToIso(m.window_start_ns);
      we ??= nsToIso(m.window_end_ns);
      const sk = st.sketch;
      const bin = (b: number, count: number) => out(1, [ws, we, m.observation_point, m.flow_key, m.vm_a, m.vm_b, m.addr_a, m.addr_b, kind, sk.gamma, b, count]);
      if (sk.zero_count > 0) bin(ZERO_BIN, sk.zero_count);
      for (let i = 0; i < sk.keys.length; i++) bin(sk.keys[i], sk.counts[i]);
    }
  },
};
