/**
 * Every ```sql block of docs/sql.md runs against the embedded TimescaleDB loaded with the demo
 * data (real captures through the real stages), and its result must equal the answer computed
 * in JavaScript from the same records (test/support/sql-expect.ts). Grafana's macros are
 * replaced by the last three hours. A block without a checker, or a checker without a block,
 * fails the test.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { loadDemoData, type DemoData } from './support/demo-data';
import { startScratchDb, type ScratchDb } from './support/scratch-db';
import * as X from './support/sql-expect';

type Row = Record<string, unknown>;
interface Ctx { d: DemoData; now: number; from3h: number }
const num = (v: unknown) => Number(v);
const ms = (v: unknown) => (v === null ? null : new Date(v as string).getTime());
const near = (got: unknown, want: number, tol: number, what: string) =>
  assert.ok(Math.abs(num(got) - want) <= tol, `${what}: got ${String(got)}, want ${want} (±${tol})`);

const DAY = 86_400_000;
const DOC = path.join(__dirname, '..', 'docs', 'sql.md');

export function sqlBlocks(markdown: string): { check: string | null; sql: string }[] {
  const out: { check: string | null; sql: string }[] = [];
  const re = /(?:<!-- check: ([\w-]+) -->\s*)?```sql\n([\s\S]*?)```/g;
  for (let m = re.exec(markdown); m; m = re.exec(markdown)) out.push({ check: m[1] ?? null, sql: m[2] });
  return out;
}

const CHECKS: Record<string, (rows: Row[], c: Ctx) => void> = {
  'grafana-bytes-per-minute': (rows, c) => {
    const want = X.sumBy(c.d.identified.filter((f) => f.a_vm && f.b_vm && X.floorTo(X.startMs(f), X.MIN) >= c.from3h && X.floorTo(X.startMs(f), X.MIN) <= c.now),
      (f) => `${X.floorTo(X.startMs(f), X.MIN)}|${f.a_vm} - ${f.b_vm}`, (f) => Number(f.bytes_ab) + Number(f.bytes_ba));
    assert.deepEqual(new Map(rows.map((r) => [`${ms(r.time)}|${r.metric}`, num(r.bytes)])), want);
  },
  'grafana-top-talkers': (rows, c) => {
    const want = X.topTalkers(c.d, c.from3h, c.now, 10);
    assert.deepEqual(rows.map((r) => [r.name, r.host, num(r.bytes_sent), num(r.bytes_received)]), want.map((w) => [w.name, w.host, w.bytes_sent, w.bytes_received]));
  },
  'top-talkers-24h': (rows, c) => {
    const want = X.topTalkers(c.d, c.now - DAY, c.now, 5);
    assert.deepEqual(rows.map((r) => ({ ...r, bytes_sent: num(r.bytes_sent), bytes_received: num(r.bytes_received), bytes_total: num(r.bytes_total) })), want);
  },
  'p95-over-5ms': (rows, c) => {
    const want = X.pairsP95Over(c.d, c.now - X.HOUR, c.now, 5);
    assert.deepEqual(rows.map((r) => [r.vm_a, r.vm_b, num(r.rtt_samples)]), want.map((w) => [w.vm_a, w.vm_b, w.rtt_samples]));
    rows.forEach((r, i) => near(r.p95_ms, want[i].p95_ms as number, 0.0051, `p95 of ${r.vm_a}-${r.vm_b}`));
  },
  'first-time-today': (rows, c) => {
    const midnight = X.floorTo(c.now, DAY);
    const want = [...X.firstSeenPairs(c.d).values()].filter((p) => p.first >= midnight && (p.a === 'vm-tls-server' || p.b === 'vm-tls-server'))
      .map((p) => [p.a === 'vm-tls-server' ? p.b : p.a, p.first]);
    assert.deepEqual(rows.map((r) => [r.peer, ms(r.first_seen)]), want);
  },
  'host-pairs': (rows, c) => {
    const want = X.sumBy(X.identifiedIn(c.d, c.now - 3 * DAY, c.now).filter((f) => f.a_host && f.b_host),
      (f) => [f.a_host!, f.b_host!].sort().join('|'), (f) => Number(f.bytes_ab) + Number(f.bytes_ba));
    assert.deepEqual(new Map(rows.map((r) => [`${r.host_1}|${r.host_2}`, num(r.bytes)])), want);
    assert.deepEqual(rows.map((r) => num(r.bytes)), [...want.values()].sort((a, b) => b - a), 'busiest first');
  },
  'tenant-sent': (rows, c) => {
    const fs3 = X.identifiedIn(c.d, c.now - 3 * DAY, c.now);
    const want = new Map<string, number>();
    for (const f of fs3) {
      if (f.a_vm) want.set(f.a_tenant!, (want.get(f.a_tenant!) ?? 0) + Number(f.bytes_ab));
      if (f.b_vm) want.set(f.b_tenant!, (want.get(f.b_tenant!) ?? 0) + Number(f.bytes_ba));
    }
    assert.deepEqual(new Map(rows.map((r) => [r.tenant as string, num(r.bytes_sent)])), want);
  },
  services: (rows, c) => {
    const fw = c.d.flows.filter((f) => X.floorTo(X.startMs(f), X.HOUR) >= c.now - 3 * DAY);
    const key = (f: (typeof fw)[number]) => `${f.ip_proto}|${[6, 17, 132].includes(f.ip_proto) ? Math.min(f.port_a, f.port_b) : 0}`;
    assert.deepEqual(new Map(rows.map((r) => [`${r.ip_proto}|${r.service_port}`, num(r.bytes)])), X.sumBy(fw, key, (f) => Number(f.bytes_ab) + Number(f.bytes_ba)));
    assert.deepEqual(new Map(rows.map((r) => [`${r.ip_proto}|${r.service_port}`, num(r.flow_windows)])), X.sumBy(fw, key, () => 1));
  },
  'topology-1h': (rows, c) => {
    const got = new Map(rows.map((r) => [`${r.a}|${r.b}`, { traffic_class: r.traffic_class, bytes: num(r.bytes), packets: num(r.packets), flows: num(r.flows) }]));
    assert.deepEqual(got, X.topology(c.d, c.now - X.HOUR, c.now));
  },
  'external-1h': (rows, c) => {
    const fs1 = X.identifiedIn(c.d, c.now - X.HOUR, c.now, true).filter((f) => f.traffic_class === 'external' && (f.a_vm || f.b_vm));
    const want = X.sumBy(fs1, (f) => `${f.a_name ?? f.addr_a}|${f.b_name ?? f.addr_b}`, (f) => Number(f.bytes_ab) + Number(f.bytes_ba));
    assert.deepEqual(new Map(rows.map((r) => [`${r.a}|${r.b}`, num(r.bytes)])), want);
    assert.ok(want.size > 0);
  },
  'vm-history': (rows, c) => {
    const versions = c.d.inventory.filter((v) => v.vm_id === 'vm-web-server').sort((a, b) => Number(a.valid_from_ns) - Number(b.valid_from_ns));
    const want: unknown[][] = versions.map((v, i) => [Number(v.valid_from_ns) / 1e6, i + 1 < versions.length ? Number(versions[i + 1].valid_from_ns) / 1e6 : null, 'inventory', v.host, null]);
    for (const e of c.d.events.filter((x) => x.vm === 'vm-web-server')) want.push([Number(e.at) / 1e6, null, e.type, e.to_host, e.from_host]);
    want.sort((a, b) => (a[0] as number) - (b[0] as number) || (a[2] === 'inventory' ? -1 : 1));
    assert.deepEqual(rows.map((r) => [ms(r.at), ms(r.until), r.event, r.host, r.from_host]), want);
    assert.ok(want.some((w) => w[2] === 'migration'), 'the demo migration is there');
  },
  headroom: (rows, c) => {
    const want = X.headroom(c.d, c.now - 3 * DAY, c.now).slice(0, 3);
    assert.deepEqual(rows.map((r) => [r.vm, num(r.nic_capacity_bps), ms(r.busiest_minute)]), want.map((w) => [w.vm, w.nic_capacity_bps, w.busiest_minute]));
    rows.forEach((r, i) => {
      near(r.peak_bps, want[i].peak_bps as number, 0.5, 'peak_bps');
      near(r.utilization, want[i].utilization as number, 5e-7, 'utilization');
      near(r.headroom_bps, want[i].headroom_bps as number, 0.5, 'headroom');
    });
  },
  loss: (rows, c) => {
    const want = X.loss(c.d, c.now - 3 * DAY, c.now);
    assert.ok(want.length > 0, 'the demo data has retransmissions');
    assert.deepEqual(rows.map((r) => [r.vm_a, r.vm_b, num(r.data_segments), num(r.retransmitted_segments), num(r.lost_before_mirror_segments)]),
      want.map((w) => [w.vm_a, w.vm_b, w.data_segments, w.retransmitted_segments, w.lost_before_mirror_segments]));
    rows.forEach((r, i) => near(r.loss_pct, want[i].loss_pct as number, 0.0051, 'loss_pct'));
  },
  'hourly-percentiles': (rows, c) => {
    const want = X.hourly(c.d, ['vm-web-client', 'vm-web-server'], 'rtt_data_ab', c.now - 3 * DAY);
    assert.deepEqual(rows.map((r) => [ms(r.bucket), num(r.samples)]), want.map((w) => [w.bucket, w.n]));
    rows.forEach((r, i) => {
      for (const [col, q] of [['p50_ms', 0.5], ['p95_ms', 0.95], ['p99_ms', 0.99]] as const) near(r[col], want[i].sketch.getValueAtQuantile(q) / 1e6, 0.00051, col);
    });
  },
  'icmp-jitter': (rows, c) => {
    const want = X.hourly(c.d, ['vm-mon', 'vm-db'], 'rtt_icmp_echo', c.now - 3 * DAY);
    assert.deepEqual(rows.map((r) => [ms(r.bucket), num(r.samples)]), want.map((w) => [w.bucket, w.n]));
    rows.forEach((r, i) => { near(r.mean_ms, want[i].mean_ms, 0.00051, 'mean'); near(r.jitter_ms, want[i].jitter_ms!, 0.00051, 'jitter'); });
  },
  'ip-owner': (rows, c) => {
    const t = c.now - 3 * X.HOUR;
    const versions = c.d.inventory.filter((v) => v.ips.includes('192.150.187.43')).sort((a, b) => Number(a.valid_from_ns) - Number(b.valid_from_ns));
    const held = versions.filter((v, i) => Number(v.valid_from_ns) / 1e6 <= t && (i + 1 === versions.length || Number(versions[i + 1].valid_from_ns) / 1e6 > t));
    assert.deepEqual(rows.map((r) => [r.vm_id, r.name, r.host]), held.map((v) => [v.vm_id, v.name, v.host]));
    assert.equal(held.length, 1);
  },
};

function grafana(sql: string, from: Date, to: Date): string {
  const f = `'${from.toISOString()}'::timestamptz`;
  const t = `'${to.toISOString()}'::timestamptz`;
  return sql.replace(/\$__timeFilter\((\w+)\)/g, `$1 BETWEEN ${f} AND ${t}`).replace(/\$__timeFrom\(\)/g, f).replace(/\$__timeTo\(\)/g, t);
}

describe('docs/sql.md: every query runs and answers right on the demo data @integration', function () {
  this.timeout(300_000);
  const blocks = sqlBlocks(fs.readFileSync(DOC, 'utf8'));
  let db: ScratchDb;
  let demo: DemoData;
  before(async () => {
    db = await startScratchDb();
    demo = await loadDemoData(db.pool);
  });
  after(async () => { await db?.stop(); });

  it('has at least 12 worked questions, each with a checker', () => {
    assert.ok(blocks.length >= 14, `${blocks.length} sql blocks`);
    const missing = blocks.filter((b) => !b.check || !CHECKS[b.check]);
    assert.deepEqual(missing.map((b) => b.sql.slice(0, 60)), [], 'blocks without a checker');
    const unused = Object.keys(CHECKS).filter((k) => !blocks.some((b) => b.check === k));
    assert.deepEqual(unused, [], 'checkers without a block');
  });

  it('every column of the aggregates and of the analyst functions\' result types has a COMMENT', async () => {
    const r = await db.pool.query(`SELECT c.relname || '.' || a.attname AS col, col_description(c.oid, a.attnum) AS doc
      FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
     WHERE c.relname ~ '^(traffic_pair|traffic_service|latency_pair|rtt_sketch)_1[mhd]$' OR (c.relname LIKE 'tapline\\_%' AND c.relkind = 'c')`);
    assert.ok(r.rows.length > 300, `${r.rows.length} columns`);
    assert.deepEqual(r.rows.filter((x) => !x.doc).map((x) => x.col), []);
    for (const f of ['top_talkers', 'topology_edges', 'pair_latency_loss', 'new_pairs_since', 'vm_history', 'capacity_headroom', 'tapline_sketch_quantile']) {
      const d = await db.pool.query(`SELECT obj_description(p.oid, 'pg_proc') AS doc FROM pg_proc p WHERE p.proname = $1`, [f]);
      assert.ok(d.rows[0]?.doc, `function ${f} has a COMMENT`);
    }
  });

  it('bad parameters of the analyst functions are clear errors', async () => {
    const bad = (sql: string, re: RegExp) => assert.rejects(db.pool.query(sql), re);
    await bad(`SELECT * FROM top_talkers(now() - interval '1 hour', now(), 0)`, /top_talkers: n must be a positive number of rows, got 0/);
    await bad(`SELECT * FROM top_talkers(now(), now() - interval '1 hour', 5)`, /the time range ends .* before it starts/);
    await bad(`SELECT * FROM top_talkers(NULL, now(), 5)`, /the time range needs both ends/);
    await bad(`SELECT * FROM pair_latency_loss(now() - interval '1 hour', now(), ARRAY['rtt'])`, /unknown RTT kind "rtt" \(use data_ab, data_ba, ts_ab, ts_ba, icmp_echo\)/);
    await bad(`SELECT * FROM pair_latency_loss(now() - interval '1 hour', now(), ARRAY[]::text[])`, /name at least one RTT kind/);
    await bad(`SELECT * FROM topology_edges(now(), now() - interval '1 hour')`, /topology_edges: invalid time range/);
    await bad(`SELECT * FROM capacity_headroom(NULL, now())`, /capacity_headroom: invalid time range/);
    await bad(`SELECT * FROM new_pairs_since(NULL)`, /new_pairs_since: the time must not be NULL/);
    // an empty range or an unknown VM is an empty answer, not an error
    assert.equal((await db.pool.query(`SELECT * FROM top_talkers(now(), now(), 5)`)).rows.length, 0);
    assert.equal((await db.pool.query(`SELECT * FROM vm_history('no-such-vm')`)).rows.length, 0);
  });

  for (const b of blocks) {
    it(`${b.check}`, async () => {
      const now = Number((await db.pool.query('SELECT extract(epoch FROM now()) * 1000 AS t')).rows[0].t);
      const sql = grafana(b.sql, new Date(now - 3 * X.HOUR), new Date(now));
      const t0 = process.hrtime.bigint();
      const res = await db.pool.query(sql);
      const took = Number(process.hrtime.bigint() - t0) / 1e6;
      // Data is ≥ 10 minutes away from every range edge, so the JS "now" can be the query's.
      CHECKS[b.check!](res.rows, { d: demo, now, from3h: now - 3 * X.HOUR });
      assert.ok(res.rows.length > 0 || b.check === 'first-time-today', `${b.check} returned no rows: the demo data should answer it`);
      timings.push(`${b.check} ${took.toFixed(0)} ms`);
    });
  }
  const timings: string[] = [];
  it('gives the same checked answers once every aggregate level is materialized', async () => {
    const levels = ['traffic_pair', 'traffic_service', 'latency_pair', 'rtt_sketch'].flatMap((v) => ['1m', '1h', '1d'].map((l) => `${v}_${l}`));
    const t0 = Date.now();
    for (const v of levels) await db.pool.query(`CALL refresh_continuous_aggregate('${v}', NULL, now())`);
    const refreshMs = Date.now() - t0;
    const after: string[] = [];
    for (const b of blocks) {
      const now = Number((await db.pool.query('SELECT extract(epoch FROM now()) * 1000 AS t')).rows[0].t);
      const t1 = process.hrtime.bigint();
      const res = await db.pool.query(grafana(b.sql, new Date(now - 3 * X.HOUR), new Date(now)));
      after.push(`${b.check} ${(Number(process.hrtime.bigint() - t1) / 1e6).toFixed(0)} ms`);
      CHECKS[b.check!](res.rows, { d: demo, now, from3h: now - 3 * X.HOUR });
    }
    // eslint-disable-next-line no-console
    console.log(`      refresh of all 12 aggregates: ${refreshMs} ms; query times materialized: ${after.join(', ')}`);
  });
  after(() => {
    // eslint-disable-next-line no-console
    if (timings.length) console.log(`      query times (real-time aggregation, nothing materialized): ${timings.join(', ')}`);
  });
});
