/**
 * Delivery with retries: capped exponential backoff with jitter, Retry-After honoured, no retry
 * on a permanent refusal. The outcome is a value (delivered / failed / aborted), never a throw,
 * so the runner can dead-letter a failed record and go on with the next one.
 */
import type { RetryPolicy } from '../../../lib/config/alert-consumers';

/** One attempt's result, as an output classifies it. */
export type AttemptResult =
  | { ok: true; detail?: string }
  | { ok: false; retriable: boolean; code: string; reason: string; retryAfterMs?: number };

export type DeliveryOutcome =
  | { kind: 'delivered'; attempts: number }
  /** code: DELIVERY_FAILED (retries used up) or DELIVERY_REJECTED (a permanent refusal). */
  | { kind: 'failed'; attempts: number; code: 'DELIVERY_FAILED' | 'DELIVERY_REJECTED'; reason: string }
  /** The consumer is closing: neither delivered nor dead-lettered; the record is not committed. */
  | { kind: 'aborted'; attempts: number };

/**
 * Backoff after the `failedAttempt`-th failure (1-based): exp = min(maxDelay, initial * 2^(n-1)),
 * then "equal jitter": uniformly in [exp/2, exp]. Jitter spreads the retries of many consumers
 * hitting one recovering receiver; keeping half the delay keeps the backoff real.
 */
export function backoffDelay(policy: Pick<RetryPolicy, 'initialDelayMs' | 'maxDelayMs'>, failedAttempt: number, random: () => number = Math.random): number {
  const exp = Math.min(policy.maxDelayMs, policy.initialDelayMs * 2 ** Math.min(failedAttempt - 1, 30));
  return Math.round(exp / 2 + random() * (exp / 2));
}

/** The wait before the next attempt: the backoff, or longer when the receiver asked (capped). */
export function retryDelay(policy: Pick<RetryPolicy, 'initialDelayMs' | 'maxDelayMs' | 'maxRetryAfterMs'>, failedAttempt: number,
  retryAfterMs?: number, random: () => number = Math.random): number {
  const b = backoffDelay(policy, failedAttempt, random);
  if (retryAfterMs === undefined) return b;
  return Math.max(b, Math.min(retryAfterMs, policy.maxRetryAfterMs));
}

/** Retry-After (RFC 9110 §10.2.3): delay-seconds or an HTTP-date. Undefined when absent or unreadable. */
export function parseRetryAfter(value: string | null | undefined, nowMs: number = Date.now()): number | undefined {
  if (!value) return undefined;
  const v = value.trim();
  if (/^\d+$/.test(v)) return Number(v) * 1000;
  const t = Date.parse(v);
  if (Number.isNaN(t)) return undefined;
  return Math.max(0, t - nowMs);
}

export interface RetryOptions {
  signal: AbortSignal;
  /** Called while waiting, so the consumer group keeps this member during long backoffs. */
  heartbeat?: () => Promise<void>;
  onAttemptFailed?: (r: Extract<AttemptResult, { ok: false }>, attempt: number, delayMs: number | null) => void;
  random?: () => number;
}

const HEARTBEAT_EVERY_MS = 2_000;

/** Sleeps `ms`, heart-beating; resolves false when aborted first. */
async function pause(ms: number, opts: RetryOptions): Promise<boolean> {
  const until = Date.now() + ms;
  while (!opts.signal.aborted) {
    const left = until - Date.now();
    if (left <= 0) return true;
    await new Promise<void>((resolve) => {
      const t = setTimeout(done, Math.min(left, HEARTBEAT_EVERY_MS));
      function done() { clearTimeout(t); opts.signal.removeEventListener('abort', done); resolve(); }
      opts.signal.addEventListener('abort', done, { once: true });
    });
    // Best effort: a failed heartbeat means a rebalance; the commit after delivery then fails
    // and the record is re-delivered by the partition's new owner (at-least-once).
    if (opts.heartbeat && !opts.signal.aborted) await opts.heartbeat().catch(() => undefined);
  }
  return false;
}

export async function deliverWithRetry(attempt: (n: number) => Promise<AttemptResult>, policy: RetryPolicy, opts: RetryOptions): Promise<DeliveryOutcome> {
  for (let n = 1; ; n++) {
    if (opts.signal.aborted) return { kind: 'aborted', attempts: n - 1 };
    const r = await attempt(n);
    if (r.ok) return { kind: 'delivered', attempts: n };
    if (opts.signal.aborted) return { kind: 'aborted', attempts: n };
    if (!r.retriable) {
      opts.onAttemptFailed?.(r, n, null);
      return { kind: 'failed', attempts: n, code: 'DELIVERY_REJECTED', reason: `${r.code}: ${r.reason}` };
    }
    if (n >= policy.maxAttempts) {
      opts.onAttemptFailed?.(r, n, null);
      return { kind: 'failed', attempts: n, code: 'DELIVERY_FAILED', reason: `${n} attempts, last ${r.code}: ${r.reason}` };
    }
    const delay = retryDelay(policy, n, r.retryAfterMs, opts.random);
    opts.onAttemptFailed?.(r, n, delay);
    if (!(await pause(delay, opts))) return { kind: 'aborted', attempts: n };
  }
}
