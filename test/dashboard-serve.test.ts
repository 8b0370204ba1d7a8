/**
 * startDashboard (what `tapline serve` and the demo call): loopback by default, refuses to run
 * without a token, rejects short tokens in the configuration, serves the page and ECharts
 * (offline, from node_modules) but no other file of node_modules. No database is touched.
 */
import assert from 'node:assert/strict';
import pg from 'pg';
import { startDashboard } from '../dashboard/server';
import { parseConfig } from '../lib/config';
import { TaplineError } from '../lib/errors';

describe('tapline serve: startDashboard', () => {
  const pool = new pg.Pool({ connectionString: 'postgres://nobody@127.0.0.1:1/none', max: 1 }); // never queried here
  after(async () => { await pool.end(); });

  it('refuses to start without any token, saying how to configure one', async () => {
    await assert.rejects(startDashboard(parseConfig({ dashboard: { port: 0 } }), { pool }),
      (e: unknown) => e instanceof TaplineError && e.code === 'CONFIG_INVALID' && /dashboard\.tokens/.test(e.message));
  });

  it('rejects tokens shorter than 16 characters in the configuration', () => {
    assert.throws(() => parseConfig({ dashboard: { tokens: { viewer: ['short'] } } }), /dashboard\.tokens\.viewer\.0: tokens must be at least 16 characters/);
  });

  it('listens on 127.0.0.1 by default and serves the page and ECharts only', async () => {
    const cfg = parseConfig({ dashboard: { port: 0, tokens: { viewer: ['a-viewer-token-of-20c'] } } });
    const d = await startDashboard(cfg, { pool });
    try {
      assert.match(d.url, /^http:\/\/127\.0\.0\.1:\d+\/$/);
      const page = await fetch(d.url);
      assert.equal(page.status, 200);
      assert.match(await page.text(), /<script src="\/vendor\/echarts\.min\.js">/);
      const js = await fetch(`${d.url}vendor/echarts.min.js`);
      assert.equal(js.status, 200);
      assert.ok((await js.arrayBuffer()).byteLength > 500_000);
      for (const p of ['vendor/echarts.js', 'vendor/../package.json', 'app.js', 'views/topology.js']) {
        const r = await fetch(`${d.url}${p}`);
        assert.equal(r.status, p.startsWith('vendor') ? 404 : 200, p);
      }
      assert.equal((await fetch(`${d.url}api/v1/meta`)).status, 401);
    } finally {
      await d.close();
      await d.close(); // safe twice
    }
  });
});
