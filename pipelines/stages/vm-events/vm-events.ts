/**
 * Stage `vm-events`: one VmEvent per move, whatever number of identify tasks reported it.
 *
 * identify runs one task per partition of the flow topic (keyed by flow key), and every task
 * sees the whole inventory and some of each VM's traffic, so each may report the same move
 * (identical inventory candidates; traffic candidates with their own `at`). Its candidates go
 * to tapline.vm-events.candidates.v1 keyed by VM id, so all candidates of one VM meet here, in
 * one task, which keeps the last reported host per VM (store `vm-last`) and emits a candidate
 * only if it moves the VM somewhere else, later than the last reported move:
 *   - to_host == last host: the same move reported again (another task, or the inventory
 *     catching up with traffic): dropped{reason=duplicate}.
 *   - at <= last move's at and another host: older news arriving late: dropped{reason=stale}.
 *   - otherwise: emitted, with from_host = the last reported host (the first one as given).
 * Candidates of one task come in event-time order; tasks interleave. So two moves of one VM
 * closer together than the lag between identify tasks could be seen out of order, and the older
 * one then dropped as stale (counted). A move is never reported twice.
 */
import type { VmEvent } from '../../../schemas/vm-event';
import type { KeyValueStore, Processor, ProcessorContext, StreamRecord } from '../../runtime/types';
import type { VmEventsConfig } from './config';

export const VM_LAST_STORE = 'vm-last';

export interface VmLast { host: string; at: bigint }

export class VmEventsProcessor implements Processor<VmEvent> {
  private ctx!: ProcessorContext;
  private store!: KeyValueStore<VmLast>;

  constructor(private readonly cfg: VmEventsConfig) {}

  init(ctx: ProcessorContext): void {
    this.ctx = ctx;
    this.store = ctx.store<VmLast>(VM_LAST_STORE);
  }

  process(rec: StreamRecord<VmEvent>): void {
    const e = rec.value;
    const at = BigInt(e.at);
    const last = this.store.get(e.vm);
    if (last && e.to_host === last.host) { this.ctx.metrics.dropped('duplicate'); return; }
    if (last && at <= last.at) { this.ctx.metrics.dropped('stale'); return; }
    this.ctx.forward(this.cfg.outputTopic, e.vm, { ...e, from_host: last?.host ?? e.from_host });
    this.store.put(e.vm, { host: e.to_host, at });
  }

  punctuate(): void { /* nothing waits for time */ }

  close(): void { /* state is in the store */ }
}
