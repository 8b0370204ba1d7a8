/**
 * What receivers get: the tapline.alert.v1 JSON payload (shape, exact nanosecond times, stable
 * bytes, dedupe key) and the Alertmanager postableAlert (labels, annotations, startsAt/endsAt).
 */
import assert from 'node:assert/strict';
import { deliveryKey, isoFromNs, PAYLOAD_VERSION, toPayload } from '../pipelines/alerting/consumers/payload';
import { alertmanagerLabels, endedNow, labelName, toPostableAlert, type PostableAlert } from '../pipelines/alerting/consumers/alertmanager-map';
import { AlertmanagerOutput } from '../pipelines/alerting/consumers/alertmanager';
import { sampleAlert, TestReceiver } from '../pipelines/alerting/consumers/testing';
import { schemaJson } from '../schemas';
import { ALERT_SCHEMA } from '../schemas/alert';

const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

describe('alerts: JSON payload', () => {
  it('carries every Avro field, times as exact decimal strings and RFC 3339, and a delivery key', () => {
    const a = sampleAlert({ first_seen_ns: 1_732_780_800_123_456_789n, updated_ns: 1_732_780_860_000_000_001n, state: 'updated' });
    const p = toPayload(a);
    assert.equal(p.version, PAYLOAD_VERSION);
    assert.equal(p.first_seen_ns, '1732780800123456789', 'beyond 2^53: kept exact as a string');
    assert.equal(p.first_seen, '2024-11-28T08:00:00.123456789Z');
    assert.equal(p.updated, '2024-11-28T08:01:00.000000001Z');
    assert.equal(p.delivery_key, `${a.id}/updated/1732780860000000001`);
    assert.equal(p.delivery_key, deliveryKey(a));
    const avroFields = (schemaJson(ALERT_SCHEMA) as { fields: { name: string }[] }).fields.map((f) => f.name);
    for (const f of avroFields) assert.ok(f in p, `payload has ${f}`);
    // JSON round trip keeps everything (no bigint left, nothing lost).
    assert.deepEqual(JSON.parse(JSON.stringify(p)), p);
  });

  it('is byte-identical for the same record whatever the evidence map order; non-finite numbers become null', () => {
    const x = JSON.stringify(toPayload(sampleAlert({ evidence: { b: '2', a: '1' } })));
    const y = JSON.stringify(toPayload(sampleAlert({ evidence: { a: '1', b: '2' } })));
    assert.equal(x, y);
    assert.match(x, /"evidence":\{"a":"1","b":"2"\}/);
    const p = toPayload(sampleAlert({ value: Number.NaN, baseline: Number.POSITIVE_INFINITY, threshold: null }));
    assert.deepEqual([p.value, p.baseline, p.threshold], [null, null, null]);
  });

  it('renders times before 1970 and plain numbers correctly', () => {
    assert.equal(isoFromNs(-1n), '1969-12-31T23:59:59.999999999Z');
    assert.equal(isoFromNs(0), '1970-01-01T00:00:00.000000000Z');
  });
});

describe('alerts: Alertmanager mapping', () => {
  const opts = { endsAtGraceMs: 300_000, generatorUrl: 'http://tapline.example/alerts', extraLabels: { env: 'prod' } };
  const now = Date.parse('2024-11-28T09:00:00Z');

  it('labels: alertname = type, severity, subject fields, extra labels; valid label names only', () => {
    const p = toPostableAlert(sampleAlert({ vm_b: null, host_b: null }), now, opts);
    assert.deepEqual(p.labels, {
      env: 'prod', alertname: 'traffic_burst', severity: 'warning', dedup_key: 'traffic_burst|tenant-a|vm-web-1|vm-db-1', detector: 'detect-baseline',
      tenant: 'tenant-a', vm_a: 'vm-web-1', host_a: 'hv-03', addr_a: '10.0.0.5', addr_b: '10.0.1.7', observation_point: 'mirror:br0',
    });
    for (const k of [...Object.keys(p.labels), ...Object.keys(p.annotations)]) assert.match(k, LABEL_NAME);
    assert.equal(p.generatorURL, 'http://tapline.example/alerts');
  });

  it('labels do not change between states of one alert unless severity does', () => {
    const open = alertmanagerLabels(sampleAlert({ state: 'open', value: 1 }));
    const upd = alertmanagerLabels(sampleAlert({ state: 'updated', value: 2, evidence: { x: 'y' } }));
    assert.deepEqual(open, upd);
    assert.notDeepEqual(open, alertmanagerLabels(sampleAlert({ severity: 'critical' })));
  });

  it('annotations: summary, value, baseline, threshold, evidence (sanitised keys), id and state', () => {
    const p = toPostableAlert(sampleAlert({ evidence: { 'dst-ports': '22,80', '9lives': 'x' }, baseline: null }), now, opts);
    assert.equal(p.annotations.summary, 'web-1 -> db-1: 4.2 MB/s, baseline 120 kB/s (35x)');
    assert.equal(p.annotations.value, '4200000');
    assert.equal(p.annotations.threshold, '1200000');
    assert.equal(p.annotations.baseline, undefined, 'null values are left out');
    assert.equal(p.annotations.evidence_dst_ports, '22,80');
    assert.equal(p.annotations.evidence_9lives, 'x');
    assert.equal(p.annotations.tapline_id, sampleAlert().id);
    assert.equal(p.annotations.tapline_state, 'open');
    assert.equal(labelName('9x'), '_9x');
  });

  it('startsAt = first_seen; open: endsAt = now + grace; resolved: endsAt = clear time', () => {
    const open = toPostableAlert(sampleAlert(), now, opts);
    assert.equal(open.startsAt, '2024-11-28T08:00:00.000000000Z');
    assert.equal(open.endsAt, '2024-11-28T09:05:00.000Z');
    const resolved = toPostableAlert(sampleAlert({ state: 'resolved', updated_ns: 1_732_781_000_000_000_000n }), now, opts);
    assert.equal(resolved.endsAt, isoFromNs(1_732_781_000_000_000_000n));
    // Event time ahead of the consumer's clock: endsAt still after startsAt (Alertmanager rejects otherwise).
    const future = toPostableAlert(sampleAlert({ first_seen_ns: BigInt(now + 3_600_000) * 1_000_000n }), now, opts);
    assert.ok(Date.parse(future.endsAt) > Date.parse(future.startsAt));
    const ended = endedNow(open, now);
    assert.equal(ended.endsAt, '2024-11-28T09:00:00.000Z');
    assert.deepEqual(ended.labels, open.labels);
  });
});

describe('alerts: Alertmanager output (local HTTP server validating the v2 postableAlert shape)', () => {
  let rx: TestReceiver;
  beforeEach(async () => { rx = await new TestReceiver().start(); });
  afterEach(async () => { await rx.close(); });
  const retry = { maxAttempts: 2, initialDelayMs: 5, maxDelayMs: 10, maxRetryAfterMs: 10, timeoutMs: 1000 };
  const make = () => new AlertmanagerOutput({ url: `${rx.url}/`, resendIntervalMs: 60_000, endsAtGraceMs: 300_000, retry });
  const ctx = { signal: new AbortController().signal };
  const posted = (i: number) => JSON.parse(rx.requests[i].body) as PostableAlert[];
  const validShape = (list: PostableAlert[]) => {
    assert.ok(Array.isArray(list) && list.length > 0);
    for (const p of list) {
      assert.ok(p.labels.alertname, 'alertname is required');
      for (const [k, v] of [...Object.entries(p.labels), ...Object.entries(p.annotations)]) { assert.match(k, LABEL_NAME); assert.equal(typeof v, 'string'); }
      assert.ok(!Number.isNaN(Date.parse(p.startsAt)) && Date.parse(p.endsAt) >= Date.parse(p.startsAt));
    }
  };

  it('posts to /api/v2/alerts; a severity change ends the old label set; resolved leaves the re-send set', async () => {
    const out = make();
    await out.start();
    try {
      assert.equal((await out.deliver(sampleAlert(), ctx)).kind, 'delivered');
      assert.equal(rx.requests[0].url, '/api/v2/alerts');
      assert.equal(rx.requests[0].headers['content-type'], 'application/json');
      validShape(posted(0));
      await out.deliver(sampleAlert({ state: 'updated', severity: 'critical' }), ctx);
      const [now, old] = posted(1);
      validShape(posted(1));
      assert.equal(now.labels.severity, 'critical');
      assert.equal(old.labels.severity, 'warning');
      assert.ok(Date.parse(old.endsAt) <= Date.now(), 'old label set ended now');
      assert.deepEqual(out.activeKeys(), [sampleAlert().dedup_key]);
      await out.resend();
      assert.equal(posted(2).length, 1);
      assert.equal(posted(2)[0].labels.severity, 'critical');
      await out.deliver(sampleAlert({ state: 'resolved', severity: 'critical' }), ctx);
      assert.deepEqual(out.activeKeys(), []);
      await out.resend();
      assert.equal(rx.requests.length, 4, 'nothing left to re-send');
    } finally { await out.close(); await out.close(); }
  });

  it('an open alert that could not be delivered is still re-sent later; Alertmanager 400 is not retried', async () => {
    rx.script([{ status: 400, body: 'start time must be before end time' }, { status: 200 }]);
    const out = make();
    await out.start();
    try {
      const o = await out.deliver(sampleAlert(), ctx);
      assert.equal(o.kind === 'failed' && o.code, 'DELIVERY_REJECTED');
      assert.equal(rx.requests.length, 1);
      await out.resend();
      assert.equal(rx.requests.length, 2);
      assert.equal(out.resends, 1);
      assert.equal(out.metrics.droppedByReason.get('dead-letter'), 1);
    } finally { await out.close(); }
  });
});
