/** Review finding: a zone offset must not carry a time out of the years PostgreSQL and the SQL rendering take. */
import assert from 'node:assert/strict';
import { microsToSql, parseTimeToMicros } from './time';

describe('export: time bounds stay within years 0001..9999 after the zone offset', () => {
  it('refuses (EXPORT_INVALID, naming the parameter) a time the offset moves to year 0 or 10000', () => {
    for (const bad of ['0001-01-01T00:00:00+01:00', '9999-12-31T23:00:00-05:00']) {
      assert.throws(() => parseTimeToMicros(bad, 'from'), (e: Error & { code?: string }) => e.code === 'EXPORT_INVALID' && e.message.startsWith(`from "${bad}"`), bad);
    }
  });
  it('the extremes that are valid still render as SQL PostgreSQL reads', () => {
    assert.equal(microsToSql(parseTimeToMicros('0001-01-01T00:00:00Z'), true), '0001-01-01 00:00:00.000000+00');
    assert.equal(microsToSql(parseTimeToMicros('9999-12-31T18:59:59.999999-05:00'), true), '9999-12-31 23:59:59.999999+00');
  });
});
