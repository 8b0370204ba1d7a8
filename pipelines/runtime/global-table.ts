/**
 * Versioned global tables: a small, compacted topic (the VM inventory) read in full by every
 * worker, kept with the history of each key and a time-versioned secondary index, so a stage
 * can ask "which record held MAC/IP x at time t". Versions are ordered by the record's own event
 * time (timestampOf), so the answer does not depend on the order updates arrived in, and a key
 * later reused by another record never rewrites what it meant before.
 */
import type { GlobalTableSpec, GlobalTableView } from './types';

interface Version<V> { ts: bigint; key: string; value: V | null }

/** Versions older than the newest `maxVersions` of an index key are forgotten (bounded memory). */
const DEFAULT_MAX_VERSIONS = 64;

export class GlobalTable<V> implements GlobalTableView<V> {
  private readonly latest = new Map<string, { ts: bigint; value: V }>();
  private readonly index = new Map<string, Version<V>[]>();
  /** per key, the time and index keys of each of its versions (a tombstone holds none), oldest first */
  private readonly versions = new Map<string, { ts: bigint; keys: string[] }[]>();
  private readonly maxVersions: number;
  updates = 0;

  constructor(readonly spec: GlobalTableSpec<V>) {
    this.maxVersions = spec.maxVersions ?? DEFAULT_MAX_VERSIONS;
  }

  /** Applies one record of the table's topic (value null = tombstone at time `fallbackTs`). */
  apply(key: string, value: V | null, fallbackTs: bigint): void {
    this.updates++;
    const ts = value === null ? fallbackTs : this.spec.timestampOf(value);
    const newKeys = value === null ? new Set<string>() : new Set(this.spec.indexKeys(value));
    // The key's versions before and after this one by event time: a version arriving late (an
    // older one, after newer ones) holds its index keys only until the next version.
    let vs = this.versions.get(key);
    if (!vs) { vs = []; this.versions.set(key, vs); }
    let i = vs.length;
    while (i > 0 && vs[i - 1].ts > ts) i--;
    const before = i > 0 ? vs[i - 1].keys : [];
    const after = i < vs.length ? vs[i] : null;
    vs.splice(i, 0, { ts, keys: [...newKeys] });
    if (vs.length > this.maxVersions) vs.splice(0, vs.length - this.maxVersions);
    for (const ik of newKeys) this.insert(ik, { ts, key, value });
    for (const ik of before) if (!newKeys.has(ik)) this.insert(ik, { ts, key, value: null }); // released at ts
    if (after) {
      // Late: released at the next version where it does not hold them; the newer one stays current.
      for (const ik of newKeys) if (!after.keys.includes(ik)) this.insert(ik, { ts: after.ts, key, value: null });
      return;
    }
    if (value === null) this.latest.delete(key);
    else this.latest.set(key, { ts, value });
  }

  private insert(ik: string, v: Version<V>): void {
    let list = this.index.get(ik);
    if (!list) { list = []; this.index.set(ik, list); }
    let i = list.length;
    // at equal times a release goes first: it must not hide another key taking the index key then
    while (i > 0 && (list[i - 1].ts > v.ts || (v.value === null && list[i - 1].ts === v.ts && list[i - 1].value !== null))) i--;
    list.splice(i, 0, v);
    if (list.length > this.maxVersions) list.splice(0, list.length - this.maxVersions);
  }

  get(key: string): V | undefined { return this.latest.get(key)?.value; }

  entries(): IterableIterator<[string, V]> {
    const it = this.latest.entries();
    return (function* () { for (const [k, v] of it) yield [k, v.value] as [string, V]; })();
  }

  get size(): number { return this.latest.size; }

  /** The record that held index key `ik` at time `ts`, with its key, or undefined. */
  lookup(ik: string, ts: bigint): { key: string; value: V; since: bigint } | undefined {
    const list = this.index.get(ik);
    if (!list) return undefined;
    let lo = 0, hi = list.length - 1, found = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (list[mid].ts <= ts) { found = mid; lo = mid + 1; } else hi = mid - 1;
    }
    if (found < 0) return undefined;
    const v = list[found];
    return v.value === null ? undefined : { key: v.key, value: v.value, since: v.ts };
  }

  /** Every version of index key `ik`, oldest first (for history views and tests). */
  history(ik: string): { ts: bigint; key: string; value: V | null }[] {
    return [...(this.index.get(ik) ?? [])];
  }
}
