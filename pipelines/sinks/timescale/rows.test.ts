import assert from 'node:assert/strict';
import { nsToIso } from './rows';

describe('timescale sink rows', () => {
  it('converts BigInt nanoseconds to microsecond ISO timestamps without float rounding', () => {
    assert.equal(nsToIso(1_389_719_041_819_644_000n), '2014-01-14T17:04:01.819644Z');
    assert.equal(nsToIso(1_700_000_000_000_000_999n), '2023-11-14T22:13:20.000000Z');
    assert.equal(nsToIso(1_700_000_000_999_999_999n), '2023-11-14T22:13:20.999999Z');
    assert.equal(nsToIso(0n), '1970-01-01T00:00:00.000000Z');
    assert.equal(nsToIso(-1_500_000n), '1969-12-31T23:59:59.998500Z');
    assert.equal(nsToIso(1_700_000_000_999_999_999n), '2023-11-14T22:13:20.999999Z'); // the cached second again
    assert.equal(nsToIso(1_700_000_001_000_001_000n), '2023-11-14T22:13:21.000001Z');
  });
});
