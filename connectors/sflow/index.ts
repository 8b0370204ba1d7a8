/** Connector `sflow`: sFlow v5 collector -> PacketSummary (flow samples) and InterfaceCounters (counter samples) on Kafka. */
import type { ConnectorRegistration } from '../registry';
import { SflowConnector, CountersPublisher, type CounterSink } from './sflow';
import { SflowConfigSchema, type SflowConfig } from './config';
import { parseSflow, SflowParseError } from './parse';

export { SflowConnector, CountersPublisher, SflowConfigSchema, parseSflow, SflowParseError, type SflowConfig, type CounterSink };

export const registration: ConnectorRegistration<SflowConfig> = {
  type: 'sflow',
  emitsPackets: true,
  description: 'sFlow v5 collector (UDP 6343; Open vSwitch, switches, hsflowd): sampled packet headers and interface counters',
  configSchema: SflowConfigSchema,
  create: (cfg, kafka) => new SflowConnector(cfg, kafka),
};
