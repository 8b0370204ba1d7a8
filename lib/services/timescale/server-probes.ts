/**
 * Looking at a server address from the client side, without knowing which process is behind
 * it: whether a port is taken (before spawning, and after a stop until the kernel frees it),
 * and whether the timescaledb extension answers through `pg` (the readiness signal).
 */
import net from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';

/** The timescaledb version at `url`, null if the extension is absent; throws if unreachable. */
export async function probeExtension(url: string): Promise<string | null> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 2000 });
  client.on('error', () => undefined); // a server dying mid-probe must not crash the caller
  try {
    await client.connect();
    const r = await client.query<{ extversion: string }>("SELECT extversion FROM pg_extension WHERE extname = 'timescaledb'");
    return r.rows[0]?.extversion ?? null;
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** Whether host:port stays taken for `ms` (a server that is just exiting frees it sooner). */
export async function portBusyFor(host: string, port: number, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  for (;;) {
    if (!(await portInUse(host, port))) return false;
    if (Date.now() >= deadline) return true;
    await sleep(100);
  }
}

/** Whether something accepts TCP connections on host:port. */
function portInUse(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = net.connect({ host, port });
    const done = (used: boolean) => {
      sock.destroy();
      resolve(used);
    };
    sock.setTimeout(1000, () => done(true)); // a filtered/hanging port is not usable either
    sock.once('connect', () => done(true));
    sock.once('error', () => done(false));
  });
}
