/**
 * Alert -> Alertmanager API v2 postableAlert. Labels identify an alert in Alertmanager (its
 * dedup and routing), so only stable subject fields become labels; everything that changes from
 * state to state (value, evidence, times) goes into annotations, which Alertmanager replaces on
 * every post. Label and annotation names must match [a-zA-Z_][a-zA-Z0-9_]* (Alertmanager
 * validates both as label sets), so evidence keys are sanitised.
 */
import type { Alert } from '../../../schemas/alert';
import { isoFromNs } from './payload';

export interface PostableAlert {
  labels: Record<string, string>;
  annotations: Record<string, string>;
  startsAt: string;
  endsAt: string;
  generatorURL?: string;
}

export interface AlertmanagerMapOptions {
  /** endsAt of an open alert = max(now, startsAt) + this: it expires unless re-sent or updated. */
  endsAtGraceMs: number;
  generatorUrl?: string;
  extraLabels?: Record<string, string>;
}

const SUBJECT_LABELS = ['tenant', 'vm_a', 'vm_b', 'host_a', 'host_b', 'addr_a', 'addr_b', 'observation_point'] as const;

export function labelName(key: string): string {
  const s = key.replace(/[^a-zA-Z0-9_]/g, '_');
  return /^[a-zA-Z_]/.test(s) ? s : `_${s}`;
}

export function alertmanagerLabels(a: Alert, extra: Record<string, string> = {}): Record<string, string> {
  const labels: Record<string, string> = { ...extra, alertname: a.type, severity: a.severity, dedup_key: a.dedup_key, detector: a.detector };
  for (const k of SUBJECT_LABELS) { const v = a[k]; if (v) labels[k] = v; }
  return labels;
}

const fmt = (v: number | null): string | null => (v === null ? null : Number.isFinite(v) ? String(v) : null);

export function alertmanagerAnnotations(a: Alert): Record<string, string> {
  const ann: Record<string, string | null> = {
    summary: a.summary,
    description: `${a.summary} [${a.type}, ${a.severity}, ${a.state}; detector ${a.detector}]`,
    tapline_id: a.id,
    tapline_state: a.state,
    metric: a.metric,
    value: fmt(a.value),
    baseline: fmt(a.baseline),
    threshold: fmt(a.threshold),
    first_seen: isoFromNs(a.first_seen_ns),
    last_seen: isoFromNs(a.last_seen_ns),
    updated: isoFromNs(a.updated_ns),
  };
  for (const [k, v] of Object.entries(a.evidence ?? {}).sort(([x], [y]) => (x < y ? -1 : 1))) ann[labelName(`evidence_${k}`)] = v;
  return Object.fromEntries(Object.entries(ann).filter((e): e is [string, string] => e[1] !== null && e[1] !== ''));
}

const nsToMs = (ns: bigint | number): number => Number(BigInt(ns) / 1_000_000n);

export function toPostableAlert(a: Alert, nowMs: number, o: AlertmanagerMapOptions): PostableAlert {
  const startsMs = nsToMs(a.first_seen_ns);
  const endsAt = a.state === 'resolved'
    // When it was declared clear (never before it started: Alertmanager rejects endsAt < startsAt).
    ? isoFromNs(BigInt(a.updated_ns) > BigInt(a.first_seen_ns) ? a.updated_ns : a.first_seen_ns)
    // Open: Alertmanager resolves an alert by itself at endsAt unless it is re-sent; a clock
    // behind the event time must still give an endsAt after startsAt.
    : new Date(Math.max(nowMs, startsMs) + o.endsAtGraceMs).toISOString();
  return {
    labels: alertmanagerLabels(a, o.extraLabels),
    annotations: alertmanagerAnnotations(a),
    startsAt: isoFromNs(a.first_seen_ns),
    endsAt,
    ...(o.generatorUrl ? { generatorURL: o.generatorUrl } : {}),
  };
}

/** The same Alertmanager alert, ended now: sent when a state change altered the label set (e.g. severity). */
export function endedNow(p: PostableAlert, nowMs: number): PostableAlert {
  const ends = Math.max(nowMs, Date.parse(p.startsAt));
  return { ...p, endsAt: new Date(ends).toISOString() };
}
