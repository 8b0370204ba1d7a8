import { z } from 'zod';

const port = z.number().int().min(0).max(65535);

export const ParseConfigSchema = z.object({
  inputTopic: z.string().default('tapline.packets.v1'),
  outputTopic: z.string().default('tapline.l7.v1'),
  /** UDP and TCP ports carrying DNS (TCP: two-byte length prefix per message) */
  dnsPorts: z.array(port).default([53]),
  /** UDP ports carrying HTTP-over-UDP (SSDP); TCP HTTP and TLS are recognised by content on any port */
  httpUdpPorts: z.array(port).default([1900]),
  /** a DNS query without response this long (event time) is emitted as DNS_UNANSWERED */
  dnsTimeoutMs: z.number().int().min(1).default(5_000),
  /** a repeated unanswered query within this time is a retransmission (Wireshark's default: 5 s) */
  dnsRetransmitMs: z.number().int().min(0).default(5_000),
  /** an HTTP request without response this long is emitted as HTTP_UNANSWERED */
  httpTimeoutMs: z.number().int().min(1).default(60_000),
  /** a ClientHello waits this long for its ServerHello (for the handshake latency) */
  tlsTimeoutMs: z.number().int().min(1).default(10_000),
  /** pending requests kept per flow and protocol; the oldest is dropped beyond it */
  maxPendingPerFlow: z.number().int().min(1).max(10_000).default(64),
  /** TCP stream tracking of a flow with nothing pending is forgotten after this much silence */
  flowIdleMs: z.number().int().min(1).default(120_000),
  /** request-target characters kept (path_truncated when cut) */
  maxPathLen: z.number().int().min(1).max(8192).default(256),
  /** how often (event time) the stage scans its store for expired requests */
  expiryScanMs: z.number().int().min(1).default(1_000),
}).strict();

export type ParseConfig = z.infer<typeof ParseConfigSchema>;
