/**
 * GlobalFollower's failure paths, with a fake client: a consumer that stops for good before the
 * table caught up fails start(); one that stops afterwards is reported to the owner (the stage
 * runner ends its run) instead of leaving a table that silently stopped following.
 * (Following a real topic is covered with the broker by the identify and metrics stage tests.)
 */
import assert from 'node:assert/strict';
import type { KafkaClient } from '../../lib/kafka';
import { ComponentMetrics } from '../../lib/metrics';
import { GlobalFollower } from './global-follower';
import type { GlobalTableSpec } from './types';

type RunOpts = { onCrash?: (e: Error) => void; onProgress?: (t: string, p: number, next: bigint) => void };

function fakeKafka(endOffset: bigint, behave: (opts: RunOpts) => Promise<void>): KafkaClient {
  return {
    ensureTopics: async () => undefined,
    endOffsets: async () => new Map([[0, endOffset]]),
    deleteGroup: async () => undefined,
    consumer: () => ({ run: (_t: string[], _h: unknown, opts: RunOpts) => behave(opts), close: async () => undefined }),
  } as unknown as KafkaClient;
}

const spec = { name: 'inventory', topic: 'inv', schema: 'vm-inventory.v1', timestampOf: () => 0n, indexKeys: () => [] } as unknown as GlobalTableSpec<never>;

describe('runtime: global table follower failures', () => {
  it('a consumer that crashes after the table caught up is reported to the owner', async () => {
    let crash: ((e: Error) => void) | undefined;
    const reported: string[] = [];
    const f = new GlobalFollower(fakeKafka(0n, async (o) => { crash = o.onCrash; }), [spec], new ComponentMetrics('gf-test'), 'g',
      (e) => reported.push(e.message));
    await f.start(); // nothing to catch up with
    crash!(new Error('the group coordinator went away for good'));
    assert.deepEqual(reported, ['the group coordinator went away for good']);
    await f.close();
  });

  it('a consumer that fails before catching up fails start()', async () => {
    const reported: string[] = [];
    const f = new GlobalFollower(fakeKafka(5n, async () => { throw new Error('cannot join'); }), [spec], new ComponentMetrics('gf-test2'), 'g',
      (e) => reported.push(e.message));
    await assert.rejects(f.start(), /cannot join/);
    assert.deepEqual(reported, [], 'not reported twice');
    await f.close();
  });
});
