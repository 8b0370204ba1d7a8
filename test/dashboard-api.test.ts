/**
 * The dashboard API on a real (embedded) TimescaleDB loaded with real stage outputs: every
 * endpoint's answer checked against the same numbers computed here in JS from the records that
 * went into the database, bad parameters (400 naming the parameter), missing or unknown tokens
 * (401), viewer on operator routes (403), ack/resolve written to the table, and live updates.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import { get, startDashboardEnv, OPERATOR, VIEWER, type DashboardEnv } from './dashboard-server';
import { insertRecords } from './support/demo-data';

const ms = (ns: unknown) => Number(BigInt(ns as bigint) / 1_000_000n);
const sortedPair = (x: string, y: string) => [x, y].sort().join('|');
const close = (a: number, b: number, what: string) => assert.ok(Math.abs(a - b) <= 1e-6 * Math.max(1, Math.abs(b)), `${what}: ${a} vs ${b}`);

describe('dashboard API @integration', function () {
  this.timeout(120_000);
  let env: DashboardEnv;
  let from: number;
  let to: number;
  const q = () => `from=${from}&to=${to}`;

  before(async () => {
    env = await startDashboardEnv();
    to = env.data.anchor.getTime() + 60_000;
    from = to - 24 * 3600_000;
  });
  after(async () => { await env?.close(); });

  const inRange = (startNs: unknown, f = from, t = to) => ms(startNs) >= f && ms(startNs) < t;

  describe('authentication and roles', () => {
    const reads = ['meta', 'topology', 'pair?a=vm-app&b=external', 'trends', 'performance', 'alerts', 'capacity', 'events'];
    it('401 without a token, with an unknown token and with a malformed header, on every data endpoint', async () => {
      for (const path of reads) {
        for (const [tok, hdr] of [[null, undefined], ['not-a-configured-token-x', undefined], [null, 'Basic dXNlcjpwYXNz']] as const) {
          const r = await get(env, `/api/v1/${path}`, tok, hdr ? { headers: { authorization: hdr } } : {});
          assert.equal(r.status, 401, `${path} ${tok ?? hdr ?? 'none'}`);
          assert.equal(r.body.error, 'unauthorized');
          assert.ok(r.body.message.length > 5);
        }
      }
    });
    it('a token in ?token= is accepted only by the event stream', async () => {
      assert.equal((await get(env, `/api/v1/meta?token=${VIEWER}`, null)).status, 401);
      const status = await new Promise<number>((resolve, reject) => {
        const req = http.get(`${env.url}/api/v1/events?token=${VIEWER}`, (res) => { resolve(res.statusCode ?? 0); req.destroy(); });
        req.on('error', reject);
      });
      assert.equal(status, 200);
    });
    it('the viewer reads but may not ack or resolve (403), the operator may', async () => {
      const meta = await get(env, '/api/v1/meta');
      assert.equal(meta.status, 200);
      assert.equal(meta.body.role, 'viewer');
      assert.equal((await get(env, '/api/v1/meta', OPERATOR)).body.role, 'operator');
      const id = encodeURIComponent(env.data.alerts[0].id);
      for (const action of ['ack', 'resolve']) {
        const r = await get(env, `/api/v1/alerts/${id}/${action}`, VIEWER, { method: 'POST' });
        assert.equal(r.status, 403, action);
        assert.match(r.body.message, /operator role/);
      }
      const row = await env.db.pool.query('SELECT acked_at, state FROM alerts WHERE id = $1', [env.data.alerts[0].id]);
      assert.equal(row.rows[0].acked_at, null, 'a refused ack changes nothing');
    });
    it('health needs no token and says nothing about the data', async () => {
      const r = await get(env, '/api/v1/health', null);
      assert.deepEqual(r, { status: 200, body: { ok: true } });
    });
  });

  describe('bad input is a 400 naming the parameter', () => {
    const cases: [string, RegExp][] = [
      ['topology?from=yesterday', /from: must be ISO 8601/],
      ['topology?from=2026-13-45T99:00:00Z', /from: must be ISO 8601/],
      ['topology?from=2000&to=1000', /from must be before to/],
      ['topology?from=0&to=99999999999', /at most 31 days/],
      ['topology?colour=red', /unknown parameter colour/],
      ['topology?from=1&from=2', /from: must be given once/],
      ['trends?dimension=mac', /dimension: must be one of src_ip/],
      ['trends?top=0', /top: must be at least 1/],
      ['trends?top=abc', /top: must be a whole number/],
      ['trends?from=0&to=2592000000&step=1', /more than 2000 buckets/],
      ['pair?a=vm-app', /b: Required/],
      ['pair?a=vm-app&b=vm-app', /two different nodes/],
      ["pair?a=vm-app'%20OR%201=1--&b=external", /a: may hold only/],
      ['performance?sort=name', /sort: must be one of bytes/],
      ['performance?order=up', /order: must be asc or desc/],
      ['performance?limit=100000', /limit: must be at most 1000/],
      ['alerts?state=closed', /state: must be one of open, updated, resolved, active/],
      ['alerts?severity=high', /severity: must be one of info/],
      ['alerts?type=meteor', /type: must be one of traffic_burst/],
      ['alerts?offset=-1', /offset: must be a whole number/],
      ['alerts/x?step=0', /step: must be at least 1/],
      ['capacity?step=99999999', /step: must be at most 86400/],
      ['meta?x=1', /unknown parameter x/],
    ];
    for (const [path, msg] of cases) {
      it(path, async () => {
        const r = await get(env, `/api/v1/${path}`);
        assert.equal(r.status, 400, JSON.stringify(r.body));
        assert.equal(r.body.error, 'bad_request');
        assert.match(r.body.message, msg);
      });
    }
    it('an unknown alert is a 404, an unknown route too', async () => {
      assert.equal((await get(env, '/api/v1/alerts/no-such-alert')).status, 404);
      assert.equal((await get(env, '/api/v1/alerts/no-such-alert/ack', OPERATOR, { method: 'POST' })).status, 404);
      assert.equal((await get(env, '/api/v1/nothing')).status, 404);
    });
    it('a value that looks like SQL but is allowed travels as a bound parameter', async () => {
      const r = await get(env, `/api/v1/alerts?vm=${encodeURIComponent('x-or-1=1--')}&from=0&to=86400000`);
      assert.equal(r.status, 400); // '=' is not allowed in a node id
      const ok = await get(env, `/api/v1/pair?a=${encodeURIComponent("vm:1/--")}&b=external&${q()}`);
      assert.equal(ok.status, 200);
      assert.deepEqual(ok.body.traffic, []);
    });
  });

  describe('answers match the stored records', () => {
    it('topology: every VM pair of the range with its bytes, new pairs, nodes and migrations', async () => {
      const r = await get(env, `/api/v1/topology?${q()}`);
      assert.equal(r.status, 200);
      const span = to - from;
      const cur = new Map<string, number>();
      const prev = new Set<string>();
      for (const f of env.data.identified) {
        const x = f.a_vm ?? 'external'; const y = f.b_vm ?? 'external';
        if (x === y) continue;
        const k = sortedPair(x, y);
        if (inRange(f.window_start_ns)) cur.set(k, (cur.get(k) ?? 0) + Number(f.bytes_ab) + Number(f.bytes_ba));
        else if (inRange(f.window_start_ns, from - span, from)) prev.add(k);
      }
      assert.ok(cur.size >= 3, 'the demo data has several pairs in the last 24 h');
      const got = new Map<string, { bytes: number; isNew: boolean }>(r.body.edges.map((e: { source: string; target: string; bytes: number; isNew: boolean }) => [sortedPair(e.source, e.target), e]));
      assert.deepEqual([...got.keys()].sort(), [...cur.keys()].sort());
      for (const [k, bytes] of cur) {
        assert.equal(got.get(k)!.bytes, bytes, k);
        assert.equal(got.get(k)!.isNew, !prev.has(k), `${k} new`);
      }
      assert.ok([...got.values()].some((e) => e.isNew), 'a pair is new against the previous day');
      const nodeIds = new Set(r.body.nodes.map((n: { id: string }) => n.id));
      for (const v of env.data.inventory) if (ms(v.valid_from_ns) < to) assert.ok(nodeIds.has(v.vm_id), v.vm_id);
      const migrations = env.data.events.filter((e) => ms(e.at) >= from && ms(e.at) < to);
      assert.ok(migrations.length >= 1);
      assert.deepEqual(r.body.migrations.map((m: { vm: string; toHost: string }) => `${m.vm}>${m.toHost}`).sort(),
        migrations.map((m) => `${m.vm}>${m.to_host}`).sort());
      const moved = r.body.nodes.find((n: { id: string }) => n.id === migrations[0].vm);
      assert.equal(moved.migrated, true);
      assert.equal(moved.host, migrations[0].to_host, 'a migrated VM is drawn on its new host');
    });

    it('topology at an earlier moment shows that moment\'s pairs', async () => {
      const t = ms(env.data.identified[0].window_start_ns) + 60_000; // the oldest traffic, 49 h back
      const r = await get(env, `/api/v1/topology?from=${t - 3600_000}&to=${t}`);
      const expected = new Set(env.data.identified.filter((f) => inRange(f.window_start_ns, t - 3600_000, t) && (f.a_vm ?? 'x') !== (f.b_vm ?? 'x'))
        .map((f) => sortedPair(f.a_vm ?? 'external', f.b_vm ?? 'external')));
      assert.deepEqual(new Set(r.body.edges.map((e: { source: string; target: string }) => sortedPair(e.source, e.target))), expected);
      assert.ok(expected.size >= 1);
    });

    it('trends by VM: per-sender totals, and the previous period', async () => {
      const r = await get(env, `/api/v1/trends?dimension=vm&top=50&${q()}`);
      assert.equal(r.status, 200);
      const exp = new Map<string, number>();
      let prevTotal = 0;
      for (const f of env.data.identified) {
        const add = (k: string, b: number) => exp.set(k, (exp.get(k) ?? 0) + b);
        if (inRange(f.window_start_ns)) { add(f.a_vm ?? 'external', Number(f.bytes_ab)); add(f.b_vm ?? 'external', Number(f.bytes_ba)); }
        if (inRange(f.window_start_ns, from - (to - from), from)) prevTotal += Number(f.bytes_ab) + Number(f.bytes_ba);
      }
      for (const [k, v] of [...exp].filter(([, v]) => v === 0)) exp.delete(k); // a VM that only received sends no bytes
      const got = new Map<string, number>(r.body.series.filter((s: { totalBytes: number }) => s.totalBytes > 0).map((s: { key: string; totalBytes: number }) => [s.key, s.totalBytes]));
      assert.deepEqual([...got.keys()].sort(), [...exp.keys()].sort());
      for (const [k, v] of exp) close(got.get(k)!, v, k);
      close(r.body.previous.totalBytes, prevTotal, 'previous period');
      assert.equal(r.body.buckets.length, r.body.series[0].bytesPerSecond.length);
    });

    it('trends top 2 sums the rest as (other)', async () => {
      const all = (await get(env, `/api/v1/trends?dimension=service_port&top=50&${q()}`)).body;
      const top2 = (await get(env, `/api/v1/trends?dimension=service_port&top=2&${q()}`)).body;
      const total = (b: { series: { totalBytes: number }[] }) => b.series.reduce((a, s) => a + s.totalBytes, 0);
      close(total(top2), total(all), 'same total');
      assert.equal(top2.series.length, Math.min(3, all.series.length));
      if (all.series.length > 2) assert.equal(top2.series[2].key, '(other)');
    });

    it('performance: per-pair bytes and loss from flow_metrics, sorted as asked', async () => {
      const r = await get(env, `/api/v1/performance?sort=lossPct&order=desc&${q()}`);
      assert.equal(r.status, 200);
      const exp = new Map<string, { bytes: number; segs: number; lost: number }>();
      for (const m of env.data.metrics) {
        if (!inRange(m.window_start_ns) || (m.vm_a === null && m.vm_b === null)) continue;
        const k = sortedPair(m.vm_a ?? 'external', m.vm_b ?? 'external');
        const e = exp.get(k) ?? { bytes: 0, segs: 0, lost: 0 };
        e.bytes += Number(m.bytes_ab) + Number(m.bytes_ba);
        for (const t of [m.tcp_ab, m.tcp_ba]) if (t) { e.segs += Number(t.data_segments); e.lost += Number(t.retransmitted_segments) + Number(t.lost_before_mirror_segments); }
        exp.set(k, e);
      }
      assert.equal(r.body.totalPairs, exp.size);
      for (const p of r.body.pairs) {
        const e = exp.get(sortedPair(p.a, p.b))!;
        assert.equal(p.bytes, e.bytes);
        if (e.segs > 0) close(p.lossPct, (100 * e.lost) / e.segs, 'loss');
        else assert.equal(p.lossPct, null);
      }
      const losses = r.body.pairs.map((p: { lossPct: number | null }) => p.lossPct).filter((x: number | null) => x !== null);
      assert.deepEqual(losses, [...losses].sort((a, b) => b - a));
      const segs = [...exp.values()].reduce((a, e) => a + e.segs, 0);
      const lost = [...exp.values()].reduce((a, e) => a + e.lost, 0);
      close(r.body.cards.loss.avgPct, (100 * lost) / segs, 'loss card');
      assert.ok(['ok', 'warning', 'critical'].includes(r.body.cards.rtt.state));
    });

    it('pair drill-down: traffic per direction and RTT samples of the pair', async () => {
      const pair = (await get(env, `/api/v1/topology?${q()}`)).body.edges.find((e: { source: string; target: string }) => e.source !== 'external' && e.target !== 'external');
      const r = await get(env, `/api/v1/pair?a=${pair.source}&b=${pair.target}&${q()}`);
      assert.equal(r.status, 200);
      let ab = 0; let ba = 0; let samples = 0; let syns = 0;
      for (const f of env.data.identified) {
        if (!inRange(f.window_start_ns) || sortedPair(f.a_vm ?? 'external', f.b_vm ?? 'external') !== sortedPair(pair.source, pair.target)) continue;
        const aIsA = (f.a_vm ?? 'external') === pair.source;
        ab += Number(aIsA ? f.bytes_ab : f.bytes_ba); ba += Number(aIsA ? f.bytes_ba : f.bytes_ab); syns += Number(f.syn_count);
      }
      for (const m of env.data.metrics) {
        if (!inRange(m.window_start_ns) || sortedPair(m.vm_a ?? 'external', m.vm_b ?? 'external') !== sortedPair(pair.source, pair.target)) continue;
        samples += Number(m.rtt_data_ab?.count ?? 0) + Number(m.rtt_data_ba?.count ?? 0);
      }
      const sum = (k: string, rows: Record<string, number>[]) => rows.reduce((a, x) => a + x[k], 0);
      assert.equal(sum('bytesAB', r.body.traffic), ab);
      assert.equal(sum('bytesBA', r.body.traffic), ba);
      assert.equal(sum('syns', r.body.traffic), syns);
      assert.equal(sum('samplesServer', r.body.rtt) + sum('samplesClient', r.body.rtt), samples);
      assert.ok(r.body.diagnosis.length >= 1 && r.body.diagnosis.every((f: { text: string }) => f.text.length > 10));
      assert.ok(r.body.summary.rttMs > 0);
    });

    it('alerts: the latest state of each occurrence, filtered and sorted', async () => {
      const latest = new Map<string, (typeof env.data.alerts)[number]>();
      for (const a of env.data.alerts) latest.set(a.id, a);
      const range = `from=${from - 30 * 86_400_000 + 3600_000}&to=${to}`;
      const r = await get(env, `/api/v1/alerts?${range}&limit=1000`);
      assert.equal(r.status, 200);
      assert.equal(r.body.total, latest.size);
      assert.ok(latest.size >= 3, 'the detector raised alerts on the demo data');
      for (const a of r.body.alerts) assert.equal(a.state, latest.get(a.id)!.state, a.id);
      const type = env.data.alerts[0].type;
      const byType = await get(env, `/api/v1/alerts?${range}&type=${type}`);
      assert.equal(byType.body.total, [...latest.values()].filter((a) => a.type === type).length);
      const sorted = await get(env, `/api/v1/alerts?${range}&sort=last_seen&order=asc`);
      const times = sorted.body.alerts.map((a: { lastSeen: string }) => Date.parse(a.lastSeen));
      assert.deepEqual(times, [...times].sort((x: number, y: number) => x - y));
      const vm = env.data.alerts[0].vm_a!;
      const byVm = await get(env, `/api/v1/alerts?${range}&vm=${vm}`);
      assert.equal(byVm.body.total, [...latest.values()].filter((a) => a.vm_a === vm || a.vm_b === vm).length);
      const past = await get(env, `/api/v1/alerts?${range}&offset=${latest.size + 5}`);
      assert.deepEqual([past.body.alerts.length, past.body.total], [0, latest.size], 'past the last page: no rows, the same total');
    });

    it('alert detail: its states and the evidence series around it', async () => {
      const a = env.data.alerts.find((x) => x.metric === 'bytes_per_s' && x.vm_a)!;
      const r = await get(env, `/api/v1/alerts/${encodeURIComponent(a.id)}`);
      assert.equal(r.status, 200);
      assert.equal(r.body.states.length, env.data.alerts.filter((x) => x.id === a.id).length);
      assert.equal(r.body.evidence.unit, 'bytes/s');
      assert.ok(r.body.evidence.points.some((p: { value: number }) => p.value > 0), 'the subject had traffic around its alert');
    });

    it('capacity: per-NIC bytes sent, host pairs', async () => {
      const r = await get(env, `/api/v1/capacity?${q()}`);
      assert.equal(r.status, 200);
      const out = new Map<string, number>();
      for (const m of env.data.metrics) {
        if (!inRange(m.window_start_ns)) continue;
        if (m.vm_a) out.set(m.vm_a, (out.get(m.vm_a) ?? 0) + Number(m.bytes_ab));
        if (m.vm_b) out.set(m.vm_b, (out.get(m.vm_b) ?? 0) + Number(m.bytes_ba));
      }
      assert.deepEqual(r.body.nics.map((n: { vm: string }) => n.vm).sort(), [...out.keys()].sort());
      for (const n of r.body.nics) close(n.outAvgBps * (to - from) / 1000, out.get(n.vm)!, n.vm);
      assert.ok(r.body.hostPairs.length >= 1);
      assert.ok(r.body.series.length >= 1);
    });
  });

  describe('Arrow export (lib/export) under the dashboard\'s tokens', () => {
    it('streams a table to a viewer, 401 without a token, 400 for a bad parameter', async () => {
      assert.equal((await get(env, `/api/v1/export/flow_windows?from=${from}&to=${to}`, null)).status, 401);
      const res = await fetch(`${env.url}/api/v1/export/flow_windows?from=${new Date(from).toISOString()}&to=${new Date(to).toISOString()}`, { headers: { authorization: `Bearer ${VIEWER}` } });
      assert.equal(res.status, 200);
      assert.match(res.headers.get('content-type') ?? '', /arrow/);
      const { tableFromIPC } = await import('apache-arrow');
      const table = tableFromIPC(new Uint8Array(await res.arrayBuffer()));
      assert.equal(table.numRows, env.data.flows.filter((f) => inRange(f.window_start_ns)).length);
      assert.equal((await get(env, '/api/v1/export/flow_windows?bogus=1')).status, 400);
    });
  });

  describe('operator actions and live updates', () => {
    it('ack and resolve write the dashboard columns, once; the event stream reports them and new windows', async () => {
      const events: { event: string; data: any }[] = []; // eslint-disable-line @typescript-eslint/no-explicit-any
      const req = http.get(`${env.url}/api/v1/events?token=${OPERATOR}`, (res) => {
        let buf = '';
        res.on('data', (c: Buffer) => {
          buf += c.toString();
          let i;
          while ((i = buf.indexOf('\n\n')) >= 0) {
            const block = buf.slice(0, i); buf = buf.slice(i + 2);
            const ev = /^event: (.*)$/m.exec(block)?.[1]; const data = /^data: (.*)$/m.exec(block)?.[1];
            if (ev && data) events.push({ event: ev, data: JSON.parse(data) });
          }
        });
      });
      try {
        const until = async (pred: () => boolean, what: string) => {
          for (let i = 0; i < 100 && !pred(); i++) await new Promise((r) => setTimeout(r, 100));
          assert.ok(pred(), what);
        };
        await until(() => events.some((e) => e.event === 'hello'), 'hello');
        const id = env.data.alerts[env.data.alerts.length - 1].id;
        const ack = await get(env, `/api/v1/alerts/${encodeURIComponent(id)}/ack`, OPERATOR, { method: 'POST' });
        assert.equal(ack.status, 200);
        assert.match(ack.body.alert.ackedBy, /^operator:[0-9a-f]{8}$/);
        const row = (await env.db.pool.query('SELECT acked_at, acked_by FROM alerts WHERE id = $1', [id])).rows[0];
        assert.ok(row.acked_at instanceof Date);
        assert.equal(row.acked_by, ack.body.alert.ackedBy);
        const again = await get(env, `/api/v1/alerts/${encodeURIComponent(id)}/ack`, OPERATOR, { method: 'POST' });
        assert.equal(again.body.alert.ackedAt, ack.body.alert.ackedAt, 'a second ack keeps the first time');
        await until(() => events.some((e) => e.event === 'alert' && e.data.id === id && e.data.ackedAt), 'alert event after ack');
        const res = await get(env, `/api/v1/alerts/${encodeURIComponent(id)}/resolve`, OPERATOR, { method: 'POST' });
        assert.equal(res.body.alert.state, 'resolved');
        assert.equal((await env.db.pool.query('SELECT resolved_by FROM alerts WHERE id = $1', [id])).rows[0].resolved_by, res.body.alert.resolvedBy);

        // A new flow window (a real one, moved a minute past the newest) reaches the stream through the poller.
        const newest = env.data.flows.reduce((m, f) => (BigInt(f.window_start_ns) > BigInt(m.window_start_ns) ? f : m));
        const shift = 60_000_000_000n;
        await insertRecords(env.db.pool, 'flow_windows', [{ ...newest, window_start_ns: BigInt(newest.window_start_ns) + shift,
          window_end_ns: BigInt(newest.window_end_ns) + shift, first_seen_ns: BigInt(newest.first_seen_ns) + shift, last_seen_ns: BigInt(newest.last_seen_ns) + shift }]);
        const expected = new Date(ms(BigInt(newest.window_start_ns) + shift)).toISOString();
        await until(() => events.some((e) => e.event === 'window' && e.data.latest === expected), 'window event');
      } finally {
        req.destroy();
      }
    });
  });
});
