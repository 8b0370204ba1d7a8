/**
 * What the dashboard tests share: a private embedded TimescaleDB (the tests ack alerts and
 * compare totals over "everything in the range", so they must not share tables with other
 * files) loaded with real stage outputs (dashboard-fixture.ts), and the dashboard listening on a
 * free loopback port with one viewer and one operator token.
 */
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../dashboard/server/app';
import type { LiveFeed } from '../dashboard/server/live';
import { startScratchDb, type ScratchDb } from './support/scratch-db';
import { loadDashboardData, type DashboardData } from './dashboard-fixture';

export const VIEWER = 'viewer-token-for-tests-0001';
export const OPERATOR = 'operator-token-for-tests-0001';

export interface DashboardEnv { db: ScratchDb; data: DashboardData; app: FastifyInstance; live: LiveFeed; url: string; close(): Promise<void> }

export async function startDashboardEnv(): Promise<DashboardEnv> {
  const db = await startScratchDb();
  try {
    const data = await loadDashboardData(db.pool);
    const { app, live } = buildApp({ pool: db.pool, tokens: { viewer: [VIEWER], operator: [OPERATOR] }, pollMs: 200 });
    const url = await app.listen({ host: '127.0.0.1', port: 0 });
    return { db, data, app, live, url, close: async () => { await app.close(); await db.stop(); } };
  } catch (e) {
    await db.stop();
    throw e;
  }
}

export async function get(env: DashboardEnv, path: string, tokenValue: string | null = VIEWER, init: RequestInit = {}):
Promise<{ status: number; body: any }> { // eslint-disable-line @typescript-eslint/no-explicit-any
  const headers: Record<string, string> = tokenValue === null ? {} : { authorization: `Bearer ${tokenValue}` };
  const res = await fetch(`${env.url}${path}`, { ...init, headers: { ...headers, ...(init.headers as Record<string, string> ?? {}) } });
  const text = await res.text();
  let body: unknown = text;
  try { body = JSON.parse(text); } catch { /* not JSON */ }
  return { status: res.status, body };
}
