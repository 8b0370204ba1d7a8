/**
 * Reads some partitions of a topic from their beginning to their current end (read_committed),
 * for restoring state stores from their changelog. kafkajs has no manual partition assignment,
 * so a throwaway consumer group subscribes to the topic, pauses the partitions it does not need,
 * and is deleted afterwards. Empty partitions cost nothing: no consumer is created for them.
 */
import { randomUUID } from 'node:crypto';
import type { KafkaClient, InMessage } from './client';

export async function readPartitionsToEnd(kafka: KafkaClient, topic: string, partitions: number[],
  onMessage: (partition: number, m: InMessage) => void, timeoutMs = 120_000): Promise<number> {
  const ranges = await kafka.offsetRanges(topic);
  const ends = new Map<number, bigint>();
  for (const p of partitions) {
    const r = ranges.get(p);
    if (r && r.high > r.low) ends.set(p, r.high);
  }
  if (ends.size === 0) return 0;
  const groupId = `tapline-restore-${randomUUID()}`;
  const consumer = kafka.consumer(groupId);
  let count = 0;
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`restoring ${topic} ${[...ends.keys()]} did not finish in ${timeoutMs} ms`)), timeoutMs);
      const reached = (p: number, next: bigint) => {
        const end = ends.get(p);
        if (end !== undefined && next >= end) ends.delete(p);
        if (ends.size === 0) { clearTimeout(timer); resolve(); }
      };
      consumer.run([topic], async (b) => {
        if (!partitions.includes(b.partition)) { consumer.pause(topic, [b.partition]); return; }
        for (const m of b.messages) {
          if (!ends.has(b.partition) || m.offset >= (ends.get(b.partition) ?? 0n)) break;
          onMessage(b.partition, m);
          count++;
        }
      }, { fromBeginning: true, onProgress: (_t, p, next) => reached(p, next) }).catch((e: Error) => { clearTimeout(timer); reject(e); });
    });
  } finally {
    await consumer.close().catch(() => undefined);
    await kafka.deleteGroup(groupId);
  }
  return count;
}
