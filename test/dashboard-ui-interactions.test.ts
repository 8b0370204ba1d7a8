/**
 * The dashboard in Chromium against the real server and database, for what the happy-path test
 * (dashboard-browser.test.ts) does not cover: responses arriving out of order when the user moves
 * on quickly (a slow response is delayed with page.route), chart instances left behind, a token
 * refused in the middle of a view, and what API values are put into HTML.
 */
import assert from 'node:assert/strict';
import type { Page, Route } from 'playwright-core';
import { get, OPERATOR, VIEWER, type DashboardEnv } from './dashboard-server';
import { dashboardInChromium } from './support/browser';

type AnyObj = any; // eslint-disable-line @typescript-eslint/no-explicit-any
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('dashboard UI: races, leaks, 401, escaping @integration', function () {
  this.timeout(180_000);
  const h = dashboardInChromium();
  const { open, ready } = h;
  let env: DashboardEnv;
  let from: number;
  let to: number;
  before(() => { ({ env, from, to } = h); });
  const renders = (page: Page) => page.evaluate(() => (globalThis as AnyObj).tapline.renders as number);
  const api = async (p: string) => (await get(env, `/api/v1/${p}`)).body;
  /** Holds the responses of matching requests for `ms` (the request itself goes out at once). */
  const delay = (ms: number) => async (route: Route) => {
    const res = await route.fetch();
    await sleep(ms);
    await route.fulfill({ response: res });
  };

  it('topology: a slow response for an earlier slider position does not replace the newer one', async () => {
    const page = await open(VIEWER, 'topology?window=3600000');
    const t1 = Number(BigInt(env.data.identified[0].window_start_ns) / 1_000_000n) + 30 * 60_000;
    const t2 = to - 60_000;
    // only the request for the first position is slow
    await page.route((u) => u.pathname === '/api/v1/topology' && u.searchParams.get('to') === String(t1), delay(1500));
    const move = (v: number) => page.evaluate((x) => {
      const s = (globalThis as AnyObj).document.querySelector('#topo-slider');
      s.value = String(x);
      s.dispatchEvent(new (globalThis as AnyObj).Event('change'));
      return Number(s.value);
    }, v);
    await move(t1);
    await sleep(100);
    const shownT2 = await move(t2);
    await page.waitForFunction((v) => Date.parse((globalThis as AnyObj).tapline.data.topology?.to) === v, shownT2);
    await sleep(2500); // the slow response has arrived by now
    const data = await page.evaluate(() => (globalThis as AnyObj).tapline.data.topology);
    assert.equal(Date.parse(data.to), shownT2, 'the topology of the slider\'s current position is shown');
    const expected = await api(`topology?from=${shownT2 - 3600_000}&to=${shownT2}`);
    const links = (await page.evaluate(() => (globalThis as AnyObj).tapline.charts.topology.getOption().series[0].links
      .map((l: AnyObj) => `${l.source}|${l.target}`).sort())) as string[];
    assert.deepEqual(links, expected.edges.map((e: AnyObj) => `${e.source}|${e.target}`).sort());
    assert.deepEqual((page as AnyObj).errors, []);
    await page.close();
  });

  it('pair picker: a slow response does not replace the view the user has moved on to', async () => {
    const page = await open(VIEWER, 'performance');
    await page.route((u) => u.pathname === '/api/v1/topology', delay(1500));
    let n = await renders(page);
    await page.evaluate(() => { (globalThis as AnyObj).location.hash = '#/pair'; });
    await sleep(200);
    await page.evaluate(() => { (globalThis as AnyObj).location.hash = '#/performance'; });
    await ready(page, n);
    n = await renders(page);
    await sleep(2500);
    assert.equal(await page.locator('#perf-table').count(), 1, 'the performance table is still shown');
    assert.equal(await page.locator('text=Pair drill-down').count(), 0, 'the pair picker did not replace it');
    await page.close();
  });

  it('alerts: clicking a second alert while the first one loads shows the second one', async () => {
    const page = await open(VIEWER, 'alerts');
    const ids = await page.$$eval('#al-table tbody tr[data-id]', (tr) => tr.map((r) => (r as AnyObj).dataset.id as string));
    assert.ok(ids.length >= 3);
    const [, slow, fast] = ids;
    await page.route((u) => u.pathname === `/api/v1/alerts/${encodeURIComponent(slow)}`, delay(1500));
    await page.click(`#al-table tr[data-id="${slow}"] td:nth-child(2)`);
    await sleep(100);
    await page.click(`#al-table tr[data-id="${fast}"] td:nth-child(2)`);
    await page.waitForFunction((id) => (globalThis as AnyObj).tapline.data.alert?.alert.id === id, fast);
    await sleep(2500);
    assert.equal(await page.evaluate(() => (globalThis as AnyObj).tapline.data.alert.alert.id), fast);
    const fastSummary = (await api(`alerts/${encodeURIComponent(fast)}`)).alert.summary;
    assert.match(await page.textContent('#al-detail') ?? '', new RegExp(fastSummary.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')));
    assert.equal(await page.locator('#al-table tr.selected').getAttribute('data-id'), fast);
    await page.close();
  });

  it('alerts: the evidence chart of the previous alert is disposed when another alert is opened', async () => {
    const page = await open(VIEWER, 'alerts');
    const ids = await page.$$eval('#al-table tbody tr[data-id]', (tr) => tr.map((r) => (r as AnyObj).dataset.id as string));
    await page.evaluate(() => { (globalThis as AnyObj).firstEvidence = (globalThis as AnyObj).tapline.charts['alert-evidence']; });
    await page.click(`#al-table tr[data-id="${ids[1]}"] td:nth-child(2)`);
    await page.waitForFunction((id) => (globalThis as AnyObj).tapline.data.alert?.alert.id === id, ids[1]);
    assert.equal(await page.evaluate(() => (globalThis as AnyObj).firstEvidence.isDisposed() === true), true, 'the old instance is disposed');
    assert.equal(await page.evaluate(() => (globalThis as AnyObj).tapline.charts["alert-evidence"].isDisposed() === true), false);
    await page.close();
  });

  it('alerts: a detail that arrives after leaving the view adds no chart to the next view', async () => {
    const page = await open(VIEWER, 'alerts');
    const ids = await page.$$eval('#al-table tbody tr[data-id]', (tr) => tr.map((r) => (r as AnyObj).dataset.id as string));
    await page.route((u) => u.pathname === `/api/v1/alerts/${encodeURIComponent(ids[1])}`, delay(1500));
    await page.click(`#al-table tr[data-id="${ids[1]}"] td:nth-child(2)`);
    const n = await renders(page);
    await page.evaluate(() => { (globalThis as AnyObj).location.hash = '#/performance'; });
    await ready(page, n);
    await sleep(2500);
    assert.deepEqual((await page.evaluate(() => Object.keys((globalThis as AnyObj).tapline.charts))).sort(), ['perf-loss', 'perf-rtt', 'perf-throughput']);
    await page.close();
  });

  it('a 401 on a request made inside a view (ack) asks to sign in again', async () => {
    const page = await open(OPERATOR, 'alerts');
    await page.route((u) => /\/api\/v1\/alerts\/.+\/ack$/.test(u.pathname),
      (route) => route.fulfill({ status: 401, contentType: 'application/json', body: JSON.stringify({ error: 'unauthorized', message: 'unknown token' }) }));
    await page.locator('#al-table button.ack:enabled').first().click();
    await page.waitForSelector('dialog#login[open]', { timeout: 5000 });
    await page.close();
  });

  it('resolve: the toast names who resolved the alert, not who acked it before', async () => {
    // an alert acked by another operator and not yet resolved
    const id = (await api(`alerts?from=${from}&to=${to}`)).alerts[0].id;
    await env.db.pool.query("UPDATE alerts SET state = 'open', resolved_by = NULL, acked_at = now(), acked_by = 'operator:someone0' WHERE id = $1", [id]);
    const page = await open(OPERATOR, 'alerts');
    await page.locator(`#al-table tr[data-id="${id}"] button.resolve`).click();
    await page.waitForSelector('.toast.ok');
    const db = await env.db.pool.query('SELECT resolved_by FROM alerts WHERE id = $1', [id]);
    assert.notEqual(db.rows[0].resolved_by, 'operator:someone0');
    assert.equal(await page.textContent('.toast'), `resolved by ${db.rows[0].resolved_by}`);
    await page.close();
  });

  it('names from the API are text, not HTML, in tables and chart tooltips', async () => {
    const evil = '<img src=x onerror="globalThis.__xss=1">';
    const page = await open(VIEWER, 'performance');
    await page.route((u) => u.pathname === '/api/v1/trends', async (route) => {
      const res = await route.fetch();
      const body = await res.json();
      body.series[0].key = evil;
      await route.fulfill({ response: res, json: body });
    });
    const n = await renders(page);
    await page.evaluate(() => { (globalThis as AnyObj).location.hash = '#/trends'; });
    await ready(page, n);
    await page.evaluate(() => {
      const c = (globalThis as AnyObj).tapline.charts.trends;
      c.dispatchAction({ type: 'showTip', seriesIndex: 0, dataIndex: Math.floor(c.getOption().series[0].data.length / 2) });
    });
    await sleep(500);
    assert.equal(await page.evaluate(() => (globalThis as AnyObj).__xss), undefined);
    assert.equal(await page.locator('#main img').count(), 0);
    await page.close();
  });
});
