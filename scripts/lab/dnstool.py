#!/usr/bin/env python3
"""Tiny DNS responder and client for the tapline lab (standard library only).

  dnstool.py serve [port]             answers A queries for the lab's names (vmN.lab, router.lab),
                                      NXDOMAIN for anything else; runs until killed
  dnstool.py query <server> <name> [count]
                                      sends `count` A queries (ids 1..count), prints one line per
                                      answer; exit 1 when one gets no answer within 2 s
"""
import socket
import struct
import sys

ZONE = {
    'vm1.lab': '10.77.1.11', 'vm2.lab': '10.77.1.12', 'vm3.lab': '10.77.2.13', 'vm4.lab': '10.77.2.14',
    'router.lab': '10.77.1.1',
}


def qname(name):
    return b''.join(bytes([len(p)]) + p.encode() for p in name.rstrip('.').split('.')) + b'\0'


def parse_qname(buf, off):
    labels = []
    while buf[off] != 0:
        n = buf[off]
        labels.append(buf[off + 1:off + 1 + n].decode(errors='replace'))
        off += 1 + n
    return '.'.join(labels), off + 1


def serve(port):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(('0.0.0.0', port))
    while True:
        data, peer = s.recvfrom(512)
        if len(data) < 12:
            continue
        qid, _flags, qd = struct.unpack('!HHH', data[:6])
        if qd != 1:
            continue
        try:
            name, end = parse_qname(data, 12)
        except IndexError:
            continue
        qtype, _qclass = struct.unpack('!HH', data[end:end + 4])
        question = data[12:end + 4]
        ip = ZONE.get(name.lower())
        if ip is not None and qtype == 1:
            answer = b'\xc0\x0c' + struct.pack('!HHIH', 1, 1, 60, 4) + socket.inet_aton(ip)
            hdr = struct.pack('!HHHHHH', qid, 0x8580, 1, 1, 0, 0)
        else:
            answer = b''
            hdr = struct.pack('!HHHHHH', qid, 0x8583 if ip is None else 0x8580, 1, 0, 0, 0)
        s.sendto(hdr + question + answer, peer)


def query(server, name, count):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(2.0)
    ok = True
    for qid in range(1, count + 1):
        s.sendto(struct.pack('!HHHHHH', qid, 0x0100, 1, 0, 0, 0) + qname(name) + struct.pack('!HH', 1, 1), (server, 53))
        try:
            data, _ = s.recvfrom(512)
        except socket.timeout:
            print(f'dns {name} id={qid}: no answer')
            ok = False
            continue
        rcode = data[3] & 0x0f
        ancount = struct.unpack('!H', data[6:8])[0]
        addr = socket.inet_ntoa(data[-4:]) if ancount else '-'
        print(f'dns {name} id={qid} local_port={s.getsockname()[1]} rcode={rcode} answer={addr}')
    return ok


if __name__ == '__main__':
    if len(sys.argv) >= 2 and sys.argv[1] == 'serve':
        serve(int(sys.argv[2]) if len(sys.argv) > 2 else 53)
    elif len(sys.argv) >= 4 and sys.argv[1] == 'query':
        sys.exit(0 if query(sys.argv[2], sys.argv[3], int(sys.argv[4]) if len(sys.argv) > 4 else 1) else 1)
    else:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
