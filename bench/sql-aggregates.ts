/**
 * bench:sql — what the continuous-aggregate hierarchy buys on the embedded TimescaleDB.
 * Synthetic rows (generate_series: BENCH_PAIRS VM pairs x BENCH_FLOWS flows each, 10-second
 * windows over BENCH_HOURS hours; 2 sketch bins per row) in identified_flows, flow_metrics and rtt_sketch_bins;
 * then: the refresh time of each level, and the analyst queries answered by real-time
 * aggregation over raw rows (nothing materialized) vs from the materialized hierarchy, against a
 * reference measured in the same run (the same top-talkers answer as a plain GROUP BY on raw).
 *
 *   npm run bench:sql              (BENCH_PAIRS=10 BENCH_FLOWS=3 BENCH_HOURS=12 by default)
 */
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { createPool } from '../lib/db/pool';
import { loadMigrations, migrate } from '../lib/db/migrate';
import { EmbeddedTimescale } from '../lib/services/timescale/embedded';
import { MIGRATIONS_DIR } from '../pipelines/sinks/timescale';

const PAIRS = Number(process.env.BENCH_PAIRS ?? 10);
const HOURS = Number(process.env.BENCH_HOURS ?? 12);
const FLOWS = Number(process.env.BENCH_FLOWS ?? 3);

function freePort(): Promise<number> {
  return new Promise((resolve) => { const s = net.createServer(); s.listen(0, '127.0.0.1', () => { const p = (s.address() as net.AddressInfo).port; s.close(() => resolve(p)); }); });
}

async function main(): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tapline-bench-sql-'));
  const server = new EmbeddedTimescale({ stateDir: dir, port: await freePort() });
  const { url } = await server.start();
  const pool = createPool(url, { embedded: true });
  const timed = async (label: string, sql: string, params: unknown[] = []): Promise<number> => {
    const t = process.hrtime.bigint();
    await pool.query(sql, params);
    const ms = Number(process.hrtime.bigint() - t) / 1e6;
    console.log(`${label.padEnd(58)} ${ms.toFixed(0).padStart(7)} ms`);
    return ms;
  };
  try {
    await migrate(pool, loadMigrations(MIGRATIONS_DIR));
    const end = new Date(Math.floor(Date.now() / 3_600_000) * 3_600_000);
    const start = new Date(end.getTime() - HOURS * 3_600_000);
    // f: flow of the pair (its own key and client port), p: VM pair, t: 10-second window
    const series = `FROM generate_series($1::timestamptz, $2::timestamptz - interval '10 s', interval '10 s') t, generate_series(1, ${PAIRS}) p, generate_series(1, ${FLOWS}) f`;
    const rows = PAIRS * FLOWS * HOURS * 360;
    console.log(`${PAIRS} VM pairs x ${FLOWS} flows x ${HOURS * 360} windows = ${rows} rows per table (x2 sketch bins), ${rows / (PAIRS * HOURS * 60)} raw rows per pair-minute`);
    await timed('insert identified_flows', `INSERT INTO identified_flows (window_start, window_end, flow_key, ip_proto, addr_a, port_a, addr_b, port_b,
        packets_ab, bytes_ab, packets_ba, bytes_ba, syn_count, synack_count, fin_count, rst_count, zero_window_count, malformed_count,
        first_seen, last_seen, observation_point, a_vm, a_name, a_host, a_tenant, b_vm, b_name, b_host, b_tenant, traffic_class)
      SELECT t, t + interval '10 s', 'k' || p || '-' || f, 6, ('10.0.0.' || p)::inet, 40000 + f, ('10.1.0.' || p % 7)::inet, 80,
        10, 1000 * p, 5, 300, 0, 0, 0, 0, 0, 0, t, t + interval '9 s', 'op', 'vm-' || p, 'vm-' || p, 'h' || p % 5, 't' || p % 3,
        'srv-' || p % 7, 'srv-' || p % 7, 'h' || p % 4, 't0', 'inter_host' ${series}`, [start, end]);
    await timed('insert flow_metrics', `INSERT INTO flow_metrics (window_start, window_end, flow_key, observation_point, ip_proto, addr_a, port_a, addr_b, port_b,
        first_seen, last_seen, packets_ab, packets_ba, bytes_ab, bytes_ba, throughput_ab_bps, throughput_ba_bps, peak_1s_bytes_ab, peak_1s_bytes_ba,
        rtt_data_ab_count, rtt_data_ab_sum_ns, rtt_data_ab_min_ns, rtt_data_ab_max_ns, rtt_data_ab_delta_sum_ns, rtt_data_ab_delta_count,
        tcp_ab_data_segments, tcp_ab_retransmitted_segments, tcp_ab_lost_before_mirror_segments, vm_a, vm_b)
      SELECT t, t + interval '10 s', 'k' || p || '-' || f, 'op', 6, ('10.0.0.' || p)::inet, 40000 + f, ('10.1.0.' || p % 7)::inet, 80, t, t + interval '9 s',
        10, 5, 1000 * p, 300, 100 * p, 30, 500, 100, 20, 20e6, 500000, 2000000, 1e6, 19, 8, p % 2, 0, 'vm-' || p, 'srv-' || p % 7 ${series}`, [start, end]);
    await timed('insert rtt_sketch_bins', `INSERT INTO rtt_sketch_bins (window_start, window_end, observation_point, flow_key, vm_a, vm_b, addr_a, addr_b, kind, gamma, bin, count)
      SELECT t, t + interval '10 s', 'op', 'k' || p || '-' || f, 'vm-' || p, 'srv-' || p % 7, ('10.0.0.' || p)::inet, ('10.1.0.' || p % 7)::inet, 'data_ab',
        1.0202020202020203, 690 + b, 10 ${series}, generate_series(0, 1) b`, [start, end]);
    const q = {
      reference: ['top talkers as a plain GROUP BY on raw identified_flows', `SELECT a_vm, sum(bytes_ab + bytes_ba) FROM identified_flows WHERE window_start >= $1 AND window_start < $2 GROUP BY a_vm ORDER BY 2 DESC LIMIT 10`],
      top: ['top_talkers(range, 10)', `SELECT * FROM top_talkers($1, $2, 10)`],
      lat: ['pair_latency_loss(range)', `SELECT * FROM pair_latency_loss($1, $2)`],
      p95: ['hourly p95 of one pair from rtt_sketch_1h', `SELECT bucket, tapline_sketch_quantile(max(gamma), array_agg(bin), array_agg(count), 0.95) FROM rtt_sketch_1h WHERE vm_a = 'vm-1' AND bucket >= $1 AND bucket < $2 GROUP BY bucket`],
    } as const;
    const range = [new Date(start.getTime() + 7 * 60_000), new Date(end.getTime() - 13 * 60_000)]; // minutes + whole hours
    console.log('-- nothing materialized: real-time aggregation over the raw rows');
    const rt: Record<string, number> = {};
    const ref1 = await timed(q.reference[0], q.reference[1], range);
    for (const k of ['top', 'lat', 'p95'] as const) rt[k] = await timed(q[k][0], q[k][1], range);
    console.log('-- refresh, level by level');
    let refreshTotal = 0;
    for (const v of ['traffic_pair', 'latency_pair', 'rtt_sketch']) {
      for (const l of ['1m', '1h', '1d']) refreshTotal += await timed(`refresh ${v}_${l} (all ${HOURS} h)`, `CALL refresh_continuous_aggregate('${v}_${l}', NULL, now())`);
    }
    await pool.query('VACUUM ANALYZE');
    console.log('-- materialized');
    const ref2 = await timed(q.reference[0], q.reference[1], range);
    const mat: Record<string, number> = {};
    for (const k of ['top', 'lat', 'p95'] as const) mat[k] = await timed(q[k][0], q[k][1], range);
    console.log('-- ratios (same run; > 1 = faster than the reference)');
    const ref = (ref1 + ref2) / 2;
    for (const k of ['top', 'lat', 'p95'] as const) {
      console.log(`${q[k][0].padEnd(44)} real-time ${(ref / rt[k]).toFixed(2)}x, materialized ${(ref / mat[k]).toFixed(2)}x of the raw GROUP BY; materialized/real-time speed-up ${(rt[k] / mat[k]).toFixed(1)}x`);
    }
    console.log(`refresh of the 9 aggregates: ${refreshTotal.toFixed(0)} ms`);
  } finally {
    await pool.end();
    await server.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((e) => { console.error(e); process.exit(1); });
