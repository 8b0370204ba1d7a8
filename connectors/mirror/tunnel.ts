/**
 * The tunnel header at the start of a mirror datagram's UDP payload (the outer IP/UDP headers
 * were consumed by the kernel). VXLAN (RFC 7348): flags(8, I=0x08) reserved(24) VNI(24)
 * reserved(8). GENEVE (RFC 8926): ver(2) optlen(6, 4-byte words) O C rsvd(6) protocol(16)
 * VNI(24) rsvd(8), then the options, which are skipped whole.
 */
import { LINKTYPE_ETHERNET, LINKTYPE_IPV4, LINKTYPE_IPV6 } from '../../lib/decode/link';

export type Encapsulation = 'vxlan' | 'geneve';

export interface TunnelHeader {
  vni: number;
  /** offset of the inner frame */
  offset: number;
  /** LINKTYPE_* of the inner frame */
  linkType: number;
}

/** Why a datagram was rejected; each is a `malformed` counter label. */
export type TunnelError = 'truncated-vxlan' | 'vxlan-no-vni-flag' | 'truncated-geneve' | 'bad-geneve-version' | 'geneve-unsupported-protocol' | 'empty-inner-frame';

export function parseTunnel(d: Buffer, enc: Encapsulation): TunnelHeader | TunnelError {
  if (enc === 'vxlan') {
    if (d.length < 8) return 'truncated-vxlan';
    if ((d[0] & 0x08) === 0) return 'vxlan-no-vni-flag';
    if (d.length === 8) return 'empty-inner-frame';
    return { vni: (d[4] << 16) | (d[5] << 8) | d[6], offset: 8, linkType: LINKTYPE_ETHERNET };
  }
  if (d.length < 8) return 'truncated-geneve';
  if (d[0] >> 6 !== 0) return 'bad-geneve-version';
  const offset = 8 + ((d[0] & 0x3f) << 2);
  if (offset > d.length) return 'truncated-geneve';
  if (offset === d.length) return 'empty-inner-frame';
  const proto = d.readUInt16BE(2);
  const linkType = proto === 0x6558 ? LINKTYPE_ETHERNET : proto === 0x0800 ? LINKTYPE_IPV4 : proto === 0x86dd ? LINKTYPE_IPV6 : -1;
  if (linkType < 0) return 'geneve-unsupported-protocol';
  return { vni: (d[4] << 16) | (d[5] << 8) | d[6], offset, linkType };
}
