/**
 * Decodes a stage's input messages into the records its processor sees: one record per message,
 * or the `records` of a batch message (packet topics). Encodes the same way for the test driver,
 * so tests cross the exact wire format production uses. A stage that declares the fields it
 * reads (StageDefinition.input.fields) gets records holding only those: the rest are skipped
 * on the wire, and decoded only if someone asks for the original (InputMessage).
 */
import { AvroCodec, projection, type Projection } from '../../schemas';
import type { InputMessage, StageDefinition } from './types';

export class InputCodec<V> {
  private readonly single: AvroCodec<V>;
  private readonly batch: AvroCodec<{ records: V[] }> | null;
  private readonly projected: Projection | null;

  constructor(def: StageDefinition<V>) {
    this.single = new AvroCodec<V>(def.input.schema);
    this.batch = def.input.batchSchema ? new AvroCodec<{ records: V[] }>(def.input.batchSchema) : null;
    const fields = def.input.fields;
    this.projected = fields ? projection(def.input.batchSchema ?? def.input.schema, def.input.schema, fields) : null;
  }

  /** Throws TaplineError AVRO_DECODE on anything that is not a message of the input schema. */
  decode(buf: Buffer): V[] {
    if (this.projected) {
      return this.batch ? this.batch.decodeProjected<{ records: V[] }>(buf, this.projected).records : [this.single.decodeProjected<V>(buf, this.projected)];
    }
    return this.decodeOriginal(buf);
  }

  /** Every field of every record, as sent. */
  decodeOriginal(buf: Buffer): V[] {
    return this.batch ? this.batch.decode(buf).records : [this.single.decode(buf)];
  }

  /** The message a projected record came from (null when records are decoded whole). */
  message(buf: Buffer): InputMessage | null {
    return this.projected ? new LazyMessage(this, buf) : null;
  }

  encode(records: V[]): Buffer {
    if (this.batch) return this.batch.encode({ records });
    if (records.length !== 1) throw new Error('a single-record input takes one record per message');
    return this.single.encode(records[0]);
  }
}

class LazyMessage<V> implements InputMessage {
  private full: V[] | null = null;
  constructor(private readonly codec: InputCodec<V>, private readonly buf: Buffer) {}
  record(index: number): unknown {
    // A field the projection skipped can still be invalid (an enum index out of range, a
    // malformed varint): skipping does not check it, reading does. Such a record has no
    // original to give: null, for the caller to count, never an exception in a processor.
    if (this.full === null) {
      try { this.full = this.codec.decodeOriginal(this.buf); } catch { this.full = []; }
    }
    return this.full[index] ?? null;
  }
}
