/**
 * Changelogs of state stores: one compacted topic per (stage group, store), partitioned like the
 * input, so partition p of the changelog holds exactly the state of input partition p's task.
 * Values are serialized with the store's serde: by default V8's structured clone format (BigInt,
 * Map, Set, nested objects), so stages keep plain objects in their stores and need no serde of
 * their own; stages with much state give compact ones (StageDefinition.serdes).
 */
import v8 from 'node:v8';
import type { KafkaClient, OutMessage } from '../../lib/kafka';
import { readPartitionsToEnd } from '../../lib/kafka';
import type { Task } from './task';

/** The task's own metadata (stream time) travels in a changelog of its own. */
export const META_STORE = '__task';
const META_KEY = 'meta';

export function changelogTopic(groupId: string, store: string): string {
  return `${groupId}-${store.replace(/[^a-zA-Z0-9._-]/g, '_')}-changelog`;
}

export function storesWithMeta(stores: string[]): string[] {
  return [...stores, META_STORE];
}

export async function ensureChangelogs(kafka: KafkaClient, groupId: string, stores: string[], partitions: number): Promise<void> {
  await kafka.ensureTopics(storesWithMeta(stores).map((s) => ({ topic: changelogTopic(groupId, s), partitions, compacted: true })));
}

/** The records that make the task's changes since the last commit durable. */
export function changelogBatches<V>(groupId: string, task: Task<V>): { topic: string; messages: OutMessage[] }[] {
  const out: { topic: string; messages: OutMessage[] }[] = [];
  for (const [name, store] of task.stores) {
    const messages: OutMessage[] = store.takeChanges().map(([key, value]) => ({
      key, partition: task.partition, value: value === undefined ? null : store.encode(value),
    }));
    if (messages.length) out.push({ topic: changelogTopic(groupId, name), messages });
  }
  out.push({ topic: changelogTopic(groupId, META_STORE), messages: [{ key: META_KEY, partition: task.partition, value: v8.serialize(task.meta) }] });
  return out;
}

/** Rebuilds a new task's stores and stream time from its changelog partitions; returns records read. */
export async function restoreTask<V>(kafka: KafkaClient, groupId: string, task: Task<V>): Promise<number> {
  let n = 0;
  for (const name of task.stores.keys()) {
    const store = task.stores.get(name)!;
    n += await readPartitionsToEnd(kafka, changelogTopic(groupId, name), [task.partition], (_p, m) => {
      if (m.key === null) return;
      store.restore(m.key.toString(), m.value);
    });
  }
  await readPartitionsToEnd(kafka, changelogTopic(groupId, META_STORE), [task.partition], (_p, m) => {
    if (m.value !== null) task.restoreMeta(v8.deserialize(m.value));
    n++;
  });
  return n;
}
