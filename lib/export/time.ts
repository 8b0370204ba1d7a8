/**
 * Export time bounds. Parsed here to exact microseconds (what PostgreSQL and Arrow's
 * Timestamp(MICROSECOND) store) instead of through `Date`, which keeps milliseconds only: a
 * page boundary that lost its microseconds would repeat or skip rows.
 */
import { TaplineError } from '../errors';

const US_PER_DAY = 86_400_000_000n;

const ISO = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?)?\s*(Z|z|[+-]\d{2}(?::?\d{2})?)?$/;

function invalid(what: string, value: string, why: string): TaplineError {
  return new TaplineError('EXPORT_INVALID', 'export', `${what} "${value}" is not a valid time: ${why} ` +
    '(use ISO 8601, e.g. 2026-11-28T17:00:00Z, 2026-11-28T17:00:00.123456+01:00 or 2026-11-28; no zone means UTC)');
}

/** Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's days_from_civil). */
function daysFromCivil(y: number, m: number, d: number): number {
  const yy = m <= 2 ? y - 1 : y;
  const era = Math.floor(yy / 400);
  const yoe = yy - era * 400;
  const doy = Math.floor((153 * (m + (m > 2 ? -3 : 9)) + 2) / 5) + d - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146097 + doe - 719468;
}

function daysInMonth(y: number, m: number): number {
  return [31, (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0 ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][m - 1];
}

/** ISO 8601 text -> microseconds since the Unix epoch (UTC). Throws EXPORT_INVALID naming `what`. */
export function parseTimeToMicros(value: string, what = 'time'): bigint {
  const m = ISO.exec(value.trim());
  if (!m) throw invalid(what, value, 'unrecognised format');
  const [y, mo, d, h = 0, mi = 0, s = 0] = [1, 2, 3, 4, 5, 6].map((i) => (m[i] === undefined ? undefined : Number(m[i]))) as number[];
  if (y < 1) throw invalid(what, value, 'year must be 0001 or later');
  if (mo < 1 || mo > 12) throw invalid(what, value, 'month out of range');
  if (d < 1 || d > daysInMonth(y, mo)) throw invalid(what, value, 'day out of range');
  if (h > 23 || mi > 59 || s > 59) throw invalid(what, value, 'time of day out of range');
  const frac = m[7] ?? '';
  if (frac.length > 6 && /[1-9]/.test(frac.slice(6))) throw invalid(what, value, 'finer than a microsecond');
  const micros = BigInt((frac + '000000').slice(0, 6));
  let offsetMin = 0;
  const z = m[8];
  if (z && z !== 'Z' && z !== 'z') {
    const digits = z.slice(1).replace(':', '');
    const oh = Number(digits.slice(0, 2));
    const om = digits.length > 2 ? Number(digits.slice(2, 4)) : 0;
    if (oh > 15 || om > 59) throw invalid(what, value, 'zone offset out of range');
    offsetMin = (z[0] === '-' ? -1 : 1) * (oh * 60 + om);
  }
  const secs = BigInt(h * 3600 + mi * 60 + s - offsetMin * 60);
  const us = BigInt(daysFromCivil(y, mo, d)) * US_PER_DAY + secs * 1_000_000n + micros;
  // The offset can carry 0001-01-01 / 9999-12-31 into year 0 / 10000 (UTC), which neither
  // PostgreSQL nor microsToSql takes: the export would fail after its 200, not with a 400.
  if (us < MIN_US || us >= MAX_US) throw invalid(what, value, 'outside years 0001..9999 in UTC');
  return us;
}

const MIN_US = BigInt(daysFromCivil(1, 1, 1)) * US_PER_DAY;
const MAX_US = BigInt(daysFromCivil(10000, 1, 1)) * US_PER_DAY;

/**
 * Microseconds since the epoch -> `YYYY-MM-DD HH:MM:SS.ffffff` (UTC wall time), plus `+00` for
 * timestamptz. The explicit zone keeps the session's TimeZone setting (shared by every client of
 * the embedded server) out of the comparison.
 */
export function microsToSql(us: bigint, withZone: boolean): string {
  const days = us >= 0n ? us / US_PER_DAY : -((-us + US_PER_DAY - 1n) / US_PER_DAY);
  const rest = us - days * US_PER_DAY;
  const dayMs = Number(days) * 86_400_000;
  const date = new Date(dayMs + Number(rest / 1000n));
  const ymd = date.toISOString().slice(0, 10);
  const secOfDay = Number(rest / 1_000_000n);
  const hh = String(Math.floor(secOfDay / 3600)).padStart(2, '0');
  const mm = String(Math.floor((secOfDay % 3600) / 60)).padStart(2, '0');
  const ss = String(secOfDay % 60).padStart(2, '0');
  const f = String(rest % 1_000_000n).padStart(6, '0');
  return `${ymd} ${hh}:${mm}:${ss}.${f}${withZone ? '+00' : ''}`;
}

/** Microseconds since the epoch -> ISO 8601 UTC with microseconds (for messages and metadata). */
export function microsToIso(us: bigint): string {
  return microsToSql(us, false).replace(' ', 'T') + 'Z';
}
