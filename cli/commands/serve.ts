/**
 * `tapline serve`: the dashboard (JSON API, live updates, web page) over TimescaleDB — the
 * user's server (--pg / TAPLINE_PG_URL) or the embedded one, started if it is not running.
 * Kafka is not needed. Tokens come from the configuration (dashboard.tokens); --generate-token
 * makes a viewer and an operator token for this run and prints them.
 */
import crypto from 'node:crypto';
import path from 'node:path';
import type { Command } from 'commander';
import { configFrom, positiveInt } from '../options';
import { createPool, ensureTimescale } from '../../lib/db/pool';
import { EmbeddedTimescale } from '../../lib/services/timescale/embedded';
import { migrateSinkSchema } from '../../pipelines/sinks/timescale';
import { startDashboard } from '../../dashboard/server';
import { runUntilSignal } from '../run-until-signal';

export function register(program: Command): void {
  program.command('serve')
    .description('serve the dashboard (topology, pair drill-down, trends, performance, alerts, capacity) on 127.0.0.1')
    .option('--pg <url>', 'use this TimescaleDB server (postgres://...) instead of the embedded one (env TAPLINE_PG_URL)')
    .option('--state-dir <dir>', 'where the embedded TimescaleDB keeps its data (env TAPLINE_STATE_DIR, default .tapline)')
    .option('--host <host>', 'address to listen on (default: dashboard.host, 127.0.0.1)')
    .option('--port <port>', 'port to listen on (default: dashboard.port, 8470)', positiveInt('--port'))
    .option('--generate-token', 'generate a viewer and an operator token for this run and print them', false)
    .action(async (opts: { host?: string; port?: number; generateToken: boolean }, cmd: Command) => {
      const cfg = configFrom(cmd);
      let db: EmbeddedTimescale | null = null;
      let url: string;
      if (cfg.timescale.url) {
        url = (await ensureTimescale({ url: cfg.timescale.url })).url;
      } else {
        db = new EmbeddedTimescale({ stateDir: path.join(cfg.stateDir, 'timescale'), port: cfg.timescale.embeddedPort });
        url = (await db.start()).url;
      }
      const pool = createPool(url, { embedded: db !== null });
      // The tables are the sink's; creating them here too lets the dashboard start before the sink.
      await migrateSinkSchema(pool);
      const tokens = opts.generateToken
        ? { viewer: [crypto.randomBytes(18).toString('base64url')], operator: [crypto.randomBytes(18).toString('base64url')] }
        : undefined;
      const dash = await startDashboard(cfg, { pool }, { host: opts.host, port: opts.port, tokens });
      process.stdout.write(`dashboard: ${dash.url}\n`);
      if (tokens) process.stdout.write(`viewer token:   ${tokens.viewer[0]}\noperator token: ${tokens.operator[0]}\n`);
      // The embedded database is left running (as `tapline db start` would): other commands share it.
      await runUntilSignal(cfg, 'serve', null, async () => { await dash.close(); await pool.end().catch(() => undefined); });
    });
}
