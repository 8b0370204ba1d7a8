-- Application-layer events (DNS, HTTP/1.x, TLS hellos) from the parse stage, dns/http/tls
-- flattened. event_id (not an Avro field) makes the key unique: see tables/l7-events.ts.
CREATE TABLE IF NOT EXISTS l7_events (
  "ts" timestamptz NOT NULL,
  "observation_point" text NOT NULL,
  "flow_key" text NOT NULL,
  "ip_proto" integer NOT NULL,
  "src_ip" inet NOT NULL,
  "src_port" integer NOT NULL,
  "dst_ip" inet NOT NULL,
  "dst_port" integer NOT NULL,
  "tunnel_id" bigint,
  "kind" text NOT NULL,
  "truncated" boolean NOT NULL,
  "request_ts" timestamptz,
  "latency_ns" bigint,
  "retransmission" boolean NOT NULL,
  "dns_id" integer,
  "dns_is_response" boolean,
  "dns_opcode" integer,
  "dns_rcode" integer,
  "dns_tc" boolean,
  "dns_qname" text,
  "dns_qtype" integer,
  "dns_qclass" integer,
  "dns_question_count" integer,
  "dns_answer_count" integer,
  "dns_authority_count" integer,
  "dns_additional_count" integer,
  "http_method" text,
  "http_host" text,
  "http_path" text,
  "http_path_truncated" boolean,
  "http_version" text,
  "http_status" integer,
  "http_content_length" bigint,
  "tls_handshake_type" integer,
  "tls_record_version" integer,
  "tls_legacy_version" integer,
  "tls_supported_versions" integer[],
  "tls_version" text,
  "tls_sni" text,
  "tls_alpn" text[],
  "tls_cipher_suite" integer,
  "event_id" text NOT NULL,
  PRIMARY KEY (flow_key, observation_point, ts, kind, event_id)
);
SELECT create_hypertable('l7_events', by_range('ts', INTERVAL '1 day'), if_not_exists => TRUE);
COMMENT ON COLUMN l7_events."ts" IS 'event time: capture time of the message''s first packet; for *_UNANSWERED the time the request was given up: request time + timeout, or (DNS) the time a new query reused its id';
COMMENT ON COLUMN l7_events."flow_key" IS 'direction-independent flow key (lib/flow-key.ts), also the Kafka key';
COMMENT ON COLUMN l7_events."ip_proto" IS '6 TCP, 17 UDP';
COMMENT ON COLUMN l7_events."src_ip" IS 'sender of this message (for *_UNANSWERED: of the request)';
COMMENT ON COLUMN l7_events."truncated" IS 'the message continues beyond the payload prefix (or the packet): fields after the cut are null/partial';
COMMENT ON COLUMN l7_events."request_ts" IS 'responses and *_UNANSWERED: capture time of the matched request';
COMMENT ON COLUMN l7_events."latency_ns" IS 'responses: ts_ns - request_ts_ns (DNS by (flow, id); HTTP first-in first-out per connection; TLS ClientHello -> ServerHello)';
COMMENT ON COLUMN l7_events."retransmission" IS 'DNS: same (flow, id) query repeated within the retransmission window while unanswered, or a second response (Wireshark''s dns.retransmission)';
COMMENT ON COLUMN l7_events."dns_rcode" IS 'header RCODE (4 bits); 0 in queries';
COMMENT ON COLUMN l7_events."dns_tc" IS 'the TC (truncated by the server) header flag';
COMMENT ON COLUMN l7_events."dns_qname" IS 'first question''s name, dot-separated without the final dot; "<Root>" for the root';
COMMENT ON COLUMN l7_events."dns_qclass" IS 'without the mDNS unicast-response bit';
COMMENT ON COLUMN l7_events."http_method" IS 'requests; responses and HTTP_UNANSWERED: of the matched request';
COMMENT ON COLUMN l7_events."http_host" IS 'Host header (requests; responses: of the matched request)';
COMMENT ON COLUMN l7_events."http_path" IS 'request-target as sent, cut to the stage''s maxPathLen characters';
COMMENT ON COLUMN l7_events."http_version" IS 'HTTP/1.0 or HTTP/1.1 of this message';
COMMENT ON COLUMN l7_events."http_status" IS 'responses: status code';
COMMENT ON COLUMN l7_events."tls_handshake_type" IS '1 ClientHello, 2 ServerHello';
COMMENT ON COLUMN l7_events."tls_legacy_version" IS 'the hello''s version field (0x0303 for TLS 1.3)';
COMMENT ON COLUMN l7_events."tls_supported_versions" IS 'supported_versions extension as sent, GREASE included; ServerHello: the selected one';
COMMENT ON COLUMN l7_events."tls_version" IS 'ClientHello: highest non-GREASE version offered; ServerHello: negotiated version; e.g. "TLS 1.3"';
COMMENT ON COLUMN l7_events."tls_alpn" IS 'ClientHello: offered protocols; ServerHello: the selected one';
COMMENT ON COLUMN l7_events."tls_cipher_suite" IS 'ServerHello: selected cipher suite';
CREATE INDEX IF NOT EXISTS l7_events_kind ON l7_events (kind, ts DESC);
CREATE INDEX IF NOT EXISTS l7_events_qname ON l7_events (dns_qname, ts DESC) WHERE dns_qname IS NOT NULL;
COMMENT ON TABLE l7_events IS 'tapline: one application-layer message (DNS query/response, HTTP request/response, TLS Client/ServerHello) per row; responses carry request_ts and latency_ns; *_UNANSWERED rows are requests given up after the stage timeout. dns_*, http_*, tls_* are null for other kinds. Topic tapline.l7.v1';
COMMENT ON COLUMN l7_events.event_id IS 'sink-made: sha1 prefix of the Avro record + '':'' + ordinal among byte-identical consecutive records; unique within (flow_key, observation_point, ts, kind), stable across replays';
COMMENT ON COLUMN l7_events.kind IS 'DNS_QUERY, DNS_RESPONSE, DNS_UNANSWERED, HTTP_REQUEST, HTTP_RESPONSE, HTTP_UNANSWERED, TLS_CLIENT_HELLO, TLS_SERVER_HELLO';
