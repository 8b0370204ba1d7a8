/**
 * Test helper: runs a capture through the parse stage (in the test driver) and tells which
 * frame produced each event, for the comparisons with tshark in corpus.test.ts.
 */
import { readCapture } from '../../../lib/pcap';
import { decodeFrame, defaultPayloadPrefix, type PayloadPolicy } from '../../../lib/decode';
import { packetFlowKey } from '../../../lib/flow-key';
import type { L7Event } from '../../../schemas/l7-event';
import { TopologyTestDriver } from '../../runtime/test-driver';
import { parseStage, type ParseConfig } from '.';

export interface FramedEvent { frame: number; e: L7Event }

/** prefix: bytes of payload kept for every packet, or 'default' for the production policy (defaultPayloadPrefix). */
export async function runCapture(file: string, prefix: number | 'default' = 512, cfg: Partial<ParseConfig> = {}): Promise<{ events: FramedEvent[]; driver: TopologyTestDriver<unknown> }> {
  const stage = parseStage(cfg);
  const d = new TopologyTestDriver(stage);
  const topic = Object.keys(stage.outputs)[0];
  const events: FramedEvent[] = [];
  const policy: PayloadPolicy = prefix === 'default' ? defaultPayloadPrefix : () => prefix;
  let frame = 0;
  for await (const rec of readCapture(file)) {
    frame++;
    const p = decodeFrame(rec, { observationPoint: 'corpus', payloadPrefix: policy });
    d.pipeInput(packetFlowKey(p), p);
    for (const o of d.readOutput<L7Event>(topic)) events.push({ frame, e: o.value });
  }
  d.endOfStream();
  for (const o of d.readOutput<L7Event>(topic)) events.push({ frame: -1, e: o.value });
  return { events, driver: d as unknown as TopologyTestDriver<unknown> };
}
