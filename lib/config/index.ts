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
      let v: unknown;
      try {
        v = YAML.parse(value);
      } catch (e) {
        throw new TaplineError('CONFIG_INVALID', 'config', `${name} is not valid YAML: ${(e as Error).message}`);
      }
      setPath(raw, name.slice('TAPLINE__'.length).split('__'), v);
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

/** Dotted keys (`a.b.c`) over `raw`; undefined values are skipped (an option that was not given). */
export function applyOverrides(raw: Record<string, unknown>, overrides: Record<string, unknown>): Record<string, unknown> {
  for (const [k, v] of Object.entries(overrides)) if (v !== undefined) setPath(raw, k.split('.'), v);
  return raw;
}

/** A raw mapping (a parsed file, or {}) + the environment + dotted overrides (command-line options), validated. */
export function resolveConfig(raw: Record<string, unknown>, env: NodeJS.ProcessEnv, overrides: Record<string, unknown>, source = 'configuration'): TaplineConfig {
  applyEnv(raw, env);
  applyOverrides(raw, overrides);
  const cfg = parseConfig(raw, source);
  cfg.stateDir = path.resolve(cfg.stateDir);
  return cfg;
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
  return resolveConfig(raw, env, overrides, candidate ?? 'configuration');
}
