/**
 * Generates the Grafana dashboards (deploy/grafana/dashboards/*.json) that mirror the tapline
 * dashboard's views, from the panel queries below: `npx tsx deploy/grafana/build-dashboards.ts`.
 * The queries use Grafana's PostgreSQL macros ($__timeFilter, $__timeFrom/$__timeTo,
 * $__interval) and template variables ($a, $b); test/dashboard-grafana.test.ts runs every one of
 * them, macros expanded, against the real schema with demo data.
 */
import fs from 'node:fs';
import path from 'node:path';

const DS = { type: 'grafana-postgresql-datasource', uid: 'tapline-timescaledb' };
export interface PanelSpec { title: string; type: string; w: number; h: number; queries: { refId: string; sql: string; format: 'time_series' | 'table' }[]; unit?: string; options?: object; fieldConfig?: object }
export interface DashboardSpec { uid: string; title: string; vars?: { name: string; sql: string }[]; panels: PanelSpec[] }

const ts = (title: string, sql: string, unit: string, w = 12, stack = false): PanelSpec => ({ title, type: 'timeseries', w, h: 8, unit,
  queries: [{ refId: 'A', sql, format: 'time_series' }],
  fieldConfig: { defaults: { unit, custom: { stacking: { mode: stack ? 'normal' : 'none' }, fillOpacity: stack ? 40 : 0, spanNulls: false } }, overrides: [] } });
const table = (title: string, sql: string, w = 24, h = 9): PanelSpec => ({ title, type: 'table', w, h, queries: [{ refId: 'A', sql, format: 'table' }] });
const stat = (title: string, sql: string, unit: string, steps: [number, string][]): PanelSpec => ({ title, type: 'gauge', w: 8, h: 6, unit,
  queries: [{ refId: 'A', sql, format: 'table' }],
  fieldConfig: { defaults: { unit, thresholds: { mode: 'absolute', steps: [{ color: 'green', value: null }, ...steps.map(([value, color]) => ({ color, value }))] } }, overrides: [] } });

const PAIR = `((coalesce(a_vm, 'external') = '$a' AND coalesce(b_vm, 'external') = '$b') OR (coalesce(a_vm, 'external') = '$b' AND coalesce(b_vm, 'external') = '$a'))`;
const MPAIR = PAIR.replace(/a_vm/g, 'vm_a').replace(/b_vm/g, 'vm_b');
const BUCKET = (col: string) => `time_bucket('$__interval'::interval, ${col})`;

export const DASHBOARDS: DashboardSpec[] = [
  { uid: 'tapline-topology', title: 'tapline / Topology', panels: [
    { title: 'VM pairs (node graph)', type: 'nodeGraph', w: 24, h: 14, queries: [
      { refId: 'nodes', format: 'table', sql: `SELECT vm AS id, max(name) AS title, max(host) AS subtitle, sum(bytes)::float8 AS mainstat FROM (
  SELECT coalesce(a_vm, 'external') AS vm, coalesce(a_name, 'external peers') AS name, coalesce(a_host, 'external') AS host, bytes_ab + bytes_ba AS bytes FROM identified_flows WHERE $__timeFilter(window_start) AND (a_vm IS NOT NULL OR b_vm IS NOT NULL)
  UNION ALL
  SELECT coalesce(b_vm, 'external'), coalesce(b_name, 'external peers'), coalesce(b_host, 'external'), bytes_ab + bytes_ba FROM identified_flows WHERE $__timeFilter(window_start) AND (a_vm IS NOT NULL OR b_vm IS NOT NULL)) n GROUP BY vm` },
      { refId: 'edges', format: 'table', sql: `SELECT x || '|' || y AS id, x AS source, y AS target, sum(bytes)::float8 AS mainstat FROM (
  SELECT LEAST(coalesce(a_vm, 'external'), coalesce(b_vm, 'external')) AS x, GREATEST(coalesce(a_vm, 'external'), coalesce(b_vm, 'external')) AS y, bytes_ab + bytes_ba AS bytes
    FROM identified_flows WHERE $__timeFilter(window_start) AND (a_vm IS NOT NULL OR b_vm IS NOT NULL)) e WHERE x <> y GROUP BY x, y` },
    ] },
    table('Migrations', `SELECT at AS time, vm, vm_name, from_host, to_host, source FROM vm_events WHERE type = 'migration' AND $__timeFilter(at) ORDER BY at DESC`, 24, 6),
  ] },
  { uid: 'tapline-pair', title: 'tapline / Pair drill-down',
    vars: [{ name: 'a', sql: `SELECT DISTINCT coalesce(a_vm, 'external') FROM identified_flows WHERE $__timeFilter(window_start)` },
      { name: 'b', sql: `SELECT DISTINCT coalesce(b_vm, 'external') FROM identified_flows WHERE $__timeFilter(window_start)` }],
    panels: [
      ts('RTT split at the mirror (data, mean)', `SELECT ${BUCKET('window_start')} AS time,
  sum(CASE WHEN client_is_a IS NOT FALSE THEN rtt_data_ab_count * rtt_data_ab_mean_ns ELSE rtt_data_ba_count * rtt_data_ba_mean_ns END) / nullif(sum(CASE WHEN client_is_a IS NOT FALSE THEN rtt_data_ab_count ELSE rtt_data_ba_count END), 0) / 1e6 AS "server side",
  sum(CASE WHEN client_is_a IS NOT FALSE THEN rtt_data_ba_count * rtt_data_ba_mean_ns ELSE rtt_data_ab_count * rtt_data_ab_mean_ns END) / nullif(sum(CASE WHEN client_is_a IS NOT FALSE THEN rtt_data_ba_count ELSE rtt_data_ab_count END), 0) / 1e6 AS "client side"
FROM flow_metrics WHERE $__timeFilter(window_start) AND ${MPAIR} GROUP BY 1 ORDER BY 1`, 'ms'),
      ts('Throughput', `SELECT ${BUCKET('window_start')} AS time, sum(bytes_ab + bytes_ba)::float8 / extract(epoch FROM '$__interval'::interval) AS "bytes/s" FROM identified_flows WHERE $__timeFilter(window_start) AND ${PAIR} GROUP BY 1 ORDER BY 1`, 'Bps'),
      ts('Retransmissions and loss', `SELECT ${BUCKET('window_start')} AS time,
  sum(coalesce(tcp_ab_retransmitted_segments, 0) + coalesce(tcp_ba_retransmitted_segments, 0)) AS "retransmitted (after mirror)",
  sum(coalesce(tcp_ab_lost_before_mirror_segments, 0) + coalesce(tcp_ba_lost_before_mirror_segments, 0)) AS "lost before mirror",
  sum(coalesce(tcp_ab_acked_unseen_gaps, 0) + coalesce(tcp_ba_acked_unseen_gaps, 0)) AS "capture loss"
FROM flow_metrics WHERE $__timeFilter(window_start) AND ${MPAIR} GROUP BY 1 ORDER BY 1`, 'short'),
      ts('Connections: SYNs without SYN-ACK, resets', `SELECT ${BUCKET('window_start')} AS time, sum(GREATEST(syn_count - synack_count, 0)) AS "unanswered SYN", sum(rst_count) AS "RST"
FROM identified_flows WHERE $__timeFilter(window_start) AND ${PAIR} GROUP BY 1 ORDER BY 1`, 'short'),
      ts('DNS / HTTP latency', `SELECT ${BUCKET('ts')} AS time, kind AS metric, avg(latency_ns) / 1e6 AS value FROM l7_events
WHERE $__timeFilter(ts) AND kind IN ('DNS_RESPONSE', 'HTTP_RESPONSE') AND flow_key IN (SELECT flow_key FROM identified_flows WHERE $__timeFilter(window_start) AND ${PAIR})
GROUP BY 1, 2 ORDER BY 1`, 'ms'),
      table('Alerts for the pair', `SELECT first_seen AS time, type, severity, state, summary FROM alerts
WHERE first_seen <= $__timeTo() AND last_seen >= $__timeFrom() AND ((vm_a = '$a' AND vm_b = '$b') OR (vm_a = '$b' AND vm_b = '$a')) ORDER BY first_seen DESC`, 12),
    ] },
  { uid: 'tapline-trends', title: 'tapline / Trends', panels: [
    ts('Bytes/s by sending VM', `SELECT ${BUCKET('window_start')} AS time, vm AS metric, sum(bytes)::float8 / extract(epoch FROM '$__interval'::interval) AS value FROM (
  SELECT window_start, coalesce(a_vm, 'external') AS vm, bytes_ab AS bytes FROM identified_flows WHERE $__timeFilter(window_start)
  UNION ALL SELECT window_start, coalesce(b_vm, 'external'), bytes_ba FROM identified_flows WHERE $__timeFilter(window_start)) s GROUP BY 1, 2 ORDER BY 1`, 'Bps', 24, true),
    ts('Bytes/s by service port', `SELECT ${BUCKET('window_start')} AS time,
  CASE WHEN ip_proto IN (6, 17) THEN (CASE ip_proto WHEN 6 THEN 'tcp/' ELSE 'udp/' END) || LEAST(port_a, port_b) ELSE 'ip/' || ip_proto END AS metric,
  sum(bytes_ab + bytes_ba)::float8 / extract(epoch FROM '$__interval'::interval) AS value FROM identified_flows WHERE $__timeFilter(window_start) GROUP BY 1, 2 ORDER BY 1`, 'Bps', 12, true),
    ts('Bytes/s by host pair', `SELECT ${BUCKET('window_start')} AS time, LEAST(coalesce(a_host, 'external'), coalesce(b_host, 'external')) || ' - ' || GREATEST(coalesce(a_host, 'external'), coalesce(b_host, 'external')) AS metric,
  sum(bytes_ab + bytes_ba)::float8 / extract(epoch FROM '$__interval'::interval) AS value FROM identified_flows WHERE $__timeFilter(window_start) GROUP BY 1, 2 ORDER BY 1`, 'Bps', 12, true),
  ] },
  { uid: 'tapline-performance', title: 'tapline / Performance', panels: [
    stat('RTT (mean of both sides)', `SELECT (sum(rtt_data_ab_count * rtt_data_ab_mean_ns) / nullif(sum(rtt_data_ab_count), 0) + sum(rtt_data_ba_count * rtt_data_ba_mean_ns) / nullif(sum(rtt_data_ba_count), 0)) / 1e6 AS rtt FROM flow_metrics WHERE $__timeFilter(window_start)`, 'ms', [[10, 'orange'], [50, 'red']]),
    stat('Peak NIC utilization', `SELECT 100 * max(GREATEST(utilization_a_out, utilization_a_in, utilization_b_out, utilization_b_in)) AS utilization FROM flow_metrics WHERE $__timeFilter(window_start)`, 'percent', [[70, 'orange'], [90, 'red']]),
    stat('Loss', `SELECT 100.0 * sum(coalesce(tcp_ab_retransmitted_segments, 0) + coalesce(tcp_ba_retransmitted_segments, 0) + coalesce(tcp_ab_lost_before_mirror_segments, 0) + coalesce(tcp_ba_lost_before_mirror_segments, 0))
  / nullif(sum(coalesce(tcp_ab_data_segments, 0) + coalesce(tcp_ba_data_segments, 0)), 0) AS loss FROM flow_metrics WHERE $__timeFilter(window_start)`, 'percent', [[1, 'orange'], [5, 'red']]),
    table('Pairs', `SELECT LEAST(coalesce(vm_a, 'external'), coalesce(vm_b, 'external')) AS a, GREATEST(coalesce(vm_a, 'external'), coalesce(vm_b, 'external')) AS b,
  sum(bytes_ab + bytes_ba) AS bytes, max(throughput_ab_bps + throughput_ba_bps) AS "peak bytes/s",
  (sum(rtt_data_ab_count * rtt_data_ab_mean_ns) / nullif(sum(rtt_data_ab_count), 0) + sum(rtt_data_ba_count * rtt_data_ba_mean_ns) / nullif(sum(rtt_data_ba_count), 0)) / 1e6 AS "RTT ms",
  100.0 * sum(coalesce(tcp_ab_retransmitted_segments, 0) + coalesce(tcp_ba_retransmitted_segments, 0) + coalesce(tcp_ab_lost_before_mirror_segments, 0) + coalesce(tcp_ba_lost_before_mirror_segments, 0))
    / nullif(sum(coalesce(tcp_ab_data_segments, 0) + coalesce(tcp_ba_data_segments, 0)), 0) AS "loss %"
FROM flow_metrics WHERE $__timeFilter(window_start) AND (vm_a IS NOT NULL OR vm_b IS NOT NULL) GROUP BY 1, 2 ORDER BY bytes DESC`),
  ] },
  { uid: 'tapline-anomalies', title: 'tapline / Anomaly events', panels: [
    ts('Alerts opened', `SELECT ${BUCKET('first_seen')} AS time, severity AS metric, count(*) AS value FROM alerts WHERE $__timeFilter(first_seen) GROUP BY 1, 2 ORDER BY 1`, 'short', 24, true),
    table('Alerts', `SELECT last_seen AS time, type, severity, state, coalesce(vm_a, host(addr_a)) AS "VM A", coalesce(vm_b, host(addr_b)) AS "VM B", summary, acked_by, resolved_by
FROM alerts WHERE first_seen <= $__timeTo() AND last_seen >= $__timeFrom() ORDER BY last_seen DESC LIMIT 500`, 24, 12),
  ] },
  { uid: 'tapline-capacity', title: 'tapline / Capacity', panels: [
    ts('NIC utilization (busiest direction, window mean)', `SELECT ${BUCKET('window_start')} AS time, vm AS metric, 100 * max(u) AS value FROM (
  SELECT window_start, vm_a AS vm, GREATEST(utilization_a_out, utilization_a_in) AS u FROM flow_metrics WHERE $__timeFilter(window_start) AND vm_a IS NOT NULL
  UNION ALL SELECT window_start, vm_b, GREATEST(utilization_b_out, utilization_b_in) FROM flow_metrics WHERE $__timeFilter(window_start) AND vm_b IS NOT NULL) s GROUP BY 1, 2 ORDER BY 1`, 'percent', 24),
    table('Host pairs', `SELECT LEAST(a_host, b_host) AS a, GREATEST(a_host, b_host) AS b, sum(bytes_ab + bytes_ba) AS bytes FROM identified_flows
WHERE $__timeFilter(window_start) AND a_host IS NOT NULL AND b_host IS NOT NULL GROUP BY 1, 2 ORDER BY 3 DESC`, 12),
    table('Capacity forecasts', `SELECT updated AS time, severity, coalesce(vm_a, host_a) AS subject, summary, evidence::text AS evidence FROM alerts WHERE type = 'capacity_forecast' AND state <> 'resolved' ORDER BY updated DESC`, 12),
  ] },
];

function dashboard(d: DashboardSpec): object {
  let x = 0; let y = 0; let rowH = 0; let id = 1;
  const panels = d.panels.map((p) => {
    if (x + p.w > 24) { x = 0; y += rowH; rowH = 0; }
    const gridPos = { x, y, w: p.w, h: p.h };
    x += p.w; rowH = Math.max(rowH, p.h);
    return {
      id: id++, title: p.title, type: p.type, datasource: DS, gridPos,
      targets: p.queries.map((q) => ({ refId: q.refId, datasource: DS, editorMode: 'code', format: q.format, rawQuery: true, rawSql: q.sql })),
      fieldConfig: p.fieldConfig ?? { defaults: p.unit ? { unit: p.unit } : {}, overrides: [] }, options: p.options ?? {},
    };
  });
  return {
    uid: d.uid, title: d.title, tags: ['tapline'], timezone: 'browser', schemaVersion: 39, version: 1, editable: false,
    time: { from: 'now-24h', to: 'now' }, refresh: '30s',
    templating: { list: (d.vars ?? []).map((v) => ({ name: v.name, type: 'query', datasource: DS, query: v.sql, definition: v.sql, refresh: 2, includeAll: false, multi: false })) },
    links: [{ title: 'tapline dashboards', type: 'dashboards', tags: ['tapline'], asDropdown: true }],
    panels,
  };
}

export const DASHBOARD_DIR = path.join(__dirname, 'dashboards');

if (require.main === module) {
  for (const d of DASHBOARDS) {
    const file = path.join(DASHBOARD_DIR, `${d.uid}.json`);
    fs.writeFileSync(file, `${JSON.stringify(dashboard(d), null, 2)}\n`);
    process.stdout.write(`${file}\n`);
  }
}
