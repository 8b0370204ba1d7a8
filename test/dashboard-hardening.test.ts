/**
 * Review findings on the dashboard server: the token check must not depend on how the client
 * spelled the path, and times the database cannot take must be a 400, not a 500.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import type { Pool } from 'pg';
import { buildApp } from '../dashboard/server/app';
import { startScratchDb, type ScratchDb } from './support/scratch-db';

const VIEWER = 'viewer-token-for-hardening-01';
const OPERATOR = 'operator-token-for-hardening-1';

describe('dashboard: auth does not depend on the spelling of the path', () => {
  it('a percent-encoded /api/ prefix is still authenticated (401), and no SQL runs', async () => {
    const sql: string[] = [];
    const pool = { query: async (text: string) => { sql.push(text); return { rows: [] }; } } as unknown as Pool;
    const { app } = buildApp({ pool, tokens: { viewer: [VIEWER], operator: [OPERATOR] } });
    try {
      for (const url of ['/%61pi/v1/alerts', '/%61pi/v1/trends', '/%61pi/v1/export/alerts', '/%61pi/v1/meta', '/%61%70%69/v1/topology']) {
        const r = await app.inject({ method: 'GET', url });
        assert.equal(r.statusCode, 401, `${url}: ${r.body}`);
      }
      const ack = await app.inject({ method: 'POST', url: '/%61pi/v1/alerts/x/ack', headers: { authorization: `Bearer ${VIEWER}` } });
      assert.equal(ack.statusCode, 403, ack.body);
      assert.deepEqual(sql, [], 'no statement ran for an unauthenticated request');
      // Unchanged: the health check is public, static files need no token.
      assert.equal((await app.inject({ method: 'GET', url: '/%61pi/v1/health' })).statusCode, 200);
      assert.equal((await app.inject({ method: 'GET', url: '/api/v1/health' })).statusCode, 200);
    } finally {
      await app.close();
    }
  });
});

describe('dashboard: event stream subscriptions end with their client', () => {
  it('a client that leaves while the first poll (prime) still runs leaves no subscription behind', async () => {
    let delayMs = 0;
    const pool = { query: async () => { if (delayMs) await new Promise((r) => setTimeout(r, delayMs)); return { rows: [] }; } } as unknown as Pool;
    const { app, live } = buildApp({ pool, tokens: { viewer: [VIEWER], operator: [] }, pollMs: 50 });
    const url = await app.listen({ host: '127.0.0.1', port: 0 });
    try {
      delayMs = 400; // the first poll is slow (a busy embedded database)
      await new Promise<void>((resolve) => {
        const req = http.get(`${url}/api/v1/events?token=${VIEWER}`, () => undefined);
        req.on('error', () => resolve());
        setTimeout(() => { req.destroy(); resolve(); }, 100); // gone before the server answered
      });
      await new Promise((r) => setTimeout(r, 1200));
      assert.equal(live.clients, 0, 'no listener (and no poller, no keep-alive timer) for a client that is gone');
      // A client that stays is subscribed as before.
      delayMs = 0;
      await new Promise<void>((resolve, reject) => {
        const req = http.get(`${url}/api/v1/events?token=${VIEWER}`, (res) => {
          res.once('data', () => { try { assert.equal(live.clients, 1); resolve(); } catch (e) { reject(e); } finally { req.destroy(); } });
        });
        req.on('error', reject);
      });
    } finally {
      await app.close();
    }
  });
});

describe('dashboard: times outside what the database takes, or impossible dates, are a 400 @integration', function () {
  this.timeout(120_000);
  let db: ScratchDb;
  let app: ReturnType<typeof buildApp>['app'];
  before(async () => {
    db = await startScratchDb();
    app = buildApp({ pool: db.pool, tokens: { viewer: [VIEWER], operator: [] } }).app;
    await app.ready();
  });
  after(async () => { await app?.close(); await db?.stop(); });

  const cases = [
    'topology?from=999999999999999',
    'trends?from=9999-12-31',
    'pair?a=x&b=y&from=9999-12-31T12:00:00Z',
    'capacity?from=9999-12-31',
    'alerts?from=0000-06-01',
    'trends?from=0001-01-01',
    'performance?to=0001-01-02',
    'alerts?from=2024-02-30', // an impossible day, which Date.parse would roll over to March 1
  ];
  for (const q of cases) {
    it(q, async () => {
      const r = await app.inject({ method: 'GET', url: `/api/v1/${q}`, headers: { authorization: `Bearer ${VIEWER}` } });
      assert.equal(r.statusCode, 400, r.body);
      assert.match(JSON.parse(r.body).message, /^(from|to): /);
    });
  }
  it('ordinary times still work', async () => {
    for (const q of ['alerts?from=0&to=86400000', 'alerts?from=2026-11-28T00:00:00Z', 'trends?from=2026-11-28&to=2026-11-29', 'alerts?from=2024-02-29']) {
      const r = await app.inject({ method: 'GET', url: `/api/v1/${q}`, headers: { authorization: `Bearer ${VIEWER}` } });
      assert.equal(r.statusCode, 200, `${q}: ${r.body}`);
    }
  });
});
