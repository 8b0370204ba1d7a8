/**
 * Datagrams the kernel dropped because a socket's receive buffer was full (the `drops` column
 * of /proc/net/udp and /proc/net/udp6, per socket). Node cannot see these itself; a receiver
 * polls them so overload shows up as metrics.dropped('socket-buffer') instead of vanishing.
 * Linux only; null elsewhere or when the socket is not found.
 */
import fs from 'node:fs';

function hexPort(port: number): string {
  return port.toString(16).toUpperCase().padStart(4, '0');
}

/** IPv4 address as /proc/net/udp prints it (little-endian hex). */
function hexV4(addr: string): string {
  return addr.split('.').map((o) => Number(o).toString(16).toUpperCase().padStart(2, '0')).reverse().join('');
}

/** Sum of the drop counters of the UDP sockets bound to (address, port); address '0.0.0.0'/'::' = any. */
export function udpSocketDrops(address: string, port: number): number | null {
  const v6 = address.includes(':');
  let text: string;
  try { text = fs.readFileSync(v6 ? '/proc/net/udp6' : '/proc/net/udp', 'utf8'); } catch { return null; }
  const wantPort = hexPort(port);
  const wantAddr = v6 ? null : hexV4(address);
  let total: number | null = null;
  for (const line of text.split('\n').slice(1)) {
    const cols = line.trim().split(/\s+/);
    if (cols.length < 13) continue;
    const [addr, p] = cols[1].split(':');
    if (p !== wantPort) continue;
    if (wantAddr !== null && addr !== wantAddr) continue;
    total = (total ?? 0) + Number(cols[cols.length - 1]);
  }
  return total;
}

/** Turns the cumulative kernel counter into increments. */
export class DropPoller {
  private last: number | null;
  constructor(private readonly address: string, private readonly port: number) {
    this.last = udpSocketDrops(address, port);
  }

  /** Drops since the previous call (0 when unknown). */
  poll(): number {
    const now = udpSocketDrops(this.address, this.port);
    if (now === null) return 0;
    const d = this.last === null ? 0 : Math.max(0, now - this.last);
    this.last = now;
    return d;
  }
}
