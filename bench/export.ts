/**
 * Arrow export throughput against a plain SELECT of the same rows, same order, through `pg`, on
 * a fresh embedded TimescaleDB of its own (no Kafka needed).
 *
 *   npm run bench:export -- [--rows 120000] [--rounds 2] [--batch 50000]
 *
 * Rows: synthetic flow_windows (the real table, migrated), 2000 flows per 10-s window.
 * Reported per method, best of the rounds: wall time, rows/s, CPU seconds of the database
 * server process (less sensitive than wall time to other load on the machine) and of this
 * process, and the peak growth of this process's RSS while it ran. Ratios are export / SELECT.
 */
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { createPool } from '../lib/db/pool';
import { EmbeddedTimescale } from '../lib/services/timescale/embedded';
import { migrateSinkSchema } from '../pipelines/sinks/timescale';
import { planExport, writeArrow, type ArrowFormat } from '../lib/export';

const arg = (n: string, d: number) => { const i = process.argv.indexOf(`--${n}`); return i >= 0 ? Number(process.argv[i + 1]) : d; };
const ROWS = arg('rows', 120_000);
const ROUNDS = arg('rounds', 2);
const BATCH = arg('batch', 50_000);
const RANGE = { from: '2030-01-01T00:00:00Z', to: '2030-02-01T00:00:00Z' };

function cpuOf(pid: number): number {
  const f = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(f[11]) + Number(f[12])) / 100; // utime + stime, in clock ticks of 10 ms
}

interface Run { wallMs: number; serverCpu: number; clientCpu: number; rssMb: number; rows: number }

async function measure(serverPid: number, fn: () => Promise<number>): Promise<Run> {
  global.gc?.();
  const rss0 = process.memoryUsage().rss;
  let peak = rss0;
  const sampler = setInterval(() => { peak = Math.max(peak, process.memoryUsage().rss); }, 20);
  const s0 = cpuOf(serverPid);
  const c0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  const rows = await fn();
  const wallMs = Number(process.hrtime.bigint() - t0) / 1e6;
  const c = process.cpuUsage(c0);
  clearInterval(sampler);
  peak = Math.max(peak, process.memoryUsage().rss);
  return { wallMs, serverCpu: cpuOf(serverPid) - s0, clientCpu: (c.user + c.system) / 1e6, rssMb: (peak - rss0) / 2 ** 20, rows };
}

/** A port nothing listens on now (the OS picks it). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer().listen(0, '127.0.0.1', () => {
      const p = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(p));
    }).on('error', reject);
  });
}

const sink = () => new Writable({ write(_c, _e, cb) { cb(); } });

(async () => {
  const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tapline-bench-export-'));
  const db = new EmbeddedTimescale({ stateDir, port: await freePort() });
  const { url } = await db.start();
  const pid = (await db.status()).pid as number;
  const pool = createPool(url, { embedded: true });
  try {
    await migrateSinkSchema(pool);
    let t = Date.now();
    await pool.query(`INSERT INTO flow_windows (window_start, window_end, observation_point, flow_key, ip_proto, addr_a, port_a, addr_b, port_b,
        packets_ab, bytes_ab, packets_ba, bytes_ba, first_seen, last_seen, syn_count, rst_count)
      SELECT w, w + interval '10 s', 'bench', '6|10.1.' || (f >> 8) || '.' || (f & 255) || '|' || (40000 + i % 97) || '|10.2.0.1|443', 6,
             ('10.1.' || (f >> 8) || '.' || (f & 255))::inet, 40000 + i % 97, '10.2.0.1'::inet, 443,
             10 + i % 13, 1500 * (10 + i % 13), 8 + i % 7, 900 * (8 + i % 7), w + (i % 9973) * interval '1 microsecond', w + interval '9.5 s', i % 2, (i % 5 = 0)::int
        FROM generate_series(0, $1 - 1) i, LATERAL (SELECT '2030-01-01'::timestamptz + (i / 2000) * interval '10 s' AS w, i % 2000 AS f) x`, [ROWS]);
    console.log(`embedded TimescaleDB at ${url}; ${ROWS} flow_windows rows inserted in ${Date.now() - t} ms; batches of ${BATCH} rows`);
    t = Date.now();
    await pool.query('VACUUM ANALYZE flow_windows');
    console.log(`VACUUM ANALYZE ${Date.now() - t} ms`);

    const plan = await planExport(pool, { table: 'flow_windows', ...RANGE });
    const methods: Record<string, () => Promise<number>> = {
      'plain SELECT (pg, rows as objects)': async () => (await pool.query(
        `SELECT * FROM flow_windows WHERE window_start >= $1 AND window_start < $2 ORDER BY window_start, flow_key, observation_point`, [RANGE.from, RANGE.to])).rowCount ?? 0,
      'export, Arrow stream': async () => (await writeArrow(pool, plan, sink(), { format: 'stream' as ArrowFormat, batchRows: BATCH })).rows,
      'export, Arrow file on disk': async () => {
        const f = path.join(stateDir, 'out.arrow');
        const r = await writeArrow(pool, plan, fs.createWriteStream(f), { format: 'file', batchRows: BATCH });
        fs.rmSync(f);
        return r.rows;
      },
    };
    const best = new Map<string, Run>();
    for (let round = 0; round < ROUNDS; round++) {
      for (const [name, fn] of Object.entries(methods)) {
        const r = await measure(pid, fn);
        if (r.rows !== ROWS) throw new Error(`${name}: ${r.rows} rows, expected ${ROWS}`);
        console.log(`  round ${round + 1} ${name}: ${r.wallMs.toFixed(0)} ms`);
        const b = best.get(name);
        if (!b || r.wallMs < b.wallMs) best.set(name, r);
      }
    }
    const ref = best.get('plain SELECT (pg, rows as objects)') as Run;
    console.log(`\n${'method'.padEnd(36)} ${'rows/s'.padStart(9)} ${'wall ms'.padStart(8)} ${'server cpu s'.padStart(12)} ${'client cpu s'.padStart(12)} ${'peak +RSS MiB'.padStart(13)}  vs SELECT (rows/s)`);
    for (const [name, r] of best) {
      console.log(`${name.padEnd(36)} ${Math.round(ROWS / (r.wallMs / 1000)).toString().padStart(9)} ${r.wallMs.toFixed(0).padStart(8)} ` +
        `${r.serverCpu.toFixed(2).padStart(12)} ${r.clientCpu.toFixed(2).padStart(12)} ${r.rssMb.toFixed(0).padStart(13)}  ${(ref.wallMs / r.wallMs).toFixed(2)}x`);
    }
    console.log(`load average now: ${os.loadavg().map((x) => x.toFixed(1)).join(' ')} (2 cores; wall times scale with it, CPU seconds much less)`);
  } finally {
    await pool.end();
    await db.stop();
    fs.rmSync(stateDir, { recursive: true, force: true });
  }
})().catch((e) => { console.error(e); process.exitCode = 1; });
