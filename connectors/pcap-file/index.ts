/** Connector `pcap-file`: pcap/pcapng(.gz) file -> PacketSummary records on Kafka. */
export { PcapFileConnector } from './pcap-file';
export { PcapFileConfigSchema, type PcapFileConfig } from './config';
