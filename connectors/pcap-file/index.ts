/** Connector `pcap-file`: pcap/pcapng(.gz) file -> PacketSummary records on Kafka. */
import type { ConnectorRegistration } from '../registry';
import { PcapFileConnector } from './pcap-file';
import { PcapFileConfigSchema, type PcapFileConfig } from './config';

export { PcapFileConnector, PcapFileConfigSchema, type PcapFileConfig };

export const registration: ConnectorRegistration<PcapFileConfig> = {
  type: 'pcap-file',
  emitsPackets: true,
  description: 'replay a pcap/pcapng(.gz) file (as fast as possible, or real time x speed)',
  configSchema: PcapFileConfigSchema,
  create: (cfg, kafka) => new PcapFileConnector(cfg, kafka),
};
