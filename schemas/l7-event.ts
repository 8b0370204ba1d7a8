/**
 * TypeScript view of schemas/l7-event.v1.avsc (topic tapline.l7.v1), written by the `parse`
 * stage. Field names and nullability must match the .avsc; pipelines/stages/parse/parse.test.ts
 * round-trips a record and compares the field lists.
 */
import type { Long } from './types';

export const L7_EVENT_SCHEMA = 'l7-event.v1';
export const L7_EVENT_TOPIC = 'tapline.l7.v1';

export type L7Kind =
  | 'DNS_QUERY' | 'DNS_RESPONSE' | 'DNS_UNANSWERED'
  | 'HTTP_REQUEST' | 'HTTP_RESPONSE' | 'HTTP_UNANSWERED'
  | 'TLS_CLIENT_HELLO' | 'TLS_SERVER_HELLO';

export interface DnsInfo {
  id: number;
  is_response: boolean;
  opcode: number;
  rcode: number;
  tc: boolean;
  qname: string | null;
  qtype: number | null;
  qclass: number | null;
  question_count: number;
  answer_count: number;
  authority_count: number;
  additional_count: number;
}

export interface HttpInfo {
  method: string | null;
  host: string | null;
  path: string | null;
  path_truncated: boolean;
  version: string | null;
  status: number | null;
  content_length: Long | null;
}

export interface TlsInfo {
  handshake_type: number;
  record_version: number;
  legacy_version: number;
  supported_versions: number[];
  version: string;
  sni: string | null;
  alpn: string[];
  cipher_suite: number | null;
}

export interface L7Event {
  ts_ns: Long;
  observation_point: string;
  flow_key: string;
  ip_proto: number;
  src_ip: string;
  src_port: number;
  dst_ip: string;
  dst_port: number;
  tunnel_id: Long | null;
  kind: L7Kind;
  truncated: boolean;
  request_ts_ns: Long | null;
  latency_ns: Long | null;
  retransmission: boolean;
  dns: DnsInfo | null;
  http: HttpInfo | null;
  tls: TlsInfo | null;
}
