/** Review finding: after a restart, a severity change must still end the label set posted before the restart. */
import assert from 'node:assert/strict';
import { AlertmanagerOutput } from './alertmanager';
import type { PostableAlert } from './alertmanager-map';
import { sampleAlert, TestReceiver } from './testing';

describe('alerts: Alertmanager output after a restart (restored open alerts)', () => {
  let rx: TestReceiver;
  beforeEach(async () => { rx = await new TestReceiver().start(); });
  afterEach(async () => { await rx.close(); });
  const retry = { maxAttempts: 2, initialDelayMs: 5, maxDelayMs: 10, maxRetryAfterMs: 10, timeoutMs: 1000 };

  it('a severity change of a restored alert ends its old label set in the same post', async () => {
    const out = new AlertmanagerOutput({ url: rx.url, resendIntervalMs: 60_000, endsAtGraceMs: 300_000, retry });
    out.restore([sampleAlert({ severity: 'warning' })]);
    await out.start();
    try {
      await rx.waitFor(1, 5_000); // the restored alert is re-sent at start with its warning label set
      const restored = JSON.parse(rx.requests[0].body) as PostableAlert[];
      assert.equal(restored[0].labels.severity, 'warning');
      assert.equal((await out.deliver(sampleAlert({ state: 'updated', severity: 'critical' }), { signal: new AbortController().signal })).kind, 'delivered');
      const body = JSON.parse(rx.requests[1].body) as PostableAlert[];
      assert.equal(body[0].labels.severity, 'critical');
      const old = body.find((p) => p.labels.severity === 'warning');
      assert.ok(old, 'the warning label set posted before is ended, not left firing until its endsAt');
      assert.ok(Date.parse(old.endsAt) <= Date.now());
    } finally { await out.close(); }
  });
});
