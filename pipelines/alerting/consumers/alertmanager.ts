/**
 * Alertmanager output: POST /api/v2/alerts. Alertmanager expects clients to re-send firing
 * alerts continuously and ends an alert at its endsAt otherwise, while tapline's detectors emit
 * a record only when an alert opens, changes or resolves. So this output keeps the open alerts
 * (latest state per dedup_key) and re-sends them every resendIntervalMs with endsAt = now +
 * endsAtGraceMs; a resolved state is sent with endsAt = its clear time and leaves the set. The
 * set is rebuilt at start from the (compacted) alerts topic by the runner (restore()).
 * Posts are serialised: a re-send of an old state must never overtake the resolved one.
 */
import { ComponentMetrics } from '../../../lib/metrics';
import { logger } from '../../../lib/log';
import type { Alert } from '../../../schemas/alert';
import type { RetryPolicy } from '../../../lib/config/alert-consumers';
import { postOnce } from './http-post';
import { countOutcome, type AlertOutput, type DeliveryContext } from './output';
import { endedNow, toPostableAlert, type AlertmanagerMapOptions, type PostableAlert } from './alertmanager-map';
import { deliverWithRetry, type DeliveryOutcome } from './retry';

export interface AlertmanagerSettings extends AlertmanagerMapOptions {
  url: string;
  resendIntervalMs: number;
  retry: RetryPolicy;
  random?: () => number;
}

const RESEND_CHUNK = 500;

export class AlertmanagerOutput implements AlertOutput {
  readonly name = 'alertmanager' as const;
  readonly metrics = new ComponentMetrics('alerts-alertmanager');
  private readonly log = logger('alerts-alertmanager');
  private readonly endpoint: string;
  /** dedup_key -> latest open/updated state, re-sent until resolved. */
  private readonly active = new Map<string, Alert>();
  /** dedup_key -> label set last posted, to end it when a new state changes the labels. */
  private readonly posted = new Map<string, PostableAlert>();
  private timer: NodeJS.Timeout | null = null;
  private resendQueued: Promise<void> | null = null;
  private lock: Promise<unknown> = Promise.resolve();
  private readonly stop = new AbortController();
  resends = 0;

  constructor(private readonly s: AlertmanagerSettings) {
    this.endpoint = `${s.url.replace(/\/+$/, '')}/api/v2/alerts`;
  }

  /** The alerts currently re-sent (for tests and the runner's logs). */
  activeKeys(): string[] { return [...this.active.keys()]; }

  /** Latest state per dedup_key from the alerts topic: open ones are re-sent from now on. */
  restore(latest: Iterable<Alert>): void {
    // Also remembered as posted (they were, before the restart, and are re-sent at start): a
    // later severity change must end that label set as it would without the restart.
    for (const a of latest) {
      if (a.state === 'resolved') continue;
      this.active.set(a.dedup_key, a);
      this.posted.set(a.dedup_key, toPostableAlert(a, Date.now(), this.s));
    }
    if (this.active.size) this.log.info({ open: this.active.size }, 'open alerts restored for re-sending');
  }

  async start(): Promise<void> {
    this.timer = setInterval(() => { void this.resend(); }, this.s.resendIntervalMs);
    this.timer.unref();
    if (this.active.size) void this.resend(); // restored alerts: refresh their endsAt right away
  }

  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.lock.then(fn, fn);
    this.lock = run.catch(() => undefined);
    return run;
  }

  private post(alerts: PostableAlert[], signal: AbortSignal) {
    return postOnce(this.endpoint, JSON.stringify(alerts), { 'content-type': 'application/json', 'user-agent': 'tapline-alerts/1' },
      this.s.retry.timeoutMs, signal);
  }

  async deliver(alert: Alert, ctx: DeliveryContext): Promise<DeliveryOutcome> {
    return this.serial(async () => {
      const now = Date.now();
      const current = toPostableAlert(alert, now, this.s);
      const body = [current];
      const before = this.posted.get(alert.dedup_key);
      if (before && JSON.stringify(before.labels) !== JSON.stringify(current.labels)) body.push(endedNow(before, now));
      // The state is the truth whatever the delivery: a dead-lettered open alert is still re-sent,
      // a resolved one is never re-sent (Alertmanager ends it at its endsAt at the latest).
      if (alert.state === 'resolved') { this.active.delete(alert.dedup_key); this.posted.delete(alert.dedup_key); }
      else { this.active.set(alert.dedup_key, alert); this.posted.set(alert.dedup_key, current); }
      const outcome = await deliverWithRetry(() => this.post(body, ctx.signal), this.s.retry, {
        signal: ctx.signal, heartbeat: ctx.heartbeat, random: this.s.random,
        onAttemptFailed: (r, n, delay) => {
          this.metrics.error(r.code);
          this.log.warn({ id: alert.id, state: alert.state, attempt: n, code: r.code, reason: r.reason, retryInMs: delay }, 'alertmanager attempt failed');
        },
      });
      countOutcome(this.metrics, outcome);
      return outcome;
    });
  }

  /** One attempt per chunk, no retries: the next interval is the retry. */
  resend(): Promise<void> {
    // While a delivery retries for long, queue at most one re-send behind it (not one per tick).
    if (this.resendQueued) return this.resendQueued;
    this.resendQueued = this.serial(async () => {
      this.resendQueued = null;
      if (this.active.size === 0 || this.stop.signal.aborted) return;
      const now = Date.now();
      const all = [...this.active.values()].map((a) => toPostableAlert(a, now, this.s));
      for (let i = 0; i < all.length; i += RESEND_CHUNK) {
        const r = await this.post(all.slice(i, i + RESEND_CHUNK), this.stop.signal);
        if (!r.ok) {
          if (!this.stop.signal.aborted) this.metrics.error(r.code);
          this.log.warn({ code: r.code, reason: r.reason, alerts: all.length }, 're-sending open alerts failed (next interval retries)');
          return;
        }
      }
      this.resends++;
    });
    return this.resendQueued;
  }

  async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.stop.abort();
    await this.lock;
  }
}
