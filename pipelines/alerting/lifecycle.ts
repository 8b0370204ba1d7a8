/**
 * The alert lifecycle every detector shares: a detector says, per evaluation window (event
 * time = the window's end, never the wall clock), which subjects breach their condition; this
 * module turns that into Alert records on tapline.alerts.v1, keyed by dedup_key:
 *
 *   - open: after `openAfterWindows` consecutive breaching windows (1 = at the first);
 *   - updated: while the breach lasts, at most once per window and only when the severity
 *     changes, the value moves by `materialChange` (relative) since the last emitted state, or
 *     `updateEveryWindows` breaching windows passed without an emission (a heartbeat);
 *   - resolved: after `resolveAfterClearWindows` consecutive clear windows. A breach in between
 *     resets the count: a flapping metric keeps ONE alert open instead of opening a new one
 *     each time (hysteresis in time; detectors add hysteresis in value with `isOpen`).
 *
 * State: one slot per open (or pending) alert in the stage's `alerts` store, deleted on
 * resolution, so the store holds only live alerts. id = dedup_key@first_seen_ns.
 */
import { z } from 'zod';
import type { Alert, AlertSeverity, AlertType } from '../../schemas/alert';
import type { KeyValueStore } from '../runtime/types';

export const ALERTS_STORE = 'alerts';

export const LifecycleConfigSchema = z.object({
  openAfterWindows: z.number().int().min(1).max(100).default(1)
    .describe('consecutive breaching windows before an alert opens (1 = at the first)'),
  resolveAfterClearWindows: z.number().int().min(1).max(1000).default(3)
    .describe('consecutive clear windows before an open alert resolves (hysteresis: a flapping metric does not reopen)'),
  updateEveryWindows: z.number().int().min(1).max(100_000).default(30)
    .describe('an open alert whose breach lasts is re-emitted (state updated) at least this often, in windows'),
  materialChange: z.number().min(0).max(100).default(0.25)
    .describe('relative change of the value since the last emitted state that is worth an update (0.25 = 25 %)'),
}).strict();
export type LifecycleConfig = z.infer<typeof LifecycleConfigSchema>;

/** What a detector reports for one subject breaching in one window. */
export interface Breach {
  type: AlertType;
  /** the subject part of the dedup key, e.g. 'tenant-a|vm-3' */
  subject: string;
  severity: AlertSeverity;
  summary: string;
  tenant?: string | null; vm_a?: string | null; vm_b?: string | null; addr_a?: string | null; addr_b?: string | null;
  host_a?: string | null; host_b?: string | null; observation_point?: string | null;
  metric: string;
  value: number;
  baseline?: number | null;
  threshold?: number | null;
  evidence?: Record<string, string>;
}

interface Slot {
  /** the alert as last built (emitted or, while pending, not yet) */
  alert: Alert;
  opened: boolean;
  /** consecutive breaching windows (pending) */
  breaches: number;
  /** consecutive clear windows */
  clear: number;
  /** breaching windows since the last emission */
  sinceEmit: number;
  /** value and severity of the last emitted state */
  emittedValue: number;
  emittedSeverity: AlertSeverity;
  /** window end of the last report (breach) */
  lastReport: bigint;
}

export const dedupKeyOf = (type: AlertType, subject: string): string => `${type}|${subject}`;

export class AlertLifecycle {
  constructor(
    private readonly detector: string,
    private readonly store: KeyValueStore<Slot>,
    private readonly cfg: LifecycleConfig,
    private readonly emit: (alert: Alert) => void,
  ) {}

  isOpen(type: AlertType, subject: string): boolean { return this.store.get(dedupKeyOf(type, subject))?.opened ?? false; }

  get openCount(): number { let n = 0; for (const [, s] of this.store.entries()) if (s.opened) n++; return n; }

  /** The subject breaches in the window ending at `atNs`. At most one report per key and window counts. */
  breach(atNs: bigint, b: Breach): void {
    const key = dedupKeyOf(b.type, b.subject);
    const prev = this.store.get(key);
    if (prev && prev.lastReport >= atNs) return;
    const first = prev ? BigInt(prev.alert.first_seen_ns) : atNs;
    const alert: Alert = {
      id: `${key}@${first}`, dedup_key: key, type: b.type, detector: this.detector, severity: b.severity, state: 'open',
      first_seen_ns: first, last_seen_ns: atNs, updated_ns: atNs, summary: b.summary,
      tenant: b.tenant ?? null, vm_a: b.vm_a ?? null, vm_b: b.vm_b ?? null, addr_a: b.addr_a ?? null, addr_b: b.addr_b ?? null,
      host_a: b.host_a ?? null, host_b: b.host_b ?? null, observation_point: b.observation_point ?? null,
      metric: b.metric, value: finite(b.value), baseline: b.baseline === undefined || b.baseline === null ? null : finite(b.baseline),
      threshold: b.threshold === undefined || b.threshold === null ? null : finite(b.threshold), evidence: b.evidence ?? {},
    };
    if (!prev || !prev.opened) {
      const breaches = (prev?.breaches ?? 0) + 1;
      const slot: Slot = { alert, opened: false, breaches, clear: 0, sinceEmit: 0, emittedValue: alert.value ?? 0, emittedSeverity: b.severity, lastReport: atNs };
      if (breaches >= this.cfg.openAfterWindows) {
        slot.opened = true;
        this.emit(alert);
      }
      this.store.put(key, slot);
      return;
    }
    const sinceEmit = prev.sinceEmit + 1;
    const v = alert.value ?? 0;
    const rel = Math.abs(v - prev.emittedValue) / Math.max(Math.abs(prev.emittedValue), 1e-12);
    const worth = b.severity !== prev.emittedSeverity || rel >= this.cfg.materialChange || sinceEmit >= this.cfg.updateEveryWindows;
    const updated: Alert = { ...alert, state: 'updated' };
    if (worth) {
      this.emit(updated);
      this.store.put(key, { ...prev, alert: updated, clear: 0, sinceEmit: 0, emittedValue: v, emittedSeverity: b.severity, lastReport: atNs });
    } else {
      this.store.put(key, { ...prev, alert: updated, clear: 0, sinceEmit, lastReport: atNs });
    }
  }

  /**
   * The window ending at `atNs` is evaluated: every live alert (of the keys `inScope` accepts)
   * that was not reported in it counts a clear window; pending ones are forgotten, open ones
   * resolve after `resolveAfterClearWindows`.
   */
  endWindow(atNs: bigint, inScope: (dedupKey: string) => boolean = () => true): void {
    for (const [key, s] of [...this.store.entries()]) {
      if (s.lastReport >= atNs || !inScope(key)) continue;
      if (!s.opened) { this.store.delete(key); continue; }
      const clear = s.clear + 1;
      if (clear < this.cfg.resolveAfterClearWindows) { this.store.put(key, { ...s, clear }); continue; }
      this.emit({ ...s.alert, state: 'resolved', updated_ns: atNs, evidence: { ...s.alert.evidence, clear_windows: String(clear) } });
      this.store.delete(key);
    }
  }

  /**
   * The subjects in scope will never be evaluated again (e.g. a capture closed on purpose):
   * their open alerts not reported at `atNs` resolve now, pending ones are forgotten.
   */
  resolveNow(atNs: bigint, inScope: (dedupKey: string) => boolean): void {
    for (const [key, s] of [...this.store.entries()]) {
      if (s.lastReport >= atNs || !inScope(key)) continue;
      if (s.opened) this.emit({ ...s.alert, state: 'resolved', updated_ns: atNs, evidence: { ...s.alert.evidence, resolved_because: 'subject-ended' } });
      this.store.delete(key);
    }
  }
}

/** Avro doubles take NaN/Infinity, but consumers (JSON, SQL) choke on them: cap to finite. */
function finite(x: number): number {
  if (Number.isNaN(x)) return 0;
  if (x === Infinity) return Number.MAX_VALUE;
  if (x === -Infinity) return -Number.MAX_VALUE;
  return x;
}
