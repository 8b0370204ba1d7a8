/**
 * Child-process entry of the embedded TimescaleDB: PGlite (Postgres compiled to WASM) with the
 * timescaledb extension, served over the Postgres wire protocol by PGLiteSocketServer so that
 * every other part of tapline reaches it through `pg` exactly like a real server.
 *
 * Run as `node -r tsx/cjs server-main.ts --data-dir D --host H --port P --log-file F`
 * (each flag may also come from TAPLINE_TS_DATA_DIR / _HOST / _PORT / _LOG_FILE). It is a
 * separate process, not a library call, because PGlite runs its queries on the JS thread:
 * a detached child keeps the database alive after the CLI exits and keeps a busy pipeline
 * from stalling on the database (and the other way round).
 *
 * Exit codes: 0 after a clean shutdown, 1 when startup or shutdown failed, 70 when the WASM
 * Postgres aborted (reason in the log file in every case).
 */
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { PGlite } from '@electric-sql/pglite';
import { timescaledb } from '@electric-sql/pglite/timescaledb';
import { PGLiteSocketServer } from '@electric-sql/pglite-socket';

const { values } = parseArgs({
  options: {
    'data-dir': { type: 'string' },
    host: { type: 'string' },
    port: { type: 'string' },
    'log-file': { type: 'string' },
  },
  strict: true,
});

const dataDir = path.resolve(values['data-dir'] ?? process.env.TAPLINE_TS_DATA_DIR ?? '.tapline/timescale/data');
const host = values.host ?? process.env.TAPLINE_TS_HOST ?? '127.0.0.1';
const port = Number(values.port ?? process.env.TAPLINE_TS_PORT ?? 15433);
const logFile = values['log-file'] ?? process.env.TAPLINE_TS_LOG_FILE;

// Plain appendFileSync lines, not pino: the parent reads the tail of this file to explain a
// failed start, so every line must be on disk before the process can die.
function log(msg: string): void {
  const line = `${new Date().toISOString()} [pid ${process.pid}] ${msg}\n`;
  if (logFile) fs.appendFileSync(logFile, line);
  else process.stderr.write(line);
}

let db: PGlite | null = null;
let server: PGLiteSocketServer | null = null;
let stopping = false;

async function shutdown(signal: string): Promise<void> {
  if (stopping) return;
  stopping = true;
  log(`${signal}: stopping`);
  try {
    if (server) await server.stop();
    // close() shuts Postgres down with a checkpoint, so the next start needs no WAL recovery.
    // (Committed rows survived kill -9 in our tests too, but a clean close is the cheap path.)
    if (db) await db.close();
    log('stopped cleanly');
    process.exit(0);
  } catch (e) {
    log(`error during shutdown: ${(e as Error).stack ?? String(e)}`);
    process.exit(1);
  }
}

async function main(): Promise<void> {
  if (!Number.isInteger(port) || port <= 0 || port > 65535) throw new Error(`invalid port ${String(port)}`);
  fs.mkdirSync(dataDir, { recursive: true });
  lockDataDir();
  const t0 = Date.now();
  const existing = fs.readdirSync(dataDir).length > 0;
  log(`opening ${existing ? 'existing' : 'new'} data dir ${dataDir}`);
  db = await PGlite.create({ dataDir, extensions: { timescaledb } });
  await db.exec('CREATE EXTENSION IF NOT EXISTS timescaledb');
  // A real server loads timescaledb through shared_preload_libraries; PGlite loads an extension
  // library only when CREATE EXTENSION actually runs. On a reopened data dir CREATE is a no-op,
  // so without this LOAD the planner hooks are missing: INSERT into a hypertable fails ("invalid
  // INSERT on the root table") and SELECT silently skips compressed chunks.
  await db.exec("LOAD 'timescaledb'");
  const v = await db.query<{ extversion: string }>(
    "SELECT extversion FROM pg_extension WHERE extname = 'timescaledb'",
  );
  log(`timescaledb ${v.rows[0]?.extversion ?? '?'} ready after ${Date.now() - t0} ms`);

  // maxConnections > 1 lets a CLI command and the pipeline both connect; their statements are
  // still serialized on the single PGlite session (see docs/timescaledb-embedded.md).
  guardProtocol(db);
  // TAPLINE_TS_DEBUG=1 makes the socket server trace every protocol message to stdout, which
  // the parent points at the log file: the only way to see why a client connection was dropped.
  const debug = process.env.TAPLINE_TS_DEBUG === '1';
  server = new PGLiteSocketServer({ db, host, port, maxConnections: 100, debug });
  server.addEventListener('error', (ev) => log(`socket server error: ${String((ev as CustomEvent).detail)}`));
  await server.start();
  log(`listening on ${host}:${port} (startup ${Date.now() - t0} ms)`);
}

/**
 * PGlite does not lock its data dir (its postmaster.pid says -42): a second process opened the
 * same dir and served it next to the first, which would corrupt it as soon as both write. So we
 * hold `<dataDir>.lock` (our pid) while running; a lock whose pid is gone is stale and taken over.
 */
const lockFile = `${dataDir}.lock`;
function lockDataDir(): void {
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      fs.writeFileSync(lockFile, `${process.pid}\n`, { flag: 'wx' });
      process.on('exit', () => {
        try {
          if (fs.readFileSync(lockFile, 'utf8').trim() === String(process.pid)) fs.rmSync(lockFile);
        } catch {
          /* already gone */
        }
      });
      return;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
    const holder = Number(fs.readFileSync(lockFile, 'utf8').trim());
    let alive = false;
    try {
      alive = Number.isInteger(holder) && holder > 0 && fs.readFileSync(`/proc/${holder}/cmdline`, 'utf8').includes('server-main');
    } catch {
      /* no such process */
    }
    if (alive) throw new Error(`data dir ${dataDir} is in use by server pid ${holder} (${lockFile})`);
    fs.rmSync(lockFile, { force: true }); // stale: its server was killed
  }
  throw new Error(`could not take ${lockFile}`);
}

/**
 * Two fixes around PGlite.execProtocolRaw, the one call pglite-socket makes per message:
 *
 * 1. Copy the result. PGlite 0.3.14 returns a view into a buffer that its next call overwrites,
 *    and pglite-socket runs the next queued message (another connection's) before the socket
 *    write copies the bytes, so one connection received another's rows and then hung on the
 *    trailing garbage (reproduced: ROLLBACK on A answered with B's SELECT result). With the copy
 *    each connection gets its own bytes.
 * 2. Some statements abort the WASM Postgres instead of raising an SQL error (seen: any
 *    `COPY ... FROM STDIN` sent over the socket). After a WebAssembly.RuntimeError the PGlite
 *    instance is dead: every later connection is dropped while the process stays up and looks
 *    healthy. Exiting is the honest answer: the pid goes away, `status` says "not running", and
 *    the next start recovers the data dir from the WAL like after a Postgres crash.
 */
function guardProtocol(pglite: PGlite): void {
  const raw = pglite.execProtocolRaw.bind(pglite);
  pglite.execProtocolRaw = async (...args: Parameters<PGlite['execProtocolRaw']>) => {
    try {
      return (await raw(...args)).slice();
    } catch (e) {
      if (e instanceof Error && e.constructor.name === 'RuntimeError') {
        // (WebAssembly.RuntimeError; the name check keeps us off the DOM lib typings)
        const first = Buffer.from(args[0]).subarray(0, 200).toString('latin1').replace(/[^\x20-\x7e]/g, '.');
        log(`FATAL: PGlite aborted (${e.message}) while running message ${JSON.stringify(first)}; exiting, the next start recovers`);
        stopping = true; // no db.close(): the instance is unusable and close() would fail or hang
        setTimeout(() => process.exit(70), 50);
      }
      throw e;
    }
  };
}

process.on('SIGTERM', () => void shutdown('SIGTERM'));
process.on('SIGINT', () => void shutdown('SIGINT'));
process.on('uncaughtException', (e) => {
  log(`uncaught exception: ${e.stack ?? String(e)}`);
  process.exit(1);
});
process.on('unhandledRejection', (e) => {
  log(`unhandled rejection: ${(e as Error)?.stack ?? String(e)}`);
  process.exit(1);
});

main().catch((e: unknown) => {
  log(`startup failed: ${(e as Error)?.stack ?? String(e)}`);
  process.exit(1);
});
