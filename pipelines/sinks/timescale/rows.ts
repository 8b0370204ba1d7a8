/**
 * FlowWindow records -> flow_windows rows. Timestamps go over the wire as ISO-8601 text with
 * microseconds (PostgreSQL's precision), built from the BigInt nanoseconds without floats.
 */
import type { FlowWindow } from '../../../schemas/types';

export function nsToIso(ns: bigint | number): string {
  // One BigInt division, then exact Number arithmetic (microseconds since 1970 stay below 2^53
  // until the year 2255): this runs for every timestamp column of every row the sink writes.
  const micros = Number(BigInt(ns) / 1000n);
  const ms = Math.floor(micros / 1000);
  const us = micros - ms * 1000;
  return `${new Date(ms).toISOString().slice(0, 23)}${us < 10 ? '00' : us < 100 ? '0' : ''}${us}Z`;
}

export const FLOW_COLUMNS = [
  'window_start', 'window_end', 'observation_point', 'flow_key', 'ip_proto', 'addr_a', 'port_a', 'addr_b', 'port_b',
  'packets_ab', 'bytes_ab', 'packets_ba', 'bytes_ba', 'first_seen', 'last_seen',
  'syn_count', 'synack_count', 'fin_count', 'rst_count', 'zero_window_count', 'malformed_count',
] as const;

export const FLOW_CONFLICT_KEY = ['flow_key', 'observation_point', 'window_start'];

export function flowRow(w: FlowWindow): unknown[] {
  return [
    nsToIso(w.window_start_ns), nsToIso(w.window_end_ns), w.observation_point, w.flow_key, w.ip_proto,
    w.addr_a, w.port_a, w.addr_b, w.port_b,
    String(w.packets_ab), String(w.bytes_ab), String(w.packets_ba), String(w.bytes_ba),
    nsToIso(w.first_seen_ns), nsToIso(w.last_seen_ns),
    String(w.syn_count), String(w.synack_count), String(w.fin_count), String(w.rst_count), String(w.zero_window_count), String(w.malformed_count),
  ];
}

export function flowRowKey(w: FlowWindow): string {
  return `${w.flow_key}|${w.observation_point}|${w.window_start_ns}`;
}

/** One multi-row upsert; a window record is final, so a conflict means a replay: replace. */
export function upsertSql(table: string, columns: readonly string[], conflict: string[], rows: number): string {
  const n = columns.length;
  const values: string[] = [];
  for (let r = 0; r < rows; r++) values.push(`(${columns.map((_, c) => `$${r * n + c + 1}`).join(',')})`);
  const updates = columns.filter((c) => !conflict.includes(c)).map((c) => `${c} = EXCLUDED.${c}`);
  return `INSERT INTO ${table} (${columns.join(',')}) VALUES ${values.join(',')} ON CONFLICT (${conflict.join(',')}) DO UPDATE SET ${updates.join(', ')}`;
}
