import assert from 'node:assert/strict';
import { isClosed, WindowCursor, windowSpec, windowStarts } from './windows';

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

  it('a cursor gives the same windows as windowStarts, recomputed only when the step changes', () => {
    const w = windowSpec(60_000, 10_000, 2_000);
    const c = new WindowCursor(w);
    for (const ts of [125n * S, 125n * S + 1n, 129n * S, 130n * S - 1n, 130n * S, 5n * S, -1n, -10n * S, 129n * S]) {
      c.seek(ts);
      assert.deepEqual(c.starts, windowStarts(ts, w), `starts at ${ts}`);
      assert.deepEqual(c.closes, c.starts.map((s) => s + 62n * S), `closes at ${ts}`);
    }
    c.seek(125n * S);
    const kept = c.starts;
    c.seek(126n * S);
    assert.equal(c.starts, kept, 'same step: same array');
    c.seek(131n * S);
    assert.notEqual(c.starts, kept, 'next step: a new array');
    assert.deepEqual(kept, windowStarts(125n * S, w), 'the array handed out earlier is unchanged');
  });
});
