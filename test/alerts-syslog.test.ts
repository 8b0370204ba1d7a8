/**
 * RFC 5424 framing of alert states, parsed back with a regular expression built from the RFC's
 * ABNF (section 6), and the syslog output sending to a real UDP socket.
 */
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import { formatRfc5424, sdEscape, syslogSeverity, syslogTimestamp, SyslogOutput } from '../pipelines/alerting/consumers/syslog';
import { parseAlertConsumerConfig } from '../pipelines/alerting/consumers/settings';
import { sampleAlert } from '../pipelines/alerting/consumers/testing';

// RFC 5424 §6: HEADER SP STRUCTURED-DATA [SP MSG]
const NIL = '-';
const PRINTUS = '[!-~]';
const SDNAME = '[!#-<>-\\\\^-~]{1,32}'; // PRINTUSASCII except '=', SP, ']', '"' (%d33 / %d35-60 / %d62-92 / %d94-126)
const PARAM_VALUE = '(?:[^"\\\\\\]]|\\\\["\\\\\\]])*'; // '"', '\' and ']' only escaped
const SD_ELEMENT = `\\[${SDNAME}(?: ${SDNAME}="${PARAM_VALUE}")*\\]`;
const TIMESTAMP = '(?:\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}(?:\\.\\d{1,6})?(?:Z|[+-]\\d{2}:\\d{2}))';
const RFC5424 = new RegExp(
  `^<(\\d{1,3})>([1-9]\\d{0,2}) (${TIMESTAMP}|${NIL}) (${PRINTUS}{1,255}|${NIL}) (${PRINTUS}{1,48}|${NIL}) (${PRINTUS}{1,128}|${NIL}) (${PRINTUS}{1,32}|${NIL}) ((?:${SD_ELEMENT})+|${NIL})(?: (.*))?$`, 's');

function parse(buf: Buffer) {
  const m = buf.toString('utf8').match(RFC5424);
  assert.ok(m, `not RFC 5424: ${buf.toString('utf8')}`);
  const params: Record<string, string> = {};
  for (const p of m[8].matchAll(new RegExp(`(${SDNAME})="(${PARAM_VALUE})"`, 'g'))) params[p[1]] = p[2].replace(/\\(["\\\]])/g, '$1');
  return { pri: Number(m[1]), version: m[2], timestamp: m[3], hostname: m[4], app: m[5], procid: m[6], msgid: m[7], sd: m[8], params, msg: m[9] };
}

const settings = { facility: 'local0' as const, appName: 'tapline', hostname: 'alerts-1', sdId: 'tapline@32473', maxBytes: 2048 };

describe('alerts: RFC 5424 syslog framing', () => {
  it('frames an alert state: PRI from facility and severity, timestamp, ids, structured data, BOM + summary', () => {
    const p = parse(formatRfc5424(sampleAlert({ severity: 'critical' }), settings, 4242));
    assert.equal(p.pri, 16 * 8 + 2);
    assert.equal(p.version, '1');
    assert.equal(p.timestamp, '2024-11-28T08:01:00.000000Z');
    assert.deepEqual([p.hostname, p.app, p.procid, p.msgid], ['alerts-1', 'tapline', '4242', 'traffic_burst']);
    assert.ok(p.sd.startsWith('[tapline@32473 '));
    assert.equal(p.params.id, sampleAlert().id);
    assert.equal(p.params.state, 'open');
    assert.equal(p.params.vm_b, 'vm-db-1');
    assert.equal(p.msg, '\uFEFFweb-1 -> db-1: 4.2 MB/s, baseline 120 kB/s (35x)');
  });

  it('maps severities (resolved -> notice) and keeps microseconds at most', () => {
    assert.deepEqual(['critical', 'warning', 'info'].map((s) => syslogSeverity({ severity: s as 'info', state: 'open' })), [2, 4, 6]);
    assert.equal(syslogSeverity({ severity: 'critical', state: 'resolved' }), 5);
    assert.equal(syslogTimestamp(1_732_780_800_123_456_789n), '2024-11-28T08:00:00.123456Z');
    assert.equal(parse(formatRfc5424(sampleAlert({ state: 'resolved' }), { ...settings, facility: 'daemon' })).pri, 3 * 8 + 5);
  });

  it('escapes ", \\ and ] in values, and the escaped values parse back to the originals', () => {
    assert.equal(sdEscape('a"b\\c]d'), 'a\\"b\\\\c\\]d');
    const tricky = 'ten"ant] \\x';
    const p = parse(formatRfc5424(sampleAlert({ tenant: tricky, summary: 'line1\nline2' }), settings));
    assert.equal(p.params.tenant, tricky);
    assert.equal(p.msg, '\uFEFFline1 line2', 'no line breaks inside one message');
  });

  it('fits maxBytes: drops trailing SD params, then cuts the text on a character boundary', () => {
    const long = sampleAlert({ summary: 'ü'.repeat(3000), evidence: {} });
    for (const maxBytes of [480, 600, 2048]) {
      const buf = formatRfc5424(long, { ...settings, maxBytes });
      assert.ok(buf.length <= maxBytes, `${buf.length} <= ${maxBytes}`);
      const p = parse(buf);
      assert.ok(p.params.id && p.params.state && p.params.severity, 'id, state and severity always kept');
      assert.ok(!buf.toString('utf8').includes('\uFFFD'), 'no split UTF-8 character');
    }
  });
});

describe('alerts: syslog output to a real UDP socket', () => {
  it('delivers one parseable RFC 5424 datagram per alert state', async () => {
    const sock = dgram.createSocket('udp4');
    const got: Buffer[] = [];
    sock.on('message', (m) => got.push(m));
    await new Promise<void>((r) => sock.bind(0, '127.0.0.1', r));
    const cfg = parseAlertConsumerConfig({ 'syslog.port': sock.address().port, 'syslog.hostname': 'test-host', 'syslog.facility': 'local3' });
    const out = new SyslogOutput(cfg.syslog, cfg.retry);
    await out.start();
    try {
      const ctx = { signal: new AbortController().signal };
      assert.equal((await out.deliver(sampleAlert(), ctx)).kind, 'delivered');
      assert.equal((await out.deliver(sampleAlert({ state: 'resolved' }), ctx)).kind, 'delivered');
      const deadline = Date.now() + 5000;
      while (got.length < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
      assert.equal(got.length, 2);
      const [a, b] = got.map(parse);
      assert.deepEqual([a.pri, b.pri], [19 * 8 + 4, 19 * 8 + 5]);
      assert.equal(a.hostname, 'test-host');
      assert.equal(b.params.state, 'resolved');
      assert.equal(out.metrics.totals.sent, 2);
    } finally {
      await out.close();
      await out.close(); // safe twice
      sock.close();
    }
  });
});
