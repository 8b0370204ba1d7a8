/**
 * The demo's answer: top flows of one observation point from TimescaleDB, summed over all
 * windows, and a comparison with tshark's conversation table for the same file.
 */
import type { Pool } from 'pg';
import { conversationTable, tsharkAvailable, wiresharkSize } from '../../lib/reference/tshark';

export interface TopFlow {
  ip_proto: number; addr_a: string; port_a: number; addr_b: string; port_b: number;
  packets_ab: number; bytes_ab: number; packets_ba: number; bytes_ba: number; windows: number;
}

export async function topFlows(pool: Pool, observationPoint: string, limit = 10, proto?: number): Promise<TopFlow[]> {
  const r = await pool.query(
    `SELECT ip_proto, host(addr_a) AS addr_a, port_a, host(addr_b) AS addr_b, port_b,
            sum(packets_ab)::bigint AS packets_ab, sum(bytes_ab)::bigint AS bytes_ab,
            sum(packets_ba)::bigint AS packets_ba, sum(bytes_ba)::bigint AS bytes_ba, count(*)::int AS windows
       FROM flow_windows
      WHERE observation_point = $1 AND ($3::int IS NULL OR ip_proto = $3)
      GROUP BY ip_proto, addr_a, port_a, addr_b, port_b
      ORDER BY sum(bytes_ab + bytes_ba) DESC, addr_a, port_a, addr_b, port_b
      LIMIT $2`, [observationPoint, limit, proto ?? null]);
  return r.rows.map((x) => ({ ...x, packets_ab: Number(x.packets_ab), bytes_ab: Number(x.bytes_ab), packets_ba: Number(x.packets_ba), bytes_ba: Number(x.bytes_ba) }));
}

const PROTO: Record<number, string> = { 1: 'icmp', 6: 'tcp', 17: 'udp', 58: 'icmp6', 132: 'sctp' };

function ep(addr: string, port: number): string { return addr.includes(':') ? `[${addr}]:${port}` : `${addr}:${port}`; }

export function formatTopFlows(flows: TopFlow[]): string {
  const rows = flows.map((f) => [
    PROTO[f.ip_proto] ?? String(f.ip_proto), `${ep(f.addr_a, f.port_a)} <-> ${ep(f.addr_b, f.port_b)}`,
    String(f.packets_ab), String(f.bytes_ab), String(f.packets_ba), String(f.bytes_ba), String(f.bytes_ab + f.bytes_ba), String(f.windows),
  ]);
  const head = ['proto', 'flow (a <-> b)', 'pkts a->b', 'bytes a->b', 'pkts b->a', 'bytes b->a', 'bytes', 'windows'];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const fmt = (r: string[]) => r.map((c, i) => (i <= 1 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  return [fmt(head), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(fmt)].join('\n');
}

export interface TsharkCheck { available: boolean; compared: number; matched: number; mismatches: string[] }

/** Every TCP conversation tshark lists must appear with the same frames and bytes each way. */
export async function checkAgainstTshark(pool: Pool, observationPoint: string, file: string): Promise<TsharkCheck> {
  if (!tsharkAvailable()) return { available: false, compared: 0, matched: 0, mismatches: [] };
  const ours = await topFlows(pool, observationPoint, 100_000, 6);
  const byKey = new Map(ours.map((f) => [`${ep(f.addr_a, f.port_a)}|${ep(f.addr_b, f.port_b)}`, f]));
  const res: TsharkCheck = { available: true, compared: 0, matched: 0, mismatches: [] };
  // tshark lists each TCP stream; a client port reused later (same 5-tuple) is one flow to us.
  // Rows of one 5-tuple are compared together: frames summed (sizes are rounded text, so the
  // bytes are only compared for 5-tuples tshark lists once).
  const groups = new Map<string, { rows: ReturnType<typeof conversationTable>; swapped: boolean[] }>();
  for (const c of conversationTable(file, 'tcp')) {
    const k = `${c.a}|${c.b}`, rk = `${c.b}|${c.a}`;
    const g = groups.get(k) ?? groups.get(rk);
    if (g) { g.rows.push(c); g.swapped.push(!groups.has(k)); } else groups.set(k, { rows: [c], swapped: [false] });
  }
  for (const g of groups.values()) {
    if (g.rows.length > 1) {
      res.compared++;
      const c0 = g.rows[0];
      const f = byKey.get(`${c0.a}|${c0.b}`) ?? byKey.get(`${c0.b}|${c0.a}`);
      const fwd = byKey.has(`${c0.a}|${c0.b}`);
      const ab = g.rows.reduce((n, c, i) => n + (g.swapped[i] ? c.framesBA : c.framesAB), 0);
      const ba = g.rows.reduce((n, c, i) => n + (g.swapped[i] ? c.framesAB : c.framesBA), 0);
      const [pAB, pBA] = f ? (fwd ? [f.packets_ab, f.packets_ba] : [f.packets_ba, f.packets_ab]) : [-1, -1];
      if (pAB === ab && pBA === ba) res.matched++;
      else res.mismatches.push(`${c0.a} <-> ${c0.b} (${g.rows.length} tshark streams): tshark ${ab}/${ba} frames, tapline ${pAB}/${pBA}`);
      continue;
    }
    const c = g.rows[0];
    res.compared++;
    const fwd = byKey.get(`${c.a}|${c.b}`);
    const f = fwd ?? byKey.get(`${c.b}|${c.a}`);
    if (!f) { res.mismatches.push(`${c.a} <-> ${c.b}: missing`); continue; }
    // tshark's left column is our a when the orientation matches, else our b.
    const [pAB, bAB, pBA, bBA] = fwd ? [f.packets_ab, f.bytes_ab, f.packets_ba, f.bytes_ba] : [f.packets_ba, f.bytes_ba, f.packets_ab, f.bytes_ab];
    const ok = pAB === c.framesAB && pBA === c.framesBA && wiresharkSize(bAB) === c.bytesAB && wiresharkSize(bBA) === c.bytesBA
      && wiresharkSize(bAB + bBA) === c.bytes;
    if (ok) res.matched++;
    else res.mismatches.push(`${c.a} <-> ${c.b}: tshark ${c.framesAB}/${c.bytesAB} ${c.framesBA}/${c.bytesBA}, tapline ${pAB}/${bAB} ${pBA}/${bBA}`);
  }
  return res;
}
