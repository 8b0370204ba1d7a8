/**
 * Link layers (Ethernet, Linux cooked v1/v2, BSD null/loop, raw IP) and the EtherType chain
 * (802.1Q / 802.1ad / QinQ tags, MPLS label stacks, LLC/SNAP, ARP) that leads to the IP layer.
 */
import type { PacketSummary } from '../../schemas/types';
import { mac as mac_, ipv4 as ip4str_ } from './addr';
import { bad as bad_, u16 as u16_ } from './state';
import { ipv4, ipv6, rawIp } from './ip';
// Local bindings: the CJS transpiler turns imported names into property getters, which cost
// measurable time per call on the hot path (these modules have no circular dependency).
const mac = mac_;
const ip4str = ip4str_;
const bad = bad_;
const u16 = u16_;

export const LINKTYPE_NULL = 0;
export const LINKTYPE_ETHERNET = 1;
export const LINKTYPE_RAW = 101;
export const LINKTYPE_LOOP = 108;
export const LINKTYPE_LINUX_SLL = 113;
export const LINKTYPE_IPV4 = 228;
export const LINKTYPE_IPV6 = 229;
export const LINKTYPE_LINUX_SLL2 = 276;

export function decodeLink(d: Buffer, linkType: number, s: PacketSummary): void {
  const end = d.length;
  switch (linkType) {
    case LINKTYPE_ETHERNET: ethernet(d, 0, end, s); return;
    case LINKTYPE_LINUX_SLL: sll(d, end, s); return;
    case LINKTYPE_LINUX_SLL2: sll2(d, end, s); return;
    case LINKTYPE_RAW: case 12: case 14: rawIp(d, 0, end, s); return; // 12/14: DLT_RAW values of old BSDs
    case LINKTYPE_IPV4: ipv4(d, 0, end, s); return;
    case LINKTYPE_IPV6: ipv6(d, 0, end, s); return;
    case LINKTYPE_NULL: case LINKTYPE_LOOP: nullLoop(d, end, linkType, s); return;
    default: bad(s, 'unsupported-link-type');
  }
}

/** Ethernet II / 802.3 frame starting at o (also the inner frame of VXLAN, GENEVE, GRE TEB, ERSPAN). */
export function ethernet(d: Buffer, o: number, end: number, s: PacketSummary): void {
  if (end - o < 14) { bad(s, 'truncated-ethernet'); return; }
  s.dst_mac = mac(d, o);
  s.src_mac = mac(d, o + 6);
  etherType(d, o + 14, end, u16(d, o + 12), s);
}

/**
 * Follow the EtherType at o: peel VLAN tags and MPLS labels (recording them), resolve
 * 802.3 length fields through LLC/SNAP, then hand over to ARP or IP.
 */
export function etherType(d: Buffer, o: number, end: number, type: number, s: PacketSummary): void {
  for (;;) {
    if (type === 0x0800) { s.eth_type = type; ipv4(d, o, end, s); return; }
    if (type === 0x86dd) { s.eth_type = type; ipv6(d, o, end, s); return; }
    if (type === 0x8100 || type === 0x88a8 || type === 0x9100) {
      if (end - o < 4) { bad(s, 'truncated-vlan'); return; }
      s.vlan_ids.push(u16(d, o) & 0x0fff);
      type = u16(d, o + 2);
      o += 4;
      continue;
    }
    if (type === 0x8847 || type === 0x8848) { mpls(d, o, end, s); return; }
    if (type === 0x0806 || type === 0x8035) { s.eth_type = type; arp(d, o, end, s); return; } // ARP, RARP
    if (type === 0x8909) {
      // Cisco MetaData (SGT tag): version, length, option, SGT, then the real EtherType.
      if (end - o < 8) { bad(s, 'truncated-cmd'); return; }
      type = u16(d, o + 6);
      o += 8;
      continue;
    }
    if (type <= 1500) {
      // 802.3 length field: only LLC/SNAP with the zero OUI carries an EtherType further on.
      if (end - o < 3) { bad(s, 'truncated-llc'); return; }
      if (d[o] === 0xaa && d[o + 1] === 0xaa && d[o + 2] === 0x03) {
        if (end - o < 8) { bad(s, 'truncated-llc'); return; }
        if (d[o + 3] === 0 && d[o + 4] === 0 && d[o + 5] === 0) { type = u16(d, o + 6); o += 8; continue; }
      }
      return; // STP, CDP, IPX ...: no L3 we summarise
    }
    s.eth_type = type; // other EtherTypes (LLDP, PPPoE, ...) are recorded but not decoded
    return;
  }
}

function mpls(d: Buffer, o: number, end: number, s: PacketSummary): void {
  for (;;) {
    if (end - o < 4) { bad(s, 'truncated-mpls'); return; }
    s.mpls_labels.push(d[o] * 4096 + (d[o + 1] << 4) + (d[o + 2] >> 4));
    const bottom = d[o + 2] & 1;
    o += 4;
    if (bottom) break;
    if (s.mpls_labels.length > 32) { bad(s, 'bad-mpls-stack'); return; }
  }
  // MPLS carries no payload type: guess from the first nibble, like tshark does.
  if (end - o < 1) { bad(s, 'truncated-mpls'); return; }
  const nib = d[o] >> 4;
  if (nib === 4) { s.eth_type = 0x0800; ipv4(d, o, end, s); }
  else if (nib === 6) { s.eth_type = 0x86dd; ipv6(d, o, end, s); }
  else if (nib === 0) {
    // Pseudowire control word (4 bytes, first nibble 0) followed by an Ethernet frame.
    if (end - o < 4 + 14) { bad(s, 'truncated-mpls'); return; }
    ethernet(d, o + 4, end, s);
  }
}

function arp(d: Buffer, o: number, end: number, s: PacketSummary): void {
  if (end - o < 8) { bad(s, 'truncated-arp'); return; }
  const ptype = u16(d, o + 2);
  const hlen = d[o + 4];
  const plen = d[o + 5];
  s.arp_op = u16(d, o + 6);
  if (end - o < 8 + 2 * hlen + 2 * plen) { bad(s, 'truncated-arp'); return; }
  if (ptype === 0x0800 && plen === 4) {
    s.arp_sender_ip = ip4str(d, o + 8 + hlen);
    s.arp_target_ip = ip4str(d, o + 8 + 2 * hlen + 4);
  }
}

/** Linux cooked capture v1: 16-byte header, link-layer address of the sender, protocol last. */
function sll(d: Buffer, end: number, s: PacketSummary): void {
  if (end < 16) { bad(s, 'truncated-sll'); return; }
  // A 6-byte link-layer address is a MAC (Ethernet, or all-zero on loopback), as tshark shows it.
  if (u16(d, 4) === 6) s.src_mac = mac(d, 6);
  cookedProto(d, 16, end, u16(d, 14), s);
}

/** Linux cooked capture v2: 20-byte header, protocol first. */
function sll2(d: Buffer, end: number, s: PacketSummary): void {
  if (end < 20) { bad(s, 'truncated-sll2'); return; }
  if (d[11] === 6) s.src_mac = mac(d, 12);
  cookedProto(d, 20, end, u16(d, 0), s);
}

function cookedProto(d: Buffer, o: number, end: number, proto: number, s: PacketSummary): void {
  // Protocol values below 1536 are Linux pseudo-types (802.2 LLC, Novell 802.3, CAN ...).
  if (proto === 0x0004) { etherType(d, o, end, 0, s); return; }
  if (proto < 1536) return;
  etherType(d, o, end, proto, s);
}

/**
 * BSD loopback: 4-byte address family, host byte order of the capturing machine for NULL (0),
 * network byte order for LOOP (108). AF_INET is 2 everywhere; AF_INET6 differs per OS.
 */
function nullLoop(d: Buffer, end: number, linkType: number, s: PacketSummary): void {
  if (end < 4) { bad(s, 'truncated-null'); return; }
  let af = linkType === LINKTYPE_LOOP ? d.readUInt32BE(0) : d.readUInt32LE(0);
  if (af > 0xffff) af = d.readUInt32BE(0); // NULL written on a big-endian host
  if (af === 2) { s.eth_type = 0x0800; ipv4(d, 4, end, s); }
  else if (af === 10 || af === 24 || af === 28 || af === 30) { s.eth_type = 0x86dd; ipv6(d, 4, end, s); }
}
