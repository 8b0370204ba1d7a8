/**
 * Webhook signatures: HMAC-SHA256 over "<timestamp>.<body>", checked by independent computations
 * (node:crypto here, the openssl CLI when installed) and by the Python and Node verification
 * snippets exactly as docs/alerts.md prints them.
 */
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { signatureHeaders, signatureHex, verifySignature } from '../pipelines/alerting/consumers/signing';
import { toPayload } from '../pipelines/alerting/consumers/payload';
import { sampleAlert } from '../pipelines/alerting/consumers/testing';

const SECRET = 'a-webhook-secret-of-32-characters';
const DOC = fs.readFileSync(path.join(__dirname, '..', 'docs', 'alerts.md'), 'utf8');

function docBlock(lang: string): string {
  const m = DOC.match(new RegExp('```' + lang + '\\n([\\s\\S]*?)```'));
  assert.ok(m, `docs/alerts.md has a ${lang} block`);
  return m[1];
}

const has = (cmd: string) => spawnSync('bash', ['-c', `command -v ${cmd}`]).status === 0;

describe('alerts: webhook signature', () => {
  const body = JSON.stringify(toPayload(sampleAlert({ summary: 'unicode → ünïcode "quoted" \\ back' })));
  const now = 1_732_780_861_500;
  const headers = signatureHeaders(SECRET, body, now);

  it('signs timestamp + "." + raw body with HMAC-SHA256, hex, sha256= prefix', () => {
    assert.equal(headers['x-tapline-timestamp'], '1732780861');
    const independent = createHmac('sha256', Buffer.from(SECRET)).update(Buffer.from(`1732780861.${body}`, 'utf8')).digest('hex');
    assert.equal(headers['x-tapline-signature'], `sha256=${independent}`);
    assert.match(headers['x-tapline-signature'], /^sha256=[0-9a-f]{64}$/);
  });

  it('agrees with `openssl dgst -sha256 -hmac`', () => {
    assert.ok(has('openssl'), 'openssl is needed (Debian: openssl, pulled in by ca-certificates)');
    const r = spawnSync('openssl', ['dgst', '-sha256', '-hmac', SECRET], { input: Buffer.from(`1732780861.${body}`, 'utf8') });
    assert.equal(r.status, 0, r.stderr.toString());
    const hex = r.stdout.toString().trim().split('= ').pop();
    assert.equal(`sha256=${hex}`, headers['x-tapline-signature']);
  });

  it('verifySignature accepts the original and refuses tampering, a wrong secret and stale timestamps', () => {
    const ts = headers['x-tapline-timestamp'];
    const sig = headers['x-tapline-signature'];
    assert.equal(verifySignature(SECRET, body, ts, sig, 300, now), true);
    assert.equal(verifySignature(SECRET, body.replace('warning', 'critical'), ts, sig, 300, now), false);
    assert.equal(verifySignature(`${SECRET}x`, body, ts, sig, 300, now), false);
    assert.equal(verifySignature(SECRET, body, String(Number(ts) + 1), sig, 300, now), false, 'timestamp is part of the MAC');
    assert.equal(verifySignature(SECRET, body, ts, sig, 300, now + 301_000), false, 'replayed after the tolerance');
    assert.equal(verifySignature(SECRET, body, ts, sig.replace('sha256=', 'sha1='), 300, now), false);
    assert.equal(verifySignature(SECRET, body, undefined, sig, 300, now), false);
    assert.equal(signatureHex(SECRET, ts, Buffer.from(body)), sig.slice(7), 'string and Buffer bodies sign the same bytes');
  });

  it('the Python snippet in docs/alerts.md verifies a real signature and refuses a tampered body', () => {
    assert.ok(has('python3'), 'python3 is needed (installed by .ci/run)');
    const fresh = signatureHeaders(SECRET, body);
    const script = `${docBlock('python')}
import json, sys
a = json.load(sys.stdin)
body = a["body"].encode("utf-8")
print(verify(a["secret"].encode(), body, a["ts"], a["sig"]), verify(a["secret"].encode(), body + b" ", a["ts"], a["sig"]),
      verify(a["secret"].encode(), body, str(int(a["ts"]) - 3600), a["sig"]))
`;
    const r = spawnSync('python3', ['-c', script], { input: JSON.stringify({ secret: SECRET, body, ts: fresh['x-tapline-timestamp'], sig: fresh['x-tapline-signature'] }) });
    assert.equal(r.status, 0, r.stderr.toString());
    assert.equal(r.stdout.toString().trim(), 'True False False');
  });

  it('the Node snippet in docs/alerts.md verifies a real signature and refuses a tampered body', () => {
    const fresh = signatureHeaders(SECRET, body);
    const script = `${docBlock('js')}
const a = JSON.parse(require('node:fs').readFileSync(0, 'utf8'));
const raw = Buffer.from(a.body, 'utf8');
console.log(verify(a.secret, raw, a.ts, a.sig), verify(a.secret, Buffer.concat([raw, Buffer.from(' ')]), a.ts, a.sig), verify(a.secret, raw, a.ts, undefined));
`;
    const r = spawnSync(process.execPath, ['-e', script], { input: JSON.stringify({ secret: SECRET, body, ts: fresh['x-tapline-timestamp'], sig: fresh['x-tapline-signature'] }) });
    assert.equal(r.status, 0, r.stderr.toString());
    assert.equal(r.stdout.toString().trim(), 'true false false');
  });
});
