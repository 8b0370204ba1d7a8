/**
 * pcap-live without a device or a broker: a fake capture that, like cap, reuses ONE buffer for
 * every frame, and a fake producer whose acknowledgements come as slowly as the test wants.
 * The live proof is in lab-kafka.test.ts and lab-device.test.ts (the lab's virtual switch).
 */
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { TaplineError } from '../../lib/errors';
import { schemaJson } from '../../schemas';
import { CAPTURE_HEALTH_SCHEMA } from '../../schemas/capture-health';
import { connectorRegistry, createConnector } from '../registry';
import { PcapLiveConfigSchema, type PcapLiveConfig } from './config';
import { PcapLiveConnector } from './pcap-live';
import { loadCapAddon, type LiveCapture } from './device';
import { anchoredClock } from './host';
import { SlowProducer, decodePackets, fakeKafka, healthCodec } from './fixtures';

/** Ethernet + IPv4 + UDP 10.0.0.1:sport -> 10.0.0.2:53 with `payload` bytes, written into `buf`. */
function writeUdpFrame(buf: Buffer, sport: number, payload: number): number {
  const len = 14 + 20 + 8 + payload;
  buf.fill(0, 0, len);
  Buffer.from('020000000002020000000001', 'hex').copy(buf, 0);
  buf.writeUInt16BE(0x0800, 12);
  buf[14] = 0x45;
  buf.writeUInt16BE(20 + 8 + payload, 16);
  buf[22] = 64; buf[23] = 17;
  Buffer.from([10, 0, 0, 1, 10, 0, 0, 2]).copy(buf, 26);
  buf.writeUInt16BE(sport, 34);
  buf.writeUInt16BE(53, 36);
  buf.writeUInt16BE(8 + payload, 38);
  return len;
}

/** Like cap: one shared buffer, one synchronous callback per frame. */
class FakeCapture implements LiveCapture {
  readonly linkType = 1;
  readonly shared = Buffer.alloc(65535);
  closed = false;
  private cb: ((f: Buffer, t: boolean) => void) | null = null;
  onPacket(cb: (f: Buffer, t: boolean) => void): void { this.cb = cb; }
  close(): void { this.closed = true; }
  /** Emits one frame; returns how long the callback took (it must never wait for Kafka). */
  emit(sport: number, payload = 20): number {
    const n = writeUdpFrame(this.shared, sport, payload);
    const t0 = process.hrtime.bigint();
    this.cb!(this.shared.subarray(0, n), false);
    const took = Number(process.hrtime.bigint() - t0);
    this.shared.fill(0xee); // the next packet overwrites the buffer
    return took;
  }
}

function config(over: Partial<PcapLiveConfig> = {}): PcapLiveConfig {
  return PcapLiveConfigSchema.parse({ interface: 'fake0', topic: 'test.packets', healthTopic: 'test.health', ...over });
}

describe('pcap-live connector (fake device, fake slow Kafka)', () => {
  it('is registered as pcap-live and validates its configuration', () => {
    const reg = connectorRegistry().get('pcap-live');
    assert.ok(reg);
    assert.throws(() => createConnector('pcap-live', { interface: 'x', snaplenn: 96 }, fakeKafka(new SlowProducer(0))),
      (e: unknown) => e instanceof TaplineError && e.code === 'CONFIG_INVALID' && /snaplenn/.test(e.message));
    const c = createConnector('pcap-live', { interface: 'tl-mon-h1', filter: 'tcp' }, fakeKafka(new SlowProducer(0)));
    assert.equal(c.type, 'pcap-live');
  });

  it('a missing addon is PCAP_UNSUPPORTED telling how to fix it', () => {
    assert.throws(() => loadCapAddon('tapline-no-such-addon'), (e: unknown) => e instanceof TaplineError && e.code === 'PCAP_UNSUPPORTED'
      && e.message.includes('install libpcap-dev and rebuild: npm rebuild cap'));
  });

  it('refuses promiscuous: false instead of silently ignoring it', async () => {
    const c = new PcapLiveConnector(config({ promiscuous: false }), fakeKafka(new SlowProducer(0)), { openCapture: () => new FakeCapture() });
    await assert.rejects(c.start(), (e: unknown) => e instanceof TaplineError && e.code === 'CONFIG_INVALID' && /promiscuous/.test(e.message));
  });

  it('decodes each frame inside the event, before cap reuses its buffer; applies snaplen, keeps the wire length', async () => {
    const cap = new FakeCapture();
    const prod = new SlowProducer(0);
    const c = new PcapLiveConnector(config({ snaplen: 40, flushIntervalMs: 5 }), fakeKafka(prod), { openCapture: () => cap });
    await c.start();
    for (let i = 0; i < 50; i++) cap.emit(10_000 + i, 100);
    await c.close();
    assert.equal(cap.closed, true);
    const got = decodePackets((prod.sent.get('test.packets') ?? []).map((m) => m.value));
    assert.equal(got.length, 50);
    assert.deepEqual(got.map((p) => p.src_port), Array.from({ length: 50 }, (_, i) => 10_000 + i));
    for (const p of got) {
      assert.equal(p.wire_len, 14 + 20 + 8 + 100);
      assert.equal(p.cap_len, 40);
      assert.equal(p.src_ip, '10.0.0.1');
    }
    assert.equal(c.stats().truncated, 50);
    const ts = got.map((p) => BigInt(p.ts_ns));
    for (let i = 1; i < ts.length; i++) assert.ok(ts[i] > ts[i - 1], 'timestamps strictly increase');
    assert.ok(Math.abs(Number(ts[0] / 1_000_000n) - Date.now()) < 5_000, 'timestamps are wall-clock');
  });

  it('publishes the frames the capture hands over while it closes (as the helper process does)', async () => {
    /** Like the helper: close() delivers what it still holds, a little later, before it resolves. */
    class HandOverOnClose extends FakeCapture {
      override async close(): Promise<void> {
        await sleep(30); // long enough for the queue loop to have found the queue empty
        for (let i = 0; i < 7; i++) this.emit(30_000 + i);
        this.closed = true;
      }
    }
    const cap = new HandOverOnClose();
    const prod = new SlowProducer(0);
    const c = new PcapLiveConnector(config({ flushIntervalMs: 1 }), fakeKafka(prod), { openCapture: () => cap });
    await c.start();
    for (let i = 0; i < 3; i++) cap.emit(20_000 + i);
    await sleep(20);
    await c.close();
    const got = decodePackets((prod.sent.get('test.packets') ?? []).map((m) => m.value));
    assert.deepEqual(got.map((p) => p.src_port), [20_000, 20_001, 20_002, ...Array.from({ length: 7 }, (_, i) => 30_000 + i)]);
    const st = c.stats();
    assert.equal(st.published + st.dropped, st.seen, 'seen = published + dropped');
  });

  it('drops (never blocks) when Kafka is slower than the wire, counts every drop, and stays bounded', async () => {
    const cap = new FakeCapture();
    const prod = new SlowProducer('manual');
    const c = new PcapLiveConnector(config({ maxQueuedPackets: 100, batchSize: 10, flushIntervalMs: 1, healthIntervalMs: 100_000 }),
      fakeKafka(prod), { openCapture: () => cap, interfaceCounters: () => ({ rxDropped: 0n, packets: 0n }) });
    await c.start();
    // First burst: the pump takes one batch and then waits on Kafka, which does not answer.
    for (let i = 0; i < 20; i++) cap.emit(i);
    await sleep(20);
    assert.equal(prod.inFlight, 1, 'one batch in flight');
    let maxDepth = 0;
    let slowest = 0;
    for (let i = 0; i < 5000; i++) {
      slowest = Math.max(slowest, cap.emit(20 + (i % 40_000)));
      maxDepth = Math.max(maxDepth, c.stats().queued);
    }
    const s = c.stats();
    assert.equal(s.seen, 5020);
    assert.equal(maxDepth, 100, 'the queue never exceeds maxQueuedPackets');
    assert.equal(s.queued, 100);
    // 10 in flight + 100 queued; everything else was dropped, and counted as such
    assert.equal(s.dropped, 5020 - 10 - 100);
    assert.deepEqual(s.droppedByReason, { 'queue-full': 5020 - 110 });
    assert.equal(c.metrics.droppedByReason.get('queue-full'), 5020 - 110);
    assert.ok(slowest < 50_000_000, `the capture callback never waits (slowest ${slowest} ns)`);
    // Kafka recovers: what was kept is published, nothing more is lost.
    prod.release();
    await c.close();
    const published = decodePackets((prod.sent.get('test.packets') ?? []).map((m) => m.value));
    assert.equal(published.length, 110);
    assert.equal(c.stats().published, 110);
    assert.equal(c.stats().published + c.stats().dropped, c.stats().seen, 'seen = published + dropped');
    assert.equal(prod.maxInFlight <= 2, true, 'one packet batch (plus at most a health record) in flight');
    // The final health record says the same, and survives Avro.
    const hs = (prod.sent.get('test.health') ?? []).map((m) => healthCodec.decode(m.value!));
    const final = hs[hs.length - 1];
    assert.equal(final.final, true);
    assert.equal(final.packets_seen, 5020n);
    assert.equal(final.packets_published, 110n);
    assert.equal(final.pipeline_drops, 4910n);
    assert.deepEqual(final.pipeline_drops_by_reason, { 'queue-full': 4910n });
    assert.equal(final.kernel_drops, null);
    assert.equal(final.interface_drops, 0n);
    assert.equal(final.queue_capacity, 100);
    assert.equal(final.interface, 'fake0');
  });

  it('a batch Kafka refuses is dropped as send-failed and the capture goes on', async () => {
    const cap = new FakeCapture();
    const prod = new SlowProducer(1);
    prod.failNext = true;
    const c = new PcapLiveConnector(config({ batchSize: 5, flushIntervalMs: 1 }), fakeKafka(prod), { openCapture: () => cap });
    await c.start();
    for (let i = 0; i < 5; i++) cap.emit(i);
    await sleep(30);
    for (let i = 0; i < 7; i++) cap.emit(100 + i);
    await c.close();
    const s = c.stats();
    assert.deepEqual(s.droppedByReason, { 'send-failed': 5 });
    assert.equal(s.published, 7);
    assert.equal(c.metrics.totals.errors, 1);
  });

  it('periodic health records count malformed frames by code', async () => {
    const cap = new FakeCapture();
    const prod = new SlowProducer(0);
    const c = new PcapLiveConnector(config({ healthIntervalMs: 100, flushIntervalMs: 5, observationPoint: 'test:fake0' }), fakeKafka(prod),
      { openCapture: () => cap, interfaceCounters: () => null });
    await c.start();
    cap.emit(1);
    const n = writeUdpFrame(cap.shared, 2, 20);
    (c as unknown as { onFrame(f: Buffer, t: boolean): void }).onFrame(cap.shared.subarray(0, 20), false); // cut inside IPv4
    assert.ok(n > 20);
    await sleep(250);
    const periodic = (prod.sent.get('test.health') ?? []).map((m) => healthCodec.decode(m.value!));
    assert.ok(periodic.length >= 1, 'a periodic record before close');
    assert.equal(periodic[0].final, false);
    await c.close();
    const hs = (prod.sent.get('test.health') ?? []).map((m) => healthCodec.decode(m.value!));
    const last = hs[hs.length - 1];
    assert.equal(last.observation_point, 'test:fake0');
    assert.equal(last.packets_seen, 2n);
    assert.equal(last.malformed, 1n);
    assert.equal(Object.keys(last.malformed_by_code).length, 1);
    assert.equal(last.interface_drops, null);
    assert.equal(prod.sent.get('test.health')![0].key, 'test:fake0');
  });

  it('the CaptureHealth interface has exactly the schema\'s fields', () => {
    const fields = (schemaJson(CAPTURE_HEALTH_SCHEMA) as { fields: { name: string }[] }).fields.map((f) => f.name).sort();
    const c = new PcapLiveConnector(config(), fakeKafka(new SlowProducer(0)), { openCapture: () => new FakeCapture() });
    assert.deepEqual(Object.keys(c.healthRecord(false)).sort(), fields);
  });

  it('the anchored clock is wall time and strictly monotonic', () => {
    const clock = anchoredClock();
    let prev = clock();
    assert.ok(Math.abs(Number(prev / 1_000_000n) - Date.now()) < 1000);
    for (let i = 0; i < 1000; i++) { const t = clock(); assert.ok(t > prev); prev = t; }
  });
});
