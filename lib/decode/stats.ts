/**
 * Malformation counters, owned by the caller (one per reader/connector) so the decoder itself
 * stays stateless. Feed every decoded summary to `count()`.
 */
import type { PacketSummary } from '../../schemas/types';

export class DecodeStats {
  /** frames passed to count() */
  decoded = 0;
  /** frames with a malformed code */
  malformedTotal = 0;
  /** frames that stopped before any IP or ARP layer: no address to attribute them to */
  unusable = 0;
  /** malformed code -> frames */
  readonly byCode = new Map<string, number>();

  count(s: PacketSummary): void {
    this.decoded++;
    const m = s.malformed;
    if (m === null) return;
    this.malformedTotal++;
    this.byCode.set(m, (this.byCode.get(m) ?? 0) + 1);
    if (s.src_ip === null && s.arp_op === null) this.unusable++;
  }

  /** Plain object for logs/metrics. */
  toJSON(): { decoded: number; malformed: number; unusable: number; byCode: Record<string, number> } {
    return { decoded: this.decoded, malformed: this.malformedTotal, unusable: this.unusable, byCode: Object.fromEntries(this.byCode) };
  }
}
