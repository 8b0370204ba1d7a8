/**
 * Timestamps of the sink's rows: they go over the wire as ISO-8601 text with microseconds
 * (PostgreSQL's precision), built from the BigInt nanoseconds without floats.
 */

export function nsToIso(ns: bigint | number): string {
  // One BigInt division, then exact Number arithmetic (microseconds since 1970 stay below 2^53
  // until the year 2255): this runs for every timestamp column of every row the sink writes.
  const micros = Number(BigInt(ns) / 1000n);
  const ms = Math.floor(micros / 1000);
  const us = micros - ms * 1000;
  return `${new Date(ms).toISOString().slice(0, 23)}${us < 10 ? '00' : us < 100 ? '0' : ''}${us}Z`;
}
