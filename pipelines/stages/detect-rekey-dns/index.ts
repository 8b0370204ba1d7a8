/**
 * Stage `detect-rekey-dns`: L7 events (keyed by flow key; a client's DNS queries use a new
 * source port each, so they are spread over every partition) -> the DNS events keyed by the
 * client address (`dns|<addr>`: the source of a query, the destination of a response) on
 * tapline.detect.dns.repartition.v1, read by detect-dns. Other L7 events are counted
 * (dropped{reason="not-dns"}) and not forwarded.
 */
import { z } from 'zod';
import type { L7Event } from '../../../schemas/l7-event';
import type { StageDefinition } from '../../runtime/types';
import type { StageRegistration } from '../../registry';
import { RekeyProcessor } from '../../alerting/rekey';

export const DNS_REPARTITION_TOPIC = 'tapline.detect.dns.repartition.v1';

export const RekeyDnsConfigSchema = z.object({
  inputTopic: z.string().default('tapline.l7.v1'),
  outputTopic: z.string().default(DNS_REPARTITION_TOPIC).describe('internal repartition topic keyed by DNS client address'),
}).strict();
export type RekeyDnsConfig = z.infer<typeof RekeyDnsConfigSchema>;

/** The DNS client of an event: who asked. */
export function dnsClientOf(e: L7Event): string | null {
  if (e.kind === 'DNS_QUERY' || e.kind === 'DNS_UNANSWERED') return e.src_ip;
  if (e.kind === 'DNS_RESPONSE') return e.dst_ip;
  return null;
}

export function rekeyDnsStage(raw: Partial<RekeyDnsConfig> = {}): StageDefinition<L7Event> {
  const cfg = RekeyDnsConfigSchema.parse(raw);
  return {
    name: 'detect-rekey-dns',
    input: { topic: cfg.inputTopic, schema: 'l7-event.v1' },
    outputs: { [cfg.outputTopic]: 'l7-event.v1' },
    stores: [],
    timestampOf: (e) => BigInt(e.ts_ns),
    create: () => new RekeyProcessor<L7Event>(cfg.outputTopic, (e) => { const c = dnsClientOf(e); return c ? [`dns|${c}`] : []; }, 'not-dns'),
  };
}

export const registration: StageRegistration = {
  name: 'detect-rekey-dns',
  description: 'repartition DNS events by client address for detect-dns',
  create: (c) => rekeyDnsStage(c as Partial<RekeyDnsConfig>) as unknown as StageDefinition<never>,
};
