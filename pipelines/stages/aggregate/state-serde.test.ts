/** The aggregate stage's compact window state loses nothing, and fully packed state changes no output. */
import assert from 'node:assert/strict';
import path from 'node:path';
import v8 from 'node:v8';
import { readAll } from '../../../lib/pcap';
import { decodeFrame } from '../../../lib/decode';
import type { PacketSummary } from '../../../schemas/types';
import { TopologyTestDriver } from '../../runtime/test-driver';
import { aggregateStage, FLOW_STORE, type AggregateConfig, type AggregatePacket } from '.';
import { flowStateSerde } from './state-serde';
import type { FlowState } from './aggregate';

const FILE = path.resolve(__dirname, '../../../demo/bro-org-http.pcap');
const plain = <T>(x: T): T => v8.deserialize(v8.serialize(x));

function drive(ps: PacketSummary[], cfg: Partial<AggregateConfig>, every?: (d: TopologyTestDriver<AggregatePacket>) => void): string[] {
  const d = new TopologyTestDriver(aggregateStage({ windowMs: 2000, advanceMs: 1000, allowedLatenessMs: 500, ...cfg }));
  ps.forEach((p, i) => { d.pipeInput('k', p); if (every && i % 5 === 0) every(d); });
  d.endOfStream();
  return d.readOutput('tapline.flows.v1').map((r) => JSON.stringify(r.value, (_k, v) => (typeof v === 'bigint' ? v.toString() : v)));
}

describe('aggregate stage: compact state serde', function () {
  this.timeout(60_000);
  it('round-trips every window state of a real capture (hopping windows) and packing everything changes no output', async () => {
    const ps = (await readAll(FILE)).map((r) => decodeFrame(r, { observationPoint: 'serde' }));
    let checked = 0, compact = 0, clone = 0;
    const objects = drive(ps, { hotEntries: 1_000_000 }, (d) => {
      for (const s of d.store<FlowState>(FLOW_STORE).values()) {
        const b = flowStateSerde.encode(s);
        assert.deepStrictEqual(plain(flowStateSerde.decode(b)), plain(s));
        checked++; compact += b.length; clone += v8.serialize(s).length;
      }
    });
    assert.ok(checked > 500, `${checked} states checked`);
    assert.ok(compact < clone / 2, `compact ${compact} B vs structured clone ${clone} B`);
    const packed = drive(ps, { hotEntries: 0 });
    assert.ok(objects.length > 20);
    assert.deepEqual(packed, objects);
  });
});
