/**
 * Test helpers of the alert consumers (not used at run time): a sample alert, and a real HTTP
 * server on a free loopback port that records every request (headers + raw body) and answers
 * with a scripted status per request (then the last one again), acting as webhook receiver.
 */
import http from 'node:http';
import type { Alert } from '../../../schemas/alert';

/** A full alert state; fields overridable. */
export function sampleAlert(over: Partial<Alert> = {}): Alert {
  return {
    id: 'traffic_burst|tenant-a|vm-web-1|vm-db-1@1732780800000000000', dedup_key: 'traffic_burst|tenant-a|vm-web-1|vm-db-1',
    type: 'traffic_burst', detector: 'detect-baseline', severity: 'warning', state: 'open',
    first_seen_ns: 1_732_780_800_000_000_000n, last_seen_ns: 1_732_780_860_000_000_000n, updated_ns: 1_732_780_860_000_000_000n,
    summary: 'web-1 -> db-1: 4.2 MB/s, baseline 120 kB/s (35x)', tenant: 'tenant-a', vm_a: 'vm-web-1', vm_b: 'vm-db-1',
    addr_a: '10.0.0.5', addr_b: '10.0.1.7', host_a: 'hv-03', host_b: 'hv-07', observation_point: 'mirror:br0',
    metric: 'bytes_per_s', value: 4_200_000, baseline: 120_000, threshold: 1_200_000, evidence: { windows_over: '3', top_port: '5432' },
    ...over,
  };
}

export interface ReceivedRequest { method: string; url: string; headers: http.IncomingHttpHeaders; body: string; at: number }

export interface Reply { status: number; headers?: Record<string, string>; body?: string; delayMs?: number }

export class TestReceiver {
  readonly requests: ReceivedRequest[] = [];
  private server: http.Server | null = null;
  private replies: Reply[] = [{ status: 200 }];
  url = '';

  /** Replies to the following requests in order; the last reply repeats. */
  script(replies: Reply[]): this { this.replies = replies.length ? [...replies] : [{ status: 200 }]; return this; }

  async start(): Promise<this> {
    this.server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        this.requests.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks).toString('utf8'), at: Date.now() });
        const r = this.replies.length > 1 ? this.replies.shift()! : this.replies[0];
        const send = () => res.writeHead(r.status, { 'content-type': 'text/plain', ...r.headers }).end(r.body ?? '');
        if (r.delayMs) setTimeout(send, r.delayMs); else send();
      });
    });
    await new Promise<void>((resolve, reject) => { this.server!.once('error', reject); this.server!.listen(0, '127.0.0.1', resolve); });
    const addr = this.server.address() as { port: number };
    this.url = `http://127.0.0.1:${addr.port}`;
    return this;
  }

  async waitFor(n: number, timeoutMs = 30_000): Promise<ReceivedRequest[]> {
    const deadline = Date.now() + timeoutMs;
    while (this.requests.length < n) {
      if (Date.now() > deadline) throw new Error(`receiver got ${this.requests.length} requests, expected ${n}`);
      await new Promise((r) => setTimeout(r, 20));
    }
    return this.requests;
  }

  async close(): Promise<void> {
    const s = this.server;
    this.server = null;
    if (!s) return;
    s.closeAllConnections();
    await new Promise<void>((resolve) => s.close(() => resolve()));
  }
}
