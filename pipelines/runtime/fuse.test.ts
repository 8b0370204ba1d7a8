/** Fused stages produce exactly what the stages produce apart, with one decode per message. */
import assert from 'node:assert/strict';
import path from 'node:path';
import fs from 'node:fs';
import { readAll } from '../../lib/pcap';
import { decodeFrame } from '../../lib/decode';
import type { PacketSummary } from '../../schemas/types';
import { TopologyTestDriver } from './test-driver';
import { fuseStages } from './fuse';
import { aggregateStage, type AggregatePacket } from '../stages/aggregate';
import { metricsStage, type MetricsPacket } from '../stages/metrics';
import { createStage } from '../registry';
import { loadConfig } from '../../lib/config';
import { isTaplineError } from '../../lib/errors';
import { parseStage } from '../stages/parse';

const FILE = path.resolve(__dirname, '../../demo/bro-org-http.pcap');

async function packets(): Promise<PacketSummary[]> {
  return (await readAll(FILE)).map((r) => decodeFrame(r, { observationPoint: 'fuse-test' }));
}

function run(def: ReturnType<typeof aggregateStage>, ps: PacketSummary[]): Map<string, string[]> {
  const d = new TopologyTestDriver(def);
  for (let i = 0; i < ps.length; i += 100) d.pipeMessage('k', ps.slice(i, i + 100));
  d.endOfStream();
  const out = new Map<string, string[]>();
  for (const topic of Object.keys(def.outputs)) {
    out.set(topic, d.readOutput(topic).map((r) => JSON.stringify(r.value, (_k, v) => (typeof v === 'bigint' ? v.toString() : v))));
  }
  return out;
}

describe('runtime: fused stages', () => {
  it('aggregate+metrics fused emit the same records as each stage alone, in the same order', async () => {
    assert.ok(fs.existsSync(FILE));
    const ps = await packets();
    const agg = run(aggregateStage(), ps);
    const met = run(metricsStage() as never, ps);
    const fused = run(fuseStages<AggregatePacket & MetricsPacket>([aggregateStage(), metricsStage()]) as never, ps);
    const flows = 'tapline.flows.v1', fm = 'tapline.flow-metrics.v1';
    assert.ok(agg.get(flows)!.length > 10, 'the capture yields flow windows');
    assert.deepEqual(fused.get(flows), agg.get(flows));
    assert.deepEqual(fused.get(fm), met.get(fm));
  });

  it('is what `a+b` names in the registry; stages on different inputs or with clashing stores refuse to fuse', () => {
    const cfg = loadConfig(undefined, {}, {});
    const def = createStage('aggregate+metrics', cfg);
    assert.equal(def.name, 'aggregate.metrics');
    assert.deepEqual(def.stores.sort(), [...aggregateStage().stores, ...metricsStage().stores].sort());
    assert.throws(() => fuseStages([aggregateStage(), aggregateStage()]), (e: unknown) => isTaplineError(e) && /declared by two/.test(e.message));
    const other = { ...parseStage(), input: { topic: 'elsewhere.v1', schema: 'packet-summary.v1', batchSchema: 'packet-batch.v1' } };
    assert.throws(() => fuseStages([aggregateStage(), other as never]), (e: unknown) => isTaplineError(e) && /different inputs/.test(e.message));
    assert.throws(() => createStage('aggregate+nope', cfg), (e: unknown) => isTaplineError(e) && /unknown stage type "nope"/.test(e.message));
  });
});
