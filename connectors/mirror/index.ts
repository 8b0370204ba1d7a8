/** Connector `mirror`: VXLAN / GENEVE traffic-mirroring UDP stream -> PacketSummary records on Kafka. */
import type { ConnectorRegistration } from '../registry';
import { MirrorConnector, type PacketSink } from './mirror';
import { MirrorConfigSchema, type MirrorConfig } from './config';

export { MirrorConnector, MirrorConfigSchema, type MirrorConfig, type PacketSink };

export const registration: ConnectorRegistration<MirrorConfig> = {
  type: 'mirror',
  emitsPackets: true,
  description: 'receive a VXLAN (4789) or GENEVE (6081) traffic-mirroring stream (AWS VPC Traffic Mirroring, Azure vTAP)',
  configSchema: MirrorConfigSchema,
  create: (cfg, kafka) => new MirrorConnector(cfg, kafka),
};
