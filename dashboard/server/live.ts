/**
 * Live updates for every connected browser from ONE poller. Why poll the database rather than
 * consume the Kafka topics: the embedded TimescaleDB has no LISTEN/NOTIFY, and what a browser
 * should refresh on is data it can query (a record on Kafka is not yet in the tables); a poll
 * every pollMs costs two index-backed statements whatever the number of clients, and works the
 * same against a TimescaleDB server. Nothing runs while no client is connected.
 *
 * Events (SSE `event:` names): `window` {latest} when the newest flow window moves;
 * `alert` {id, state, severity, acked_at, resolved_by, ...} when an alert is new or changed
 * (compared with the previous poll by its state fields, since alert times are event times that
 * a replay may place in the past); `ack` from this server's own ack/resolve, immediately.
 */
import { logger } from '../../lib/log';
import type { Db } from './db';

const log = logger('dashboard-live');

export interface LiveEvent { event: 'window' | 'alert' | 'hello'; data: unknown }
type Listener = (e: LiveEvent) => void;

interface AlertSig { id: string; sig: string; row: Record<string, unknown> }

export class LiveFeed {
  private readonly listeners = new Set<Listener>();
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private latestWindow: string | null = null;
  private alerts: Map<string, string> | null = null;
  private primed = false;

  constructor(private readonly db: Db, private readonly pollMs: number) {}

  subscribe(l: Listener): () => void {
    this.listeners.add(l);
    if (!this.timer) this.timer = setInterval(() => void this.poll(), this.pollMs);
    return () => {
      this.listeners.delete(l);
      if (this.listeners.size === 0 && this.timer) { clearInterval(this.timer); this.timer = null; }
    };
  }

  get clients(): number { return this.listeners.size; }

  /**
   * Takes the high-water marks (newest window, alert states) if no poll has yet: a client that
   * got its `hello` is then told about every change after it, even one made before the first
   * timed poll.
   */
  async prime(): Promise<void> {
    if (this.primed) return;
    await this.poll();
    this.primed = true;
  }

  publish(e: LiveEvent): void {
    for (const l of this.listeners) {
      try { l(e); } catch (err) { log.warn({ err }, 'live listener failed'); }
    }
  }

  /** One poll. A poll already running is joined, not repeated (a slow DB must not pile them up). */
  poll(): Promise<void> {
    this.running ??= this.pollOnce().finally(() => { this.running = null; });
    return this.running;
  }

  private async pollOnce(): Promise<void> {
    try {
      if (await this.db.has('flow_windows')) {
        const w = await this.db.one<{ latest: Date | null }>('SELECT max(window_start) AS latest FROM flow_windows');
        const latest = w?.latest ? w.latest.toISOString() : null;
        if (latest !== null && latest !== this.latestWindow) {
          const first = this.latestWindow === null;
          this.latestWindow = latest;
          if (!first) this.publish({ event: 'window', data: { latest } });
        }
      }
      if (await this.db.has('alerts')) {
        const rows = await this.db.rows<Record<string, unknown>>(
          `SELECT id, type, severity, state, summary, vm_a, vm_b, updated, acked_at, acked_by, resolved_by
             FROM alerts ORDER BY updated DESC LIMIT $1`, [500]);
        const next = new Map<string, string>();
        const changed: AlertSig[] = [];
        for (const r of rows) {
          const sig = JSON.stringify([r.state, r.severity, r.updated, r.acked_at, r.resolved_by]);
          next.set(String(r.id), sig);
          if (this.alerts && this.alerts.get(String(r.id)) !== sig) changed.push({ id: String(r.id), sig, row: r });
        }
        this.alerts = next;
        for (const c of changed) this.publish({ event: 'alert', data: c.row });
      }
    } catch (err) {
      log.warn({ err }, 'live poll failed');
    }
  }

  close(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.listeners.clear();
  }
}
