/** What the routes share: their context, the data's time bounds, health thresholds and pair keys. */
import type { Db } from '../db';
import type { LiveFeed } from '../live';

export interface RouteContext { db: Db; live: LiveFeed }

/**
 * Colour thresholds of the health of a pair (topology edges, performance cards and table).
 * They match the defaults of the alert detectors (rtt_threshold, loss_threshold,
 * utilization_threshold) so that a red edge and an alert mean the same thing.
 */
export const THRESHOLDS = {
  rttMs: { warning: 10, critical: 50 },
  lossPct: { warning: 1, critical: 5 },
  utilizationPct: { warning: 70, critical: 90 },
} as const;

export type Health = 'ok' | 'warning' | 'critical' | 'unknown';

export function level(value: number | null, t: { warning: number; critical: number }): Health {
  if (value === null || !Number.isFinite(value)) return 'unknown';
  return value >= t.critical ? 'critical' : value >= t.warning ? 'warning' : 'ok';
}

const RANK: Record<Health, number> = { unknown: 0, ok: 1, warning: 2, critical: 3 };
export function worst(...hs: Health[]): Health {
  return hs.reduce((a, b) => (RANK[b] > RANK[a] ? b : a), 'unknown' as Health);
}

let boundsCache: { at: number; value: DataBounds } | null = null;
export interface DataBounds { start: number | null; end: number | null }

/** First and last window in the data (ms), cached 2 s: the default range ends at the data's end. */
export async function dataBounds(db: Db): Promise<DataBounds> {
  if (boundsCache && Date.now() - boundsCache.at < 2000) return boundsCache.value;
  let value: DataBounds = { start: null, end: null };
  if (await db.has('flow_windows')) {
    const r = await db.one<{ s: Date | null; e: Date | null }>(
      'SELECT min(window_start) AS s, max(window_end) AS e FROM flow_windows');
    value = { start: r?.s ? r.s.getTime() : null, end: r?.e ? r.e.getTime() : null };
  }
  boundsCache = { at: Date.now(), value };
  return value;
}

export const iso = (ms: number): string => new Date(ms).toISOString();
export const num = (v: unknown): number | null => (v === null || v === undefined ? null : Number(v));
export const nsToMs = (v: unknown): number | null => (v === null || v === undefined ? null : Number(v) / 1e6);

/** SQL expressions for the unordered pair of a row: external peers collapse into one node. */
export function pairSql(a: string, b: string): { x: string; y: string } {
  const ca = `coalesce(${a}, 'external')`;
  const cb = `coalesce(${b}, 'external')`;
  return { x: `LEAST(${ca}, ${cb})`, y: `GREATEST(${ca}, ${cb})` };
}

export const pairKey = (x: string, y: string): string => `${x}|${y}`;
