/**
 * Exactly-once under crashes, on a real broker: a stage worker process (`tapline stage
 * aggregate`) is killed with SIGKILL three times while it works through a capture and is
 * restarted each time; two workers then share the input until one leaves and the other is killed;
 * a last worker finishes the input. Its output windows must equal
 * those of an uninterrupted run exactly: nothing lost, nothing counted twice.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { testServices } from './support/services';
import { AvroCodec } from '../schemas';
import type { FlowWindow } from '../schemas/types';
import { PcapFileConnector } from '../connectors/pcap-file';
import { StageRunner } from '../pipelines/runtime/kafka-runner';
import { aggregateStage } from '../pipelines/stages/aggregate';
import { KafkaClient, readPartitionsToEnd } from '../lib/kafka';

const ROOT = path.resolve(__dirname, '..');
const CAPTURE = path.resolve(ROOT, '../shared/pcaps/zeek_echo-connections.pcap');
const RUN = `eos-${process.pid}-${Date.now()}`;
const T = { packets: `${RUN}.packets.v1`, dlq: `${RUN}.dlq.v1`, ref: `${RUN}.flows-ref.v1`, refLate: `${RUN}.late-ref.v1`, out: `${RUN}.flows-kill.v1`, outLate: `${RUN}.late-kill.v1` };
const WINDOW = { windowMs: 500, allowedLatenessMs: 200 };

async function readWindows(kafka: KafkaClient, topic: string): Promise<string[]> {
  const codec = new AvroCodec<FlowWindow>('flow-window.v1');
  const out: string[] = [];
  const n = await kafka.partitionCount(topic);
  await readPartitionsToEnd(kafka, topic, [...Array(n).keys()], (_p, m) => {
    const w = codec.decode(m.value!);
    out.push(`${w.window_start_ns}|${w.flow_key}|${w.packets_ab}|${w.bytes_ab}|${w.packets_ba}|${w.bytes_ba}|${w.first_seen_ns}|${w.last_seen_ns}`);
  });
  return out.sort();
}

async function committed(kafka: KafkaClient, group: string): Promise<bigint> {
  let n = 0n;
  for (const o of (await kafka.committedOffsets(group, T.packets)).values()) if (o > 0n) n += o;
  return n;
}

describe('exactly-once aggregation survives SIGKILLed workers @integration', function () {
  this.timeout(600_000);
  let child: ChildProcess | null = null;
  const spawned: ChildProcess[] = [];
  // Whatever happens to the test, no worker process outlives it.
  after(() => { for (const c of spawned) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL'); });

  it('produces the same windows as an uninterrupted run after 3 kills, a scale-out to two workers and a hand-over', async () => {
    const s = await testServices();
    const kafka = new KafkaClient({ brokers: s.brokers, clientId: RUN, sessionTimeoutMs: 6000, maxBytesPerPartition: 16_384 });
    await kafka.ensureTopics(Object.values(T).map((topic) => ({ topic, partitions: topic === T.dlq ? 1 : 4 })));
    const c = new PcapFileConnector({ path: CAPTURE, topic: T.packets, speed: 0, batchSize: 400, progress: false }, kafka);
    await c.start();
    const { packets } = await c.done();
    await c.close();
    let total = 0n;
    for (const o of (await kafka.endOffsets(T.packets)).values()) total += o;

    // Reference: one uninterrupted exactly-once run.
    const ref = new StageRunner(aggregateStage({ inputTopic: T.packets, outputTopic: T.ref, lateTopic: T.refLate, ...WINDOW }),
      { kafka, deadLetterTopic: T.dlq, groupId: `${RUN}-ref`, bounded: true });
    await ref.start(); await ref.done(); await ref.close();
    const expected = await readWindows(kafka, T.ref);
    assert.ok(expected.length > 500, `enough windows to compare (${expected.length})`);
    assert.equal(ref.metrics.totals.received, packets);

    // Crashing worker processes on the same input, in their own group and output topics.
    const group = `${RUN}-kill`;
    const env = { ...process.env, TAPLINE_KAFKA_BROKERS: s.brokers.join(','), TAPLINE_PG_URL: s.pgUrl, TAPLINE_LOG_LEVEL: 'warn',
      TAPLINE__topics__packets: T.packets, TAPLINE__topics__flows: T.out, TAPLINE__topics__late: T.outLate, TAPLINE__topics__deadLetter: T.dlq,
      TAPLINE__stages__aggregate__windowMs: String(WINDOW.windowMs), TAPLINE__stages__aggregate__allowedLatenessMs: String(WINDOW.allowedLatenessMs),
      TAPLINE__kafka__sessionTimeoutMs: '6000', TAPLINE__kafka__maxBytesPerPartition: '16384', TAPLINE__metrics__port: '0', ...(process.env.TAPLINE_EOS_TEST_GUARANTEE ? { TAPLINE__kafka__guarantee: process.env.TAPLINE_EOS_TEST_GUARANTEE } : {}) };
    // TAPLINE_EOS_TEST_GUARANTEE=at_least_once runs the killed workers without transactions: the
    // test then fails (windows emitted twice), which shows it can tell the guarantees apart.
    const killedAt: bigint[] = [];
    for (let kill = 0; kill < 3; kill++) {
      const before = await committed(kafka, group);
      child = spawn(process.execPath, [path.join(ROOT, 'bin/tapline.js'), 'stage', 'aggregate', '--group', group], { env, stdio: 'ignore' });
      spawned.push(child);
      // Kill once this worker has committed progress of its own, while input remains.
      const deadline = Date.now() + 120_000;
      let now = before;
      while (now <= before + 20n) {
        if (Date.now() > deadline) throw new Error(`worker ${kill + 1} made no progress (${now}/${total})`);
        await new Promise((r) => setTimeout(r, 100));
        now = await committed(kafka, group);
      }
      child.kill('SIGKILL');
      await new Promise((r) => child!.once('exit', r));
      child = null;
      killedAt.push(now);
    }
    assert.ok(killedAt.every((k) => k < total), `every kill interrupted work (${killedAt.join(', ')} of ${total} messages)`);

    // Scale out to two workers, then one leaves cleanly (SIGTERM) and the other is killed: the
    // partitions are handed over between them without loss.
    const logs: string[] = ['', ''];
    const pair = [0, 1].map((i) => {
      const c = spawn(process.execPath, [path.join(ROOT, 'bin/tapline.js'), 'stage', 'aggregate', '--group', group],
        { env: { ...env, TAPLINE_LOG_LEVEL: 'info', TAPLINE_LOG_FORMAT: 'json' }, stdio: ['ignore', 'ignore', 'pipe'] });
      c.stderr!.on('data', (d: Buffer) => { logs[i] += d.toString(); });
      spawned.push(c);
      return c;
    });
    const restoredBy = (i: number) => new Set([...logs[i].matchAll(/"partition":(\d+)[^\n]*"msg":"task restored"/g)].map((m) => m[1]));
    const scaleStart = await committed(kafka, group);
    const deadline2 = Date.now() + 120_000;
    // Partitions are taken over (and restored) when assigned, so both logs show theirs.
    while ((restoredBy(0).size === 0 || restoredBy(1).size === 0) && Date.now() < deadline2) {
      await new Promise((r) => setTimeout(r, 200));
    }
    while ((await committed(kafka, group)) <= scaleStart && Date.now() < deadline2) await new Promise((r) => setTimeout(r, 200));
    assert.ok(restoredBy(0).size > 0 && restoredBy(1).size > 0, `both workers own partitions (${[...restoredBy(0)]} / ${[...restoredBy(1)]}); their logs' ends:\n${logs.map((l) => l.slice(-3000)).join('\n---\n')}`);
    pair[0].kill('SIGTERM');
    await new Promise((r) => pair[0].once('exit', r));
    while (restoredBy(1).size < 4 && Date.now() < deadline2) await new Promise((r) => setTimeout(r, 200));
    assert.equal(restoredBy(1).size, 4, `the remaining worker took over every partition (${[...restoredBy(1)]})`);
    pair[1].kill('SIGKILL');
    await new Promise((r) => pair[1].once('exit', r));
    // eslint-disable-next-line no-console
    console.log(`      killed at committed input offsets ${killedAt.join(', ')} of ${total} messages; ${expected.length} reference windows`);

    // A last worker finishes the input (bounded: it ends the stream so the last windows close).
    const last = new StageRunner(aggregateStage({ inputTopic: T.packets, outputTopic: T.out, lateTopic: T.outLate, ...WINDOW }),
      { kafka, deadLetterTopic: T.dlq, groupId: group, bounded: true });
    await last.start(); await last.done(); await last.close();

    const got = await readWindows(kafka, T.out);
    assert.equal(new Set(got).size, got.length, 'no window emitted twice');
    assert.equal(got.length, expected.length, 'same number of windows');
    assert.deepEqual(got, expected);
    assert.deepEqual(await readWindows(kafka, T.outLate).catch(() => []), await readWindows(kafka, T.refLate).catch(() => []));
    await kafka.close();
  });
});
