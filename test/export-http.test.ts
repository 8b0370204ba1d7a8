/**
 * The export's refusals and its behaviour towards readers, on the real embedded TimescaleDB:
 * bad HTTP parameters are 400 with a JSON message (and nothing typed reaches SQL), the
 * `tapline export` process streams to stdout and fails with exit code 2 and a message on bad
 * input, a reader that stops reading stops the paging (bounded memory), one that goes away ends
 * the export.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import type { Pool } from 'pg';
import { tableFromIPC } from 'apache-arrow';
import { testServices } from './support/services';
import { assertEqualsSql } from './export-compare';
import type { Services } from '../cli/services';
import { migrateSinkSchema } from '../pipelines/sinks/timescale';
import { planExport, writeArrow } from '../lib/export';
import { startExportServer, type ExportServer } from '../lib/export/http';

const OP = `export-http-${process.pid}`;
const RANGE = { from: '2031-03-01T00:00:00Z', to: '2031-03-02T00:00:00Z' };
const ROOT = path.resolve(__dirname, '..');

/** 50 flow windows in 2031, 10 per timestamp, marked with OP. */
async function insertRows(pool: Pool): Promise<void> {
  await pool.query(`INSERT INTO flow_windows (window_start, window_end, observation_point, flow_key, ip_proto, addr_a, port_a, addr_b, port_b,
      packets_ab, bytes_ab, packets_ba, bytes_ba, first_seen, last_seen)
    SELECT t, t + interval '10 s', $1, 'k' || i, 6, ('10.7.0.' || i)::inet, 1000 + i, 'fd00::1'::inet, 443, i, i * 1500, i, i * 60,
           t + i * interval '1 microsecond', t + interval '9 s'
      FROM generate_series(1, 50) i, LATERAL (SELECT '2031-03-01 10:00:00+00'::timestamptz + (i / 10) * interval '10 s' AS t) w
    ON CONFLICT DO NOTHING`, [OP]);
}

function cli(args: string[]): Promise<{ code: number | null; stdout: Buffer; stderr: string }> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, [path.join(ROOT, 'bin', 'tapline.js'), ...args], { cwd: ROOT, env: { ...process.env, TAPLINE_LOG_LEVEL: 'warn' } });
    const out: Buffer[] = [];
    let err = '';
    p.stdout.on('data', (d: Buffer) => out.push(d));
    p.stderr.on('data', (d: Buffer) => { err += d.toString(); });
    p.on('error', reject);
    p.on('close', (code) => resolve({ code, stdout: Buffer.concat(out), stderr: err }));
  });
}

/** A real pool whose queries are counted (how many pages the exporter fetched). */
function counting(pool: Pool): { pool: Pool; count: () => number } {
  let n = 0;
  const p = new Proxy(pool, { get: (t, k) => (k === 'query' ? (...a: unknown[]) => { n++; return (t.query as (...x: unknown[]) => unknown)(...a); } : Reflect.get(t, k)) });
  return { pool: p, count: () => n };
}

describe('export: refusals, CLI process, readers @integration', function () {
  this.timeout(300_000);
  let s: Services;
  let server: ExportServer;
  let tmp: string;

  before(async () => {
    s = await testServices();
    await migrateSinkSchema(s.pool);
    await insertRows(s.pool);
    server = await startExportServer(s.pool, { port: 0 });
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tapline-export-http-'));
  });

  after(async () => {
    await server?.close();
    await s?.pool.query('DELETE FROM flow_windows WHERE observation_point = $1', [OP]).catch(() => undefined);
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  });

  it('answers bad parameters with 400 and a JSON message, before any Arrow byte', async () => {
    const cases: [string, RegExp][] = [
      ['nope', /unknown table "nope": exportable tables and views are .*flow_windows/],
      [`${encodeURIComponent('flow_windows"; DROP TABLE flow_windows; --')}`, /unknown table "flow_windows"; DROP TABLE flow_windows; --"/],
      ['tapline_migrations', /unknown table "tapline_migrations"/],
      ['pg_authid', /unknown table "pg_authid"/],
      ['information_schema.columns', /unknown table "information_schema.columns"/],
      ['flow_windows?from=yesterday', /from "yesterday" is not a valid time/],
      ['flow_windows?to=2031-02-30', /to "2031-02-30" is not a valid time: day out of range/],
      ['flow_windows?from=2031-03-02&to=2031-03-01', /from \(2031-03-02T00:00:00.000000Z\) is after to/],
      ['flow_windows?columns=bytes_ab,nope', /unknown column "nope" in flow_windows: its columns are window_start,/],
      ['flow_windows?columns=bytes_ab,bytes_ab', /column "bytes_ab" is listed twice/],
      [`flow_windows?columns=${encodeURIComponent('addr_a" FROM pg_authid --')}`, /unknown column "addr_a" FROM pg_authid --"/],
      ['flow_windows?time_column=flow_key', /time column "flow_key" is not a timestamp column of flow_windows \(those are: window_start, window_end, first_seen, last_seen\)/],
      ['flow_windows?format=csv', /format must be "stream" or "file"/],
      ['flow_windows?limit=5', /unknown query parameter "limit"/],
      ['flow_windows?from=2031-03-01&from=2031-03-02', /"from" given more than once/],
    ];
    for (const [q, msg] of cases) {
      const res = await fetch(`${server.url}/api/v1/export/${q}`);
      assert.equal(res.status, 400, q);
      assert.match(res.headers.get('content-type') ?? '', /^application\/json/, q);
      const body = await res.json() as { error: string; message: string };
      assert.equal(body.error, 'bad_request', q);
      assert.match(body.message, msg, q);
    }
    const still = await s.pool.query('SELECT count(*)::int n FROM flow_windows WHERE observation_point = $1', [OP]);
    assert.equal(still.rows[0].n, 50, 'flow_windows is still there, with its rows');
  });

  it('`tapline export --out -` streams Arrow to stdout; bad input exits 2 with a message and leaves no file', async () => {
    const ok = await cli(['export', '--pg', s.pgUrl, '--table', 'flow_windows', '--from', RANGE.from, '--to', RANGE.to, '--out', '-']);
    assert.equal(ok.code, 0, ok.stderr);
    assert.match(ok.stderr, /exported 50 rows of flow_windows in 1 batches/);
    await assertEqualsSql(s.pool, tableFromIPC(ok.stdout), { table: 'flow_windows', timeColumn: 'window_start', ...RANGE, orderBy: 'window_start, flow_key, observation_point' });

    const out = path.join(tmp, 'bad.arrow');
    const bad: [string[], number, RegExp][] = [
      [['--table', 'nope'], 2, /^tapline: unknown table "nope"/m],
      [['--table', 'flow_windows', '--from', 'soon'], 2, /^tapline: from "soon" is not a valid time/m],
      [['--table', 'flow_windows', '--columns', 'bytes_ab,zzz'], 2, /^tapline: unknown column "zzz"/m],
      [['--table', 'flow_windows', '--format', 'csv'], 1, /--format must be "file" or "stream"/],
    ];
    for (const [args, code, msg] of bad) {
      const r = await cli(['export', '--pg', s.pgUrl, '--out', out, ...args]);
      assert.equal(r.code, code, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, msg, args.join(' '));
      assert.equal(fs.existsSync(out), false, 'no output file');
      assert.deepEqual(fs.readdirSync(tmp), [], 'no partial file either');
    }
    const nodir = await cli(['export', '--pg', s.pgUrl, '--table', 'flow_windows', '--out', path.join(tmp, 'missing', 'x.arrow')]);
    assert.equal(nodir.code, 2);
    assert.match(nodir.stderr, /directory .*missing does not exist/);
  });

  it('a reader that stops reading stops the paging; when it reads again the export completes', async () => {
    const plan = await planExport(s.pool, { table: 'flow_windows', ...RANGE });
    const c = counting(s.pool);
    let held: (() => void)[] = [];
    let holding = true;
    const chunks: Buffer[] = [];
    const slow = new Writable({
      highWaterMark: 1024,
      write(chunk: Buffer, _enc, cb) { chunks.push(chunk); if (holding) held.push(cb); else cb(); },
    });
    const done = writeArrow(c.pool, plan, slow, { batchRows: 2 }); // 25 pages if nothing held it back
    await new Promise((r) => setTimeout(r, 1500));
    assert.ok(c.count() <= 2, `paging waits for the reader: ${c.count()} page queries while it was stalled`);
    holding = false;
    for (const cb of held) cb();
    held = [];
    const r = await done;
    assert.equal(r.rows, 50);
    assert.equal(c.count(), 26, '25 full pages and the empty one that ends it');
    assert.equal(tableFromIPC(Buffer.concat(chunks)).numRows, 50);
  });

  it('a reader that goes away ends the export with an error, and the server keeps serving', async () => {
    const plan = await planExport(s.pool, { table: 'flow_windows', ...RANGE });
    const c = counting(s.pool);
    let seen = 0;
    const quitter = new Writable({
      write(chunk: Buffer, _enc, cb) { seen += chunk.length; cb(); if (seen > 2000) this.destroy(); },
    });
    await assert.rejects(writeArrow(c.pool, plan, quitter, { batchRows: 2 }), /the reader went away|destroyed|premature/i);
    assert.ok(c.count() < 25, `stopped paging after the reader left (${c.count()} pages)`);

    const ac = new AbortController();
    const res = await fetch(`${server.url}/api/v1/export/flow_windows?${new URLSearchParams(RANGE)}`, { signal: ac.signal });
    assert.equal(res.status, 200);
    ac.abort();
    const again = await fetch(`${server.url}/api/v1/export/flow_windows?${new URLSearchParams(RANGE)}`);
    assert.equal(tableFromIPC(new Uint8Array(await again.arrayBuffer())).numRows, 50);
  });
});
