/** The second cursor gives the epoch second of any timestamp, also across boundaries and below 0. */
import assert from 'node:assert/strict';
import { SecondCursor } from './window';

const floorSec = (ts: bigint) => Number((ts - (((ts % 1_000_000_000n) + 1_000_000_000n) % 1_000_000_000n)) / 1_000_000_000n);

describe('metrics: SecondCursor', () => {
  it('is the floor of ts / 1 s for every timestamp, whatever it saw before', () => {
    const c = new SecondCursor();
    const S = 1_000_000_000n, T = 1_700_000_000n * S;
    const seq = [T, T + 1n, T + S - 1n, T + S, T - 1n, T, 0n, -1n, -S, -S - 1n, S - 1n, T + 5n * S + 7n, T + 5n * S + 8n, T];
    for (const ts of seq) assert.equal(c.of(ts), floorSec(ts), `second of ${ts}`);
  });
});
