import assert from 'node:assert/strict';
import { isClosed, windowSpec, windowStarts } from './windows';

const S = 1_000_000_000n;

describe('event-time windows', () => {
  it('tumbling: one epoch-aligned window per record', () => {
    const w = windowSpec(10_000, undefined, 0);
    assert.deepEqual(windowStarts(125n * S + 3n, w), [120n * S]);
    assert.deepEqual(windowStarts(120n * S, w), [120n * S]);
    assert.deepEqual(windowStarts(-1n, w), [-10n * S], 'aligned below zero too');
  });

  it('hopping: size/advance overlapping windows', () => {
    const w = windowSpec(60_000, 10_000, 0);
    assert.deepEqual(windowStarts(125n * S, w), [70n, 80n, 90n, 100n, 110n, 120n].map((x) => x * S));
  });

  it('closes a window after its end plus lateness, and rejects bad hops', () => {
    const w = windowSpec(10_000, undefined, 2_000);
    assert.equal(isClosed(100n * S, w, 111n * S), false);
    assert.equal(isClosed(100n * S, w, 112n * S), true);
    assert.throws(() => windowSpec(60_000, 7_000, 0), /must divide/);
  });
});
