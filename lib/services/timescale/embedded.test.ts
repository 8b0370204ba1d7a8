/**
 * Lifecycle of the embedded TimescaleDB against a real child process (temp stateDir, a free
 * port from 25433 up: a fixed one collided with other suites running at the same time), plus the behaviours docs/timescaledb-embedded.md relies on, so the doc stays true
 * when PGlite or the timescaledb build is upgraded.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { createPool } from '../../db/pool';
import { TaplineError } from '../../errors';
import { EmbeddedTimescale } from './embedded';

/** A port nobody listens on, scanning up from `from`. */
async function freePort(from = 25433): Promise<number> {
  for (let port = from; ; port++) {
    const ok = await new Promise<boolean>((resolve) => {
      const srv = net.createServer().once('error', () => resolve(false));
      srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
    });
    if (ok) return port;
  }
}

describe('EmbeddedTimescale @integration', function () {
  this.timeout(120_000);
  let stateDir: string;
  let ts: EmbeddedTimescale;
  let PORT: number;

  before(async () => {
    stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tapline-ts-'));
    PORT = await freePort(25433 + (process.pid % 200) * 5);
    ts = new EmbeddedTimescale({ stateDir, port: PORT });
  });
  after(async () => {
    await ts.stop();
    fs.rmSync(stateDir, { recursive: true, force: true });
  });

  it('starts, answers through pg with timescaledb, and reports its status', async () => {
    const r = await ts.start();
    assert.deepEqual(r, { url: `postgres://postgres@127.0.0.1:${PORT}/postgres`, started: true });
    const st = await ts.status();
    assert.equal(st.running, true);
    assert.equal(st.ready, true);
    assert.equal(fs.readFileSync(path.join(stateDir, 'server.pid'), 'utf8').trim(), String(st.pid));
    assert.ok(fs.existsSync(path.join(stateDir, 'data', 'PG_VERSION')), 'data dir on disk');
  });

  it('start again (same or another instance on the stateDir) reuses the running server', async () => {
    const pid = (await ts.status()).pid;
    assert.equal((await ts.start()).started, false);
    const other = new EmbeddedTimescale({ stateDir, port: PORT });
    assert.equal((await other.start()).started, false);
    assert.equal((await other.status()).pid, pid);
  });

  it('an instance with another port finds the running server: start refuses, status shows its URL', async () => {
    const other = new EmbeddedTimescale({ stateDir, port: PORT + 1 });
    await assert.rejects(other.start(), (e: TaplineError) => e.code === 'DB_START_FAILED' && e.message.includes(`already runs on 127.0.0.1:${PORT}`));
    const st = await other.status();
    assert.equal(st.url, ts.url);
    assert.equal(st.ready, true);
  });

  it('a second server process on the same data dir refuses to open it (PGlite does not lock it)', async () => {
    const { pid } = await ts.status();
    const log = path.join(stateDir, 'second.log');
    const args = ['-r', require.resolve('tsx/cjs'), path.join(__dirname, 'server-main.ts'), '--data-dir', ts.dataDir, '--port', String(await freePort(PORT + 1)), '--log-file', log];
    const code = await new Promise<number | null>((resolve) => spawn(process.execPath, args, { stdio: 'ignore' }).on('exit', resolve));
    assert.equal(code, 1);
    assert.match(fs.readFileSync(log, 'utf8'), new RegExp(`in use by server pid ${String(pid)}`));
  });

  it('concurrent starts on one stateDir spawn one server; the other caller reuses it', async () => {
    await ts.stop();
    const [r1, r2] = await Promise.all([ts.start(), new EmbeddedTimescale({ stateDir, port: PORT }).start()]);
    assert.deepEqual([r1.started, r2.started].sort(), [false, true]);
    assert.equal(fs.existsSync(path.join(stateDir, 'start.lock')), false);
  });

  it('keeps hypertable rows across stop/start (and inserts still work after a restart)', async () => {
    const pool = createPool(ts.url, { embedded: true });
    await pool.query('CREATE TABLE flows (ts timestamptz NOT NULL, vm text NOT NULL, bytes bigint NOT NULL)');
    await pool.query("SELECT create_hypertable('flows', by_range('ts', INTERVAL '1 day'))");
    await pool.query(
      "INSERT INTO flows SELECT now() - i * INTERVAL '1 hour', 'vm' || (i % 4), i FROM generate_series(1, 100) i",
    );
    await pool.end();
    assert.deepEqual(await ts.stop(), { stopped: true });
    assert.equal((await ts.status()).running, false);
    assert.equal((await ts.start()).started, true);
    const c = new pg.Client({ connectionString: ts.url });
    await c.connect();
    try {
      const r = await c.query<{ n: string; s: string }>('SELECT count(*) AS n, sum(bytes) AS s FROM flows');
      assert.deepEqual(r.rows[0], { n: '100', s: '5050' });
      // Regression: without LOAD 'timescaledb' at startup this fails on a reopened data dir.
      await c.query("INSERT INTO flows VALUES (now(), 'vm9', 1)");
    } finally {
      await c.end();
    }
  });

  it('stop is safe twice and never touches a foreign pid in the pid file', async () => {
    assert.deepEqual(await ts.stop(), { stopped: true });
    assert.deepEqual(await ts.stop(), { stopped: false });
    fs.writeFileSync(path.join(stateDir, 'server.pid'), `${process.pid}\n`); // this mocha process
    assert.deepEqual(await ts.stop(), { stopped: false });
    assert.equal(fs.existsSync(path.join(stateDir, 'server.pid')), false, 'stale pid file removed');
  });

  it('refuses a port held by another process with a clear DB_START_FAILED', async () => {
    const squatter = net.createServer().listen(0, '127.0.0.1');
    await new Promise((r) => squatter.once('listening', r));
    try {
      const port = (squatter.address() as net.AddressInfo).port;
      const other = new EmbeddedTimescale({ stateDir: path.join(stateDir, 'b'), port });
      await assert.rejects(other.start(), (e: TaplineError) => {
        assert.equal(e.code, 'DB_START_FAILED');
        assert.match(e.message, /already in use by another process/);
        return true;
      });
    } finally {
      squatter.close();
    }
  });

  it('reports DB_START_FAILED with the log tail when the server dies during start', async () => {
    const bad = path.join(stateDir, 'bad');
    fs.mkdirSync(path.join(bad, 'data'), { recursive: true });
    fs.writeFileSync(path.join(bad, 'data', 'PG_VERSION'), '99\n'); // not a data dir PGlite can open
    const other = new EmbeddedTimescale({ stateDir: bad, port: await freePort(PORT + 1) });
    await assert.rejects(other.start(), (e: TaplineError) => {
      assert.equal(e.code, 'DB_START_FAILED');
      assert.match(e.message, /died during start/);
      assert.match(e.message, /startup failed/); // a line from the server's log
      return true;
    });
    assert.equal((await other.status()).running, false);
  });
});

/** What docs/timescaledb-embedded.md states about the embedded server, checked. */
describe('embedded TimescaleDB behaviour (docs/timescaledb-embedded.md) @integration', function () {
  this.timeout(120_000);
  let stateDir: string;
  let ts: EmbeddedTimescale;
  let pool: pg.Pool;
  const q = async (sql: string, params?: unknown[]) => (await pool.query(sql, params)).rows;

  before(async () => {
    stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tapline-ts-doc-'));
    ts = new EmbeddedTimescale({ stateDir, port: await freePort(25633 + (process.pid % 200) * 5) });
    await ts.start();
    pool = createPool(ts.url, { embedded: true });
    await q('CREATE TABLE m (ts timestamptz NOT NULL, vm text NOT NULL, bytes bigint NOT NULL)');
    await q("SELECT create_hypertable('m', by_range('ts', INTERVAL '1 day'))");
    await q('CREATE UNIQUE INDEX ON m (vm, ts)');
    await q(
      "INSERT INTO m SELECT date_trunc('hour', now()) - i * INTERVAL '1 hour', 'vm' || (i % 3), i FROM generate_series(1, 240) i",
    );
  });
  after(async () => {
    await pool?.end().catch(() => undefined);
    await ts.stop();
    fs.rmSync(stateDir, { recursive: true, force: true });
  });

  it('INSERT ... ON CONFLICT on a hypertable with a unique index including the time column', async () => {
    const sql = `INSERT INTO m VALUES ('2026-01-01T00:00:00Z', 'vmX', $1)
                 ON CONFLICT (vm, ts) DO UPDATE SET bytes = m.bytes + excluded.bytes RETURNING bytes`;
    assert.deepEqual(await q(sql, [1]), [{ bytes: '1' }]);
    assert.deepEqual(await q(sql, [5]), [{ bytes: '6' }]);
  });

  it('continuous aggregate: refresh by CALL, real-time rows above the watermark', async () => {
    await q(`CREATE MATERIALIZED VIEW m_hourly WITH (timescaledb.continuous, timescaledb.materialized_only = false) AS
             SELECT time_bucket('1 hour', ts) AS b, vm, sum(bytes) AS s FROM m GROUP BY 1, 2 WITH NO DATA`);
    await q("CALL refresh_continuous_aggregate('m_hourly', NULL, date_trunc('hour', now()))");
    assert.deepEqual(await q('SELECT count(*)::int AS n FROM m_hourly'), [{ n: 241 }]);
    await q("INSERT INTO m VALUES (now() + INTERVAL '2 hours', 'vmRT', 7)");
    assert.deepEqual(await q("SELECT s FROM m_hourly WHERE vm = 'vmRT'"), [{ s: '7' }]);
  });

  it('compression: compress_chunk and reading compressed rows back', async () => {
    await q("ALTER TABLE m SET (timescaledb.compress, timescaledb.compress_segmentby = 'vm', timescaledb.compress_orderby = 'ts DESC')");
    const [{ n }] = await q("SELECT count(compress_chunk(c))::int AS n FROM show_chunks('m', older_than => INTERVAL '3 days') c");
    assert.ok(n >= 6, `compressed ${n} chunks`);
    assert.deepEqual(await q("SELECT count(*)::int AS n FROM m WHERE vm <> 'vmRT'"), [{ n: 241 }]);
  });

  it('background jobs never run by themselves; CALL run_job(id) runs a policy', async () => {
    const [{ id }] = await q("SELECT add_retention_policy('m', INTERVAL '5 days') AS id");
    const chunks = async () => (await q("SELECT count(*)::int AS n FROM show_chunks('m')"))[0].n as number;
    const before = await chunks();
    await new Promise((r) => setTimeout(r, 3000)); // a real server would start it at once
    assert.equal(await chunks(), before, 'no background worker dropped anything');
    const [job] = await q('SELECT next_start, total_runs FROM timescaledb_information.job_stats WHERE job_id = $1', [id]);
    assert.equal(job.total_runs, null, 'the scheduler never saw the job');
    await q(`CALL run_job(${Number(id)})`);
    assert.ok((await chunks()) < before, 'run_job dropped the old chunks');
    const [{ n }] = await q("SELECT count(*)::int AS n FROM drop_chunks('m', older_than => INTERVAL '4 days')");
    assert.ok(n >= 1);
  });

  it('two connections: B waits while A is in a transaction, and each gets its own bytes', async () => {
    const a = new pg.Client({ connectionString: ts.url });
    const b = new pg.Client({ connectionString: ts.url });
    await a.connect();
    await b.connect();
    try {
      await a.query('BEGIN');
      await a.query("INSERT INTO m VALUES ('2026-02-01T00:00:00Z', 'vmTx', 1)");
      let bDone = false;
      const bq = b.query("SELECT count(*)::int AS n FROM m WHERE vm = 'vmTx'").finally(() => (bDone = true));
      await new Promise((r) => setTimeout(r, 500));
      assert.equal(bDone, false, 'B is queued behind the open transaction');
      // Before the copy in server-main's guardProtocol, A got B's rows here and then hung.
      assert.equal((await a.query('ROLLBACK')).command, 'ROLLBACK');
      assert.deepEqual((await bq).rows, [{ n: 0 }]);
      assert.deepEqual((await a.query('SELECT 1 AS x')).rows, [{ x: 1 }]);
    } finally {
      await a.end();
      await b.end();
    }
  });

  it('COPY FROM STDIN aborts the WASM backend: the server exits and a restart keeps committed rows', async () => {
    const { pid } = await ts.status();
    const before = await q('SELECT count(*)::int AS n, sum(bytes)::bigint AS s FROM m');
    const c = new pg.Client({ connectionString: ts.url });
    c.on('error', () => undefined);
    await c.connect();
    // pg has no COPY helper; this is the Submittable shape pg-copy-streams uses.
    const copy = new Promise<void>((resolve, reject) => {
      (c as unknown as { query: (q: object) => void }).query({
        submit: (con: { query: (t: string) => void }) => con.query('COPY m FROM STDIN'),
        handleCopyInResponse: (con: { sendCopyFromChunk: (b: Buffer) => void; endCopyFrom: () => void }) => {
          con.sendCopyFromChunk(Buffer.from('2026-03-01T00:00:00Z\tvmCopy\t1\n'));
          con.endCopyFrom();
        },
        handleError: (e: Error) => reject(e),
        handleReadyForQuery: () => resolve(),
        handleCommandComplete: () => undefined,
      });
    });
    await assert.rejects(copy, /Connection terminated/);
    await c.end().catch(() => undefined);
    for (let i = 0; i < 40 && (await ts.status()).running; i++) await new Promise((r) => setTimeout(r, 50));
    assert.equal((await ts.status()).running, false, `server ${pid} exited`);
    assert.match(fs.readFileSync(ts.logFile, 'utf8'), /FATAL: PGlite aborted .*COPY m FROM STDIN/);
    await pool.end();
    assert.equal((await ts.start()).started, true);
    pool = createPool(ts.url, { embedded: true });
    assert.deepEqual(await q('SELECT count(*)::int AS n, sum(bytes)::bigint AS s FROM m'), before);
  });

  it('one session: SET on one connection is seen by another, pg_stat_activity is empty', async () => {
    const a = new pg.Client({ connectionString: ts.url });
    const b = new pg.Client({ connectionString: ts.url });
    await a.connect();
    await b.connect();
    try {
      await a.query("SET application_name = 'conn-a'");
      assert.equal((await b.query('SHOW application_name')).rows[0].application_name, 'conn-a');
      assert.deepEqual((await b.query('SELECT count(*)::int AS n FROM pg_stat_activity')).rows, [{ n: 0 }]);
    } finally {
      await a.end();
      await b.end();
    }
  });
});
