import { Writable } from 'node:stream';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { type AccessLine, createAccessLog, redactPaths } from './logger';

function capture() {
  const lines: Array<Record<string, unknown>> = [];
  const stream = new Writable({
    write(chunk, _enc, done) {
      lines.push(JSON.parse(String(chunk)));
      done();
    },
  });
  const log = pino({ redact: { paths: redactPaths, censor: '[redacted]' } }, stream);
  return { log, lines };
}

const line: AccessLine = {
  requestId: 'r1',
  url: '/api/webhooks/acme/stripe',
  tenant: 'acme',
  source: 'stripe',
  status: 200,
  outcome: 'accepted',
  id: 7,
  reason: undefined,
  ms: 1.2,
};

describe('createAccessLog', () => {
  it('writes the access line as given, at the level asked', () => {
    const { log, lines } = capture();
    createAccessLog(log)('warn', line, 'webhook');
    expect(lines).toHaveLength(1);
    const { reason: _absent, ...written } = line;
    expect(lines[0]).toMatchObject({ ...written, level: 40, msg: 'webhook' });
    expect(lines[0]).not.toHaveProperty('reason');
  });

  it('no access line field is a key redaction would remove', () => {
    // If a redacted key is ever added to AccessLine, it would be written in clear by the access log.
    const redactedTopLevel = new Set(redactPaths.filter((p) => !p.includes('.') && !p.includes('[')));
    const nested = redactPaths.filter((p) => p.startsWith('*.')).map((p) => p.slice(2));
    for (const k of nested) redactedTopLevel.add(k);
    expect(Object.keys(line).filter((k) => redactedTopLevel.has(k))).toEqual([]);
  });

  it('writes only the access line fields, even from a wider object', () => {
    const { log, lines } = capture();
    const wider = { ...line, secret: 's3cret', headers: { authorization: 'Bearer x' }, payload: { email: 'a@b.co' } };
    createAccessLog(log)('info', wider, 'webhook');
    expect(lines[0]).not.toHaveProperty('secret');
    expect(JSON.stringify(lines[0])).not.toMatch(/s3cret|Bearer|a@b\.co/);
  });

  it('leaves the parent logger redacting', () => {
    const { log, lines } = capture();
    createAccessLog(log)('info', line, 'webhook');
    log.info({ secret: 's', headers: { authorization: 'a' } }, 'other');
    expect(lines[1]).toMatchObject({ secret: '[redacted]', headers: { authorization: '[redacted]' } });
  });
});
