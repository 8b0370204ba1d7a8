/**
 * A task's bookkeeping for commits: the next offset, and the offset below which nothing lives
 * only in memory (at-least-once commits stop there). The hot path keeps these per input
 * message instead of per record; a punctuation in the middle of a message must not lose track.
 */
import assert from 'node:assert/strict';
import { ComponentMetrics } from '../../lib/metrics';
import { logger } from '../../lib/log';
import { Task } from './task';
import { TopologyTestDriver } from './test-driver';
import { aggregateStage, type AggregatePacket } from '../stages/aggregate';
import { emptyPacketSummary, type FlowWindow, type PacketSummary } from '../../schemas/types';
import type { KeyValueStore, ProcessorContext, StageDefinition, StreamRecord } from './types';

interface Rec { put?: string; del?: string; ts: bigint }
const S = 1_000_000_000n;

function stage(punctuations: bigint[]): StageDefinition<Rec> {
  return {
    name: 'bookkeeping', input: { topic: 'in', schema: 'packet-summary.v1' }, outputs: {}, stores: ['s'],
    timestampOf: (r) => r.ts,
    create: () => {
      let store: KeyValueStore<number>;
      return {
        init: (ctx: ProcessorContext) => { store = ctx.store<number>('s'); },
        process: (r: StreamRecord<Rec>) => { if (r.value.put) store.put(r.value.put, 1); if (r.value.del) store.delete(r.value.del); },
        punctuate: (t: bigint) => { punctuations.push(t); },
        close: () => {},
      };
    },
  };
}

describe('runtime: task commit bookkeeping', () => {
  it('keeps every live key\'s first offset, also for records after a punctuation inside one message', () => {
    const punctuations: bigint[] = [];
    const task = new Task(stage(punctuations), 0, new ComponentMetrics('task-test'), logger('task-test'));
    const feed = (offset: bigint, recs: Rec[]) => { for (const value of recs) task.process({ topic: 'in', partition: 0, offset, key: null, value, timestampNs: value.ts }); };
    assert.equal(task.safeCommitOffset(), null, 'nothing read yet');
    // one message (offset 7): stream time crosses 1 s after its second record, so a punctuation
    // runs between the second and the third
    feed(7n, [{ put: 'a', ts: S / 2n }, { put: 'b', ts: S + 1n }, { put: 'c', ts: S + 2n }]);
    assert.deepEqual(punctuations, [S / 2n, S + 1n], 'punctuated at the first record and when 1 s was crossed');
    assert.equal(task.nextOffset, 8n);
    assert.equal(task.safeCommitOffset(), 7n, 'a, b and c live only in memory since offset 7');
    feed(8n, [{ del: 'a', ts: S + 3n }, { del: 'b', ts: S + 4n }]);
    assert.equal(task.nextOffset, 9n);
    assert.equal(task.safeCommitOffset(), 7n, 'c, put after the punctuation, still holds offset 7');
    feed(9n, [{ del: 'c', ts: S + 5n }, { put: 'd', ts: 2n * S + 1n }, { put: 'e', ts: 2n * S + 2n }]);
    assert.equal(task.safeCommitOffset(), 9n, 'd and e arrived at 9');
    feed(10n, [{ del: 'd', ts: 2n * S + 3n }, { del: 'e', ts: 2n * S + 4n }]);
    assert.equal(task.safeCommitOffset(), 11n, 'nothing live: up to the next offset');
  });
});

describe('runtime: a record the processor throws on', () => {
  it('is set aside (PROCESSING_FAILED) with its position; the task goes on with the next records and its offsets', () => {
    const punctuations: bigint[] = [];
    const def = stage(punctuations);
    const inner = def.create;
    const failing: StageDefinition<Rec> = { ...def, create: () => {
      const p = inner();
      return { ...p, init: (c) => p.init(c), process: (r) => { if (r.value.put === 'bad') throw new Error('cannot take it'); p.process(r); } };
    } };
    const metrics = new ComponentMetrics('task-reject-test');
    const task = new Task(failing, 0, metrics, logger('task-test'));
    const recs: Rec[] = [{ put: 'a', ts: 1n }, { put: 'bad', ts: 2n }, { put: 'c', ts: 3n }];
    recs.forEach((value, index) => task.process({ topic: 'in', partition: 0, offset: 4n, key: null, value, timestampNs: value.ts, index }));
    assert.deepEqual([...task.stores.get('s')!.entries()].map(([k]) => k), ['a', 'c'], 'the records around it are processed');
    const rejected = task.takeRejected();
    assert.deepEqual(rejected.map((r) => [r.record.offset, r.record.index, (r.error as Error).message]), [[4n, 1, 'cannot take it']]);
    assert.deepEqual(task.takeRejected(), [], 'taken once');
    assert.equal(metrics.errorsByCode.get('PROCESSING_FAILED'), 1);
    assert.equal(metrics.droppedByReason.get('dead-letter'), 1);
    assert.equal(task.nextOffset, 5n);
    assert.equal(task.streamTimeNs, 3n);
  });
});

describe('runtime: a record whose timestamp cannot be computed (test driver)', () => {
  it('is rejected like a processing failure, with its whole original; the other records count', () => {
    const base = aggregateStage();
    const def = { ...base, timestampOf: (p: AggregatePacket) => { if (p.src_port === 6666) throw new Error('no time for this one'); return base.timestampOf(p); } };
    const d = new TopologyTestDriver(def);
    const p = (ts: bigint, port: number): PacketSummary => ({ ...emptyPacketSummary(), ts_ns: ts, observation_point: 'op', ip_version: 4,
      src_ip: '10.9.1.1', dst_ip: '10.9.1.2', src_port: port, dst_port: 80, ip_proto: 6, wire_len: 100, cap_len: 100, src_mac: '02:00:00:00:00:01' });
    d.pipeMessage('k', [p(S, 1000), p(S + 1n, 6666), p(S + 2n, 1000)] as unknown as AggregatePacket[]);
    d.endOfStream();
    const rejected = d.readRejected();
    assert.deepEqual(rejected.map((r) => [r.offset, r.index, r.reason]), [[0n, 1, 'no time for this one']]);
    assert.equal((rejected[0].original as PacketSummary).src_mac, '02:00:00:00:00:01', 'every field, not only the ones the stage reads');
    const flows = d.readOutput<FlowWindow>('tapline.flows.v1').map((o) => o.value);
    assert.deepEqual(flows.map((f) => Number(f.packets_ab) + Number(f.packets_ba)), [2]);
  });
});
