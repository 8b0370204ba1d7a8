/** What the capture needs from the host: a clock, interface counters, a privilege drop. */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import { TaplineError, errorMessage } from '../../lib/errors';

const STAGE = 'pcap-live';


/** Wall clock in ns, anchored once and advanced monotonically (see the header comment). */
export function anchoredClock(): () => bigint {
  const wall0 = BigInt(Date.now()) * 1_000_000n;
  const mono0 = process.hrtime.bigint();
  return () => wall0 + (process.hrtime.bigint() - mono0);
}

export interface InterfaceCounters { rxDropped: bigint; packets: bigint }

/** Linux sysfs counters of an interface, or null when unreadable (other OS, interface gone). */
export function readInterfaceCounters(iface: string): InterfaceCounters | null {
  if (!/^[\w.:@-]+$/.test(iface)) return null;
  const dir = `/sys/class/net/${iface}/statistics`;
  try {
    const n = (f: string) => BigInt(fs.readFileSync(`${dir}/${f}`, 'utf8').trim());
    return { rxDropped: n('rx_dropped'), packets: n('rx_packets') + n('tx_packets') };
  } catch {
    return null;
  }
}

export interface DroppedPrivileges { uid: number; gid: number; user: string }

/**
 * As `tcpdump -Z user`: when running as root, switch to `user` with its groups (or `group`).
 * Returns null when not root (nothing to drop). Throws CONFIG_INVALID for an unknown user.
 */
/** process.initgroups exists on POSIX Node but is missing from @types/node 20. */
type PosixProcess = NodeJS.Process & { initgroups?: (user: string | number, extraGroup: string | number) => void };

export function dropPrivileges(user: string, group?: string): DroppedPrivileges | null {
  const proc = process as PosixProcess;
  if (typeof process.getuid !== 'function' || !process.setuid || !process.setgid || !proc.initgroups) {
    throw new TaplineError('PCAP_UNSUPPORTED', STAGE, 'dropping privileges (user:) is not supported on this platform');
  }
  if (process.getuid() !== 0 && process.geteuid?.() !== 0) return null;
  let gid: number;
  try {
    gid = group
      ? Number(execFileSync('getent', ['group', group], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).split(':')[2])
      : Number(execFileSync('id', ['-g', '--', user], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim());
    execFileSync('id', ['-u', '--', user], { stdio: 'ignore' });
  } catch (e) {
    throw new TaplineError('CONFIG_INVALID', STAGE, `cannot drop privileges: unknown ${group ? `group "${group}" or ` : ''}user "${user}"`, { cause: e });
  }
  if (!Number.isInteger(gid)) throw new TaplineError('CONFIG_INVALID', STAGE, `cannot drop privileges: no group id for "${group ?? user}"`);
  try {
    proc.initgroups!(user, gid);
    process.setgid(gid);
    process.setuid(user);
  } catch (e) {
    throw new TaplineError('INTERNAL', STAGE, `dropping privileges to ${user} failed: ${errorMessage(e)}`, { cause: e });
  }
  const uid = process.getuid();
  if (uid === 0) throw new TaplineError('INTERNAL', STAGE, `still root after switching to ${user}`);
  return { uid, gid: process.getgid!(), user };
}
