import assert from 'node:assert/strict';
import { TopologyTestDriver } from '../../runtime/test-driver';
import type { CaptureHealth } from '../../../schemas/capture-health';
import type { Alert } from '../../../schemas/alert';
import { S, states } from '../../alerting/testing';
import { detectCaptureStage } from '.';

const OUT = 'tapline.alerts.v1';

function health(op: string, sec: number, x: Partial<{ seen: number; kernel: number | null; iface: number | null; pipeline: number; capturing: boolean; final: boolean; started: number; err: string }> = {}): CaptureHealth {
  return {
    ts_ns: BigInt(sec) * S, started_ns: BigInt(x.started ?? 0) * S, connector: 'pcap-live', host: `host-${op}`, interface: 'mon0', observation_point: op,
    filter: '', link_type: 1, snaplen: 262144, final: x.final ?? false, packets_seen: BigInt(x.seen ?? sec * 1000), bytes_seen: BigInt((x.seen ?? sec * 1000) * 500),
    packets_truncated: 0n, packets_published: BigInt(x.seen ?? sec * 1000), pipeline_drops: BigInt(x.pipeline ?? 0),
    pipeline_drops_by_reason: x.pipeline ? { 'queue-full': BigInt(x.pipeline) } : {}, kernel_drops: x.kernel === undefined ? 0n : x.kernel === null ? null : BigInt(x.kernel),
    interface_drops: x.iface === undefined ? null : x.iface === null ? null : BigInt(x.iface), interface_packets: null, malformed: 0n, malformed_by_code: {},
    queue_depth: 0, queue_capacity: 10000, capturing: x.capturing ?? true, capture_restarts: 0n, last_error: x.err ?? null,
  };
}

function drive(cfg: Record<string, unknown> = {}) {
  const d = new TopologyTestDriver(detectCaptureStage(cfg));
  return { d, put: (h: CaptureHealth) => d.pipeInput(h.observation_point, h), alerts: () => d.readOutput<Alert>(OUT).map((o) => o.value) };
}

describe('detect-capture (driver)', () => {
  it('no drops, or drops below the ratio, raise nothing', () => {
    const { put, alerts } = drive();
    for (let t = 5; t <= 300; t += 5) put(health('mon:h1', t, { kernel: Math.floor(t / 50) })); // 1 drop per 50 000 packets
    assert.deepEqual(alerts(), []);
  });

  it('kernel drops above the ratio: one alert while they last, resolved after 3 clean reports', () => {
    const { put, alerts } = drive();
    let kernel = 0;
    for (let t = 5; t <= 100; t += 5) {
      if (t >= 30 && t <= 45) kernel += 500; // 500 of 5 500 offered per report: 9 %
      if (t === 50) kernel += 100; // 2 %: still dropping, a material change -> update
      put(health('mon:h1', t, { kernel }));
    }
    const got = alerts();
    assert.deepEqual(states(got), ['capture_drops open', 'capture_drops updated', 'capture_drops resolved']);
    const [open, upd, res] = got;
    assert.equal(open.dedup_key, 'capture_drops|mon:h1|drops');
    assert.equal(open.severity, 'critical', '9 % >= 5 %');
    assert.ok(Math.abs(open.value! - 500 / 5500) < 1e-12);
    assert.equal(open.evidence.kernel_drops, '500');
    assert.equal(open.host_a, 'host-mon:h1');
    assert.equal(upd.severity, 'warning');
    assert.equal(res.last_seen_ns, 50n * S);
    assert.equal(res.updated_ns, 65n * S);
  });

  it('pipeline drops (Kafka slower than the wire) count too, with their reasons', () => {
    const { put, alerts } = drive();
    put(health('mon:h1', 5));
    put(health('mon:h1', 10, { pipeline: 200 }));
    const [a] = alerts();
    assert.equal(a.state, 'open');
    assert.equal(a.evidence['pipeline_queue-full'], '200');
  });

  it('a reopened capture counts from zero (no false drop from the counter reset)', () => {
    const { put, alerts } = drive();
    put(health('mon:h1', 5, { kernel: 5000, seen: 5_000_000 }));
    put(health('mon:h1', 10, { kernel: 0, seen: 1000, started: 9 }));
    put(health('mon:h1', 15, { kernel: 2, seen: 6000, started: 9 }));
    assert.deepEqual(alerts(), []);
  });

  it('a capture that is down, and one that fell silent, are critical alerts', () => {
    const { put, alerts } = drive();
    put(health('mon:h1', 5)); put(health('mon:h2', 5));
    put(health('mon:h1', 10, { capturing: false, err: 'device mon0 went down' }));
    for (let t = 10; t <= 60; t += 5) put(health('mon:h2', t)); // h1 says nothing more
    const got = alerts();
    assert.deepEqual(got.map((a) => `${a.state} ${a.dedup_key}`).slice(0, 2), ['open capture_drops|mon:h1|down', 'open capture_drops|mon:h1|silent']);
    assert.match(got[0].summary, /device mon0 went down/);
    assert.equal(got[1].first_seen_ns, 40n * S, 'silent 30 s after its last report at 10 s');
    assert.ok(got.slice(2).every((a) => a.state === 'updated' && a.dedup_key === 'capture_drops|mon:h1|silent'), 'only updates follow');
    // h1 comes back: both resolve after 3 reports
    for (let t = 65; t <= 80; t += 5) put(health('mon:h1', t, { started: 64 }));
    assert.deepEqual(alerts().map((a) => `${a.state} ${a.dedup_key}`).sort(), ['resolved capture_drops|mon:h1|down', 'resolved capture_drops|mon:h1|silent']);
  });

  it('a final report (capture closed on purpose) is not silence; overrides per observation point', () => {
    const { put, alerts } = drive({ overrides: [{ subject: 'mon:h3', dropRatio: 0.5 }] });
    put(health('mon:h1', 5)); put(health('mon:h1', 10, { final: true }));
    put(health('mon:h3', 5)); put(health('mon:h3', 10, { kernel: 500, final: true })); // 500 of 5 500: under its 50 %
    for (let t = 10; t <= 100; t += 5) put(health('mon:h2', t));
    assert.deepEqual(alerts(), []);
    const plain = drive();
    plain.put(health('mon:h3', 5)); plain.put(health('mon:h3', 10, { kernel: 500, final: true }));
    assert.deepEqual(plain.alerts().map((a) => `${a.state} ${a.dedup_key}`), ['open capture_drops|mon:h3|drops'], 'without the override it alerts');
  });

  it('a final report resolves what it no longer shows (no later report would)', () => {
    const { put, alerts } = drive();
    put(health('mon:h1', 5)); put(health('mon:h1', 10, { kernel: 500 }));
    put(health('mon:h1', 15, { kernel: 500, final: true }));
    const got = alerts();
    assert.deepEqual(states(got), ['capture_drops open', 'capture_drops resolved']);
    assert.equal(got[1].updated_ns, 15n * S);
    assert.equal(got[1].evidence.resolved_because, 'subject-ended');
  });
});
