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

/** frame: the frame after which the event came out; first: the frame its ts_ns is the time of (its first packet). */
export interface FramedEvent { frame: number; first: number; e: L7Event }

/** prefix: bytes of payload kept for every packet, or 'default' for the production policy (defaultPayloadPrefix). */
export async function runCapture(file: string, prefix: number | 'default' = 512, cfg: Partial<ParseConfig> = {}): Promise<{ events: FramedEvent[]; driver: TopologyTestDriver<unknown> }> {
  const stage = parseStage(cfg);
  const d = new TopologyTestDriver(stage);
  const topic = Object.keys(stage.outputs)[0];
  const events: FramedEvent[] = [];
  const policy: PayloadPolicy = prefix === 'default' ? defaultPayloadPrefix : () => prefix;
  let frame = 0;
  // (time, sender, receiver) -> first frame: which packet an event's ts_ns is the time of
  const frameOf = new Map<string, number>();
  const at = (ts: bigint | number, s: string | null, sp: number | null, d: string | null, dp: number | null) => `${ts}|${s}|${sp}|${d}|${dp}`;
  const firstOf = (e: L7Event, upTo: number): number => frameOf.get(at(e.ts_ns, e.src_ip, e.src_port, e.dst_ip, e.dst_port)) ?? upTo;
  for await (const rec of readCapture(file)) {
    frame++;
    const p = decodeFrame(rec, { observationPoint: 'corpus', payloadPrefix: policy });
    const k = at(p.ts_ns, p.src_ip, p.src_port, p.dst_ip, p.dst_port);
    if (!frameOf.has(k) && p.payload_prefix !== null && p.payload_prefix.length > 0) frameOf.set(k, frame);
    d.pipeInput(packetFlowKey(p), p);
    for (const o of d.readOutput<L7Event>(topic)) events.push({ frame, first: firstOf(o.value, frame), e: o.value });
  }
  d.endOfStream();
  for (const o of d.readOutput<L7Event>(topic)) events.push({ frame: -1, first: firstOf(o.value, -1), e: o.value });
  return { events, driver: d as unknown as TopologyTestDriver<unknown> };
}
