/** Connector `probe`: active TCP-connect / UDP-echo measurement between VMs -> ProbeResult records on Kafka. */
import type { ConnectorRegistration } from '../registry';
import { ProbeConnector } from './probe';
import { ProbeConfigSchema, parseTarget, type ProbeConfig } from './config';
import { ProbeResponder, type ResponderOptions } from './responder';
import { Prober, rttStats } from './prober';

export { ProbeConnector, ProbeConfigSchema, ProbeResponder, Prober, parseTarget, rttStats, type ProbeConfig, type ResponderOptions };

export const registration: ConnectorRegistration<ProbeConfig> = {
  type: 'probe',
  description: 'active measurement to tapline probe-responders: TCP connect time, UDP echo RTT and loss per interval',
  configSchema: ProbeConfigSchema,
  create: (cfg, kafka) => new ProbeConnector(cfg, kafka),
};
