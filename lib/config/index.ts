/**
 * Loads the YAML configuration, applies environment overrides and validates the result.
 * Overrides: the common ones have short names (TAPLINE_KAFKA_BROKERS, TAPLINE_PG_URL,
 * TAPLINE_STATE_DIR); any key can be set as TAPLINE__section__key=value (value parsed as YAML,
 * so numbers and lists work). A wrong key or value is a CONFIG_INVALID error naming the path.
 */
import fs from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import { TaplineError } from '../errors';
import { ConfigSchema, type TaplineConfig } from './schema';

export { ConfigSchema, type TaplineConfig };

const SHORT_ENV: Record<string, (v: string) => [string[], unknown]> = {
  TAPLINE_KAFKA_BROKERS: (v) => [['kafka', 'brokers'], v.split(',').map((s) => s.trim()).filter(Boolean)],
  TAPLINE_PG_URL: (v) => [['timescale', 'url'], v],
  TAPLINE_STATE_DIR: (v) => [['stateDir'], v],
};

function setPath(obj: Record<string, unknown>, keys: string[], value: unknown): void {
  let cur = obj;
  for (const k of keys.slice(0, -1)) {
    if (typeof cur[k] !== 'object' || cur[k] === null) cur[k] = {};
    cur = cur[k] as Record<string, unknown>;
  }
  cur[keys[keys.length - 1]] = value;
}

export function applyEnv(raw: Record<string, unknown>, env: NodeJS.ProcessEnv): Record<string, unknown> {
  for (const [name, value] of Object.entries(env)) {
    if (value === undefined || value === '') continue;
    if (SHORT_ENV[name]) {
      const [keys, v] = SHORT_ENV[name](value);
      setPath(raw, keys, v);
    } else if (name.startsWith('TAPLINE__')) {
      setPath(raw, name.slice('TAPLINE__'.length).split('__'), YAML.parse(value));
    }
  }
  return raw;
}

export function parseConfig(raw: unknown, source = 'configuration'): TaplineConfig {
  const r = ConfigSchema.safeParse(raw ?? {});
  if (!r.success) {
    const lines = r.error.issues.map((i) => `  ${i.path.join('.') || '(root)'}: ${i.message}`);
    throw new TaplineError('CONFIG_INVALID', 'config', `${source} is invalid:\n${lines.join('\n')}`);
  }
  return r.data;
}

/** file: explicit path, else ./tapline.yaml when it exists, else defaults. */
export function loadConfig(file?: string, env: NodeJS.ProcessEnv = process.env, overrides: Record<string, unknown> = {}): TaplineConfig {
  let raw: Record<string, unknown> = {};
  const candidate = file ?? (fs.existsSync('tapline.yaml') ? 'tapline.yaml' : undefined);
  if (candidate) {
    let text: string;
    try {
      text = fs.readFileSync(candidate, 'utf8');
    } catch (e) {
      throw new TaplineError('CONFIG_INVALID', 'config', `cannot read ${candidate}: ${(e as Error).message}`);
    }
    try {
      raw = (YAML.parse(text) as Record<string, unknown>) ?? {};
    } catch (e) {
      throw new TaplineError('CONFIG_INVALID', 'config', `${candidate} is not valid YAML: ${(e as Error).message}`);
    }
    if (typeof raw !== 'object' || Array.isArray(raw)) throw new TaplineError('CONFIG_INVALID', 'config', `${candidate} must hold a mapping`);
  }
  applyEnv(raw, env);
  for (const [k, v] of Object.entries(overrides)) if (v !== undefined) setPath(raw, k.split('.'), v);
  const cfg = parseConfig(raw, candidate ?? 'configuration');
  cfg.stateDir = path.resolve(cfg.stateDir);
  return cfg;
}
