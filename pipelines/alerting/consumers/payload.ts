/**
 * The JSON document tapline sends about one alert state (webhook body, stdout line): every
 * field of the Avro record, nanosecond times as decimal strings (they exceed 2^53) plus
 * RFC 3339 renderings, and a delivery_key (id/state/updated_ns) receivers dedupe on, since
 * delivery is at-least-once. Deterministic: the same record always gives the same bytes.
 * Documented in docs/alerts.md; a breaking change means a new `version`.
 */
import type { Alert } from '../../../schemas/alert';

export const PAYLOAD_VERSION = 'tapline.alert.v1';

export interface AlertPayload {
  version: typeof PAYLOAD_VERSION;
  delivery_key: string;
  id: string;
  dedup_key: string;
  state: Alert['state'];
  type: Alert['type'];
  severity: Alert['severity'];
  detector: string;
  summary: string;
  first_seen: string;
  last_seen: string;
  updated: string;
  first_seen_ns: string;
  last_seen_ns: string;
  updated_ns: string;
  tenant: string | null;
  vm_a: string | null;
  vm_b: string | null;
  addr_a: string | null;
  addr_b: string | null;
  host_a: string | null;
  host_b: string | null;
  observation_point: string | null;
  metric: string | null;
  value: number | null;
  baseline: number | null;
  threshold: number | null;
  evidence: Record<string, string>;
}

const NS = 1_000_000_000n;

/** RFC 3339 UTC with all nine fractional digits, e.g. 2023-11-14T22:13:20.000000001Z. */
export function isoFromNs(ns: bigint | number): string {
  const v = BigInt(ns);
  let sec = v / NS;
  let frac = v % NS;
  if (frac < 0n) { frac += NS; sec -= 1n; } // floor division for times before 1970
  const whole = new Date(Number(sec) * 1000).toISOString().slice(0, 19);
  return `${whole}.${frac.toString().padStart(9, '0')}Z`;
}

/** Non-finite doubles (NaN, ±Infinity) are legal in Avro but not in JSON: sent as null. */
const num = (v: number | null): number | null => (v === null || !Number.isFinite(v) ? null : v);

export function deliveryKey(a: Pick<Alert, 'id' | 'state' | 'updated_ns'>): string {
  return `${a.id}/${a.state}/${BigInt(a.updated_ns)}`;
}

export function toPayload(a: Alert): AlertPayload {
  return {
    version: PAYLOAD_VERSION,
    delivery_key: deliveryKey(a),
    id: a.id,
    dedup_key: a.dedup_key,
    state: a.state,
    type: a.type,
    severity: a.severity,
    detector: a.detector,
    summary: a.summary,
    first_seen: isoFromNs(a.first_seen_ns),
    last_seen: isoFromNs(a.last_seen_ns),
    updated: isoFromNs(a.updated_ns),
    first_seen_ns: BigInt(a.first_seen_ns).toString(),
    last_seen_ns: BigInt(a.last_seen_ns).toString(),
    updated_ns: BigInt(a.updated_ns).toString(),
    tenant: a.tenant,
    vm_a: a.vm_a,
    vm_b: a.vm_b,
    addr_a: a.addr_a,
    addr_b: a.addr_b,
    host_a: a.host_a,
    host_b: a.host_b,
    observation_point: a.observation_point,
    metric: a.metric,
    value: num(a.value),
    baseline: num(a.baseline),
    threshold: num(a.threshold),
    // Sorted keys: the body (and so its signature) does not depend on map order in the record.
    evidence: Object.fromEntries(Object.entries(a.evidence ?? {}).sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0))),
  };
}
