/**
 * The Alertmanager output against a REAL Alertmanager (Debian's prometheus-alertmanager, started
 * on a free port with an in-test config) fed from a real Kafka topic: the alert appears with the
 * documented labels and annotations, stays active past its endsAt grace because open alerts are
 * re-sent, a severity change replaces the old label set, a resolved state ends it, and a restarted
 * consumer restores the open alerts from the topic.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { testServices } from './support/services';
import { AvroCodec } from '../schemas';
import { ALERT_SCHEMA, type Alert } from '../schemas/alert';
import type { KafkaClient } from '../lib/kafka';
import { AlertConsumer, AlertmanagerOutput, parseAlertConsumerConfig } from '../pipelines/alerting/consumers';
import { sampleAlert } from '../pipelines/alerting/consumers/testing';

const RUN = `am-${process.pid}-${Date.now()}`;
const BIN = 'prometheus-alertmanager';
const codec = new AvroCodec<Alert>(ALERT_SCHEMA);

interface GettableAlert { labels: Record<string, string>; annotations: Record<string, string>; startsAt: string; endsAt: string; status: { state: string } }

async function freePort(): Promise<number> {
  const srv = net.createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as net.AddressInfo).port;
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}

async function until<T>(what: string, fn: () => Promise<T | null | undefined | false>, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn().catch(() => null);
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

describe('Alertmanager output against a real Alertmanager @integration', function () {
  this.timeout(180_000);
  let am: ChildProcess | null = null;
  let amUrl = '';
  let dir = '';
  let amLog = '';

  before(async () => {
    assert.equal(spawnSync('bash', ['-c', `command -v ${BIN}`]).status, 0, `${BIN} is needed (Debian package prometheus-alertmanager; .ci/run installs it)`);
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tapline-am-'));
    fs.writeFileSync(path.join(dir, 'am.yml'), 'route:\n  receiver: "null"\n  group_wait: 1s\nreceivers:\n  - name: "null"\n');
    const port = await freePort();
    amUrl = `http://127.0.0.1:${port}`;
    am = spawn(BIN, [`--config.file=${path.join(dir, 'am.yml')}`, `--storage.path=${path.join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`, '--cluster.listen-address='], { stdio: ['ignore', 'ignore', 'pipe'] });
    am.stderr!.on('data', (d: Buffer) => { amLog = (amLog + d.toString()).slice(-4000); });
    await until('alertmanager ready', async () => (await fetch(`${amUrl}/-/ready`)).ok);
  });

  after(async () => {
    if (am && am.exitCode === null) { am.kill('SIGTERM'); await new Promise((r) => am!.once('exit', r)); }
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  const alertsFor = async (dedupKey: string): Promise<GettableAlert[]> => {
    const res = await fetch(`${amUrl}/api/v2/alerts?filter=${encodeURIComponent(`dedup_key="${dedupKey}"`)}`);
    assert.equal(res.status, 200);
    return (await res.json()) as GettableAlert[];
  };

  async function publish(kafka: KafkaClient, topic: string, a: Alert): Promise<void> {
    const p = kafka.producer();
    await p.send(topic, [{ key: a.dedup_key, value: codec.encode(a) }]);
    await p.close();
  }

  it('opens, keeps alive by re-sending, replaces the label set on a severity change, resolves; restores open alerts on restart', async () => {
    const s = await testServices();
    const t = { alerts: `${RUN}.alerts.v1`, dlq: `${RUN}.deadletter.v1`, failed: `${RUN}.alerts.deadletter.v1` };
    await s.kafka.ensureTopics([{ topic: t.alerts, partitions: 2, compacted: true }, { topic: t.dlq, partitions: 1 }, { topic: t.failed, partitions: 1 }]);
    const key = `syn_flood|tenant-a|${RUN}`;
    const base = sampleAlert({ type: 'syn_flood', dedup_key: key, id: `${key}@1732780800000000000`, evidence: { 'syn-rate': '12000/s' } });
    const cfg = parseAlertConsumerConfig({ 'alertmanager.url': amUrl, 'alertmanager.resendIntervalMs': 1000, 'alertmanager.endsAtGraceMs': 3000,
      'alertmanager.labels': { env: 'itest' }, 'alertmanager.generatorUrl': 'http://tapline.example/alerts', 'retry.maxAttempts': 3, 'retry.initialDelayMs': 50 }, {});
    const make = () => new AlertmanagerOutput({ url: cfg.alertmanager.url!, resendIntervalMs: cfg.alertmanager.resendIntervalMs,
      endsAtGraceMs: cfg.alertmanager.endsAtGraceMs, extraLabels: cfg.alertmanager.labels, generatorUrl: cfg.alertmanager.generatorUrl, retry: cfg.retry });
    const consumerWith = (out: AlertmanagerOutput, group: string) => new AlertConsumer({ kafka: s.kafka, topic: t.alerts, groupId: group,
      deadLetterTopic: t.dlq, failedTopic: t.failed, outputs: [out] });

    const out = make();
    const c = consumerWith(out, `${RUN}-1`);
    await c.start();
    try {
      await publish(s.kafka, t.alerts, base);
      const [opened] = await until('the alert in Alertmanager', async () => { const l = await alertsFor(key); return l.length ? l : null; });
      assert.equal(opened.status.state, 'active', amLog);
      assert.deepEqual(opened.labels, { env: 'itest', alertname: 'syn_flood', severity: 'warning', dedup_key: key, detector: 'detect-baseline',
        tenant: 'tenant-a', vm_a: 'vm-web-1', vm_b: 'vm-db-1', host_a: 'hv-03', host_b: 'hv-07', addr_a: '10.0.0.5', addr_b: '10.0.1.7', observation_point: 'mirror:br0' });
      assert.equal(opened.annotations.summary, base.summary);
      assert.equal(opened.annotations.value, '4200000');
      assert.equal(opened.annotations.evidence_syn_rate, '12000/s');
      assert.equal(opened.annotations.tapline_id, base.id);
      assert.equal(Date.parse(opened.startsAt), Date.parse('2024-11-28T08:00:00Z'));

      // Past the 3 s grace with no new record: still active, because the output re-sends it.
      await new Promise((r) => setTimeout(r, 4500));
      const [alive] = await alertsFor(key);
      assert.equal(alive?.status.state, 'active');
      assert.ok(Date.parse(alive.endsAt) > Date.now(), 'endsAt was pushed forward');
      assert.ok(out.resends >= 3, `re-sent ${out.resends} times`);

      await publish(s.kafka, t.alerts, { ...base, state: 'updated', severity: 'critical', value: 9_000_000 });
      const now = await until('severity critical only', async () => {
        const l = await alertsFor(key);
        return l.length === 1 && l[0].labels.severity === 'critical' ? l : null;
      });
      assert.equal(now[0].annotations.value, '9000000');

      await publish(s.kafka, t.alerts, { ...base, state: 'resolved', severity: 'critical', updated_ns: 1_732_781_000_000_000_000n });
      await until('no active alert for the key', async () => (await alertsFor(key)).length === 0);
      assert.deepEqual(out.activeKeys(), []);
      assert.equal(out.metrics.totals.dropped, 0, 'Alertmanager accepted every post');
      assert.equal(out.metrics.totals.sent, 3);

      // An open alert of another key, then a restart: the new consumer re-sends it from the topic.
      await publish(s.kafka, t.alerts, { ...base, dedup_key: `${key}-2`, id: `${key}-2@1` });
      await until('second alert', async () => (await alertsFor(`${key}-2`)).length === 1);
    } finally {
      await c.close();
    }
    const restored = make();
    const c2 = consumerWith(restored, `${RUN}-2`);
    await c2.start();
    try {
      assert.deepEqual(restored.activeKeys(), [`${key}-2`], 'open alerts restored, the resolved one not');
      await until('a re-send by the restarted consumer', async () => restored.resends > 0);
    } finally {
      await c2.close();
    }
  });
});
