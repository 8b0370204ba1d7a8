/** One captured frame as read from a pcap/pcapng file. */
export interface CaptureRecord {
  /** capture time, ns since the Unix epoch */
  ts_ns: bigint;
  /** LINKTYPE_* of the interface the frame was captured on (FCS bits masked off) */
  linkType: number;
  capLen: number;
  wireLen: number;
  /** the captured bytes; a view into the reader's buffer (not copied) */
  data: Buffer;
  /** pcapng interface id (0 for classic pcap) */
  interfaceId: number;
  /** pcapng if_name option, null when absent or for classic pcap */
  interfaceName: string | null;
  /** byte offset of the record (header) in the (decompressed) file */
  offset: number;
}
