/**
 * Stage `parse`: packet summaries (payload prefixes) -> application-layer events.
 * Input tapline.packets.v1 (PacketBatch of PacketSummary), output tapline.l7.v1 (L7Event,
 * schemas/l7-event.v1.avsc) keyed by flow key: DNS queries/responses (UDP and TCP), HTTP/1.x
 * requests/responses, TLS ClientHello/ServerHello, with request -> response latency.
 */
import type { PacketSummary } from '../../../schemas/types';
import { L7_EVENT_SCHEMA } from '../../../schemas/l7-event';
import type { StageDefinition } from '../../runtime/types';
import type { StageRegistration } from '../../registry';
import { ParseConfigSchema, type ParseConfig } from './config';
import { ParseProcessor, PENDING_STORE } from './processor';

export { ParseConfigSchema, type ParseConfig, ParseProcessor, PENDING_STORE };

export function parseStage(raw: Partial<ParseConfig> = {}): StageDefinition<PacketSummary> {
  const cfg = ParseConfigSchema.parse(raw);
  return {
    name: 'parse',
    input: { topic: cfg.inputTopic, schema: 'packet-summary.v1', batchSchema: 'packet-batch.v1' },
    outputs: { [cfg.outputTopic]: L7_EVENT_SCHEMA },
    stores: [PENDING_STORE],
    timestampOf: (p) => BigInt(p.ts_ns),
    create: () => new ParseProcessor(cfg),
  };
}

export const registration: StageRegistration = {
  name: 'parse',
  description: 'DNS, HTTP/1.x and TLS hello events with request -> response latency, from payload prefixes',
  create: (c, g) => parseStage({ inputTopic: g.topics.packets, ...(c as Partial<ParseConfig>) }) as unknown as StageDefinition<never>,
};
