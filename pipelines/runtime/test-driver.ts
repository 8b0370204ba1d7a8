/**
 * In-memory driver (like Kafka Streams' TopologyTestDriver): runs a stage with no broker,
 * with stream time controlled by the records the test pipes in, stores open for inspection,
 * and outputs decoded through the real Avro codecs. Window tests never sleep.
 */
import { AvroCodec } from '../../schemas';
import { ComponentMetrics } from '../../lib/metrics';
import { logger } from '../../lib/log';
import { Task } from './task';
import { InputCodec } from './input-codec';
import { GlobalTable } from './global-table';
import { END_OF_STREAM, originalValue, type StageDefinition } from './types';

export interface DriverOutput<T> { key: string | null; value: T }

export class TopologyTestDriver<V> {
  readonly metrics: ComponentMetrics;
  private readonly tasks = new Map<number, Task<V>>();
  private readonly outputs = new Map<string, { key: string | null; value: Buffer }[]>();
  private readonly offsets = new Map<number, bigint>();
  private readonly inputCodec: InputCodec<V>;
  private readonly globals = new Map<string, GlobalTable<unknown>>();

  constructor(readonly def: StageDefinition<V>, private readonly partitions = 1) {
    this.metrics = new ComponentMetrics(`${def.name}-test`);
    this.inputCodec = new InputCodec<V>(def);
    for (const g of def.globals ?? []) this.globals.set(g.name, new GlobalTable<unknown>(g as never));
  }

  private task(partition: number): Task<V> {
    let t = this.tasks.get(partition);
    if (!t) {
      t = new Task(this.def, partition, this.metrics, logger(`${this.def.name}-test`), this.globals);
      this.tasks.set(partition, t);
    }
    return t;
  }

  private partitionOf(key: string | null): number {
    if (key === null || this.partitions === 1) return 0;
    let h = 0;
    for (let i = 0; i < key.length; i++) h = (h * 31 + key.charCodeAt(i)) | 0;
    return Math.abs(h) % this.partitions;
  }

  /** Pipes one record through an Avro round trip (as it would cross Kafka) into its task. */
  pipeInput(key: string | null, value: V, partition = this.partitionOf(key)): void {
    this.pipeMessage(key, [value], partition);
  }

  /** One input message holding several records (batched inputs). */
  pipeMessage(key: string | null, values: V[], partition = this.partitionOf(key)): void {
    this.pipeRaw(key, this.inputCodec.encode(values), partition);
  }

  /** The bytes of one input message holding `values`, as a producer would send them. */
  encodeInput(values: V[]): Buffer { return this.inputCodec.encode(values); }

  /** One input message as its bytes (encoded ahead of time); bytes that do not decode throw AVRO_DECODE. */
  pipeRaw(key: string | null, buf: Buffer, partition = this.partitionOf(key)): void {
    const decoded = this.inputCodec.decode(buf);
    const message = this.inputCodec.message(buf) ?? undefined;
    const offset = this.offsets.get(partition) ?? 0n;
    this.offsets.set(partition, offset + 1n);
    const task = this.task(partition);
    for (let index = 0; index < decoded.length; index++) {
      const v = decoded[index];
      const rec = { topic: this.def.input.topic, partition, offset, key, value: v, timestampNs: -1n, message, index };
      try { rec.timestampNs = this.def.timestampOf(v); } catch (e) { task.reject(rec, e); continue; }
      task.process(rec);
    }
    this.collect(task);
  }

  /** Records the processor threw on (the runner dead-letters them, PROCESSING_FAILED), and removes them. */
  readRejected(): { offset: bigint; index: number; reason: string; original: unknown }[] {
    const out = [];
    for (const t of this.tasks.values()) {
      for (const r of t.takeRejected()) {
        out.push({ offset: r.record.offset, index: r.record.index ?? 0, reason: r.error instanceof Error ? r.error.message : String(r.error), original: originalValue(r.record) });
      }
    }
    return out;
  }

  /** An update of a global table (value null = tombstone at tsNs), through its Avro codec. */
  pipeGlobal(name: string, key: string, value: unknown | null, tsNs = 0n): void {
    const table = this.globals.get(name);
    if (!table) throw new Error(`stage ${this.def.name} has no global table ${name}`);
    const spec = this.def.globals!.find((g) => g.name === name)!;
    const codec = new AvroCodec<unknown>(spec.schema);
    table.apply(key, value === null ? null : codec.decode(codec.encode(value)), tsNs);
  }

  globalTable<G>(name: string): GlobalTable<G> {
    const t = this.globals.get(name);
    if (!t) throw new Error(`no global table ${name}`);
    return t as unknown as GlobalTable<G>;
  }

  /** Ends the input: every task is punctuated with END_OF_STREAM. */
  endOfStream(): void {
    for (const t of this.tasks.values()) { t.punctuate(END_OF_STREAM); this.collect(t); }
  }

  private collect(task: Task<V>): void {
    for (const e of task.drain()) {
      const list = this.outputs.get(e.topic) ?? [];
      list.push({ key: e.key, value: e.value });
      this.outputs.set(e.topic, list);
    }
  }

  /** Decoded records emitted to `topic` so far (and removes them). */
  readOutput<T>(topic: string): DriverOutput<T>[] {
    const schema = this.def.outputs[topic];
    if (!schema) throw new Error(`stage ${this.def.name} has no output topic ${topic}`);
    const codec = new AvroCodec<T>(schema);
    const list = this.outputs.get(topic) ?? [];
    this.outputs.set(topic, []);
    return list.map((m) => ({ key: m.key, value: codec.decode(m.value) }));
  }

  store<S>(name: string, partition = 0): Map<string, S> {
    const s = this.task(partition).stores.get(name);
    if (!s) throw new Error(`no store ${name}`);
    return new Map(s.entries() as IterableIterator<[string, S]>);
  }

  /** Bytes each entry of a store takes in its changelog (the store's own serde). */
  storeBytes(name: string, partition = 0): number[] {
    const s = this.task(partition).stores.get(name);
    if (!s) throw new Error(`no store ${name}`);
    return [...s.entries()].map(([k, v]) => Buffer.byteLength(k) + s.encode(v).length);
  }

  close(): void { for (const t of this.tasks.values()) t.close(); }
}
