import { z } from 'zod';
import { VM_INVENTORY_TOPIC } from '../../../schemas/vm-inventory';

export const MetricsConfigSchema = z.object({
  inputTopic: z.string().default('tapline.packets.v1'),
  outputTopic: z.string().default('tapline.flow-metrics.v1'),
  /** the VM inventory (global table `inventory`): NIC capacities for utilization */
  inventoryTopic: z.string().default(VM_INVENTORY_TOPIC),
  windowMs: z.number().int().min(100).default(10_000),
  allowedLatenessMs: z.number().int().min(0).default(5_000),
  /** DDSketch relative accuracy of the RTT percentiles */
  relativeAccuracy: z.number().gt(0).lt(1).default(0.01),
  /** TCP timestamp (TSval -> TSecr) RTT samples */
  tcpTimestamps: z.boolean().default(true),
  /** connection state untouched for this long (event time) is evicted on punctuate */
  idleTimeoutMs: z.number().int().min(1_000).default(120_000),
  /** a TCP connection closed (RST, or FIN both ways) is evicted after this long without packets */
  closedLingerMs: z.number().int().min(0).default(10_000),
  /** connection states per task; beyond it new connections are not tracked (only counted) */
  maxConnections: z.number().int().min(1).default(200_000),
  /**
   * connection and window states kept as objects per task; beyond this, on punctuate, all are
   * packed (~150 B each instead of ~4 kB of objects) and come back as objects when touched
   */
  hotEntries: z.number().int().min(0).default(20_000),
  /** unacknowledged segments remembered per direction for RTT; older ones are dropped (counted) */
  maxOutstanding: z.number().int().min(1).max(100_000).default(256),
  /** sequence gaps remembered per direction (loss before the mirror vs reordering) */
  maxHoles: z.number().int().min(1).max(10_000).default(64),
  /** TSvals and ICMP echo requests remembered per flow */
  maxPending: z.number().int().min(1).max(10_000).default(32),
  /** a gap first filled later than max(handshake RTT, this) after it opened counts as loss before the mirror (without 3 dup ACK / SACK signals) */
  reorderThresholdMs: z.number().min(0).default(3),
}).strict();

export type MetricsConfig = z.infer<typeof MetricsConfigSchema>;
