/**
 * Query-parameter validation. Every route declares a strict zod schema: unknown parameters,
 * wrong types and out-of-range values are a 400 naming the parameter, before any SQL runs.
 * Times are ISO 8601 or epoch milliseconds; ranges are half-open [from, to).
 */
import { z } from 'zod';
import { badRequest } from './http-error';

export const MAX_RANGE_MS = 31 * 24 * 3600_000;
/** At most this many buckets per series, whatever step is asked for. */
export const MAX_BUCKETS = 2000;

/**
 * Accepted times: ranges derived from them (defaults, the previous period) stay within years
 * 1969..9999, which PostgreSQL parses from ISO text (it refuses year 0 and `+010000-…`).
 */
const MIN_TIME_MS = Date.UTC(1970, 0, 1);
const MAX_TIME_MS = Date.UTC(9999, 0, 1);

const time = z.string().trim().min(1).transform((s, ctx) => {
  const ms = /^\d{1,15}$/.test(s) ? Number(s) : Date.parse(s);
  if (!Number.isFinite(ms) || !/^\d{1,15}$|^\d{4}-\d{2}-\d{2}/.test(s)) {
    ctx.addIssue({ code: z.ZodIssueCode.custom, message: 'must be ISO 8601 (2026-11-28T10:00:00Z) or epoch milliseconds' });
    return z.NEVER;
  }
  // Date.parse rolls an impossible day over (2024-02-30 -> 2024-03-01): refuse it instead
  const ymd = /^(\d{4})-(\d{2})-(\d{2})/.exec(s);
  if (ymd && Number(ymd[3]) > new Date(Date.UTC(Number(ymd[1]), Number(ymd[2]), 0)).getUTCDate()) {
    ctx.addIssue({ code: z.ZodIssueCode.custom, message: `${ymd[0]} is not a date` });
    return z.NEVER;
  }
  if (ms < MIN_TIME_MS || ms >= MAX_TIME_MS) {
    ctx.addIssue({ code: z.ZodIssueCode.custom, message: 'must be between 1970-01-01 and 9999-01-01' });
    return z.NEVER;
  }
  return ms;
});

const int = (min: number, max: number) => z.string().trim().regex(/^\d+$/, 'must be a whole number').transform(Number)
  .pipe(z.number().int().min(min, `must be at least ${min}`).max(max, `must be at most ${max}`));

/** A VM id, or `external` (every non-inventory peer, collapsed). */
export const nodeId = z.string().trim().min(1).max(200).regex(/^[A-Za-z0-9_.:@\-/]+$/, 'may hold only letters, digits and _ . : @ - /');

export const rangeShape = { from: time.optional(), to: time.optional() };
export const stepShape = { step: int(1, 86_400).optional() };

export const params = { time, int, nodeId };

/** Parses req.query with the schema; a failure is a 400 listing each bad parameter. */
export function parse<T extends z.ZodTypeAny>(schema: T, query: unknown): z.infer<T> {
  const r = schema.safeParse(query ?? {});
  if (!r.success) {
    const msg = r.error.issues.map((i) => {
      if (i.code === z.ZodIssueCode.unrecognized_keys) return `unknown parameter${i.keys.length > 1 ? 's' : ''} ${i.keys.join(', ')}`;
      const where = i.path.join('.') || 'query';
      const m = i.code === z.ZodIssueCode.invalid_type && i.received === 'array' ? 'must be given once' : i.message;
      return `${where}: ${m}`;
    }).join('; ');
    throw badRequest(msg);
  }
  return r.data;
}

export interface Range { from: number; to: number }

/**
 * from/to with defaults: `to` = the end of the data (so a replayed capture from last year shows
 * up), `from` = to - 24 h. Rejects from >= to and ranges longer than MAX_RANGE_MS.
 */
export function resolveRange(q: { from?: number; to?: number }, dataEndMs: number | null, defaultMs = 24 * 3600_000): Range {
  const to = q.to ?? (q.from !== undefined ? q.from + defaultMs : (dataEndMs ?? Date.now()));
  const from = q.from ?? to - defaultMs;
  if (from >= to) throw badRequest('from must be before to');
  if (to - from > MAX_RANGE_MS) throw badRequest(`the range may span at most ${MAX_RANGE_MS / 86_400_000} days`);
  return { from, to };
}

const NICE_STEPS = [1, 5, 10, 30, 60, 300, 600, 900, 1800, 3600, 3 * 3600, 6 * 3600, 12 * 3600, 86_400];

/** Bucket width in seconds: the asked step, or a round one giving about `target` points. */
export function resolveStep(range: Range, step: number | undefined, target = 120): number {
  const span = (range.to - range.from) / 1000;
  if (step !== undefined) {
    if (span / step > MAX_BUCKETS) throw badRequest(`step ${step} s gives more than ${MAX_BUCKETS} buckets for this range; use a larger step`);
    return step;
  }
  return NICE_STEPS.find((s) => span / s <= target) ?? 86_400;
}
