/** Output batches are split into produce requests the broker accepts (message.max.bytes). */
import assert from 'node:assert/strict';
import { chunkRequests, MAX_REQUEST_BYTES } from './producer';

describe('kafka producer: request chunking', () => {
  it('keeps every message, in order, in requests under the byte limit; a lone big message goes alone', () => {
    const value = Buffer.alloc(10_000, 1);
    const flows = Array.from({ length: 300 }, (_, i) => ({ key: `k${i}`, value }));
    const late = [{ key: 'big', value: Buffer.alloc(MAX_REQUEST_BYTES * 2) }, { key: 'x', value: Buffer.alloc(10) }];
    const reqs = chunkRequests([{ topic: 'flows', messages: flows }, { topic: 'late', messages: late }]);
    assert.ok(reqs.length >= 7, `${reqs.length} requests`);
    for (const r of reqs) {
      const bytes = r.flatMap((b) => b.messages).reduce((s, m) => s + (m.value?.length ?? 0), 0);
      assert.ok(bytes <= MAX_REQUEST_BYTES || r.flatMap((b) => b.messages).length === 1, `request of ${bytes} B`);
    }
    const back = (t: string) => reqs.flatMap((r) => r.filter((b) => b.topic === t).flatMap((b) => b.messages.map((m) => m.key)));
    assert.deepEqual(back('flows'), flows.map((m) => m.key));
    assert.deepEqual(back('late'), ['big', 'x']);
    assert.deepEqual(chunkRequests([]), []);
  });
});
