/**
 * Two detectors (detect-scans, detect-traffic) behind their repartition stage on a real broker
 * with the StageRunner (exactly-once), in two bounded runs so the second restores baselines,
 * known pairs and open alerts from the changelogs: the alerts read back from the alerts topic
 * equal the in-memory driver's, and contain the port scan and the burst of the scenario.
 *
 * The identified-flow input has ONE partition here so the repartition topic receives records
 * in event-time order: with several upstream tasks a bounded replay lets one task run ahead
 * by the whole input (see docs/detectors.md, "Repartitioning and lateness").
 */
import assert from 'node:assert/strict';
import { testServices } from '../../test/support/services';
import { KafkaClient, partitionForKey, readPartitionsToEnd } from '../../lib/kafka';
import { AvroCodec } from '../../schemas';
import type { Alert } from '../../schemas/alert';
import type { IdentifiedFlow } from '../../schemas/identified-flow';
import { TopologyTestDriver } from '../runtime/test-driver';
import { StageRunner } from '../runtime/kafka-runner';
import type { StageDefinition } from '../runtime/types';
import { rekeyFlowsStage } from '../stages/detect-rekey-flows';
import { detectScansStage } from '../stages/detect-scans';
import { detectTrafficStage } from '../stages/detect-traffic';
import { ext, iflow, vmRef } from './testing';

const RUN = `det-${process.pid}-${Date.now()}`;
const PARTS = 4;
const T = { identified: `${RUN}.identified`, repartition: `${RUN}.repartition`, alerts: `${RUN}.alerts` };

const web = vmRef('web-1', '10.0.0.10', 'h1');
const db = vmRef('db-1', '10.0.0.20', 'h2');
const app = vmRef('app-1', '10.0.0.30', 'h1');
const evil = vmRef('evil-1', '10.0.0.66', 'h2', 'mallory');

/** 40 windows of normal traffic; a burst web-1 -> db-1 at 300 s, a port scan by evil-1 at 320-330 s. */
function scenario(): IdentifiedFlow[] {
  const out: IdentifiedFlow[] = [];
  for (let sec = 0; sec < 400; sec += 10) {
    const bytes = sec === 300 ? 40_000_000 : 400_000 + ((sec * 7919) % 200_000);
    for (const op of ['mon:h1', 'mon:h2']) out.push(iflow(web, 40000 + sec / 10, db, 5432, sec, { bytesFwd: bytes / 5, bytesRev: (bytes * 4) / 5, syn: 1, synack: 1, op }));
    out.push(iflow(web, 50000 + sec / 10, app, 8080, sec, { syn: 1, synack: 1 }));
    out.push(iflow(app, 51000 + sec / 10, db, 5432, sec, { syn: 1, synack: 1 }));
    out.push(iflow(evil, 52000 + sec / 10, app, 8080, sec, { syn: 1, synack: 1 }));
    for (let i = 0; i < 4; i++) out.push(iflow(ext(`198.51.100.${i}`), 33000 + sec, web, 443, sec)); // internet clients
    if (sec === 320 || sec === 330) for (let p = 1; p <= 250; p++) out.push(iflow(evil, 45000, db, p, sec, { syn: 1, synack: 0, rst: 1, pktsFwd: 1, pktsRev: 1 }));
  }
  return out;
}

const cfg = { allowedLatenessMs: 20_000, outputTopic: T.alerts, inputTopic: T.repartition };
const detectors: [string, () => StageDefinition<IdentifiedFlow>][] = [
  ['detect-scans', () => detectScansStage(cfg)],
  ['detect-traffic', () => detectTrafficStage({ ...cfg, baseline: { warmupWindows: 10 }, defaults: { newPairLearningMs: 100_000 } })],
];
const rekey = () => rekeyFlowsStage({ inputTopic: T.identified, outputTopic: T.repartition });

const canon = (a: Alert) => JSON.stringify(a, (_k, x) => (typeof x === 'bigint' ? String(x) : x));

describe('detectors on Kafka: detect-scans + detect-traffic behind detect-rekey-flows @integration', function () {
  this.timeout(300_000);

  it('alerts on the alerts topic equal the driver\'s, across a restart that restores the state', async () => {
    const s = await testServices();
    const kafka = new KafkaClient({ brokers: s.brokers, clientId: RUN });
    await kafka.ensureTopics([{ topic: T.identified, partitions: 1 }, { topic: T.repartition, partitions: PARTS }, { topic: T.alerts, partitions: PARTS, compacted: false }]);
    const flows = scenario();
    const half = flows.findIndex((f) => BigInt(f.window_start_ns) >= 200n * 1_000_000_000n);
    const codec = new AvroCodec<IdentifiedFlow>('identified-flow.v1');

    // Reference: the driver, each run ended like a bounded run ends (END_OF_STREAM), records placed as Kafka places them.
    const ref = new Map(detectors.map(([n, make]) => [n, new TopologyTestDriver(make(), PARTS)]));
    const rk = new TopologyTestDriver(rekey(), 1);
    for (const [from, to] of [[0, half], [half, flows.length]]) {
      for (const f of flows.slice(from, to)) {
        rk.pipeInput(f.flow_key, f, 0);
        for (const o of rk.readOutput<IdentifiedFlow>(T.repartition)) for (const d of ref.values()) d.pipeInput(o.key, o.value, partitionForKey(o.key!, PARTS));
      }
      for (const d of ref.values()) d.endOfStream();
    }
    const expected = [...ref.values()].flatMap((d) => d.readOutput<Alert>(T.alerts).map((o) => canon(o.value))).sort();

    const prod = kafka.producer();
    for (const [from, to] of [[0, half], [half, flows.length]]) {
      await prod.send(T.identified, flows.slice(from, to).map((f) => ({ key: f.flow_key, value: codec.encode(f) })));
      const r = new StageRunner(rekey(), { kafka, deadLetterTopic: `${RUN}.dlq`, groupId: `${RUN}-rekey`, bounded: true });
      await r.start(); await r.done(); await r.close();
      for (const [name, make] of detectors) {
        const w = new StageRunner(make(), { kafka, deadLetterTopic: `${RUN}.dlq`, groupId: `${RUN}-${name}`, bounded: true });
        await w.start(); await w.done(); await w.close();
      }
    }
    await prod.close();

    const got: Alert[] = [];
    const alertCodec = new AvroCodec<Alert>('alert.v1');
    await readPartitionsToEnd(kafka, T.alerts, [...Array(PARTS).keys()], (p, m) => {
      const a = alertCodec.decode(m.value!);
      assert.equal(m.key?.toString(), a.dedup_key, 'keyed by dedup_key');
      assert.equal(p, partitionForKey(a.dedup_key, PARTS), 'one alert\'s states share a partition');
      got.push(a);
    });
    await kafka.close();
    assert.deepEqual(got.map(canon).sort(), expected);

    const show = got.map((a) => `${a.state} ${a.dedup_key}`).sort();
    for (const line of ['open port_scan|mallory|evil-1', 'resolved port_scan|mallory|evil-1',
      'open traffic_burst|acme|web-1->db-1', 'resolved traffic_burst|acme|web-1->db-1', 'open traffic_burst|acme|web-1', 'open traffic_burst|acme|db-1']) {
      assert.ok(show.includes(line), `${line} in\n${show.join('\n')}`);
    }
    // the scanner never talked to db-1 before: after the learning period that is a new pair (the others were learned)
    assert.deepEqual(show.filter((l) => l.includes('new_pair')), ['open new_pair|mallory|evil-1->db-1', 'resolved new_pair|mallory|evil-1->db-1']);
    // eslint-disable-next-line no-console
    console.log(`      ${got.length} alert states from ${flows.length} flow windows:\n        ${show.join('\n        ')}`);
  });
});
