/**
 * Prints, per corpus capture, connection and direction, the metrics stage's data->ACK RTT and
 * retransmissions next to tcptrace's:
 *   npx tsx pipelines/stages/metrics/compare.ts [capture ...]
 */
import { capturePackets, compareWithTcptrace, compareWithTshark, perFlow, runMetrics } from './reference';

export const DEFAULT_CAPTURES = ['zeek_http-bro.org.pcap', 'zeek_tcp-retransmit-fast009.pcap', 'ndpi_heuristic_tcp_ack_payload.pcap',
  'zeek_http-206_example_b.pcap', 'zeek_tls-tls12-decryption.pcap'];

async function main(): Promise<void> {
  const files = process.argv.slice(2).length ? process.argv.slice(2) : DEFAULT_CAPTURES;
  console.log(['file', 'connection', 'dir', 'tt_n', 'ours_n', 'tt_avg_ms', 'ours_ms', 'diff_ms', 'ok', 'tt_rexmt', 'ours_rexmt'].join('\t'));
  const all = [];
  for (const f of files) {
    const flows = perFlow(runMetrics(await capturePackets(f)));
    all.push({ f, flows });
    for (const r of compareWithTcptrace(f, flows)) {
      console.log([r.file, r.conn, r.dir, r.tcptraceSamples, r.oursSamples, r.tcptraceAvgMs.toFixed(1), r.oursMeanMs.toFixed(3), r.diffMs.toFixed(3),
        r.tcptraceSamples >= 3 ? (r.ok ? 'ok' : 'DIFF') : '-', r.tcptraceRexmt, r.oursRexmt].join('\t'));
    }
  }
  console.log('');
  console.log(['file', 'flow', 'dir', 'tshark_below_next', 'ours_sum', 'tshark_rexmit', 'tshark_ooo', 'ours_rexmit', 'ours_lost_before', 'ours_ooo', 'ours_zw_probes', 'tshark_gaps', 'ours_acked_unseen'].join('\t'));
  for (const { f, flows } of all) {
    for (const r of compareWithTshark(f, flows)) {
      if (r.tsharkBelowNext + r.oursRetrans + r.oursLostBefore + r.oursOoo + r.oursZwProbes + r.tsharkGaps + r.oursAckedUnseen === 0) continue;
      console.log([r.file, r.flow, r.dir, r.tsharkBelowNext, r.oursRetrans + r.oursLostBefore + r.oursOoo, r.tsharkRetrans, r.tsharkOoo,
        r.oursRetrans, r.oursLostBefore, r.oursOoo, r.oursZwProbes, r.tsharkGaps, r.oursAckedUnseen].join('\t'));
    }
  }
}

if (require.main === module) main().catch((e) => { console.error(e); process.exit(1); });
