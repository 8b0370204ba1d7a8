/**
 * Webhook signatures. Signed material = "<timestamp>.<raw body>" where timestamp is the
 * X-Tapline-Timestamp header (Unix seconds): binding the time into the MAC lets a receiver
 * refuse replays older than its tolerance, which a signature over the body alone cannot.
 *   X-Tapline-Timestamp: 1700000000
 *   X-Tapline-Signature: sha256=<hex HMAC-SHA256(secret, "1700000000." + body)>
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

export const SIGNATURE_HEADER = 'x-tapline-signature';
export const TIMESTAMP_HEADER = 'x-tapline-timestamp';

export function signatureHex(secret: string, timestamp: string, body: string | Buffer): string {
  return createHmac('sha256', secret).update(`${timestamp}.`).update(body).digest('hex');
}

export function signatureHeaders(secret: string, body: string, nowMs: number = Date.now()): Record<string, string> {
  const ts = String(Math.floor(nowMs / 1000));
  return { [TIMESTAMP_HEADER]: ts, [SIGNATURE_HEADER]: `sha256=${signatureHex(secret, ts, body)}` };
}

/**
 * The receiver's check (what docs/alerts.md shows in Python and Node): a valid MAC over the
 * exact bytes received, and a timestamp within `toleranceS` of now. Constant-time comparison.
 */
export function verifySignature(secret: string, rawBody: string | Buffer, timestamp: string | undefined, signature: string | undefined,
  toleranceS = 300, nowMs: number = Date.now()): boolean {
  if (!timestamp || !signature || !/^\d+$/.test(timestamp) || !signature.startsWith('sha256=')) return false;
  if (Math.abs(nowMs / 1000 - Number(timestamp)) > toleranceS) return false;
  const expected = Buffer.from(signatureHex(secret, timestamp, rawBody), 'hex');
  const given = Buffer.from(signature.slice('sha256='.length), 'hex');
  return given.length === expected.length && timingSafeEqual(given, expected);
}
