/**
 * In-memory key-value store, made durable by the runner:
 * - exactly-once: every key changed since the last commit is written to the store's compacted
 *   changelog topic in the same Kafka transaction as the outputs and input offsets, and the
 *   store is rebuilt from that changelog when its partition is (re)assigned;
 * - at-least-once: it remembers, per live key, the input offset that created it, so the runner
 *   never commits past input that still lives only in memory (a restart re-reads it).
 * Processors must put() a value again after mutating it, or the change is not recorded.
 *
 * With a serde and a hot-entry limit, entries nobody touched since the last pack() are kept
 * serialized, as one-byte strings (a string costs a 12-16 B header; a Buffer is an object graph
 * of ~100 B before its bytes). get() brings an entry back as an object; entries() decodes
 * packed ones on the fly.
 */
import v8 from 'node:v8';
import type { KeyValueStore, StoreSerde } from './types';

const structuredClone: StoreSerde<unknown> = { encode: (v) => v8.serialize(v), decode: (b) => v8.deserialize(b) };

export interface StoreOptions<V> { serde?: StoreSerde<V>; hotEntries?: number }

export class InMemoryStore<V> implements KeyValueStore<V> {
  private readonly map = new Map<string, V>();
  /** packed entries: encode(value) as latin1 */
  private readonly cold = new Map<string, string>();
  private readonly firstOffset = new Map<string, bigint>();
  /** keys changed since the last takeChanges(); undefined = deleted */
  private readonly dirty = new Map<string, V | undefined>();
  private readonly serde: StoreSerde<V>;
  private readonly hotEntries: number;
  /** set by the task before each process() call */
  currentOffset = -1n;

  constructor(readonly name: string, opts: StoreOptions<V> = {}) {
    this.serde = opts.serde ?? (structuredClone as StoreSerde<V>);
    this.hotEntries = opts.serde ? opts.hotEntries ?? Infinity : Infinity;
  }

  get(key: string): V | undefined {
    const v = this.map.get(key);
    if (v !== undefined || this.cold.size === 0) return v;
    const packed = this.cold.get(key);
    if (packed === undefined) return undefined;
    const value = this.serde.decode(Buffer.from(packed, 'latin1'));
    this.cold.delete(key);
    this.map.set(key, value);
    return value;
  }

  put(key: string, value: V): void {
    // The common case is a processor putting back the object it got and mutated: one lookup.
    const current = this.map.get(key);
    if (current === undefined) {
      if (this.currentOffset >= 0n && !this.cold.has(key)) this.firstOffset.set(key, this.currentOffset);
      this.map.set(key, value);
      if (this.cold.size > 0) this.cold.delete(key);
    } else if (current !== value) {
      this.map.set(key, value);
    }
    this.dirty.set(key, value);
  }

  delete(key: string): void {
    this.map.delete(key);
    this.cold.delete(key);
    this.firstOffset.delete(key);
    this.dirty.set(key, undefined);
  }

  /** Packs every object entry when there are more than the hot-entry limit (called on punctuate). */
  pack(): number {
    if (this.map.size <= this.hotEntries) return 0;
    const n = this.map.size;
    for (const [k, v] of this.map) this.cold.set(k, this.serde.encode(v).toString('latin1'));
    this.map.clear();
    return n;
  }

  encode(value: V): Buffer { return this.serde.encode(value); }

  /** The changes since the last call (for the changelog), and forgets them. */
  takeChanges(): [string, V | undefined][] {
    const out = [...this.dirty];
    this.dirty.clear();
    return out;
  }

  /** Applies one changelog record while restoring (not itself a change); packed stores stay packed. */
  restore(key: string, value: Buffer | null): void {
    if (value === null) { this.map.delete(key); this.cold.delete(key); return; }
    if (this.hotEntries !== Infinity) { this.map.delete(key); this.cold.set(key, value.toString('latin1')); }
    else this.map.set(key, this.serde.decode(value));
  }

  *entries(): IterableIterator<[string, V]> {
    yield* this.map.entries();
    for (const [k, packed] of this.cold) yield [k, this.serde.decode(Buffer.from(packed, 'latin1'))];
  }

  get size(): number { return this.map.size + this.cold.size; }

  /** Entries held as objects / packed (for measurements). */
  get counts(): { hot: number; packed: number } { return { hot: this.map.size, packed: this.cold.size }; }

  /** Lowest input offset still needed to rebuild this store, or null when it holds nothing. */
  lowestLiveOffset(): bigint | null {
    let low: bigint | null = null;
    for (const o of this.firstOffset.values()) if (low === null || o < low) low = o;
    return low;
  }
}
