/**
 * Field-for-field comparison of lib/decode against tshark on every capture in ../shared/pcaps
 * (read in place, never copied). tshark prints every occurrence of a field (outer headers first,
 * the header quoted inside an ICMP error last); the checks below pick the occurrence that our
 * summary describes: the innermost ("main") one, the quoted one, or the outermost tunnel one.
 * Packets tshark itself flags as malformed (_ws.malformed) are skipped and counted.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { readCapture, readCaptureBatches, type CaptureRecord } from '../lib/pcap';
import { decodeFrame } from '../lib/decode';
import type { PacketSummary } from '../schemas/types';
import { writeSyntheticCaptures } from '../lib/pcap/synthetic';

const CORPUS = path.resolve(__dirname, '../../shared/pcaps');

const FIELDS = [
  'frame.time_epoch', 'frame.interface_id', 'frame.len', 'frame.cap_len', '_ws.malformed',
  'eth.src', 'eth.dst', 'sll.src.eth', 'ieee8021ad.id', 'vlan.id', 'mpls.label',
  'ip.src', 'ip.dst', 'ip.proto', 'ip.ttl', 'ip.len', 'ip.id', 'ip.dsfield', 'ip.hdr_len', 'ip.frag_offset', 'ip.flags.mf',
  'ipv6.src', 'ipv6.dst', 'ipv6.nxt', 'ipv6.hlim', 'ipv6.plen', 'ipv6.tclass',
  'ipv6.hopopts.nxt', 'ipv6.routing.nxt', 'ipv6.fraghdr.nxt', 'ipv6.dstopts.nxt', 'ah.next_header',
  'ipv6.fraghdr.offset', 'ipv6.fraghdr.more', 'ipv6.fraghdr.ident',
  'tcp.srcport', 'tcp.dstport', 'tcp.flags', 'tcp.seq_raw', 'tcp.ack_raw', 'tcp.window_size_value', 'tcp.hdr_len', 'tcp.len',
  'tcp.options.mss_val', 'tcp.options.wscale.shift', 'tcp.options.sack_perm', 'tcp.options.sack_le', 'tcp.options.sack_re',
  'tcp.options.timestamp.tsval', 'tcp.options.timestamp.tsecr',
  'udp.srcport', 'udp.dstport', 'udp.length', 'sctp.srcport', 'sctp.dstport',
  'icmp.type', 'icmp.code', 'icmp.ident', 'icmp.seq', 'icmpv6.type', 'icmpv6.code', 'icmpv6.echo.identifier', 'icmpv6.echo.sequence_number',
  'arp.opcode', 'arp.src.proto_ipv4', 'arp.dst.proto_ipv4',
  'vxlan.vni', 'geneve.vni', 'gre.key', 'gre.key.call_id', 'erspan.spanid',
] as const;
type Field = typeof FIELDS[number];
type Row = Record<Field, string[]>;

/** One comparison: [ours, theirs] or null when the check does not apply to this packet. */
type Check = (s: PacketSummary, t: Row) => [string, string] | null;

const num = (v: string | undefined): string => (v === undefined || v === '' ? '' : String(v.startsWith('0x') ? parseInt(v, 16) : Number(v)));
const last = (l: string[]): string => l[l.length - 1] ?? '';
const str = (v: unknown): string => (v === null || v === undefined ? '' : String(v));
const tunneled = (s: PacketSummary) => s.tunnel_type !== null;
const q4 = (s: PacketSummary) => s.icmp_quoted !== null && s.icmp_quoted.src_ip.includes('.');
const q6 = (s: PacketSummary) => s.icmp_quoted !== null && !s.icmp_quoted.src_ip.includes('.');
/** main header: last occurrence, or the one before it when an ICMP error quotes the same protocol */
const main = (l: string[], quoted: boolean) => l[l.length - 1 - (quoted && l.length >= 2 ? 1 : 0)] ?? '';

function ts(ns: bigint | number): string {
  const b = BigInt(ns);
  return `${b / 1_000_000_000n}.${String(b % 1_000_000_000n).padStart(9, '0')}`;
}

/** IPv4 header field: main IPv4 layer when ours is IPv4; tshark must have none otherwise (unless tunneled). */
function ip4(field: Field, ours: (s: PacketSummary) => string, conv: (v: string) => string = (v) => v): Check {
  return (s, t) => {
    if (s.ip_version === 4) return [ours(s), conv(main(t[field], q4(s)))];
    if (tunneled(s) || q4(s)) return null;
    return ['', conv(last(t[field]))];
  };
}
function ip6(field: Field, ours: (s: PacketSummary) => string, conv: (v: string) => string = (v) => v): Check {
  return (s, t) => {
    if (s.ip_version === 6) return [ours(s), conv(main(t[field], q6(s)))];
    if (tunneled(s) || q6(s)) return null;
    return ['', conv(last(t[field]))];
  };
}
/** L4 field of protocol `proto`: last occurrence (the inner one); quoted headers are checked separately. */
function l4(proto: number, field: Field, ours: (s: PacketSummary) => string, conv: (v: string) => string = num): Check {
  return (s, t) => {
    if (s.ip_proto === proto && s.frag_offset === 0) return [ours(s), conv(last(t[field]))];
    if (tunneled(s) || s.icmp_quoted !== null || s.frag_offset !== 0) return null;
    return ['', conv(last(t[field]))];
  };
}

const CHECKS: Record<string, Check> = {
  // pcapng Simple Packet Blocks carry no timestamp: tshark shows none, we emit 0
  'frame.time_epoch': (s, t) => (t['frame.time_epoch'].length === 0 && s.ts_ns === 0n ? null : [ts(s.ts_ns), last(t['frame.time_epoch'])]),
  'frame.len': (s, t) => [str(s.wire_len), last(t['frame.len'])],
  'frame.cap_len': (s, t) => [str(s.cap_len), last(t['frame.cap_len'])],
  'eth.src': (s, t) => {
    if (tunneled(s) && s.src_mac === null) return null; // GRE/GENEVE-IP inner frames have no MACs
    const cooked = (s.link_type === 113 || s.link_type === 276) && !tunneled(s);
    return [str(s.src_mac), last(t[cooked ? 'sll.src.eth' : 'eth.src'])];
  },
  'eth.dst': (s, t) => (tunneled(s) && s.dst_mac === null ? null : [str(s.dst_mac), last(t['eth.dst'])]),
  // VLAN tags / MPLS labels: the inner frame's; tshark lists outer ones first.
  // tshark names an outer 802.1ad (0x88a8) tag ieee8021ad.id, 802.1Q / 0x9100 tags vlan.id.
  'vlan.id': (s, t) => {
    const tags = [...t['ieee8021ad.id'], ...t['vlan.id']].map(num);
    return [s.vlan_ids.join(','), (tunneled(s) ? tags.slice(-s.vlan_ids.length || tags.length) : tags).join(',')];
  },
  'mpls.label': (s, t) => [s.mpls_labels.join(','), (tunneled(s) ? t['mpls.label'].slice(-s.mpls_labels.length || t['mpls.label'].length) : t['mpls.label']).join(',')],
  'ip.src': ip4('ip.src', (s) => str(s.src_ip)),
  'ip.dst': ip4('ip.dst', (s) => str(s.dst_ip)),
  'ip.proto': ip4('ip.proto', (s) => str(s.ip_proto)),
  'ip.ttl': ip4('ip.ttl', (s) => str(s.ip_ttl)),
  'ip.len': ip4('ip.len', (s) => str(s.ip_len)),
  'ip.id': ip4('ip.id', (s) => str(s.ip_id), num),
  'ip.dsfield': ip4('ip.dsfield', (s) => str(s.ip_tos), num),
  'ip.hdr_len': ip4('ip.hdr_len', (s) => str(s.ip_hdr_len)),
  // tshark's field value is in 8-byte units (it only displays bytes)
  'ip.frag_offset': ip4('ip.frag_offset', (s) => str(s.frag_offset / 8)),
  'ip.flags.mf': ip4('ip.flags.mf', (s) => (s.more_fragments ? '1' : '0'), (v) => (v === 'True' ? '1' : v === 'False' ? '0' : v)),
  'ipv6.src': ip6('ipv6.src', (s) => str(s.src_ip)),
  'ipv6.dst': ip6('ipv6.dst', (s) => str(s.dst_ip)),
  'ipv6.hlim': ip6('ipv6.hlim', (s) => str(s.ip_ttl)),
  'ipv6.plen': ip6('ipv6.plen', (s) => str(s.ip_len === null ? null : s.ip_len - 40)),
  'ipv6.tclass': ip6('ipv6.tclass', (s) => str(s.ip_tos), num),
  // Extension header chain: the multiset of all "next header" values equals ours + upper layer.
  'ipv6.ext_chain': (s, t) => {
    if (s.ip_version !== 6 || tunneled(s) || s.icmp_quoted !== null) return null;
    const ext = s.ipv6_ext_headers;
    const chain = ext[ext.length - 1] === 50 ? [...ext] : [...ext, s.ip_proto ?? -1];
    const theirs = ['ipv6.nxt', 'ipv6.hopopts.nxt', 'ipv6.routing.nxt', 'ipv6.fraghdr.nxt', 'ipv6.dstopts.nxt', 'ah.next_header']
      .flatMap((f) => t[f as Field]).map(num);
    return [chain.map(String).sort().join(','), theirs.sort().join(',')];
  },
  'ipv6.fraghdr.offset': ip6('ipv6.fraghdr.offset', (s) => (s.ipv6_ext_headers.includes(44) ? str(s.frag_offset / 8) : '')),
  'ipv6.fraghdr.ident': ip6('ipv6.fraghdr.ident', (s) => (s.ipv6_ext_headers.includes(44) ? str(s.ip_id) : ''), num),
  'tcp.srcport': l4(6, 'tcp.srcport', (s) => str(s.src_port)),
  'tcp.dstport': l4(6, 'tcp.dstport', (s) => str(s.dst_port)),
  'tcp.flags': l4(6, 'tcp.flags', (s) => str(s.tcp_flags), (v) => (v === '' ? '' : String(parseInt(v, 16) & 0x1ff))),
  'tcp.seq_raw': l4(6, 'tcp.seq_raw', (s) => str(s.tcp_seq)),
  'tcp.ack_raw': l4(6, 'tcp.ack_raw', (s) => str(s.tcp_ack)),
  'tcp.window_size_value': l4(6, 'tcp.window_size_value', (s) => str(s.tcp_window)),
  'tcp.hdr_len': l4(6, 'tcp.hdr_len', (s) => str(s.tcp_hdr_len)),
  'tcp.len': l4(6, 'tcp.len', (s) => (s.tcp_hdr_len === null || s.malformed === 'bad-tcp-offset' ? '' : str(s.l4_payload_len))),
  'tcp.options.mss_val': l4(6, 'tcp.options.mss_val', (s) => str(s.tcp_mss)),
  'tcp.options.wscale.shift': l4(6, 'tcp.options.wscale.shift', (s) => str(s.tcp_wscale)),
  'tcp.options.sack_perm': l4(6, 'tcp.options.sack_perm', (s) => (s.tcp_sack_permitted ? 'y' : ''), (v) => (v ? 'y' : '')),
  'tcp.options.sack': (s, t) => (s.ip_proto !== 6 ? null : [
    s.tcp_sack_blocks.map(String).join(','),
    t['tcp.options.sack_le'].flatMap((le, i) => [num(le), num(t['tcp.options.sack_re'][i])]).join(','),
  ]),
  'tcp.options.timestamp.tsval': l4(6, 'tcp.options.timestamp.tsval', (s) => str(s.tcp_ts_val)),
  'tcp.options.timestamp.tsecr': l4(6, 'tcp.options.timestamp.tsecr', (s) => str(s.tcp_ts_ecr)),
  'udp.srcport': l4(17, 'udp.srcport', (s) => str(s.src_port)),
  'udp.dstport': l4(17, 'udp.dstport', (s) => str(s.dst_port)),
  'udp.length': (s, t) => {
    // with a bogus UDP length we count the IP payload instead of echoing the field; cut headers have none
    if (s.malformed === 'bad-udp-len') return null;
    return l4(17, 'udp.length', (x) => (x.malformed === 'truncated-udp' ? '' : str(x.l4_payload_len + 8)))(s, t);
  },
  'sctp.srcport': l4(132, 'sctp.srcport', (s) => str(s.src_port)),
  'sctp.dstport': l4(132, 'sctp.dstport', (s) => str(s.dst_port)),
  'icmp.type': l4(1, 'icmp.type', (s) => str(s.icmp_type)),
  'icmp.code': l4(1, 'icmp.code', (s) => str(s.icmp_code)),
  'icmp.ident': l4(1, 'icmp.ident', (s) => str(s.icmp_id)),
  'icmp.seq': l4(1, 'icmp.seq', (s) => str(s.icmp_seq)),
  'icmpv6.type': l4(58, 'icmpv6.type', (s) => str(s.icmp_type)),
  'icmpv6.code': l4(58, 'icmpv6.code', (s) => str(s.icmp_code)),
  'icmpv6.echo.identifier': l4(58, 'icmpv6.echo.identifier', (s) => str(s.icmp_id)),
  'icmpv6.echo.sequence_number': l4(58, 'icmpv6.echo.sequence_number', (s) => str(s.icmp_seq)),
  // The header quoted in an ICMP error is tshark's last IP (and TCP/UDP) occurrence.
  'icmp_quoted': (s, t) => {
    const q = s.icmp_quoted;
    if (q === null) return null;
    const v4 = q.src_ip.includes('.');
    const src = last(t[v4 ? 'ip.src' : 'ipv6.src']);
    const dst = last(t[v4 ? 'ip.dst' : 'ipv6.dst']);
    const pf = q.ip_proto === 6 ? 'tcp' : q.ip_proto === 17 ? 'udp' : q.ip_proto === 132 ? 'sctp' : null;
    const ports = pf && q.src_port !== null ? `${num(last(t[`${pf}.srcport` as Field]))}>${num(last(t[`${pf}.dstport` as Field]))}` : '';
    return [`${q.src_ip}>${q.dst_ip} ${q.src_port !== null ? `${q.src_port}>${q.dst_port}` : ''}`, `${src}>${dst} ${ports}`];
  },
  'arp.opcode': (s, t) => [str(s.arp_op), last(t['arp.opcode'])],
  'arp.src.proto_ipv4': (s, t) => [str(s.arp_sender_ip), last(t['arp.src.proto_ipv4'])],
  'arp.dst.proto_ipv4': (s, t) => [str(s.arp_target_ip), last(t['arp.dst.proto_ipv4'])],
  // Tunnel fields describe the OUTERMOST tunnel: first occurrence.
  'outer_ip': (s, t) => {
    if (!tunneled(s)) return null;
    const v4 = (s.outer_src_ip ?? '').includes('.');
    const f = v4 ? 'ip' : 'ipv6';
    return [`${s.outer_src_ip}>${s.outer_dst_ip}`, `${t[`${f}.src` as Field][0]}>${t[`${f}.dst` as Field][0]}`];
  },
  'tunnel_id': (s, t) => {
    switch (s.tunnel_type) {
      case null: return null;
      case 'VXLAN': return [str(s.tunnel_id), t['vxlan.vni'][0] ?? ''];
      case 'GENEVE': return [str(s.tunnel_id), num(t['geneve.vni'][0])];
      case 'GRE': return [str(s.tunnel_id), num(t['gre.key.call_id'][0] ?? t['gre.key'][0])];
      case 'ERSPAN_I': return [str(s.tunnel_id), ''];
      default: return [str(s.tunnel_id), t['erspan.spanid'][0] ?? ''];
    }
  },
};

/**
 * Checks excluded for a documented reason (predicate on our summary + check-name pattern). Keep it short and
 * explain each entry in docs/decoder.md as well.
 */
const EXCLUSIONS: { reason: string; when: (s: PacketSummary) => boolean; checks: RegExp }[] = [
  {
    reason: 'IPv4 header length < 20: tshark stops before adding any IP field; we keep the intact fixed-header '
      + 'fields (addresses, proto) and flag the frame bad-ipv4-hdr-len',
    when: (s) => s.malformed === 'bad-ipv4-hdr-len',
    checks: /^(ip\.|udp\.|tcp\.)/,
  },
  {
    reason: 'IP-in-IP (protocol 4 / 41): tshark dissects the inner IP header; the schema has no TunnelType for '
      + 'IP-in-IP, so the record describes the outer packet (ip_proto 4/41) -- reported to the lead',
    when: (s) => s.ip_proto === 4 || s.ip_proto === 41,
    checks: /^(ip\.|ipv6\.|tcp\.|udp\.|sctp\.|icmp)/,
  },
  {
    reason: 'first fragment (MF set): tshark computes no TCP segment length without reassembly and reports the UDP '
      + 'header\'s length (the whole datagram); our l4_payload_len is the L4 payload carried by this fragment '
      + '(IP payload - L4 header)',
    when: (s) => s.more_fragments,
    checks: /^(tcp\.len|udp\.length)$/,
  },
];

function tshark(file: string): Row[] {
  // ip.defragment off: a first fragment is then dissected on its own (ports, flags), which is
  // what a per-packet summary describes. sFlow disabled: tshark would dissect the sampled packet
  // headers inside sFlow datagrams as if they were the frame's own layers; decoding sFlow is
  // the sFlow connector's job, the decoder summarises the datagram itself.
  const args = ['-n', '-r', file, '-o', 'tcp.relative_sequence_numbers:FALSE', '-o', 'ip.defragment:FALSE', '-o', 'ipv6.defragment:FALSE',
    '--disable-protocol', 'sflow', '-T', 'fields', '-E', 'separator=\t', '-E', 'occurrence=a', '-E', 'aggregator=,'];
  for (const f of FIELDS) args.push('-e', f);
  const r = spawnSync('tshark', args, { encoding: 'utf8', maxBuffer: 1 << 30 });
  // tshark exits non-zero on cut-off files after printing the good packets; keep those.
  const rows = r.stdout.split('\n').filter((l) => l.length > 0).map((line) => {
    const cols = line.split('\t');
    const row = {} as Row;
    FIELDS.forEach((f, i) => { row[f] = cols[i] ? cols[i].split(',') : []; });
    return row;
  });
  // tshark 4.0 lists unknown pcapng blocks as frames without an interface; readers skip them.
  return /\.pcapng$/.test(file) ? rows.filter((row) => row['frame.interface_id'].length > 0) : rows;
}

async function ours(file: string): Promise<{ recs: CaptureRecord[]; sums: PacketSummary[]; error: string | null }> {
  const recs: CaptureRecord[] = [];
  const sums: PacketSummary[] = [];
  let error: string | null = null;
  try {
    for await (const r of readCapture(file)) {
      recs.push(r);
      sums.push(decodeFrame(r, { observationPoint: 'test' }));
    }
  } catch (e) {
    error = (e as { code?: string }).code ?? String(e);
  }
  return { recs, sums, error };
}

const haveTshark = spawnSync('tshark', ['--version'], { encoding: 'utf8' }).status === 0;

describe('decoder field-for-field vs tshark @corpus', function () {
  this.timeout(600_000);
  // corpus files by name, plus synthetic captures (absolute paths) for what the corpus lacks
  const files = [
    ...(fs.existsSync(CORPUS) ? fs.readdirSync(CORPUS).filter((f) => /\.(pcap|pcapng|cap)$/.test(f)).sort() : []),
    ...(haveTshark ? writeSyntheticCaptures() : []),
  ];
  const table: { file: string; pkts: number; skipped: number; excluded: number; compared: number; bad: number; worst: string }[] = [];

  before(function () {
    if (!haveTshark || files.length === 0) throw new Error('needs tshark and ../shared/pcaps (bash .ci/run installs tshark)');
  });

  for (let file of files) {
    it(path.basename(file), async () => {
      const full = path.isAbsolute(file) ? file : path.join(CORPUS, file);
      file = path.basename(file);
      const rows = tshark(full);
      const { sums } = await ours(full);
      assert.equal(sums.length, rows.length, `${file}: we read ${sums.length} packets, tshark ${rows.length}`);
      let skipped = 0, compared = 0, bad = 0, excluded = 0;
      const mine: string[] = [];
      const perCheck = new Map<string, number>();
      sums.forEach((s, i) => {
        const t = rows[i];
        if (t['_ws.malformed'].length > 0) { skipped++; return; }
        for (const [name, check] of Object.entries(CHECKS)) {
          if (EXCLUSIONS.some((x) => x.checks.test(name) && x.when(s))) { excluded++; continue; }
          const r = check(s, t);
          if (r === null) continue;
          compared++;
          if (r[0] !== r[1]) {
            bad++;
            perCheck.set(name, (perCheck.get(name) ?? 0) + 1);
            if (mine.length < 30) mine.push(`${file} #${i + 1} ${name}: ours=${JSON.stringify(r[0])} tshark=${JSON.stringify(r[1])}`);
          }
        }
      });
      const worst = [...perCheck.entries()].sort((a, b) => b[1] - a[1]).slice(0, 3).map(([k, v]) => `${k}:${v}`).join(' ');
      table.push({ file, pkts: sums.length, skipped, excluded, compared, bad, worst });
      assert.equal(bad, 0, `${file}: ${bad} mismatching fields\n${mine.join('\n')}`);
    });
  }

  after(() => {
    if (table.length === 0) return;
    const lines = table.map((r) => `${r.file.padEnd(62)} ${String(r.pkts).padStart(6)} ${String(r.skipped).padStart(5)} ${String(r.excluded).padStart(5)} ${String(r.compared).padStart(8)} ${(r.compared ? (100 * (r.compared - r.bad) / r.compared).toFixed(2) : '100.00').padStart(7)}%  ${r.worst}`);
    console.log(`\n${'file'.padEnd(62)} ${'pkts'.padStart(6)} ${'skip'.padStart(5)} ${'excl'.padStart(5)} ${'fields'.padStart(8)} ${'match'.padStart(8)}`);
    console.log(lines.join('\n'));
  });
});

/**
 * The corpus's broken files (MANIFEST categories malformed / truncated_file): reading them must
 * never let anything but a TaplineError escape; corrupt files yield every good record first and
 * then fail with PCAP_CORRUPT naming the byte offset.
 */
describe('capture reader on the malformed / truncated corpus files @corpus', function () {
  this.timeout(120_000);
  const manifest = path.join(CORPUS, 'MANIFEST.tsv');
  const rows = fs.existsSync(manifest)
    ? fs.readFileSync(manifest, 'utf8').trim().split('\n').slice(1).map((l) => l.split('\t'))
      .filter((c) => c[2] === 'malformed' || c[2] === 'truncated_file')
    : [];
  // What each file must do: records before the failure (null = read to the end), error code.
  const expected: Record<string, { records: number; code: string | null }> = {
    'libpcap_pcap-invalid-version-1.pcap': { records: 0, code: 'PCAP_UNSUPPORTED' },
    'libpcap_shb-option-too-long.pcapng': { records: 0, code: 'PCAP_CORRUPT' },
    'suricata-verify_bug-1450-04-tls_DER-incomplete-header.pcap': { records: 6, code: 'PCAP_CORRUPT' },
    'suricata-verify_http-mime-truncated.pcap': { records: 2696, code: 'PCAP_CORRUPT' },
  };

  for (const c of rows) {
    const file = c[0];
    it(`${file} (${c[2]})`, async () => {
      const { sums, error } = await ours(path.join(CORPUS, file));
      const exp = expected[file];
      if (exp) {
        assert.equal(error, exp.code, `${file}: expected ${exp.code}, got ${error}`);
        assert.equal(sums.length, exp.records);
      } else {
        // packet-level damage only: the file reads to the end, every frame gets a summary
        assert.equal(error, null, `${file}: unexpected reader error ${error}`);
        assert.ok(sums.every((s) => s.malformed !== 'decoder-error'));
      }
    });
  }

  it('corrupt-file errors name the byte offset', async () => {
    for (const [file, exp] of Object.entries(expected)) {
      try {
        for await (const r of readCapture(path.join(CORPUS, file))) void r;
        assert.fail(`${file} did not fail`);
      } catch (e) {
        assert.equal((e as { code?: string }).code, exp.code);
        assert.match((e as Error).message, /offset \d+/);
      }
    }
  });

  it('readCaptureBatches yields the same records and the same errors as readCapture', async () => {
    const files = [...Object.keys(expected), 'zeek_pcapng-multi-interface.pcapng', 'zeek_echo-connections.pcap', 'ndpi_sctp.cap'];
    for (const file of files) {
      const full = path.join(CORPUS, file);
      const a = await ours(full);
      const offsets: number[] = [];
      let error: string | null = null;
      try {
        for await (const batch of readCaptureBatches(full, 1000)) for (const r of batch) offsets.push(r.offset);
      } catch (e) {
        error = (e as { code?: string }).code ?? String(e);
      }
      assert.equal(error, a.error, file);
      assert.deepEqual(offsets, a.recs.map((r) => r.offset), file);
    }
  });
});
