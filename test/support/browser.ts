/**
 * The dashboard in a real browser for tests: the real server and database with the demo data
 * (dashboard-server.ts) and Debian's Chromium driven by playwright-core. Call it inside a
 * `describe`: it registers the before/after hooks; the fields are set once `before` has run.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { chromium, type Browser, type Page } from 'playwright-core';
import { startDashboardEnv, type DashboardEnv } from '../dashboard-server';

export const CHROMIUM = process.env.TAPLINE_CHROMIUM ?? '/usr/bin/chromium';
type AnyObj = any; // eslint-disable-line @typescript-eslint/no-explicit-any

export interface DashboardBrowser {
  env: DashboardEnv;
  browser: Browser;
  /** the 24 h range the pages open with (ending a minute after the demo data's anchor) */
  from: number;
  to: number;
  /** a page signed in with `token`, opened at `#/<hash>` over the range, once it has rendered */
  open(token: string, hash: string): Promise<Page>;
  /** waits until the page has rendered more than `after` times */
  ready(page: Page, after: number): Promise<void>;
}

export function dashboardInChromium(): DashboardBrowser {
  const h = {} as DashboardBrowser;
  before(async () => {
    assert.ok(fs.existsSync(CHROMIUM), `${CHROMIUM} is missing: apt-get install chromium (.ci/run does)`);
    h.env = await startDashboardEnv();
    h.to = h.env.data.anchor.getTime() + 60_000;
    h.from = h.to - 24 * 3600_000;
    h.browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking'] });
  });
  after(async () => { await h.browser?.close(); await h.env?.close(); });
  h.ready = async (page, after) => {
    await page.waitForFunction((n) => (globalThis as AnyObj).tapline?.ready === true && (globalThis as AnyObj).tapline.renders > n, after, { timeout: 30_000 });
  };
  h.open = async (token, hash) => {
    const page = await h.browser.newPage({ viewport: { width: 1500, height: 1000 } });
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    (page as AnyObj).errors = errors;
    await page.addInitScript((t) => (globalThis as AnyObj).localStorage.setItem('tapline.token', t), token);
    await page.goto(`${h.env.url}/#/${hash}${hash.includes('?') ? '&' : '?'}from=${h.from}&to=${h.to}`);
    await h.ready(page, 0);
    return page;
  };
  return h;
}
