/**
 * Retention, compression and refresh policies, run by tapline's job runner (the embedded
 * TimescaleDB has no background workers), and the pitfall the storage configuration guards
 * against: refreshing a continuous aggregate over a range whose raw chunks retention has dropped
 * deletes the aggregate's rows for that range.
 */
import assert from 'node:assert/strict';
import { TaplineError } from '../lib/errors';
import { parseConfig } from '../lib/config';
import { resolveStorageConfig, durationSeconds } from '../lib/db/storage-config';
import { applyStoragePolicies, startStorageMaintenance } from '../lib/db/storage-policies';
import { runStorageJobs } from '../lib/db/jobs';
import { loadDemoData, type DemoData } from './support/demo-data';
import { startScratchDb, type ScratchDb } from './support/scratch-db';

const invalid = (raw: unknown, re: RegExp) => assert.throws(() => resolveStorageConfig(raw),
  (e: unknown) => e instanceof TaplineError && e.code === 'CONFIG_INVALID' && re.test(e.message));

describe('storage configuration', () => {
  it('defaults are valid: every refresh window starts inside its source\'s retention', () => {
    const c = resolveStorageConfig({});
    assert.equal(c.retention.identified_flows, '7d');
    assert.equal(c.retention.traffic_pair_1d, null);
    assert.equal(c.refresh.traffic_pair_1m.startOffset, '2h');
    assert.equal(durationSeconds('90s'), 90);
    assert.equal(durationSeconds('2w'), 14 * 86400);
  });

  it('rejects a refresh window that reaches past the source\'s retention, naming both keys', () => {
    invalid({ retention: { identified_flows: '1d' }, refresh: { traffic_pair_1m: { startOffset: '2d' } } },
      /storage\.refresh\.traffic_pair_1m\.startOffset 2d reaches back past storage\.retention\.identified_flows 1d: .*DELETE/);
    invalid({ retention: { traffic_pair_1m: '1d' } }, /refresh\.traffic_pair_1h\.startOffset 2d reaches back past storage\.retention\.traffic_pair_1m 1d/);
    // equal is not enough: the refresh would start exactly where chunks may already be gone
    invalid({ retention: { flow_metrics: '2h' } }, /latency_pair_1m\.startOffset 2h reaches back past storage\.retention\.flow_metrics 2h/);
  });

  it('is checked when tapline reads its configuration (storage section of tapline.yaml)', () => {
    assert.deepEqual(parseConfig({}).storage, { retention: {}, compressAfter: {}, refresh: {}, jobIntervalMs: 60_000 });
    assert.throws(() => parseConfig({ storage: { retention: { identified_flows: '1h' } } }),
      (e: unknown) => e instanceof TaplineError && e.code === 'CONFIG_INVALID' && /storage: .*traffic_pair_1m\.startOffset 2h reaches back past storage\.retention\.identified_flows 1h/.test(e.message));
  });

  it('rejects bad durations, unknown aggregates, windows under two buckets and unknown keys', () => {
    invalid({ retention: { flow_windows: '7 days' } }, /storage\.retention\.flow_windows: a duration/);
    invalid({ refresh: { nosuch_1m: { every: '1m' } } }, /storage\.refresh\.nosuch_1m: not a continuous aggregate/);
    invalid({ refresh: { traffic_pair_1h: { startOffset: '90m', endOffset: '1h' } } }, /at least two 1h buckets/);
    invalid({ compressAfter: { vm_events: '1d' } }, /compressAfter\.vm_events: compression is set up for/);
    invalid({ retention: {}, keepForever: true }, /Unrecognized key.*keepForever/);
  });
});

describe('storage policies on the embedded TimescaleDB @integration', function () {
  this.timeout(300_000);
  let db: ScratchDb;
  let demo: DemoData;
  before(async () => {
    db = await startScratchDb();
    // Hourly raw chunks: with the default daily ones, in the first 2 h after midnight UTC every
    // chunk that retention (1 d) keeps still ends less than compressAfter (2 h) ago, so nothing
    // kept could be compressed and the test failed by the clock, not by tapline.
    await db.pool.query("SELECT set_chunk_time_interval('identified_flows', INTERVAL '1 hour')");
    demo = await loadDemoData(db.pool);
  });
  after(async () => { await db?.stop(); });

  const count = async (sql: string, params: unknown[] = []) => Number((await db.pool.query(sql, params)).rows[0].n);

  it('the pitfall is real here: refreshing over dropped raw chunks deletes aggregate rows', async () => {
    const p = db.pool;
    await p.query('CREATE TABLE pit_raw (ts timestamptz NOT NULL, k text NOT NULL, v bigint NOT NULL)');
    await p.query("SELECT create_hypertable('pit_raw', by_range('ts', INTERVAL '1 day'))");
    await p.query(`INSERT INTO pit_raw SELECT now() - i * INTERVAL '1 hour', 'x', 1 FROM generate_series(1, 240) i`);
    await p.query(`CREATE MATERIALIZED VIEW pit_1h WITH (timescaledb.continuous, timescaledb.materialized_only = false) AS
      SELECT time_bucket(INTERVAL '1 hour', ts) AS bucket, k, sum(v) AS v FROM pit_raw GROUP BY 1, k WITH NO DATA`);
    await p.query("CALL refresh_continuous_aggregate('pit_1h', now() - INTERVAL '11 days', now())");
    const before = await count('SELECT count(*) AS n FROM pit_1h');
    assert.ok(before >= 239, `${before} hourly rows`);
    // retention: drop raw chunks older than 3 days
    await p.query("SELECT drop_chunks('pit_raw', older_than => now() - INTERVAL '3 days')");
    assert.equal(await count('SELECT count(*) AS n FROM pit_1h'), before, 'dropping raw chunks alone keeps the aggregate');
    // a refresh window inside the retained data keeps everything
    await p.query("CALL refresh_continuous_aggregate('pit_1h', now() - INTERVAL '2 days', now())");
    assert.equal(await count('SELECT count(*) AS n FROM pit_1h'), before, 'refresh inside retention');
    // a refresh window that reaches into the dropped range deletes what it no longer finds there
    await p.query("CALL refresh_continuous_aggregate('pit_1h', now() - INTERVAL '11 days', now())");
    const after = await count('SELECT count(*) AS n FROM pit_1h');
    assert.ok(after < before - 24 * 6, `refresh over dropped chunks: ${before} -> ${after} rows`);
  });

  it('tapline\'s policies (validated config) compress and drop raw chunks and keep every aggregated row', async () => {
    const p = db.pool;
    const total = (sql: string) => count(`SELECT coalesce(sum(bytes_total), 0)::bigint AS n FROM (${sql}) t`);
    const range = [new Date(demo.anchor.getTime() - 3 * 86400_000), new Date(demo.anchor.getTime() + 3600_000)];
    // expectation from the records: bytes sent + received by inventory VMs, each side counted
    let want = 0;
    for (const f of demo.identified) {
      if (f.a_vm) want += Number(f.bytes_ab) + Number(f.bytes_ba);
      if (f.b_vm) want += Number(f.bytes_ab) + Number(f.bytes_ba);
    }
    const q = `SELECT * FROM top_talkers('${range[0].toISOString()}', '${range[1].toISOString()}', 100)`;
    assert.equal(await total(q), want, 'before any policy (real-time aggregation)');
    // The data was loaded at once, as late as 49 h: materialize it as the policies would have
    // done when it was recent (bottom-up), then let the configured policies take over.
    for (const v of ['traffic_pair_1m', 'traffic_pair_1h', 'traffic_pair_1d']) {
      await p.query(`CALL refresh_continuous_aggregate('${v}', NULL, now())`);
    }
    const cfg = resolveStorageConfig({
      retention: { identified_flows: '1d', flow_windows: '1d', flow_metrics: '1d', rtt_sketch_bins: '1d' },
      compressAfter: { identified_flows: '2h' },
      refresh: { traffic_pair_1m: { startOffset: '20h', endOffset: '1m', every: '1m' } },
    });
    const applied = await applyStoragePolicies(p, cfg);
    assert.ok(applied.refresh.includes('traffic_pair_1h') && applied.retention.includes('identified_flows'));
    const rawBefore = await count('SELECT count(*) AS n FROM identified_flows');
    const t0 = Date.now();
    const runs = await runStorageJobs(p);
    const ms = Date.now() - t0;
    assert.ok(runs.every((r) => r.ok));
    const order = runs.map((r) => r.proc);
    assert.ok(order.lastIndexOf('policy_refresh_continuous_aggregate') < order.indexOf('policy_compression'));
    assert.ok(order.lastIndexOf('policy_compression') < order.indexOf('policy_retention'));
    const t1m = runs.findIndex((r) => r.target === 'traffic_pair_1m');
    assert.ok(t1m >= 0 && t1m < runs.findIndex((r) => r.target === 'traffic_pair_1h'), 'the minutes are refreshed before the hours');
    const rawAfter = await count('SELECT count(*) AS n FROM identified_flows');
    assert.ok(rawAfter < rawBefore, `retention dropped raw rows (${rawBefore} -> ${rawAfter})`);
    assert.ok(await count(`SELECT count(*) AS n FROM timescaledb_information.chunks WHERE hypertable_name = 'identified_flows' AND is_compressed`) > 0, 'compressed');
    assert.equal(await total(q), want, 'after compression, retention and refresh: every byte still there');
    assert.equal(await count('SELECT count(*) AS n FROM tapline_job_runs WHERE ok'), runs.length);
    // eslint-disable-next-line no-console
    console.log(`      one round of ${runs.length} storage jobs: ${ms} ms; slowest: ${[...runs].sort((a, b) => b.ms - a.ms).slice(0, 4).map((r) => `${r.proc.replace('policy_', '')} ${r.target} ${r.ms.toFixed(0)} ms`).join(', ')}`);

    // The same refresh with a window past the retention (what the config check refuses) loses rows.
    assert.throws(() => resolveStorageConfig({ retention: { identified_flows: '1d' }, refresh: { traffic_pair_1m: { startOffset: '3d' } } }), /DELETE/);
    await p.query("SELECT remove_continuous_aggregate_policy('traffic_pair_1m')");
    const job = (await p.query(`SELECT add_continuous_aggregate_policy('traffic_pair_1m', start_offset => INTERVAL '3 days',
      end_offset => INTERVAL '1 minute', schedule_interval => INTERVAL '1 minute') AS id`)).rows[0].id;
    const minutes = () => count(`SELECT coalesce(sum(bytes_ab + bytes_ba), 0)::bigint AS n FROM traffic_pair_1m WHERE bucket >= $1 AND bucket < $2`, range);
    const kept = await minutes();
    // 50 minutes two days back: read from the 1-minute level alone
    const short = [new Date(demo.anchor.getTime() - 49 * 3600_000 - 5 * 60_000), new Date(demo.anchor.getTime() - 49 * 3600_000 + 45 * 60_000)];
    let wantShort = 0;
    for (const f of demo.identified) {
      const ws = Number(f.window_start_ns) / 1e6;
      if (ws < short[0].getTime() || ws >= short[1].getTime()) continue;
      wantShort += (f.a_vm ? 1 : 0) * (Number(f.bytes_ab) + Number(f.bytes_ba)) + (f.b_vm ? 1 : 0) * (Number(f.bytes_ab) + Number(f.bytes_ba));
    }
    const qShort = `SELECT * FROM top_talkers('${short[0].toISOString()}', '${short[1].toISOString()}', 100)`;
    assert.ok(wantShort > 0);
    assert.equal(await total(qShort), wantShort, 'two days back, minute resolution, before the bad refresh');
    await p.query(`CALL run_job(${job})`);
    const lost = await minutes();
    assert.ok(lost < kept, `a refresh over dropped raw chunks deleted aggregated traffic from traffic_pair_1m: ${kept} -> ${lost} bytes`);
    assert.equal(await total(qShort), 0, 'what an analyst sees of those 50 minutes afterwards: nothing');
  });

  it('startStorageMaintenance installs the configured policies and runs them on a timer with its own connection (embedded); close() twice is safe', async () => {
    const before = await count('SELECT count(*) AS n FROM tapline_job_runs');
    const rounds: number[] = [];
    const m = await startStorageMaintenance(db.url, { jobIntervalMs: 1000, retention: { flow_windows: '10d' } }, { embedded: true, onRun: (r) => rounds.push(r.length) });
    assert.ok(m.runner);
    const t0 = Date.now();
    while (rounds.length < 2 && Date.now() - t0 < 240_000) await new Promise((r) => setTimeout(r, 200));
    await m.close();
    await m.close();
    assert.ok(rounds.length >= 2 && rounds.every((n) => n > 0), `rounds: ${rounds.join(', ')}`);
    assert.ok(await count('SELECT count(*) AS n FROM tapline_job_runs') >= before + rounds[0] + rounds[1], 'every run recorded');
    const drop = await db.pool.query(`SELECT extract(epoch FROM (config->>'drop_after')::interval)::int AS d FROM timescaledb_information.jobs WHERE proc_name = 'policy_retention' AND hypertable_name = 'flow_windows'`);
    assert.equal(drop.rows[0].d, 10 * 86400, 'the configured retention replaced the previous policy');
    const server = await startStorageMaintenance(db.url, {}, { embedded: false });
    assert.equal(server.runner, null, 'a server runs its policies itself');
    await assert.rejects(startStorageMaintenance(db.url, { retention: { flow_metrics: '1h' } }, { embedded: true }), /CONFIG_INVALID|reaches back past/);
  });
});
