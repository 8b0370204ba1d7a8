/**
 * What makes a DNS query name look like tunnelled data: DNS tunnels (iodine, dnscat2, DNS
 * exfiltration) encode payload in base32/base64/hex labels, which are long and close to
 * uniformly random (Shannon entropy 4-5 bits per character), while names people and software
 * use are short words (www, api, eu-west-1). So: the whole name long, or its longest label
 * both long and high-entropy.
 */
export function shannonBits(s: string): number {
  if (s.length === 0) return 0;
  const counts = new Map<string, number>();
  for (const ch of s.toLowerCase()) counts.set(ch, (counts.get(ch) ?? 0) + 1);
  let h = 0;
  for (const c of counts.values()) { const p = c / s.length; h -= p * Math.log2(p); }
  return h;
}

export interface NameVerdict { suspicious: boolean; length: number; longestLabel: number; entropy: number; why: 'long-name' | 'random-label' | null }

export function judgeName(qname: string, maxNameLength: number, minLabelLength: number, minEntropyBits: number): NameVerdict {
  const name = qname.replace(/\.$/, '');
  const labels = name.split('.');
  const longest = labels.reduce((a, l) => (l.length > a.length ? l : a), '');
  const entropy = shannonBits(longest);
  const why = name.length >= maxNameLength ? 'long-name' : longest.length >= minLabelLength && entropy >= minEntropyBits ? 'random-label' : null;
  return { suspicious: why !== null, length: name.length, longestLabel: longest.length, entropy, why };
}
