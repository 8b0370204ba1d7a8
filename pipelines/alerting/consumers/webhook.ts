/**
 * Webhook output: each alert state is POSTed as the tapline.alert.v1 JSON document, signed with
 * HMAC-SHA256 over "<timestamp>.<body>" (see signing.ts), retried per the retry policy. The body
 * is the same bytes on every attempt; the timestamp and signature are fresh per attempt so a
 * late retry is not mistaken for a replay.
 */
import { ComponentMetrics } from '../../../lib/metrics';
import { logger } from '../../../lib/log';
import type { Alert } from '../../../schemas/alert';
import type { RetryPolicy } from '../../../lib/config/alert-consumers';
import { headerValue, postOnce } from './http-post';
import { countOutcome, type AlertOutput, type DeliveryContext } from './output';
import { toPayload } from './payload';
import { deliverWithRetry, type DeliveryOutcome } from './retry';
import { signatureHeaders } from './signing';

export interface WebhookSettings { url: string; secret: string; headers?: Record<string, string>; retry: RetryPolicy; random?: () => number }

export class WebhookOutput implements AlertOutput {
  readonly name = 'webhook' as const;
  readonly metrics = new ComponentMetrics('alerts-webhook');
  private readonly log = logger('alerts-webhook');

  constructor(private readonly s: WebhookSettings) {}

  async start(): Promise<void> { /* stateless: fetch pools connections itself */ }

  async deliver(alert: Alert, ctx: DeliveryContext): Promise<DeliveryOutcome> {
    const payload = toPayload(alert);
    const body = JSON.stringify(payload);
    const outcome = await deliverWithRetry((attempt) => postOnce(this.s.url, body, {
      ...this.s.headers,
      'content-type': 'application/json',
      'user-agent': 'tapline-alerts/1',
      'x-tapline-delivery': headerValue(payload.delivery_key),
      'x-tapline-attempt': String(attempt),
      ...signatureHeaders(this.s.secret, body),
    }, this.s.retry.timeoutMs, ctx.signal), this.s.retry, {
      signal: ctx.signal, heartbeat: ctx.heartbeat, random: this.s.random,
      onAttemptFailed: (r, n, delay) => {
        this.metrics.error(r.code);
        this.log.warn({ id: alert.id, state: alert.state, attempt: n, code: r.code, reason: r.reason, retryInMs: delay }, 'webhook attempt failed');
      },
    });
    countOutcome(this.metrics, outcome);
    return outcome;
  }

  async close(): Promise<void> { /* nothing held */ }
}
