/**
 * Fused stages: several processors on the same input in ONE task, as Kafka Streams runs the
 * processors of one sub-topology. Each record is decoded once and handed to every processor in
 * turn, so stages that read the same topic (aggregate and metrics both read the packets) pay the
 * Avro decode, the poll and the transaction once instead of once each. Stores, outputs and global
 * tables are the union of the parts'; they must not collide. The fused stage is named
 * `a+b` on the command line and `a.b` where names become Kafka identifiers (group, changelogs).
 */
import { TaplineError } from '../../lib/errors';
import type { GlobalTableSpec, Processor, ProcessorContext, StageDefinition, StreamRecord } from './types';

export const FUSE_SEPARATOR = '+';

class FusedProcessor<V> implements Processor<V> {
  constructor(private readonly parts: Processor<V>[]) {}
  init(ctx: ProcessorContext): void { for (const p of this.parts) p.init(ctx); }
  process(record: StreamRecord<V>): void { for (const p of this.parts) p.process(record); }
  punctuate(streamTimeNs: bigint): void { for (const p of this.parts) p.punctuate(streamTimeNs); }
  close(): void { for (const p of this.parts) p.close(); }
}

export function fuseStages<V>(defs: StageDefinition<V>[]): StageDefinition<V> {
  if (defs.length < 2) throw new TaplineError('CONFIG_INVALID', 'fuse', 'fusing needs at least two stages');
  const [first] = defs;
  const name = defs.map((d) => d.name).join('.');
  const outputs: Record<string, string> = {};
  const stores: string[] = [];
  const globals = new Map<string, GlobalTableSpec<never>>();
  for (const d of defs) {
    if (d.input.topic !== first.input.topic || d.input.schema !== first.input.schema || d.input.batchSchema !== first.input.batchSchema) {
      throw new TaplineError('CONFIG_INVALID', name, `stages ${first.name} and ${d.name} read different inputs (${first.input.topic} vs ${d.input.topic}): only stages on the same topic and schema fuse`);
    }
    for (const [topic, schema] of Object.entries(d.outputs)) {
      if (outputs[topic] !== undefined && outputs[topic] !== schema) throw new TaplineError('CONFIG_INVALID', name, `output topic ${topic} has two schemas (${outputs[topic]}, ${schema})`);
      outputs[topic] = schema;
    }
    for (const s of d.stores) {
      if (stores.includes(s)) throw new TaplineError('CONFIG_INVALID', name, `store ${s} is declared by two fused stages`);
      stores.push(s);
    }
    for (const g of d.globals ?? []) globals.set(g.name, g); // the same table may serve several parts
  }
  const serdes = Object.assign({}, ...defs.map((d) => d.serdes ?? {})) as StageDefinition<V>['serdes'];
  const hot = defs.map((d) => d.hotEntries).filter((h): h is number => h !== undefined);
  const every = defs.map((d) => d.punctuateEveryNs ?? 1_000_000_000n).reduce((a, b) => (b < a ? b : a));
  // decode the fields any part reads; all of them when some part did not say which it reads
  const fields = defs.every((d) => d.input.fields) ? [...new Set(defs.flatMap((d) => d.input.fields!))] : undefined;
  const input: StageDefinition<V>['input'] = { topic: first.input.topic, schema: first.input.schema };
  if (first.input.batchSchema) input.batchSchema = first.input.batchSchema;
  if (fields) input.fields = fields;
  return {
    name,
    input,
    outputs,
    stores,
    serdes,
    ...(hot.length ? { hotEntries: Math.min(...hot) } : {}),
    globals: [...globals.values()],
    punctuateEveryNs: every,
    timestampOf: first.timestampOf,
    create: () => new FusedProcessor(defs.map((d) => d.create())),
  };
}
