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
  private readonly maxVersions: number;
  updates = 0;

  constructor(readonly spec: GlobalTableSpec<V>) {
    this.maxVersions = spec.maxVersions ?? DEFAULT_MAX_VERSIONS;
  }

  /** Applies one record of the table's topic (value null = tombstone at time `fallbackTs`). */
  apply(key: string, value: V | null, fallbackTs: bigint): void {
    this.updates++;
    const prev = this.latest.get(key);
    const ts = value === null ? fallbackTs : this.spec.timestampOf(value);
    if (prev && ts < prev.ts) {
      // An older version arriving late: record it in the history, keep the newer one current.
      if (value !== null) for (const ik of this.spec.indexKeys(value)) this.insert(ik, { ts, key, value });
      return;
    }
    const oldKeys = prev ? new Set(this.spec.indexKeys(prev.value)) : new Set<string>();
    const newKeys = value === null ? new Set<string>() : new Set(this.spec.indexKeys(value));
    for (const ik of newKeys) this.insert(ik, { ts, key, value });
    for (const ik of oldKeys) if (!newKeys.has(ik)) this.insert(ik, { ts, key, value: null }); // released at ts
    if (value === null) this.latest.delete(key);
    else this.latest.set(key, { ts, value });
  }

  private insert(ik: string, v: Version<V>): void {
    let list = this.index.get(ik);
    if (!list) { list = []; this.index.set(ik, list); }
    let i = list.length;
    while (i > 0 && list[i - 1].ts > v.ts) i--;
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
