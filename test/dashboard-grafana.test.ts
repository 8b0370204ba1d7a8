/**
 * The Grafana dashboards (deploy/grafana) against the real schema: the committed JSON is what
 * build-dashboards.ts generates, and every panel query and template-variable query runs on the
 * embedded TimescaleDB with the demo data, Grafana's macros expanded as its PostgreSQL data
 * source expands them; the topology node graph shows the same pairs and bytes as the API.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { DASHBOARDS, DASHBOARD_DIR } from '../deploy/grafana/build-dashboards';
import { get, startDashboardEnv, type DashboardEnv } from './dashboard-server';

/** $__timeFilter / $__timeFrom / $__timeTo / $__interval and $a, $b, as Grafana substitutes them. */
export function expand(sql: string, from: number, to: number, vars: Record<string, string>, interval = '15m'): string {
  const f = `'${new Date(from).toISOString()}'`; const t = `'${new Date(to).toISOString()}'`;
  return sql.replace(/\$__timeFilter\(([^)]+)\)/g, `$1 BETWEEN ${f} AND ${t}`).replace(/\$__timeFrom\(\)/g, f).replace(/\$__timeTo\(\)/g, t)
    .replace(/\$__interval/g, interval).replace(/\$(\w+)/g, (m, v: string) => vars[v] ?? m);
}

describe('Grafana dashboards @integration', function () {
  this.timeout(120_000);
  let env: DashboardEnv;
  let from: number;
  let to: number;
  let vars: Record<string, string>;

  before(async () => {
    env = await startDashboardEnv();
    to = env.data.anchor.getTime() + 60_000;
    from = to - 24 * 3600_000;
    const pair = env.data.identified.find((f) => f.a_vm && f.b_vm && Number(BigInt(f.window_start_ns) / 1_000_000n) >= from)!;
    vars = { a: pair.a_vm!, b: pair.b_vm! };
  });
  after(async () => { await env?.close(); });

  it('the committed dashboards are the generated ones', () => {
    const files = fs.readdirSync(DASHBOARD_DIR).filter((f) => f.endsWith('.json')).sort();
    assert.deepEqual(files, DASHBOARDS.map((d) => `${d.uid}.json`).sort());
    for (const d of DASHBOARDS) {
      const json = JSON.parse(fs.readFileSync(path.join(DASHBOARD_DIR, `${d.uid}.json`), 'utf8'));
      const sqls = json.panels.flatMap((p: { targets: { rawSql: string }[] }) => p.targets.map((t) => t.rawSql));
      assert.deepEqual(sqls, d.panels.flatMap((p) => p.queries.map((q) => q.sql)), `${d.uid}: regenerate with npx tsx deploy/grafana/build-dashboards.ts`);
    }
  });

  it('every panel and variable query runs on the schema with the demo data', async () => {
    let withRows = 0; let total = 0;
    for (const d of DASHBOARDS) {
      for (const q of [...d.panels.flatMap((p) => p.queries.map((x) => ({ title: p.title, sql: x.sql }))), ...(d.vars ?? []).map((v) => ({ title: `$${v.name}`, sql: v.sql }))]) {
        total++;
        const r = await env.db.pool.query(expand(q.sql, from, to, vars)).catch((e: Error) => { throw new Error(`${d.uid} / ${q.title}: ${e.message}`); });
        if (r.rows.length > 0) withRows++;
      }
    }
    // Forecast alerts do not exist in the demo data; everything else has rows.
    assert.ok(withRows >= total - 2, `${withRows} of ${total} queries returned rows`);
  });

  it('the topology node graph has the API\'s pairs and bytes', async () => {
    const panel = DASHBOARDS.find((d) => d.uid === 'tapline-topology')!.panels[0];
    const edges = (await env.db.pool.query(expand(panel.queries.find((q) => q.refId === 'edges')!.sql, from, to - 1, vars))).rows;
    const api = (await get(env, `/api/v1/topology?from=${from}&to=${to}`)).body;
    const key = (a: string, b: string) => [a, b].sort().join('|');
    assert.deepEqual(new Map(edges.map((e) => [key(e.source, e.target), Number(e.mainstat)])),
      new Map(api.edges.map((e: { source: string; target: string; bytes: number }) => [key(e.source, e.target), e.bytes])));
  });
});
