import assert from 'node:assert/strict';
import { TopologyTestDriver } from '../../runtime/test-driver';
import type { VmEvent } from '../../../schemas/vm-event';
import { identifyStage } from '../identify';
import { flow, vm } from '../identify/fixtures';
import { vmEventsStage } from '.';

const S = 1_000_000_000n;
const CAND = 'tapline.vm-events.candidates.v1';
const OUT = 'tapline.vm-events.v1';

describe('vm-events stage (in-memory driver)', () => {
  it('identify over 4 partitions reports a move from several tasks; vm-events makes it exactly one event', () => {
    const id = new TopologyTestDriver(identifyStage({ observationHosts: { 'mon:h1': 'h1', 'mon:h2': 'h2' } }), 4);
    id.pipeGlobal('inventory', 'vm-01', vm('vm-01', 'h1', ['10.0.1.1'], 0));
    id.pipeGlobal('inventory', 'vm-03', vm('vm-03', 'h2', ['10.0.2.3'], 0));
    // vm-01 talks to the outside from many ports (many flow keys -> all partitions)
    for (let i = 0; i < 16; i++) id.pipeInput(`k${i}`, flow('10.0.1.1', 40000 + i, '198.51.100.7', 443, 5 + i * 0.1, 'mon:h1'));
    // traffic sees it at h2 first (one task), then the inventory says so (every task whose stream time gets there)
    id.pipeInput('k-early', flow('10.0.1.1', 41000, '198.51.100.7', 443, 25, 'mon:h2'));
    id.pipeGlobal('inventory', 'vm-01', vm('vm-01', 'h2', ['10.0.1.1'], 30));
    for (let i = 0; i < 16; i++) id.pipeInput(`k${i}`, flow('10.0.1.1', 40000 + i, '198.51.100.7', 443, 31 + i * 0.1, 'mon:h2'));
    // and back home at 60, by the inventory only
    id.pipeGlobal('inventory', 'vm-01', vm('vm-01', 'h1', ['10.0.1.1'], 60));
    for (let i = 0; i < 16; i++) id.pipeInput(`k${i}`, flow('10.0.1.1', 40000 + i, '198.51.100.7', 443, 61 + i * 0.1, 'mon:h1'));
    id.endOfStream();
    const candidates = id.readOutput<VmEvent>(CAND);
    assert.ok(candidates.length > 2, `several tasks report the moves (${candidates.length} candidates)`);
    assert.ok(candidates.every((c) => c.key === 'vm-01'));

    // The candidates topic is keyed by VM id: all of vm-01's meet in one vm-events task.
    const inOrder = new TopologyTestDriver(vmEventsStage(), 4);
    for (const c of candidates) inOrder.pipeInput(c.key, c.value);
    const events = inOrder.readOutput<VmEvent>(OUT).map((o) => [o.value.from_host, o.value.to_host, o.value.at, o.value.source]);
    assert.deepEqual(events, [['h1', 'h2', 25n * S, 'traffic'], ['h2', 'h1', 60n * S, 'inventory']], 'one event per move');
    assert.equal(inOrder.metrics.droppedByReason.get('duplicate'), candidates.length - 2);
    // A candidate for an older move arriving after a newer move was reported is stale, not a new event.
    inOrder.pipeInput('vm-01', { ...candidates[0].value, at: 50n * S });
    assert.equal(inOrder.readOutput(OUT).length, 0);
    assert.equal(inOrder.metrics.droppedByReason.get('stale'), 1);
  });
});
