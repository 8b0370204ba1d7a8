/**
 * The `storage` configuration section: how long each table and continuous aggregate keeps its
 * rows, when chunks get compressed, and which window each aggregate level re-materializes.
 *
 * The rule it enforces (TimescaleDB pitfall): refreshing a continuous aggregate over a time range
 * recomputes that range from its source and DELETES aggregate rows the source no longer has.
 * If retention has dropped the source's old chunks and a refresh window still reaches back
 * there, the aggregate loses exactly the history it was kept for. So every aggregate's refresh
 * start offset must be shorter than its source's retention; a configuration that breaks this is
 * rejected here, when the configuration is read (CONFIG_INVALID), not discovered months later.
 *
 * Durations are written `<number><unit>`, unit s, m, h, d or w (e.g. `90s`, `2h`, `30d`); a
 * retention of `null` keeps rows forever.
 */
import { z } from 'zod';
import { TaplineError } from '../errors';

const UNIT_S: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86_400, w: 604_800 };
const DURATION = /^(\d+)(s|m|h|d|w)$/;

/** Seconds of a `<n><unit>` duration; throws for anything else. */
export function durationSeconds(text: string): number {
  const m = DURATION.exec(text.trim());
  if (!m) throw new Error(`"${text}" is not a duration: write <number><unit> with unit s, m, h, d or w (e.g. 30d)`);
  return Number(m[1]) * UNIT_S[m[2]];
}

/** PostgreSQL interval literal for a duration. */
export function pgInterval(text: string): string {
  return `${durationSeconds(text)} seconds`;
}

const duration = z.string().refine((s) => DURATION.test(s.trim()), 'a duration <number><unit>, unit s|m|h|d|w (e.g. 30d)');

/** Each continuous aggregate and the relation it is computed from (its refresh reads that). */
export const AGGREGATE_SOURCES: Record<string, string> = {
  traffic_pair_1m: 'identified_flows', traffic_pair_1h: 'traffic_pair_1m', traffic_pair_1d: 'traffic_pair_1h',
  traffic_service_1m: 'flow_windows', traffic_service_1h: 'traffic_service_1m', traffic_service_1d: 'traffic_service_1h',
  latency_pair_1m: 'flow_metrics', latency_pair_1h: 'latency_pair_1m', latency_pair_1d: 'latency_pair_1h',
  rtt_sketch_1m: 'rtt_sketch_bins', rtt_sketch_1h: 'rtt_sketch_1m', rtt_sketch_1d: 'rtt_sketch_1h',
};

const RAW_RETENTION = '7d';
const LEVEL_DEFAULTS: Record<'1m' | '1h' | '1d', { retention: string | null; refresh: { startOffset: string; endOffset: string; every: string } }> = {
  '1m': { retention: '30d', refresh: { startOffset: '2h', endOffset: '1m', every: '1m' } },
  '1h': { retention: '365d', refresh: { startOffset: '2d', endOffset: '1h', every: '1h' } },
  '1d': { retention: null, refresh: { startOffset: '7d', endOffset: '1d', every: '1d' } },
};

function defaultRetention(): Record<string, string | null> {
  const r: Record<string, string | null> = {};
  for (const t of ['flow_windows', 'identified_flows', 'flow_metrics', 'rtt_sketch_bins']) r[t] = RAW_RETENTION;
  for (const cagg of Object.keys(AGGREGATE_SOURCES)) r[cagg] = LEVEL_DEFAULTS[cagg.slice(-2) as '1m'].retention;
  return r;
}

function defaultRefresh(): Record<string, { startOffset: string; endOffset: string; every: string }> {
  const r: Record<string, { startOffset: string; endOffset: string; every: string }> = {};
  for (const cagg of Object.keys(AGGREGATE_SOURCES)) r[cagg] = { ...LEVEL_DEFAULTS[cagg.slice(-2) as '1m'].refresh };
  return r;
}

const refreshSchema = z.object({
  startOffset: duration.describe('re-materialize from now - startOffset: must be shorter than the source\'s retention'),
  endOffset: duration.describe('... up to now - endOffset (newer rows come from real-time aggregation)'),
  every: duration.describe('how often the refresh runs'),
}).strict();

export const StorageConfigSchema = z.object({
  retention: z.record(z.string(), duration.nullable()).default({})
    .describe('table or continuous aggregate -> how long to keep rows (null = forever); merged over the defaults'),
  compressAfter: z.record(z.string(), duration.nullable()).default({})
    .describe('hypertable -> compress chunks older than this (null = never); merged over the defaults'),
  refresh: z.record(z.string(), refreshSchema.partial().strict()).default({})
    .describe('continuous aggregate -> refresh window and schedule; merged over the defaults'),
  jobIntervalMs: z.number().int().min(1000).default(60_000)
    .describe('embedded database: how often the job runner runs the due policies (no background workers there)'),
}).strict();

export type StorageConfigInput = z.input<typeof StorageConfigSchema>;

export interface StorageConfig {
  retention: Record<string, string | null>;
  compressAfter: Record<string, string | null>;
  refresh: Record<string, { startOffset: string; endOffset: string; every: string }>;
  jobIntervalMs: number;
}

const COMPRESSIBLE = ['flow_windows', 'identified_flows', 'flow_metrics', 'rtt_sketch_bins'];

/**
 * The effective storage configuration (defaults merged with `raw`), checked: names must be
 * tapline tables or aggregates, every refresh window must be at least two buckets wide and must
 * start inside its source's retention. Errors are CONFIG_INVALID naming the key.
 */
export function resolveStorageConfig(raw: unknown, where = 'storage'): StorageConfig {
  const r = StorageConfigSchema.safeParse(raw ?? {});
  if (!r.success) {
    const lines = r.error.issues.map((i) => `  ${[where, ...i.path].join('.')}: ${i.message}`);
    throw new TaplineError('CONFIG_INVALID', 'config', `storage configuration is invalid:\n${lines.join('\n')}`);
  }
  const cfg: StorageConfig = {
    retention: { ...defaultRetention(), ...r.data.retention },
    compressAfter: { ...Object.fromEntries(COMPRESSIBLE.map((t) => [t, '1d'])), ...r.data.compressAfter },
    refresh: defaultRefresh(),
    jobIntervalMs: r.data.jobIntervalMs,
  };
  const problems: string[] = [];
  for (const [cagg, over] of Object.entries(r.data.refresh)) {
    if (!AGGREGATE_SOURCES[cagg]) { problems.push(`${where}.refresh.${cagg}: not a continuous aggregate (known: ${Object.keys(AGGREGATE_SOURCES).join(', ')})`); continue; }
    cfg.refresh[cagg] = { ...cfg.refresh[cagg], ...over } as StorageConfig['refresh'][string];
  }
  for (const t of Object.keys(r.data.compressAfter)) {
    if (!COMPRESSIBLE.includes(t)) problems.push(`${where}.compressAfter.${t}: compression is set up for ${COMPRESSIBLE.join(', ')} only`);
  }
  for (const [cagg, ref] of Object.entries(cfg.refresh)) {
    const bucket = durationSeconds(`1${cagg.slice(-1)}`);
    const start = durationSeconds(ref.startOffset);
    const end = durationSeconds(ref.endOffset);
    if (start - end < 2 * bucket) {
      problems.push(`${where}.refresh.${cagg}: the window startOffset ${ref.startOffset} .. endOffset ${ref.endOffset} must span at least two ${cagg.slice(-2)} buckets`);
    }
    const source = AGGREGATE_SOURCES[cagg];
    const kept = cfg.retention[source];
    if (kept != null && start >= durationSeconds(kept)) {
      problems.push(`${where}.refresh.${cagg}.startOffset ${ref.startOffset} reaches back past ${where}.retention.${source} ${kept}: ` +
        `refreshing ${cagg} over data already dropped from ${source} would DELETE its aggregated rows. ` +
        `Make the refresh startOffset shorter than the retention (or keep ${source} longer).`);
    }
  }
  if (problems.length > 0) {
    throw new TaplineError('CONFIG_INVALID', 'config', `storage configuration is invalid:\n  ${problems.join('\n  ')}`);
  }
  return cfg;
}

/**
 * The `storage` section as lib/config's schema embeds it: the raw section (defaults applied
 * later by resolveStorageConfig), rejected at configuration load when resolveStorageConfig
 * would reject it, so a refresh window past a retention stops tapline before it starts.
 */
export const StorageSectionSchema = StorageConfigSchema.default({}).superRefine((v, ctx) => {
  try {
    resolveStorageConfig(v);
  } catch (e) {
    ctx.addIssue({ code: z.ZodIssueCode.custom, message: (e as Error).message.replace(/^storage configuration is invalid:\n\s*/, '') });
  }
});
