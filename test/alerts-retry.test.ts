/**
 * Retry policy: the backoff schedule (bounds of the jitter, the cap), Retry-After, and the
 * webhook output's classification of real HTTP answers from a local server (retry 5xx/429/
 * network errors/timeouts, never other 4xx or redirects), plus abort on close. Also the settings.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { backoffDelay, deliverWithRetry, parseRetryAfter, retryDelay } from '../pipelines/alerting/consumers/retry';
import { assertOutputsConfigured, type RetryPolicy } from '../lib/config/alert-consumers';
import { alertConsumerConfigFrom, alertsOverrides, parseAlertConsumerConfig } from '../pipelines/alerting/consumers/settings';
import { loadConfig } from '../lib/config';
import { WebhookOutput } from '../pipelines/alerting/consumers/webhook';
import { sampleAlert, TestReceiver } from '../pipelines/alerting/consumers/testing';
import { verifySignature } from '../pipelines/alerting/consumers/signing';
import { TaplineError } from '../lib/errors';

const policy: RetryPolicy = { maxAttempts: 4, initialDelayMs: 10, maxDelayMs: 40, maxRetryAfterMs: 200, timeoutMs: 300 };
const SECRET = 'sixteen-chars-secret-0123456789';

describe('alerts: backoff schedule', () => {
  it('doubles from initialDelayMs up to maxDelayMs, jitter within [exp/2, exp]', () => {
    const p = { initialDelayMs: 500, maxDelayMs: 30_000 };
    const lo = [1, 2, 3, 4, 5, 6, 7, 8].map((n) => backoffDelay(p, n, () => 0));
    const hi = [1, 2, 3, 4, 5, 6, 7, 8].map((n) => backoffDelay(p, n, () => 1));
    assert.deepEqual(hi, [500, 1000, 2000, 4000, 8000, 16000, 30000, 30000]);
    assert.deepEqual(lo, hi.map((x) => x / 2));
    for (let i = 0; i < 1000; i++) {
      const d = backoffDelay(p, 3, Math.random);
      assert.ok(d >= 1000 && d <= 2000, String(d));
    }
    assert.equal(backoffDelay(p, 1000, () => 1), 30_000, 'no overflow for huge attempt numbers');
  });

  it('Retry-After: seconds or HTTP date, makes the wait at least that, capped', () => {
    const now = Date.parse('2024-11-28T08:00:00Z');
    assert.equal(parseRetryAfter('7', now), 7000);
    assert.equal(parseRetryAfter('Thu, 28 Nov 2024 08:00:30 GMT', now), 30_000);
    assert.equal(parseRetryAfter('Thu, 28 Nov 2024 07:00:00 GMT', now), 0);
    assert.equal(parseRetryAfter('soon', now), undefined);
    assert.equal(parseRetryAfter(null, now), undefined);
    const p = { initialDelayMs: 500, maxDelayMs: 30_000, maxRetryAfterMs: 60_000 };
    assert.equal(retryDelay(p, 1, 7000, () => 1), 7000);
    assert.equal(retryDelay(p, 1, 100, () => 1), 500, 'never shorter than the backoff');
    assert.equal(retryDelay(p, 1, 3_600_000, () => 1), 60_000, 'cut at maxRetryAfterMs');
  });

  it('stops at maxAttempts and reports the last failure; waits between attempts', async () => {
    const at: number[] = [];
    const o = await deliverWithRetry(async () => { at.push(Date.now()); return { ok: false, retriable: true, code: 'HTTP_503', reason: 'x' }; },
      policy, { signal: new AbortController().signal, random: () => 1 });
    assert.deepEqual(o, { kind: 'failed', attempts: 4, code: 'DELIVERY_FAILED', reason: '4 attempts, last HTTP_503: x' });
    const gaps = at.slice(1).map((t, i) => t - at[i]);
    [10, 20, 40].forEach((want, i) => assert.ok(gaps[i] >= want - 2, `gap ${i} ${gaps[i]} >= ${want}`));
  });
});

describe('alerts: webhook output against a real HTTP server', () => {
  let rx: TestReceiver;
  beforeEach(async () => { rx = await new TestReceiver().start(); });
  afterEach(async () => { await rx.close(); });
  const out = (url = rx.url) => new WebhookOutput({ url: `${url}/hook`, secret: SECRET, retry: policy, headers: { authorization: 'Bearer t' } });
  const ctx = () => ({ signal: new AbortController().signal });

  it('503, 429 (Retry-After), then 200: delivered on attempt 3, same body, fresh valid signatures', async () => {
    rx.script([{ status: 503 }, { status: 429, headers: { 'retry-after': '1' } }, { status: 204 }]);
    const w = new WebhookOutput({ url: `${rx.url}/hook`, secret: SECRET, retry: { ...policy, maxRetryAfterMs: 5000 }, headers: { authorization: 'Bearer t' } });
    const t0 = Date.now();
    const o = await w.deliver(sampleAlert(), ctx());
    assert.deepEqual(o, { kind: 'delivered', attempts: 3 });
    assert.ok(Date.now() - t0 >= 1000, 'Retry-After: 1 was honoured (policy would have waited < 60 ms)');
    assert.equal(rx.requests.length, 3);
    assert.equal(new Set(rx.requests.map((r) => r.body)).size, 1, 'identical body on every attempt');
    for (const [i, r] of rx.requests.entries()) {
      assert.equal(r.method, 'POST');
      assert.equal(r.url, '/hook');
      assert.equal(r.headers['content-type'], 'application/json');
      assert.equal(r.headers.authorization, 'Bearer t');
      assert.equal(r.headers['x-tapline-attempt'], String(i + 1));
      assert.equal(r.headers['x-tapline-delivery'], JSON.parse(r.body).delivery_key);
      assert.ok(verifySignature(SECRET, r.body, r.headers['x-tapline-timestamp'] as string, r.headers['x-tapline-signature'] as string));
    }
    assert.equal(w.metrics.totals.sent, 1);
    assert.deepEqual([w.metrics.errorsByCode.get('HTTP_503'), w.metrics.errorsByCode.get('HTTP_429')], [1, 1]);
  });

  it('a non-ASCII subject is delivered (delivery header percent-encoded, body UTF-8); a header fetch refuses is not retried', async () => {
    const a = sampleAlert({ tenant: 'mandant-ü', dedup_key: 'new_pair|mandant-ü|vm→db', id: 'new_pair|mandant-ü|vm→db@1' });
    const o = await out().deliver(a, ctx());
    assert.deepEqual(o, { kind: 'delivered', attempts: 1 });
    const r = rx.requests[0];
    assert.equal(decodeURIComponent(r.headers['x-tapline-delivery'] as string), JSON.parse(r.body).delivery_key);
    assert.equal(JSON.parse(r.body).tenant, 'mandant-ü');
    const bad = new WebhookOutput({ url: rx.url, secret: SECRET, retry: policy, headers: { 'x-bad': 'line\nbreak' } });
    const refused = await bad.deliver(sampleAlert(), ctx());
    assert.equal(refused.kind === 'failed' && refused.code, 'DELIVERY_REJECTED');
    assert.match(refused.kind === 'failed' ? refused.reason : '', /^REQUEST_INVALID/);
    assert.equal(rx.requests.length, 1, 'nothing sent');
  });

  it('400 and redirects are not retried', async () => {
    rx.script([{ status: 400, body: 'bad payload' }]);
    const w = out();
    const o = await w.deliver(sampleAlert(), ctx());
    assert.equal(o.kind, 'failed');
    assert.equal(o.kind === 'failed' && o.code, 'DELIVERY_REJECTED');
    assert.match(o.kind === 'failed' ? o.reason : '', /HTTP_400: HTTP 400: bad payload/);
    assert.equal(rx.requests.length, 1);
    rx.script([{ status: 302, headers: { location: 'http://127.0.0.1:1/elsewhere' } }]);
    assert.equal((await w.deliver(sampleAlert(), ctx())).kind, 'failed');
    assert.equal(rx.requests.length, 2, 'the redirect was not followed');
    assert.equal(w.metrics.droppedByReason.get('dead-letter'), 2);
  });

  it('timeouts and refused connections are retried, then fail', async () => {
    // a reply far beyond the 300-ms timeout: with 1 s, a loaded machine once ran both timers in one tick and delivered
    rx.script([{ status: 200, delayMs: 5000 }]);
    const slow = await out().deliver(sampleAlert(), ctx());
    assert.equal(slow.kind, 'failed');
    assert.match(slow.kind === 'failed' ? slow.reason : '', /4 attempts, last TIMEOUT/);
    const port = Number(new URL(rx.url).port);
    await rx.close();
    const refused = await out(`http://127.0.0.1:${port}`).deliver(sampleAlert(), ctx());
    assert.match(refused.kind === 'failed' ? refused.reason : '', /last NETWORK: .*ECONNREFUSED/);
  });

  it('close (abort) ends a retrying delivery at once, neither delivered nor failed', async () => {
    rx.script([{ status: 500 }]);
    const stop = new AbortController();
    const w = new WebhookOutput({ url: rx.url, secret: SECRET, retry: { ...policy, initialDelayMs: 10_000, maxDelayMs: 10_000 } });
    const pending = w.deliver(sampleAlert(), { signal: stop.signal });
    await rx.waitFor(1);
    const t0 = Date.now();
    stop.abort();
    assert.deepEqual(await pending, { kind: 'aborted', attempts: 1 });
    assert.ok(Date.now() - t0 < 1000);
    assert.equal(w.metrics.totals.dropped, 0);
  });
});

describe('alerts: consumer settings', () => {
  const invalid = (fn: () => unknown, re: RegExp) => assert.throws(fn, (e: unknown) => e instanceof TaplineError && e.code === 'CONFIG_INVALID' && re.test(e.message));

  it('defaults, dotted keys, and the secret from the environment', () => {
    const c = parseAlertConsumerConfig({ 'webhook.url': 'https://h.example/x', 'retry.maxAttempts': 8 }, { TAPLINE_WEBHOOK_SECRET: SECRET });
    assert.equal(c.topic, 'tapline.alerts.v1');
    assert.equal(c.failedTopic, 'tapline.alerts.deadletter.v1');
    assert.equal(c.retry.maxAttempts, 8);
    assert.equal(c.webhook.secret, SECRET);
    assertOutputsConfigured(c, ['webhook', 'stdout']);
    // As the CLI passes them: text, numbers coerced, number-like secrets kept as text.
    const t = parseAlertConsumerConfig({ 'retry.maxAttempts': '8', 'syslog.port': '5514', 'webhook.secret': '12345678901234567890' }, {});
    assert.deepEqual([t.retry.maxAttempts, t.syslog.port, t.webhook.secret], [8, 5514, '12345678901234567890']);
    invalid(() => parseAlertConsumerConfig({ 'retry.maxAttempts': 'many' }), /retry\.maxAttempts/);
  });

  it('names the wrong key or value, and what an output is missing', () => {
    invalid(() => parseAlertConsumerConfig({ 'webhook.urll': 'x' }), /Unrecognized key.*urll/);
    invalid(() => parseAlertConsumerConfig({ 'webhook.url': 'ftp://x' }), /webhook\.url/);
    invalid(() => parseAlertConsumerConfig({ 'retry.maxAttempts': 0 }), /retry\.maxAttempts/);
    invalid(() => parseAlertConsumerConfig({ 'alertmanager.resendIntervalMs': 600_000 }), /endsAtGraceMs must exceed/);
    invalid(() => parseAlertConsumerConfig({ 'syslog.facility': 'local9' }), /syslog\.facility/);
    invalid(() => parseAlertConsumerConfig({}, { TAPLINE_WEBHOOK_SECRET: 'short' }), /at least 16/);
    invalid(() => parseAlertConsumerConfig({ 'webhook.secretFile': '/nonexistent/secret' }), /cannot read webhook\.secretFile/);
    const empty = parseAlertConsumerConfig({}, {});
    invalid(() => assertOutputsConfigured(empty, ['webhook']), /webhook\.url/);
    invalid(() => assertOutputsConfigured({ ...empty, webhook: { ...empty.webhook, url: 'http://x' } }, ['webhook']), /signing secret/);
    invalid(() => assertOutputsConfigured(empty, ['alertmanager']), /alertmanager\.url/);
    invalid(() => assertOutputsConfigured(empty, ['pager' as 'stdout']), /unknown output "pager"/);
    invalid(() => assertOutputsConfigured(empty, []), /no output/);
  });

  it('the alerts section of the configuration file, --set over it; the secret: secret, else secretFile, else the environment', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tapline-alerts-'));
    const secretFile = path.join(dir, 'webhook.secret');
    fs.writeFileSync(secretFile, `${SECRET}-file\n`);
    const yaml = path.join(dir, 'tapline.yaml');
    fs.writeFileSync(yaml, `alerts:\n  retry:\n    maxAttempts: 2\n  webhook:\n    url: https://file.example/x\n    secretFile: ${secretFile}\n`);
    const env = { TAPLINE_WEBHOOK_SECRET: `${SECRET}-env` };
    const fromFile = alertConsumerConfigFrom(loadConfig(yaml, env, alertsOverrides({ 'retry.maxAttempts': '9' })), env);
    assert.deepEqual([fromFile.webhook.url, fromFile.retry.maxAttempts, fromFile.webhook.secret], ['https://file.example/x', 9, `${SECRET}-file`]);
    const explicit = alertConsumerConfigFrom(loadConfig(yaml, env, alertsOverrides({ 'webhook.secret': `${SECRET}-set` })), env);
    assert.equal(explicit.webhook.secret, `${SECRET}-set`);
    assert.equal(alertConsumerConfigFrom(loadConfig(yaml, env, alertsOverrides({ 'webhook.secretFile': '' })), env).webhook.secret, `${SECRET}-env`);
    // Only the alerts command reads the secret file: loading the configuration does not.
    fs.rmSync(secretFile);
    const cfg = loadConfig(yaml, env);
    invalid(() => alertConsumerConfigFrom(cfg, env), /cannot read webhook\.secretFile/);
  });
});
