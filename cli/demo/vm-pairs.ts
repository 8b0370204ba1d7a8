/** The demo's VM view: traffic per VM pair and hosts, from identified_flows (each window counted once). */
import type { Pool } from 'pg';

export interface VmPair { a: string; a_host: string; b: string; b_host: string; traffic_class: string; bytes: number; windows: number }

export async function vmPairs(pool: Pool, observationPoints: string[], limit = 10): Promise<VmPair[]> {
  // An inter-host flow is seen at both hosts' monitors: keep one copy per flow and window.
  const r = await pool.query(
    `SELECT coalesce(a_name, host(addr_a)) AS a, coalesce(a_host, '-') AS a_host, coalesce(b_name, host(addr_b)) AS b,
            coalesce(b_host, '-') AS b_host, traffic_class, sum(bytes)::bigint AS bytes, count(*)::int AS windows
       FROM (SELECT DISTINCT ON (flow_key, window_start) a_name, a_host, addr_a, b_name, b_host, addr_b, traffic_class, bytes_ab + bytes_ba AS bytes
               FROM identified_flows WHERE observation_point = ANY($1)
              ORDER BY flow_key, window_start, bytes_ab + bytes_ba DESC) one
      GROUP BY 1, 2, 3, 4, 5 ORDER BY sum(bytes) DESC, 1, 3 LIMIT $2`, [observationPoints, limit]);
  return r.rows.map((x) => ({ ...x, bytes: Number(x.bytes) }));
}

export function formatVmPairs(rows: VmPair[]): string {
  const cells = rows.map((r) => [`${r.a} (${r.a_host})`, `${r.b} (${r.b_host})`, r.traffic_class, String(r.bytes), String(r.windows)]);
  const head = ['endpoint a (host)', 'endpoint b (host)', 'class', 'bytes', 'windows'];
  const w = head.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i].length)));
  const fmt = (c: string[]) => c.map((x, i) => (i >= 3 ? x.padStart(w[i]) : x.padEnd(w[i]))).join('  ');
  return [fmt(head), w.map((n) => '-'.repeat(n)).join('  '), ...cells.map(fmt)].join('\n');
}
