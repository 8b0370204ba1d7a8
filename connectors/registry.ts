/**
 * Connector registry: the `type:` name in configuration -> a factory that validates the
 * connector's config (a wrong key is an error naming it) and constructs it (no I/O yet).
 */
import type { KafkaClient } from '../lib/kafka';
import { TaplineError } from '../lib/errors';
import type { Connector } from './types';
import { PcapFileConfigSchema, PcapFileConnector } from './pcap-file';

export type ConnectorFactory = (config: Record<string, unknown>, kafka: KafkaClient) => Connector;

export const CONNECTORS: Record<string, ConnectorFactory> = {
  'pcap-file': (c, k) => {
    const r = PcapFileConfigSchema.safeParse(c);
    if (!r.success) throw new TaplineError('CONFIG_INVALID', 'pcap-file', r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '));
    return new PcapFileConnector(r.data, k);
  },
};

export function createConnector(type: string, config: Record<string, unknown>, kafka: KafkaClient): Connector {
  const f = CONNECTORS[type];
  if (!f) throw new TaplineError('CONFIG_INVALID', 'connectors', `unknown connector type "${type}" (known: ${Object.keys(CONNECTORS).join(', ')})`);
  return f(config, kafka);
}
