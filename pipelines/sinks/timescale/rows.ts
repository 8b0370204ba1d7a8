/**
 * Timestamps of the sink's rows: they go over the wire as ISO-8601 text with microseconds
 * (PostgreSQL's precision), built from the BigInt nanoseconds without floats.
 */

// The text up to the whole second, for the last second converted: consecutive timestamps of a
// batch mostly share it, and Date + toISOString were most of a conversion's cost.
let lastSec = NaN;
let lastPrefix = '';

export function nsToIso(ns: bigint | number): string {
  // One BigInt division, then exact Number arithmetic (microseconds since 1970 stay below 2^53
  // until the year 2255): this runs for every timestamp column of every row the sink writes.
  const micros = Number(BigInt(ns) / 1000n);
  const sec = Math.floor(micros / 1_000_000);
  if (sec !== lastSec) { lastSec = sec; lastPrefix = new Date(sec * 1000).toISOString().slice(0, 20); }
  const frac = String(micros - sec * 1_000_000);
  return `${lastPrefix}${'000000'.slice(frac.length)}${frac}Z`;
}
