#!/usr/bin/env python3
"""DNS query bursts for the lab scenario (standard library only).

  dnsburst.py <server> <count> <rate_per_s> <mode> <seed>

mode:
  nx      random short names under .lab that the lab's responder (dnstool.py) does not know:
          every answer is NXDOMAIN (a mistyped name, or a bot probing generated domains)
  tunnel  long high-entropy names (three base32 labels of 40-56 characters under t.lab, about
          150-180 characters in all): what DNS tunnelling tools put in their queries
  mixed   background lookups: known lab names, one in ten mistyped (NXDOMAIN)

One UDP socket for the whole burst, query ids 1..count, sent at `rate_per_s`. Prints one JSON
line: sent, answered, nxdomain, a sample of the names, the local port.
"""
import json
import random
import socket
import struct
import sys
import time

KNOWN = ['vm1.lab', 'vm2.lab', 'vm3.lab', 'vm4.lab', 'router.lab']
B32 = 'abcdefghijklmnopqrstuvwxyz234567'


def qname(name):
    return b''.join(bytes([len(p)]) + p.encode() for p in name.split('.')) + b'\0'


def name_for(mode, rnd):
    if mode == 'nx':
        return ''.join(rnd.choice('abcdefghijklmnopqrstuvwxyz0123456789') for _ in range(rnd.randint(6, 14))) + '.lab'
    if mode == 'tunnel':
        labels = [''.join(rnd.choice(B32) for _ in range(rnd.randint(40, 56))) for _ in range(3)]
        return '.'.join(labels) + '.t.lab'
    if rnd.random() < 0.1:  # mixed: a typo now and then
        n = rnd.choice(KNOWN)
        return n[:2] + n[3:]
    return rnd.choice(KNOWN)


def main():
    if len(sys.argv) != 6:
        sys.exit(__doc__)
    server, count, rate, mode, seed = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), sys.argv[4], int(sys.argv[5])
    if mode not in ('nx', 'tunnel', 'mixed') or count < 1 or rate <= 0:
        sys.exit(__doc__)
    rnd = random.Random(seed)
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sent = answered = nx = 0
    sample = []
    t0 = time.time()
    for qid in range(1, count + 1):
        due = t0 + (qid - 1) / rate
        while time.time() < due:
            s.settimeout(max(0.001, due - time.time()))
            try:
                data, _ = s.recvfrom(512)
                answered += 1
                nx += (data[3] & 0x0f) == 3
            except socket.timeout:
                pass
        name = name_for(mode, rnd)
        if len(sample) < 5:
            sample.append(name)
        s.sendto(struct.pack('!HHHHHH', qid, 0x0100, 1, 0, 0, 0) + qname(name) + struct.pack('!HH', 1, 1), (server, 53))
        sent += 1
    end = time.time() + 1.0
    s.settimeout(0.1)
    while answered < sent and time.time() < end:
        try:
            data, _ = s.recvfrom(512)
            answered += 1
            nx += (data[3] & 0x0f) == 3
        except socket.timeout:
            pass
    print(json.dumps({'sent': sent, 'answered': answered, 'nxdomain': nx, 'local_port': s.getsockname()[1], 'sample': sample}))


if __name__ == '__main__':
    main()
