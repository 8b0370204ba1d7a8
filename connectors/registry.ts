/**
 * Connector registry: the `type:` name in configuration -> a factory that validates the
 * connector's config (a wrong key is a CONFIG_INVALID error naming it) and constructs it (no
 * I/O yet). Each connector folder's index.ts exports `registration`; folders are discovered,
 * so adding a connector touches no shared file.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { ZodTypeAny } from 'zod';
import type { KafkaClient } from '../lib/kafka';
import { TaplineError } from '../lib/errors';
import type { Connector } from './types';

export interface ConnectorRegistration<C = unknown> {
  type: string;
  description: string;
  /** publishes PacketSummary batches: its `topic` follows the configuration's topics.packets */
  emitsPackets?: boolean;
  configSchema: ZodTypeAny;
  create(config: C, kafka: KafkaClient): Connector;
}

let cache: Map<string, ConnectorRegistration> | null = null;

export function connectorRegistry(): Map<string, ConnectorRegistration> {
  if (cache) return cache;
  cache = new Map();
  for (const dir of fs.readdirSync(__dirname, { withFileTypes: true })) {
    if (!dir.isDirectory()) continue;
    const index = ['index.ts', 'index.js'].map((f) => path.join(__dirname, dir.name, f)).find((f) => fs.existsSync(f));
    if (!index) continue;
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const reg = (require(index) as { registration?: ConnectorRegistration }).registration;
    if (reg) cache.set(reg.type, reg);
  }
  return cache;
}

/** Validates a connector's configuration without creating it (commands check before starting services). */
export function validateConnectorConfig(type: string, config: Record<string, unknown>): unknown {
  const reg = connectorRegistry().get(type);
  if (!reg) {
    throw new TaplineError('CONFIG_INVALID', 'connectors', `unknown connector type "${type}" (known: ${[...connectorRegistry().keys()].join(', ')})`);
  }
  const r = reg.configSchema.safeParse(config);
  if (!r.success) {
    throw new TaplineError('CONFIG_INVALID', type, `invalid ${type} configuration: ${r.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')}`);
  }
  return r.data;
}

export function createConnector(type: string, config: Record<string, unknown>, kafka: KafkaClient): Connector {
  const data = validateConnectorConfig(type, config);
  return connectorRegistry().get(type)!.create(data, kafka);
}
