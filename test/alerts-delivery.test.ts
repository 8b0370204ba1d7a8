/**
 * Alert consumers on a real Kafka broker with real local receivers (node:http webhook server,
 * UDP syslog socket): retries then delivery with a valid signature and committed offsets;
 * dead letters after N failures and for permanent refusals while later alerts still go through;
 * poison records dead-lettered; nothing committed when closing mid-retry (re-delivered later);
 * and the `tapline alerts send` command end to end.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import dgram from 'node:dgram';
import net from 'node:net';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { testServices } from './support/services';
import { AvroCodec } from '../schemas';
import { ALERT_SCHEMA, type Alert } from '../schemas/alert';
import { readPartitionsToEnd, type InMessage, type KafkaClient } from '../lib/kafka';
import { AlertConsumer, createAlertConsumer, parseAlertConsumerConfig, StdoutOutput, SyslogOutput } from '../pipelines/alerting/consumers';
import { sampleAlert, TestReceiver } from '../pipelines/alerting/consumers/testing';
import { verifySignature } from '../pipelines/alerting/consumers/signing';

const RUN = `alerts-${process.pid}-${Date.now()}`;
const SECRET = 'integration-test-secret-0123456789';
const codec = new AvroCodec<Alert>(ALERT_SCHEMA);
const ROOT = path.join(__dirname, '..');

let n = 0;
async function setup(kafka: KafkaClient) {
  const t = { alerts: `${RUN}-${++n}.alerts.v1`, dlq: `${RUN}-${n}.deadletter.v1`, failed: `${RUN}-${n}.alerts.deadletter.v1`, group: `${RUN}-${n}` };
  await kafka.ensureTopics([{ topic: t.alerts, partitions: 1, compacted: true }, { topic: t.dlq, partitions: 1 }, { topic: t.failed, partitions: 1 }]);
  return t;
}

const alert = (k: string, over: Partial<Alert> = {}): Alert => sampleAlert({ dedup_key: `port_scan|t|${k}`, id: `port_scan|t|${k}@1`, type: 'port_scan', ...over });

async function publish(kafka: KafkaClient, topic: string, values: (Alert | Buffer | null)[]): Promise<void> {
  const p = kafka.producer();
  await p.send(topic, values.map((v) => (v === null ? { key: 'gone', value: null }
    : Buffer.isBuffer(v) ? { key: 'poison', value: v } : { key: v.dedup_key, value: codec.encode(v) })));
  await p.close();
}

async function readAll(kafka: KafkaClient, topic: string): Promise<InMessage[]> {
  const got: InMessage[] = [];
  await readPartitionsToEnd(kafka, topic, [0], (_p, m) => { got.push(m); });
  return got;
}

const settings = (t: Awaited<ReturnType<typeof setup>>, url: string, extra: Record<string, unknown> = {}) => parseAlertConsumerConfig({
  topic: t.alerts, groupId: t.group, deadLetterTopic: t.dlq, failedTopic: t.failed, 'webhook.url': url, 'webhook.secret': SECRET,
  'retry.maxAttempts': 3, 'retry.initialDelayMs': 20, 'retry.maxDelayMs': 100, 'retry.timeoutMs': 2000, ...extra,
}, {});

describe('alert consumers on Kafka with real receivers @integration', function () {
  this.timeout(120_000);
  let rx: TestReceiver;
  beforeEach(async () => { rx = await new TestReceiver().start(); });
  afterEach(async () => { await rx.close(); });

  it('503 twice then 200: delivered once with a valid signature; poison dead-lettered; tombstone skipped; offsets committed', async () => {
    const s = await testServices();
    const t = await setup(s.kafka);
    await publish(s.kafka, t.alerts, [alert('a'), Buffer.from('not an alert'), null, alert('b', { state: 'updated' })]);
    rx.script([{ status: 503 }, { status: 503 }, { status: 200 }]);
    const c = createAlertConsumer(s.kafka, settings(t, `${rx.url}/hook`), ['webhook'], { bounded: true });
    await c.start(); await c.done(); await c.close();

    assert.equal(rx.requests.length, 4, '3 attempts for a, 1 for b');
    const bodies = rx.requests.map((r) => JSON.parse(r.body) as { id: string; state: string; delivery_key: string });
    assert.deepEqual(bodies.map((b) => b.id), ['port_scan|t|a@1', 'port_scan|t|a@1', 'port_scan|t|a@1', 'port_scan|t|b@1']);
    assert.equal(bodies[3].state, 'updated');
    for (const r of rx.requests) assert.ok(verifySignature(SECRET, r.body, r.headers['x-tapline-timestamp'] as string, r.headers['x-tapline-signature'] as string));
    assert.equal(c.metrics.totals.received, 4);
    assert.equal(c.metrics.errorsByCode.get('AVRO_DECODE'), 1);
    assert.equal(c.metrics.droppedByReason.get('tombstone'), 1);

    const dlq = await readAll(s.kafka, t.dlq);
    assert.equal(dlq.length, 1);
    assert.equal(dlq[0].value?.toString(), 'not an alert', 'original bytes kept');
    assert.equal(dlq[0].headers['tapline.code'], 'AVRO_DECODE');
    assert.equal(dlq[0].headers['tapline.stage'], 'alerts-consumer');
    assert.equal(dlq[0].headers['tapline.source'], `${t.alerts}/0/1`);
    assert.equal((await readAll(s.kafka, t.failed)).length, 0, 'nothing undeliverable');
    assert.equal((await s.kafka.committedOffsets(t.group, t.alerts)).get(0), 4n);
  });

  it('always 500: dead-lettered after N attempts and counted; 400: no retry, dead-lettered; the next alert is delivered', async () => {
    const s = await testServices();
    const t = await setup(s.kafka);
    await publish(s.kafka, t.alerts, [alert('down'), alert('refused'), alert('fine')]);
    rx.script([{ status: 500 }, { status: 500 }, { status: 500 }, { status: 400, body: 'schema mismatch' }, { status: 200 }]);
    const c = createAlertConsumer(s.kafka, settings(t, rx.url), ['webhook'], { bounded: true });
    const webhook = (c as unknown as { o: { outputs: { metrics: import('../lib/metrics').ComponentMetrics }[] } }).o.outputs[0];
    await c.start(); await c.done(); await c.close();

    assert.deepEqual(rx.requests.map((r) => (JSON.parse(r.body) as { id: string }).id.split('|')[2]),
      ['down@1', 'down@1', 'down@1', 'refused@1', 'fine@1']);
    const failed = await readAll(s.kafka, t.failed);
    assert.equal(failed.length, 2);
    const [down, refused] = failed;
    assert.equal(down.key?.toString(), 'port_scan|t|down');
    assert.equal(codec.decode(down.value!).id, 'port_scan|t|down@1', 'the original Avro record, replayable');
    assert.deepEqual([down.headers['tapline.code'], down.headers['tapline.attempts'], down.headers['tapline.output'], down.headers['tapline.stage']],
      ['DELIVERY_FAILED', '3', 'webhook', 'alerts-webhook']);
    assert.match(down.headers['tapline.reason'], /3 attempts, last HTTP_500/);
    assert.deepEqual([refused.headers['tapline.code'], refused.headers['tapline.attempts']], ['DELIVERY_REJECTED', '1']);
    assert.match(refused.headers['tapline.reason'], /HTTP 400: schema mismatch/);
    assert.equal(webhook.metrics.totals.sent, 1);
    assert.equal(webhook.metrics.droppedByReason.get('dead-letter'), 2);
    assert.equal(webhook.metrics.errorsByCode.get('HTTP_500'), 3);
    assert.equal(webhook.metrics.errorsByCode.get('HTTP_400'), 1);
    assert.equal((await s.kafka.committedOffsets(t.group, t.alerts)).get(0), 3n);
  });

  it('closing mid-retry commits nothing; the next consumer of the group delivers the same state again', async () => {
    const s = await testServices();
    const t = await setup(s.kafka);
    await publish(s.kafka, t.alerts, [alert('slow')]);
    rx.script([{ status: 503 }]);
    const first = createAlertConsumer(s.kafka, settings(t, rx.url, { 'retry.initialDelayMs': 30_000, 'retry.maxDelayMs': 30_000 }), ['webhook']);
    await first.start();
    await rx.waitFor(1);
    await first.close();
    assert.notEqual((await s.kafka.committedOffsets(t.group, t.alerts)).get(0), 1n, 'not committed while undelivered');
    assert.equal((await readAll(s.kafka, t.failed)).length, 0, 'and not dead-lettered');

    rx.script([{ status: 200 }]);
    const second = createAlertConsumer(s.kafka, settings(t, rx.url), ['webhook'], { bounded: true });
    await second.start(); await second.done(); await second.close();
    assert.equal(rx.requests.length, 2);
    assert.equal(rx.requests[0].body, rx.requests[1].body, 'the same state, same delivery_key: receivers dedupe');
    assert.equal((await s.kafka.committedOffsets(t.group, t.alerts)).get(0), 1n);
  });

  it('syslog and stdout together: a parseable RFC 5424 datagram and a JSON line per state', async () => {
    const s = await testServices();
    const t = await setup(s.kafka);
    await publish(s.kafka, t.alerts, [alert('x', { severity: 'critical' }), alert('x', { state: 'resolved', severity: 'critical' })]);
    const sock = dgram.createSocket('udp4');
    const datagrams: string[] = [];
    sock.on('message', (m) => datagrams.push(m.toString('utf8')));
    await new Promise<void>((r) => sock.bind(0, '127.0.0.1', r));
    const cfg = settings(t, rx.url, { 'syslog.port': sock.address().port, 'syslog.hostname': 'itest' });
    const out = new PassThrough();
    const lines: string[] = [];
    out.on('data', (d: Buffer) => lines.push(...d.toString().split('\n').filter(Boolean)));
    const c = new AlertConsumer({ kafka: s.kafka, topic: t.alerts, groupId: t.group, deadLetterTopic: t.dlq, failedTopic: t.failed,
      outputs: [new SyslogOutput(cfg.syslog, cfg.retry), new StdoutOutput(out)], bounded: true });
    try {
      await c.start(); await c.done(); await c.close();
      const deadline = Date.now() + 5000;
      while (datagrams.length < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    } finally { sock.close(); }
    assert.equal(datagrams.length, 2);
    const re = /^<(\d+)>1 (\S+) itest tapline \d+ port_scan \[tapline@32473 id="([^"]+)" state="(\w+)" severity="(\w+)".*\] \uFEFF(.*)$/s;
    const parsed = datagrams.map((d) => d.match(re));
    assert.ok(parsed.every(Boolean), datagrams.join('\n'));
    assert.deepEqual(parsed.map((m) => [Number(m![1]), m![4]]), [[16 * 8 + 2, 'open'], [16 * 8 + 5, 'resolved']]);
    assert.deepEqual(lines.map((l) => (JSON.parse(l) as { state: string }).state), ['open', 'resolved']);
  });

  it('`tapline alerts send --to stdout,webhook` runs until SIGTERM, serves /metrics, prints one JSON line per state', async () => {
    const s = await testServices();
    const t = await setup(s.kafka);
    await publish(s.kafka, t.alerts, [alert('cli'), alert('cli', { state: 'resolved' })]);
    const metricsPort = await new Promise<number>((resolve) => {
      const srv = net.createServer().listen(0, '127.0.0.1', () => { const p = (srv.address() as net.AddressInfo).port; srv.close(() => resolve(p)); });
    });
    const env = { ...process.env, TAPLINE_KAFKA_BROKERS: s.brokers.join(','), TAPLINE_WEBHOOK_SECRET: SECRET, TAPLINE__metrics__port: String(metricsPort), TAPLINE_LOG_LEVEL: 'warn' };
    const child = spawn(process.execPath, [path.join(ROOT, 'bin/tapline.js'), 'alerts', 'send', '--to', 'stdout,webhook',
      '--set', `topic=${t.alerts}`, '--set', `groupId=${t.group}`, '--set', `deadLetterTopic=${t.dlq}`, '--set', `failedTopic=${t.failed}`,
      '--set', `webhook.url=${rx.url}/cli`, '--set', 'retry.maxAttempts=2'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = ''; let stderr = '';
    child.stdout.on('data', (d: Buffer) => { stdout += d.toString(); });
    child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
    const exited = new Promise<number | null>((r) => child.once('exit', r));
    try {
      await rx.waitFor(2, 60_000);
      let metrics = '';
      const deadline = Date.now() + 20_000;
      while (!/tapline_records_sent_total\{component="alerts-webhook"\} 2/.test(metrics) && Date.now() < deadline) {
        metrics = await fetch(`http://127.0.0.1:${metricsPort}/metrics`).then((r) => r.text()).catch(() => '');
        await new Promise((r) => setTimeout(r, 200));
      }
      assert.match(metrics, /tapline_records_sent_total\{component="alerts-webhook"\} 2/);
      assert.match(metrics, /tapline_records_received_total\{component="alerts-consumer"\} 2/);
    } finally {
      child.kill('SIGTERM');
    }
    assert.equal(await exited, 0, stderr);
    const lines = stdout.trim().split('\n').map((l) => JSON.parse(l) as { version: string; state: string; id: string });
    assert.deepEqual(lines.map((l) => [l.version, l.state]), [['tapline.alert.v1', 'open'], ['tapline.alert.v1', 'resolved']]);
    assert.equal(rx.requests.length, 2);
    assert.match(stderr, /"received":2,"handled":2,"deadLettered":0/);

    const bad = spawn(process.execPath, [path.join(ROOT, 'bin/tapline.js'), 'alerts', 'send', '--to', 'webhook'],
      { env: { ...env, TAPLINE_WEBHOOK_SECRET: '' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let badErr = '';
    bad.stderr.on('data', (d: Buffer) => { badErr += d.toString(); });
    assert.notEqual(await new Promise<number | null>((r) => bad.once('exit', r)), 0);
    assert.match(badErr, /webhook needs webhook\.url/);
  });
});
