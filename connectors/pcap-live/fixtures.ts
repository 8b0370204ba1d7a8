/**
 * Test helpers shared by the pcap-live test files: a fake producer whose acknowledgements come as
 * slowly as the test wants, decoders for what the connector publishes, and the lab's preconditions.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { TaplineError } from '../../lib/errors';
import type { KafkaClient, OutMessage } from '../../lib/kafka';
import { tsharkAvailable } from '../../lib/reference/tshark';
import { AvroCodec } from '../../schemas';
import type { PacketSummary } from '../../schemas/types';
import { CAPTURE_HEALTH_SCHEMA, type CaptureHealth } from '../../schemas/capture-health';
import { loadCapAddon } from './device';
import { labMissing as labToolsMissing } from '../../test/support/lab';

/** A producer whose send() resolves only when the test releases it (a slow broker). */
export class SlowProducer {
  sent = new Map<string, OutMessage[]>();
  inFlight = 0;
  maxInFlight = 0;
  failNext = false;
  private gates: (() => void)[] = [];
  constructor(public delayMs: number | 'manual') {}
  async connect(): Promise<void> {}
  async close(): Promise<void> {}
  async partitionCount(): Promise<number> { return 1; }
  async send(topic: string, messages: OutMessage[]): Promise<void> {
    this.inFlight++;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    try {
      if (this.delayMs === 'manual') await new Promise<void>((r) => this.gates.push(r));
      else await sleep(this.delayMs);
      if (this.failNext && topic.includes('packets')) { this.failNext = false; throw new Error('broker said no'); }
      this.sent.set(topic, [...(this.sent.get(topic) ?? []), ...messages]);
    } finally {
      this.inFlight--;
    }
  }
  release(): void { for (const g of this.gates.splice(0)) g(); this.delayMs = 0; }
}

export function fakeKafka(producer: SlowProducer): KafkaClient {
  return { producer: () => producer, ensureTopics: async () => undefined } as unknown as KafkaClient;
}

const packetCodec = new AvroCodec<PacketSummary>('packet-summary.v1');
let batchCodec: AvroCodec<{ records: PacketSummary[] }> | null = null;

/** Packet-topic messages: one PacketSummary each, or several in one PacketBatch (packet-batch.v1). */
export function decodePackets(values: (Buffer | null)[]): PacketSummary[] {
  const out: PacketSummary[] = [];
  for (const v of values) {
    try {
      out.push(packetCodec.decode(v!));
      continue;
    } catch (e) {
      if (!(e instanceof TaplineError) || !/fingerprint/.test(e.message)) throw e;
    }
    batchCodec ??= new AvroCodec<{ records: PacketSummary[] }>('packet-batch.v1');
    out.push(...batchCodec.decode(v!).records);
  }
  return out;
}

/** CaptureHealth records (the health topic). */
export const healthCodec = new AvroCodec<CaptureHealth>(CAPTURE_HEALTH_SCHEMA);

/** Why the lab tests cannot run here (not root, the addon or a tool missing), or null. */
export function labMissing(): string | null {
  try { loadCapAddon(); } catch (e) { return (e as Error).message; }
  if (!tsharkAvailable()) return 'tshark missing';
  return labToolsMissing(['tcpdump', 'curl', 'python3']);
}
