/**
 * How tapline gets its TimescaleDB: either a server the user names (`--pg <url>` or
 * TAPLINE_PG_URL), which we only check, or the embedded one (PGlite + timescaledb), which we
 * start. Both are reached through `pg` only, so the storage code is the same for both.
 */
import pg from 'pg';
import { TaplineError, errorMessage } from '../errors';
import { EmbeddedTimescale, type EmbeddedOptions } from '../services/timescale/embedded';

export interface PoolOptions {
  /** True when `url` points at the embedded server. */
  embedded: boolean;
  /** Pool size for a real server (default 10). Ignored (forced to 1) when embedded. */
  max?: number;
}

export function createPool(url: string, opts: PoolOptions): pg.Pool {
  // The embedded server is ONE PGlite backend session behind a socket multiplexer, so a second
  // pooled connection buys no parallelism (statements run one at a time) and brings hazards
  // (docs/timescaledb-embedded.md): while one connection is inside a transaction every other
  // connection's statements wait for its COMMIT, so two pooled clients that each hold a
  // transaction and wait on each other hang forever; and session state (SET, temp tables,
  // prepared statement names, advisory locks) is shared by all connections. With max 1 the pool
  // queues callers in order, which is the serialization PGlite applies anyway.
  const max = opts.embedded ? 1 : (opts.max ?? 10);
  const pool = new pg.Pool({ connectionString: url, max, connectionTimeoutMillis: 10_000 });
  // An idle client whose server goes away emits 'error' on the pool; without a listener that
  // would crash the process. The next query reports the failure to its caller instead.
  pool.on('error', () => undefined);
  return pool;
}

/** Where a URL points, for error messages (never includes the password). */
export function describeUrl(url: string): { database: string; host: string } {
  try {
    const u = new URL(url);
    return {
      database: decodeURIComponent(u.pathname.replace(/^\//, '')) || decodeURIComponent(u.username) || 'postgres',
      host: `${u.hostname || 'localhost'}:${u.port || '5432'}`,
    };
  } catch {
    return { database: '?', host: '?' };
  }
}

/** Returns the timescaledb version; throws DB_NO_TIMESCALEDB (saying how to fix it) if absent. */
export async function assertTimescale(pool: pg.Pool, url: string): Promise<string> {
  const r = await pool.query<{ installed: string | null; available: string | null }>(
    `SELECT (SELECT extversion FROM pg_extension WHERE extname = 'timescaledb') AS installed,
            (SELECT default_version FROM pg_available_extensions WHERE name = 'timescaledb') AS available`,
  );
  const row = r.rows[0];
  if (row?.installed) return row.installed;
  const { database, host } = describeUrl(url);
  const fix = row?.available
    ? `The server has TimescaleDB ${row.available} available: run \`CREATE EXTENSION timescaledb;\` in database "${database}" (psql ${redact(url)}).`
    : `The server at ${host} does not have TimescaleDB installed at all: use a TimescaleDB server ` +
      `(e.g. the timescale/timescaledb-ha or timescale/timescaledb Docker image) and run \`CREATE EXTENSION timescaledb;\`.`;
  throw new TaplineError(
    'DB_NO_TIMESCALEDB',
    'db',
    `database "${database}" on ${host} has no timescaledb extension. ${fix} ` +
      `Or omit --pg (and TAPLINE_PG_URL) to let tapline run its embedded TimescaleDB.`,
  );
}

export interface EnsuredTimescale {
  url: string;
  embedded: boolean;
  /** The embedded server when one is used (started now or reused), null for a given URL. */
  server: EmbeddedTimescale | null;
}

/**
 * A URL that serves TimescaleDB: the given one (opts.url or TAPLINE_PG_URL), checked but never
 * started, or else the embedded server, started if needed. The caller decides whether to stop
 * `server` when done (`tapline db start` keeps it; a one-shot command may stop it).
 */
export async function ensureTimescale(opts: { url?: string } & EmbeddedOptions = {}): Promise<EnsuredTimescale> {
  const url = opts.url ?? (process.env.TAPLINE_PG_URL || undefined);
  if (url === undefined) {
    const server = new EmbeddedTimescale(opts);
    const started = await server.start();
    return { url: started.url, embedded: true, server };
  }
  const { database, host } = describeUrl(url);
  const pool = new pg.Pool({ connectionString: url, max: 1, connectionTimeoutMillis: 5000 });
  pool.on('error', () => undefined);
  try {
    try {
      const client = await pool.connect();
      client.release();
    } catch (e) {
      throw new TaplineError(
        'DB_UNREACHABLE',
        'db',
        `cannot connect to database "${database}" on ${host} (${errorMessage(e) || (e as { code?: string }).code || 'connection failed'}). ` +
          `Check that the server runs and the URL is right, or omit --pg to use the embedded TimescaleDB.`,
        { retriable: true, cause: e },
      );
    }
    await assertTimescale(pool, url);
  } finally {
    await pool.end().catch(() => undefined);
  }
  return { url, embedded: false, server: null };
}

function redact(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return url;
  }
}
