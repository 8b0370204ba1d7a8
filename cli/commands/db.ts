/**
 * `tapline db start|stop|status`: the embedded TimescaleDB (PGlite + timescaledb, see
 * lib/services/timescale/embedded.ts). `start` leaves it running in the background; with --pg
 * (or TAPLINE_PG_URL) it only checks the user's server and starts nothing.
 */
import { Command } from 'commander';
import { positiveInt } from '../options';
import path from 'node:path';
import { loadConfig } from '../../lib/config';
import { ensureTimescale } from '../../lib/db/pool';
import { logger } from '../../lib/log';
import { EmbeddedTimescale, type EmbeddedOptions } from '../../lib/services/timescale/embedded';

const log = logger('cli-db');

interface DbFlags {
  stateDir?: string;
  host?: string;
  port?: number;
  timeout?: number;
}

const int = positiveInt;

function withDbOptions(cmd: Command): Command {
  return cmd
    .option('--state-dir <dir>', 'data dir, log and pid file of the embedded server (default: ./.tapline/timescale)')
    .option('--host <host>', 'address to listen on (default: 127.0.0.1)')
    .option('--port <port>', 'port to listen on (default: 15433)', int('--port'));
}

/** Flags win; otherwise the configuration (tapline.yaml, TAPLINE_STATE_DIR, …) as every command uses it. */
function dbOptions(cmd: Command, f: DbFlags): EmbeddedOptions {
  const cfg = loadConfig((cmd.optsWithGlobals() as { config?: string }).config, process.env);
  return {
    stateDir: f.stateDir ?? path.join(cfg.stateDir, 'timescale'),
    host: f.host,
    port: f.port ?? cfg.timescale.embeddedPort,
    startTimeoutMs: f.timeout !== undefined ? f.timeout * 1000 : undefined,
  };
}

/**
 * A psql command line that works against the embedded server. libpq differs from `pg` in two
 * ways that matter there: its default sslmode=prefer hangs (the socket server does not answer
 * the SSL request) and it refuses to send an empty password when asked for one (the server asks
 * but accepts any), so both are given explicitly. Harmless against a real server too.
 */
export function psqlCommand(url: string): string {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return `psql '${url}'`;
  }
  if (!u.password) u.password = 'postgres';
  if (!u.searchParams.has('sslmode')) u.searchParams.set('sslmode', 'disable');
  return `psql '${u.toString()}'`;
}

function out(line: string): void {
  process.stdout.write(`${line}\n`);
}

export function register(program: Command): void {
  const db = program.command('db').description('run the embedded TimescaleDB (PGlite), or check your own server');

  withDbOptions(db.command('start'))
    .description('start the embedded TimescaleDB and leave it running; idempotent')
    .option('--pg <url>', 'use your own TimescaleDB (env TAPLINE_PG_URL): only checked, nothing started')
    .option('--timeout <seconds>', 'how long to wait for the server to answer (default: 60)', int('--timeout'))
    .action(async (f: DbFlags & { pg?: string }, cmd: Command) => {
      const t0 = Date.now();
      const { url, server } = await ensureTimescale({ url: f.pg, ...dbOptions(cmd, f) });
      const secs = ((Date.now() - t0) / 1000).toFixed(1);
      if (server === null) {
        log.info('external timescaledb reachable');
        out(`TimescaleDB at ${url.replace(/:[^:@/]*@/, ':***@')} answers; using it, nothing started.`);
        return;
      }
      const st = await server.status();
      log.info({ url, pid: st.pid, seconds: Number(secs) }, 'embedded timescaledb ready');
      out(`TimescaleDB (embedded) ready at ${url} (pid ${st.pid}, ${secs}s; log ${st.logFile})`);
      out(`  connect: ${psqlCommand(url)}`);
    });

  withDbOptions(db.command('stop'))
    .description('stop the embedded server started from this state dir (never another process)')
    .action(async (f: DbFlags, cmd: Command) => {
      const { stopped } = await new EmbeddedTimescale(dbOptions(cmd, f)).stop();
      out(stopped ? 'Embedded TimescaleDB stopped.' : 'No embedded TimescaleDB is running.');
    });

  withDbOptions(db.command('status'))
    .description('is the embedded server running and answering? (exit code 1 when not)')
    .option('--json', 'print the status as JSON')
    .action(async (f: DbFlags & { json?: boolean }, cmd: Command) => {
      const st = await new EmbeddedTimescale(dbOptions(cmd, f)).status();
      if (f.json) out(JSON.stringify({ ...st, psql: psqlCommand(st.url) }));
      else if (st.ready) {
        out(`running, ready at ${st.url} (pid ${st.pid}; data ${st.dataDir}; log ${st.logFile})`);
        out(`  connect: ${psqlCommand(st.url)}`);
      } else if (st.running) out(`running (pid ${st.pid}) but not answering at ${st.url}; see ${st.logFile}`);
      else out(`not running (state dir ${st.stateDir}); start it with: tapline db start`);
      if (!st.ready) process.exitCode = 1;
    });
}
