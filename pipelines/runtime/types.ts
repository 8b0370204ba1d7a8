/**
 * The processor API. A stage is a Processor: init(ctx) / process(record) / punctuate(streamTime)
 * / close(). All state lives in named stores obtained from the context, so the runtime can see
 * (and later checkpoint) everything a stage remembers. One processor instance per input
 * partition ("task"), as in Kafka Streams: keys never cross tasks.
 */
import type { ComponentMetrics } from '../../lib/metrics';
import type { Logger } from '../../lib/log';

/** Stream time used to tell a processor that its input has ended: close every window. */
export const END_OF_STREAM = 1n << 62n;

export interface StreamRecord<V> {
  topic: string;
  partition: number;
  offset: bigint;
  key: string | null;
  value: V;
  /** event time of the record (from the stage's timestampOf) */
  timestampNs: bigint;
  /**
   * When the stage's codec decoded only some fields (StageDefinition.input.fields): the message
   * the record came from and its position there, so originalValue() can give the whole record.
   */
  message?: InputMessage;
  index?: number;
}

/** A received input message, decoded in full only if someone asks (see originalValue). */
export interface InputMessage { record(index: number): unknown }

/**
 * The record exactly as it was sent, every field decoded (e.g. to forward a late packet
 * unchanged); null when a field the stage did not read does not decode.
 */
export function originalValue<V>(rec: StreamRecord<V>): unknown {
  return rec.message && rec.index !== undefined ? rec.message.record(rec.index) : rec.value;
}

export interface KeyValueStore<V> {
  readonly name: string;
  get(key: string): V | undefined;
  put(key: string, value: V): void;
  delete(key: string): void;
  entries(): IterableIterator<[string, V]>;
  readonly size: number;
}

/**
 * How a store's values become bytes (changelog records, and the packed form of cold entries).
 * Without one, values travel in V8's structured-clone format. A stage with many long-lived
 * entries (connection state) gives its store a compact serde and lets the store keep the
 * entries it has not touched lately packed: a few hundred bytes instead of a few kB of objects.
 */
export interface StoreSerde<V> {
  encode(value: V): Buffer;
  decode(buf: Buffer): V;
}

/** A compacted topic every task reads in full, with time-versioned lookups (see global-table.ts). */
export interface GlobalTableSpec<V = unknown> {
  name: string;
  topic: string;
  schema: string;
  /** event time from which a version is valid */
  timestampOf(value: V): bigint;
  /** secondary keys to look versions up by (e.g. MACs and IPs of a VM) */
  indexKeys(value: V): string[];
  maxVersions?: number;
}

export interface GlobalTableView<V> {
  get(key: string): V | undefined;
  entries(): IterableIterator<[string, V]>;
  readonly size: number;
  lookup(indexKey: string, ts: bigint): { key: string; value: V; since: bigint } | undefined;
  history(indexKey: string): { ts: bigint; key: string; value: V | null }[];
}

export interface ProcessorContext {
  readonly stage: string;
  readonly partition: number;
  readonly metrics: ComponentMetrics;
  readonly log: Logger;
  store<V>(name: string): KeyValueStore<V>;
  /** A global table declared by the stage (read-only). */
  globalTable<V>(name: string): GlobalTableView<V>;
  /** Emits a record to one of the stage's declared output topics. */
  forward(topic: string, key: string | null, value: unknown): void;
  /** The highest event time this task has seen (ns). */
  streamTimeNs(): bigint;
}

export interface Processor<V> {
  init(ctx: ProcessorContext): void;
  process(record: StreamRecord<V>): void;
  /** Called when stream time advances; END_OF_STREAM at the end of a bounded run. */
  punctuate(streamTimeNs: bigint): void;
  close(): void;
}

/** Everything the runtime needs to run a stage: its topics, schemas, stores and a factory. */
export interface StageDefinition<V> {
  name: string;
  /**
   * schema: the record type the processor sees. batchSchema: when messages carry a batch of
   * them (a record whose only field `records` is an array of `schema`), as the packet topics do.
   */
  input: {
    topic: string; schema: string; batchSchema?: string;
    /**
     * The fields of `schema` the processor reads. When given, the input is decoded with a reader
     * schema holding only these (Avro schema resolution: the writer's other fields are skipped on
     * the wire, never turned into objects, strings or BigInts); originalValue() still gives the
     * whole record. Type the processor's input as Pick<Record, these fields> so the compiler
     * refuses a read of any other.
     */
    fields?: readonly string[];
  };
  /** output topic -> schema name */
  outputs: Record<string, string>;
  stores: string[];
  /** store name -> its serde (default: V8 structured clone) */
  serdes?: Record<string, StoreSerde<any>>; // eslint-disable-line @typescript-eslint/no-explicit-any
  /**
   * Stores with a serde keep at most this many entries as objects: on punctuate, when more are,
   * all are packed (serialized) and the ones the next records touch come back as objects.
   */
  hotEntries?: number;
  globals?: GlobalTableSpec<never>[];
  /** Punctuate whenever stream time crosses a multiple of this (ns); default 1 s. */
  punctuateEveryNs?: bigint;
  timestampOf(value: V): bigint;
  create(): Processor<V>;
}
