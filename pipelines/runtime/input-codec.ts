/**
 * Decodes a stage's input messages into the records its processor sees: one record per message,
 * or the `records` of a batch message (packet topics). Encodes the same way for the test driver,
 * so tests cross the exact wire format production uses.
 */
import { AvroCodec } from '../../schemas';
import type { StageDefinition } from './types';

export class InputCodec<V> {
  private readonly single: AvroCodec<V>;
  private readonly batch: AvroCodec<{ records: V[] }> | null;

  constructor(def: StageDefinition<V>) {
    this.single = new AvroCodec<V>(def.input.schema);
    this.batch = def.input.batchSchema ? new AvroCodec<{ records: V[] }>(def.input.batchSchema) : null;
  }

  /** Throws TaplineError AVRO_DECODE on anything that is not a message of the input schema. */
  decode(buf: Buffer): V[] {
    return this.batch ? this.batch.decode(buf).records : [this.single.decode(buf)];
  }

  encode(records: V[]): Buffer {
    if (this.batch) return this.batch.encode({ records });
    if (records.length !== 1) throw new Error('a single-record input takes one record per message');
    return this.single.encode(records[0]);
  }
}
