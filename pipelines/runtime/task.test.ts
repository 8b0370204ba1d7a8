/**
 * A task's bookkeeping for commits: the next offset, and the offset below which nothing lives
 * only in memory (at-least-once commits stop there). The hot path keeps these per input
 * message instead of per record; a punctuation in the middle of a message must not lose track.
 */
import assert from 'node:assert/strict';
import { ComponentMetrics } from '../../lib/metrics';
import { logger } from '../../lib/log';
import { Task } from './task';
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
