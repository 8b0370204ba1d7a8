/**
 * One HTTP POST attempt with Node's built-in fetch (undici), classified for the retry policy:
 * 2xx delivered; network errors, timeouts, 408, 429 and 5xx retriable (Retry-After read);
 * redirects and other 4xx permanent (the receiver will not change its mind on a resend).
 */
import { errorMessage } from '../../../lib/errors';
import { parseRetryAfter, type AttemptResult } from './retry';

const RETRIABLE_STATUS = (s: number) => s === 408 || s === 429 || s >= 500;

function failure(e: unknown): AttemptResult {
  const err = e as { name?: string; cause?: { code?: string; message?: string } };
  if (err.name === 'TimeoutError') return { ok: false, retriable: true, code: 'TIMEOUT', reason: 'no response before the attempt timeout' };
  // fetch reports network failures as TypeError('fetch failed') with the socket error as cause;
  // a TypeError without a cause is a request it refused to build (bad URL or header): resending
  // the same request cannot help.
  if (e instanceof TypeError && err.cause === undefined) return { ok: false, retriable: false, code: 'REQUEST_INVALID', reason: errorMessage(e) };
  const cause = err.cause?.code ?? err.cause?.message;
  return { ok: false, retriable: true, code: 'NETWORK', reason: cause ? `${errorMessage(e)} (${cause})` : errorMessage(e) };
}

/** Header values must be Latin-1 bytes: characters outside printable ASCII are percent-encoded. */
export function headerValue(v: string): string {
  return v.replace(/[^\x20-\x7e]/gu, (c) => encodeURIComponent(c));
}

export async function postOnce(url: string, body: string, headers: Record<string, string>, timeoutMs: number,
  stop: AbortSignal): Promise<AttemptResult> {
  let res: Response;
  try {
    res = await fetch(url, {
      method: 'POST', body, headers,
      // A redirected POST would become a GET (301/302) or go to a host the operator never named.
      redirect: 'manual',
      signal: AbortSignal.any([AbortSignal.timeout(timeoutMs), stop]),
    });
  } catch (e) {
    return failure(e);
  }
  // Read (a bounded part of) the body: it frees the connection and explains a refusal.
  let text = '';
  try { text = (await res.text()).slice(0, 300); } catch { /* the status is what matters */ }
  if (res.status >= 200 && res.status < 300) return { ok: true, detail: `HTTP ${res.status}` };
  const reason = `HTTP ${res.status}${text ? `: ${text.replace(/\s+/g, ' ').trim()}` : ''}`;
  const code = `HTTP_${res.status}`;
  if (RETRIABLE_STATUS(res.status)) return { ok: false, retriable: true, code, reason, retryAfterMs: parseRetryAfter(res.headers.get('retry-after')) };
  return { ok: false, retriable: false, code, reason };
}
