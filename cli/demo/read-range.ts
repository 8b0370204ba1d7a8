/** The records one replay wrote to a topic (its offset range), decoded. */
import { readPartitionsToEnd, type KafkaClient } from '../../lib/kafka';
import type { OffsetRange } from '../../pipelines/runtime/bounded';
import { AvroCodec } from '../../schemas';

export async function readRange<T>(kafka: KafkaClient, topic: string, range: OffsetRange | undefined, schema: string): Promise<T[]> {
  if (!range) return [];
  const parts = [...range.to].filter(([p, to]) => to > (range.from.get(p) ?? 0n)).map(([p]) => p);
  if (parts.length === 0) return [];
  const codec = new AvroCodec<T>(schema);
  const out: T[] = [];
  await readPartitionsToEnd(kafka, topic, parts, (p, m) => {
    if (m.value && m.offset >= (range.from.get(p) ?? 0n) && m.offset < (range.to.get(p) ?? 0n)) out.push(codec.decode(m.value));
  }, 120_000);
  return out;
}
