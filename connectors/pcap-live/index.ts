/** Connector `pcap-live`: live capture on a device (libpcap via the cap addon) -> PacketSummary records on Kafka. */
import type { ConnectorRegistration } from '../registry';
import { PcapLiveConnector } from './pcap-live';
import { loadCapAddon, openCapDevice } from './device';
import { anchoredClock, dropPrivileges, readInterfaceCounters } from './host';
import { PcapLiveConfigSchema, type PcapLiveConfig } from './config';

export { PcapLiveConnector, PcapLiveConfigSchema, type PcapLiveConfig, loadCapAddon, openCapDevice, dropPrivileges, anchoredClock, readInterfaceCounters };

export const registration: ConnectorRegistration<PcapLiveConfig> = {
  type: 'pcap-live',
  emitsPackets: true,
  description: 'capture live on a network device (libpcap via the cap addon; drops and counts when Kafka falls behind)',
  configSchema: PcapLiveConfigSchema,
  create: (cfg, kafka) => new PcapLiveConnector(cfg, kafka),
};
