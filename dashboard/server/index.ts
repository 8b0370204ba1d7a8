/**
 * startDashboard(cfg, services, opts): the dashboard server on cfg.dashboard.host:port
 * (127.0.0.1:8470 by default), for `tapline serve` and `npm run demo`. Returns its URL and
 * close() (safe to call twice). With no token configured it refuses to start unless
 * opts.tokens is given (the demo can generate one and print it with the URL).
 */
import type { Pool } from 'pg';
import type { TaplineConfig } from '../../lib/config';
import { TaplineError } from '../../lib/errors';
import { logger } from '../../lib/log';
import { buildApp } from './app';

export { buildApp } from './app';
const log = logger('dashboard');

export interface DashboardOptions {
  host?: string;
  port?: number;
  /** Replaces the configured tokens (e.g. tokens generated for one demo run). */
  tokens?: { viewer: string[]; operator: string[] };
}

export interface RunningDashboard { url: string; close(): Promise<void> }

export async function startDashboard(cfg: TaplineConfig, services: { pool: Pool }, opts: DashboardOptions = {}): Promise<RunningDashboard> {
  const tokens = opts.tokens ?? cfg.dashboard.tokens;
  if (tokens.viewer.length + tokens.operator.length === 0) {
    throw new TaplineError('CONFIG_INVALID', 'dashboard',
      'no dashboard token configured: set dashboard.tokens.viewer / dashboard.tokens.operator in the configuration ' +
      "(or TAPLINE__dashboard__tokens__operator='[\"<at least 16 characters>\"]'), or run `tapline serve --generate-token`");
  }
  const { app } = buildApp({ pool: services.pool, tokens, pollMs: cfg.dashboard.pollMs });
  const host = opts.host ?? cfg.dashboard.host;
  const port = opts.port ?? cfg.dashboard.port;
  try {
    await app.listen({ host, port });
  } catch (e) {
    await app.close().catch(() => undefined);
    throw new TaplineError('IO', 'dashboard', `cannot listen on ${host}:${port}: ${(e as Error).message}`, { cause: e });
  }
  const addr = app.server.address();
  const bound = typeof addr === 'object' && addr ? addr.port : port;
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${bound}/`;
  log.info({ url }, 'dashboard listening');
  let closed: Promise<void> | null = null;
  return { url, close: () => (closed ??= app.close().then(() => undefined)) };
}
