/**
 * The dashboard in a real browser (Debian's Chromium driven by playwright-core) against the
 * real server and database with the demo data: each view renders the nodes, series and rows the
 * API returns (read from the ECharts instances and the DOM), the time slider changes the
 * topology, ack works for an operator and is refused for a viewer. A screenshot of each view is
 * saved under test-output/dashboard/.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { get, OPERATOR, VIEWER, type DashboardEnv } from './dashboard-server';
import { dashboardInChromium } from './support/browser';

const OUT = path.resolve(__dirname, '..', 'test-output', 'dashboard');
type AnyObj = any; // eslint-disable-line @typescript-eslint/no-explicit-any

describe('dashboard in Chromium @integration', function () {
  this.timeout(180_000);
  const h = dashboardInChromium();
  const { open, ready } = h;
  let env: DashboardEnv;
  let from: number;
  let to: number;
  before(() => { ({ env, from, to } = h); });
  before(() => { fs.mkdirSync(OUT, { recursive: true }); });
  const option = (page: Page, chart: string) => page.evaluate((c) => {
    const o = (globalThis as AnyObj).tapline.charts[c].getOption();
    return JSON.parse(JSON.stringify(o, (k, v) => (typeof v === 'function' ? undefined : v)));
  }, chart);
  async function shot(page: Page, name: string): Promise<void> {
    await page.waitForTimeout(200);
    await page.screenshot({ path: path.join(OUT, `${name}.png`), fullPage: true });
    assert.deepEqual((page as AnyObj).errors, [], 'no script errors');
  }
  const api = async (p: string) => (await get(env, `/api/v1/${p}`)).body;

  it('asks for a token, then shows the topology: VM nodes, host groups and the pairs of the API', async () => {
    const page = await h.browser.newPage({ viewport: { width: 1500, height: 1000 } });
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    (page as AnyObj).errors = errors;
    await page.goto(`${env.url}/#/topology?from=${from}&to=${to}`);
    await page.waitForSelector('dialog#login[open]');
    await page.fill('#login-token', VIEWER);
    await page.click('#login-form button[type=submit]');
    await ready(page, 0);
    const topo = await api(`topology?from=${to - 86_400_000}&to=${to}`);
    const o = await option(page, 'topology');
    const data = o.series[0].data as { id: string }[];
    const vmIds = data.filter((n) => !n.id.startsWith('host:') && !n.id.startsWith('anchor:')).map((n) => n.id).sort();
    assert.deepEqual(vmIds, topo.nodes.map((n: { id: string }) => n.id).sort());
    const hosts = new Set(topo.nodes.filter((n: AnyObj) => n.host).map((n: AnyObj) => `host:${n.host}`));
    assert.deepEqual(new Set(data.filter((n) => n.id.startsWith('host:')).map((n) => n.id)), hosts);
    const links = (o.series[0].links as { source: string; target: string; lineStyle: { type: string } }[]);
    assert.deepEqual(links.map((l) => `${l.source}|${l.target}`).sort(), topo.edges.map((e: AnyObj) => `${e.source}|${e.target}`).sort());
    assert.equal(links.filter((l) => l.lineStyle.type === 'dashed').length, topo.edges.filter((e: AnyObj) => e.isNew).length);
    assert.match(await page.textContent('#topo-migrations') ?? '', /web-server/);
    await shot(page, '1-topology');
    await page.close();
  });

  it('the time slider moves the topology to an earlier moment', async () => {
    const page = await open(VIEWER, 'topology?window=3600000');
    const edgeSet = (links: AnyObj[]) => links.map((l) => `${l.source}|${l.target}`).sort().join(',');
    const before = edgeSet((await option(page, 'topology')).series[0].links);
    const t = Number(BigInt(env.data.identified[0].window_start_ns) / 1_000_000n) + 30 * 60_000; // 49 h back: other pairs
    await page.evaluate((v) => {
      const s = (globalThis as AnyObj).document.querySelector('#topo-slider');
      s.value = String(v);
      s.dispatchEvent(new (globalThis as AnyObj).Event('change'));
    }, t);
    await page.waitForFunction((v) => Date.parse((globalThis as AnyObj).tapline.data.topology?.to) === Number(((globalThis as AnyObj).document.querySelector('#topo-slider')).value) && v > 0, t);
    const shown = (await page.evaluate(() => (globalThis as AnyObj).tapline.data.topology)).to;
    const expected = await api(`topology?from=${Date.parse(shown) - 3600_000}&to=${Date.parse(shown)}`);
    const links = (await option(page, 'topology')).series[0].links as AnyObj[];
    assert.deepEqual(links.map((l) => `${l.source}|${l.target}`).sort(), expected.edges.map((e: AnyObj) => `${e.source}|${e.target}`).sort());
    assert.ok(links.length >= 1);
    assert.notEqual(edgeSet(links), before, 'the earlier moment has other pairs than the newest hour');
    assert.notEqual(Date.parse(shown), to, 'the window moved');
    await shot(page, '1b-topology-earlier');
    await page.close();
  });

  it('clicking an edge opens the pair drill-down with the API\'s series', async () => {
    const page = await open(VIEWER, 'topology');
    const edge = (await api(`topology?from=${from}&to=${to}`)).edges.find((e: AnyObj) => e.source !== 'external' && e.target !== 'external');
    const n = await page.evaluate(() => (globalThis as AnyObj).tapline.renders);
    await page.evaluate((e) => {
      const c = (globalThis as AnyObj).tapline.charts.topology;
      const links = c.getOption().series[0].links;
      const i = links.findIndex((l: AnyObj) => l.source === e.source && l.target === e.target);
      c.trigger('click', { dataType: 'edge', data: links[i] }); // what a click on the edge emits
      c._$handlers?.click?.forEach((h: AnyObj) => h.h.call(c, { dataType: 'edge', data: links[i] }));
    }, edge);
    await ready(page, n);
    assert.match(page.url(), new RegExp(`#/pair\\?a=${edge.source}&b=${edge.target}`));
    const pair = await api(`pair?a=${edge.source}&b=${edge.target}&from=${from}&to=${to}`);
    const traffic = await option(page, 'pair-traffic');
    const sum = (s: AnyObj) => s.data.reduce((a: number, p: [string, number]) => a + (p[1] ?? 0), 0);
    assert.equal(sum(traffic.series[0]) * pair.stepSeconds, pair.traffic.reduce((a: number, r: AnyObj) => a + r.bytesAB, 0));
    const rtt = await option(page, 'pair-rtt');
    assert.deepEqual(rtt.series.map((s: AnyObj) => s.name), ['server side (data)', 'client side (data)', 'server side (handshake)', 'client side (handshake)']);
    assert.equal(rtt.series[0].data.filter((p: AnyObj) => p[1] !== null).length, pair.rtt.filter((r: AnyObj) => r.serverMs !== null).length);
    const findings = await page.$$eval('.findings li', (li) => li.map((x) => x.textContent));
    assert.equal(findings.length, pair.diagnosis.length);
    for (const c of ['pair-percentiles', 'pair-loss', 'pair-handshake', 'pair-l7']) assert.ok((await option(page, c)).series, c);
    await shot(page, '2-pair');
    await page.close();
  });

  it('trends: stacked top-N series plus the previous period', async () => {
    const page = await open(VIEWER, 'trends?dimension=vm&top=5');
    const t = await api(`trends?dimension=vm&top=5&from=${from}&to=${to}`);
    const o = await option(page, 'trends');
    assert.deepEqual(o.series.map((s: AnyObj) => s.name), [...t.series.map((s: AnyObj) => s.key), 'previous period (total)']);
    for (let i = 0; i < t.series.length; i++) assert.deepEqual(o.series[i].data.map((p: AnyObj) => p[1]), t.series[i].bytesPerSecond);
    assert.equal(o.series[0].stack, 'total');
    assert.ok(o.dataZoom.length >= 1, 'zoomable');
    await shot(page, '3-trends');
    await page.close();
  });

  it('performance: three gauges and the per-pair table, sortable', async () => {
    const page = await open(VIEWER, 'performance');
    const p = await api(`performance?from=${from}&to=${to}`);
    for (const g of ['perf-rtt', 'perf-throughput', 'perf-loss']) assert.equal((await option(page, g)).series[0].type, 'gauge');
    const rows = await page.$$eval('#perf-table tbody tr', (tr) => tr.map((r) => (r as AnyObj).querySelector('td').textContent));
    assert.deepEqual(rows, p.pairs.map((x: AnyObj) => `${x.a} ↔ ${x.b}`));
    const n = await page.evaluate(() => (globalThis as AnyObj).tapline.renders);
    await page.click('#perf-table th[data-sort="rttMs"]');
    await ready(page, n);
    const sorted = await api(`performance?from=${from}&to=${to}&sort=rttMs&order=desc`);
    assert.deepEqual(await page.$$eval('#perf-table tbody tr', (tr) => tr.map((r) => (r as AnyObj).querySelector('td').textContent)),
      sorted.pairs.map((x: AnyObj) => `${x.a} ↔ ${x.b}`));
    await shot(page, '4-performance');
    await page.close();
  });

  it('anomalies: the viewer sees the list and evidence but cannot ack (disabled, and 403 if forced)', async () => {
    const page = await open(VIEWER, 'alerts');
    const list = await api(`alerts?from=${from}&to=${to}`);
    assert.equal(await page.locator('#al-table tbody tr').count(), list.alerts.length);
    assert.ok(list.alerts.length >= 1);
    assert.equal(await page.locator('#al-table button.ack:enabled').count(), 0);
    const status = await page.evaluate(async (id) => (await fetch(`/api/v1/alerts/${encodeURIComponent(id)}/ack`, { method: 'POST',
      headers: { authorization: `Bearer ${(globalThis as AnyObj).localStorage.getItem('tapline.token')}` } })).status, list.alerts[0].id);
    assert.equal(status, 403);
    const ev = await option(page, 'alert-evidence');
    assert.ok(ev.series[0].data.length >= 1, 'evidence chart has points');
    await shot(page, '5-anomalies-viewer');
    await page.close();
  });

  it('anomalies: the operator acks an alert from the table', async () => {
    const page = await open(OPERATOR, 'alerts');
    const id = await page.locator('#al-table tbody tr', { has: page.locator('button.ack:enabled') }).first().getAttribute('data-id');
    assert.ok(id);
    const row = page.locator(`#al-table tbody tr[data-id="${id}"]`);
    await row.locator('button.ack').click();
    await page.waitForSelector('.toast.ok');
    assert.match(await page.textContent('.toast') ?? '', /acknowledged by operator:/);
    assert.match(await row.locator('.state').textContent() ?? '', /acked/);
    const db = await env.db.pool.query('SELECT acked_by FROM alerts WHERE id = $1', [id]);
    assert.match(db.rows[0].acked_by, /^operator:/);
    await shot(page, '5b-anomalies-operator');
    await page.close();
  });

  it('capacity: the busiest NICs over time and the NIC table', async () => {
    const page = await open(VIEWER, 'capacity');
    const c = await api(`capacity?from=${from}&to=${to}`);
    const o = await option(page, 'capacity');
    assert.deepEqual(o.series.map((s: AnyObj) => s.name), c.series.map((s: AnyObj) => s.vm));
    assert.equal(await page.locator('#cap-nics tbody tr').count(), c.nics.length);
    assert.equal(await page.locator('#cap-hosts tbody tr').count(), c.hostPairs.length);
    await shot(page, '6-capacity');
    await page.close();
  });
});
