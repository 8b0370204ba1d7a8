/**
 * Dashboard API latency for a 24 h range on the demo data (test/dashboard-fixture.ts: real
 * stage outputs in the embedded TimescaleDB), per endpoint: p50/p95 of N sequential HTTP
 * requests through the whole server (auth, validation, every SQL statement of the route, JSON),
 * against the p95 of the route's main SQL statement sent directly through pg in the same run
 * (the floor the database sets). Target: API p95 < 200 ms.
 *
 *   npm run bench:api [-- --n 40]
 */
import { performance } from 'node:perf_hooks';
import { buildApp } from '../dashboard/server/app';
import { EDGES_SQL } from '../dashboard/server/routes/topology';
import { TRAFFIC_SQL } from '../dashboard/server/routes/pair';
import { trendsSql } from '../dashboard/server/routes/trends';
import { PAIR_STATS_SQL } from '../dashboard/server/routes/pair-stats';
import { NIC_SQL } from '../dashboard/server/routes/capacity';
import { startScratchDb } from '../test/support/scratch-db';
import { loadDashboardData } from '../test/dashboard-fixture';

const N = Number(process.argv[process.argv.indexOf('--n') + 1] || 40) || 40;
const TOKEN = 'bench-viewer-token-000000';
const TARGET_MS = 200;

const p = (xs: number[], q: number) => { const s = [...xs].sort((a, b) => a - b); return s[Math.min(s.length - 1, Math.ceil(q * s.length) - 1)]; };

async function main(): Promise<void> {
  const db = await startScratchDb();
  try {
    const t0 = performance.now();
    const data = await loadDashboardData(db.pool);
    const rows = (await db.pool.query('SELECT (SELECT count(*) FROM identified_flows) AS f, (SELECT count(*) FROM flow_metrics) AS m, (SELECT count(*) FROM alerts) AS a')).rows[0];
    console.log(`demo data: ${rows.f} identified flow windows, ${rows.m} flow metrics, ${rows.a} alerts, loaded in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    const { app } = buildApp({ pool: db.pool, tokens: { viewer: [TOKEN], operator: [] } });
    const url = await app.listen({ host: '127.0.0.1', port: 0 });
    const to = data.anchor.getTime() + 60_000;
    const from = to - 24 * 3600_000;
    const iso = (ms: number) => new Date(ms).toISOString();
    const pair = data.identified.find((f) => f.a_vm && f.b_vm)!;
    const [a, b] = [pair.a_vm!, pair.b_vm!];
    const range = `from=${from}&to=${to}`;
    const cases: { name: string; path: string; sql: string; args: unknown[] }[] = [
      { name: 'topology', path: `topology?${range}`, sql: EDGES_SQL, args: [iso(from - 86_400_000), iso(from), iso(to)] },
      { name: 'pair', path: `pair?a=${a}&b=${b}&${range}`, sql: TRAFFIC_SQL, args: [iso(from), iso(to), a, b, 900] },
      { name: 'trends (vm)', path: `trends?dimension=vm&${range}`, sql: trendsSql('vm'), args: [iso(from - 86_400_000), iso(from), iso(to), 8, 900] },
      { name: 'trends (src_ip)', path: `trends?dimension=src_ip&${range}`, sql: trendsSql('src_ip'), args: [iso(from - 86_400_000), iso(from), iso(to), 8, 900] },
      { name: 'performance', path: `performance?${range}`, sql: PAIR_STATS_SQL, args: [iso(from), iso(to)] },
      { name: 'alerts', path: `alerts?${range}`, sql: 'SELECT * FROM alerts WHERE first_seen < $2 AND last_seen >= $1 ORDER BY last_seen DESC LIMIT 200', args: [iso(from), iso(to)] },
      { name: 'capacity', path: `capacity?${range}`, sql: NIC_SQL, args: [iso(from), iso(to)] },
    ];
    console.log(`\n${N} sequential requests per endpoint, 24 h range (${iso(from)} .. ${iso(to)})\n`);
    console.log('endpoint            API p50   API p95   SQL p95   API/SQL   < 200 ms');
    let failed = 0;
    for (const c of cases) {
      const api: number[] = [];
      const sql: number[] = [];
      for (let i = 0; i < N + 3; i++) { // the first 3 warm caches and plans, not counted
        let t = performance.now();
        const res = await fetch(`${url}/api/v1/${c.path}`, { headers: { authorization: `Bearer ${TOKEN}` } });
        await res.arrayBuffer();
        if (res.status !== 200) throw new Error(`${c.path}: HTTP ${res.status}`);
        if (i >= 3) api.push(performance.now() - t);
        t = performance.now();
        await db.pool.query(c.sql, c.args);
        if (i >= 3) sql.push(performance.now() - t);
      }
      const ok = p(api, 0.95) < TARGET_MS;
      if (!ok) failed++;
      console.log(`${c.name.padEnd(18)} ${p(api, 0.5).toFixed(1).padStart(7)}   ${p(api, 0.95).toFixed(1).padStart(7)}   ${p(sql, 0.95).toFixed(1).padStart(7)}   ${(p(api, 0.95) / p(sql, 0.95)).toFixed(2).padStart(7)}   ${ok ? 'yes' : 'NO'}`);
    }
    console.log(`\n(ms; API = whole route: auth, validation, all its statements, JSON; SQL = the route's main statement alone through pg)`);
    await app.close();
    if (failed) process.exitCode = 1;
  } finally {
    await db.stop();
  }
}

main().catch((e) => { console.error(e); process.exitCode = 1; });
