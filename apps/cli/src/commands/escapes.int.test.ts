import { randomBytes } from 'node:crypto';
import { createDatabase } from '@mcb/db';
import { testEnv } from '@mcb/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mcb } from '../../test/run-cli';
import { unsafeIn } from '../../test/terminal';

// Terminal escape injection: anyone who knows a tenant's webhook URL stores bytes of their choosing (a
// rejected row keeps the body). `mcb log`, `mcb logs`, `mcb contact` and error lines print every such
// value escaped: no ESC, BEL, C1 or bidi control reaches the operator's terminal; the escaped form does.

const { databaseUrl } = testEnv();
const owner = createDatabase({ url: databaseUrl, role: 'owner', max: 2 });

// Clear screen, cursor home, window title, a fake green "verified" line, then an OSC 52 clipboard write.
const attack = '\x1b[2J\x1b[H\x1b]0;owned\x07\x1b[32mstatus processed, signature verified\x1b[0m\n\x1b]52;c;AAAA\x07';
const escapedFirstLine = '\\u001b[2J\\u001b[H\\u001b]0;owned\\u0007\\u001b[32mstatus processed, signature verified\\u001b[0m';
const escapedSecondLine = '\\u001b]52;c;AAAA\\u0007';

const slug = `esc-${randomBytes(4).toString('hex')}`;
let rejectedId = 0;
let failedId = 0;

beforeAll(async () => {
  process.env.DATABASE_URL = databaseUrl;
  const [t] = await owner.sql<{ id: string }[]>`insert into tenants (slug, name) values (${slug}, 'Escapes') returning id`;
  const tenantId = t!.id;
  // As the receiver stores an unauthenticated delivery: the raw body kept as evidence, no payload.
  const [rejected] = await owner.sql<{ id: number }[]>`
    insert into webhook_logs (tenant_id, source, event_type, dedupe_key, headers, payload, raw_body, status, error_message)
    values (${tenantId}, 'manychat', null, ${'body:\x1b]0;key\x07abc'},
            ${owner.sql.json({ 'user-agent': 'curl\x1b]0;ua\x07', 'content-type': 'text/plain\u202e' })},
            null, ${Buffer.from(attack)}, 'rejected', ${'invalid_signature: \x1b[32msignature verified\x1b[0m'})
    returning id`;
  rejectedId = rejected!.id;
  // An accepted delivery whose JSON carries C1 and bidi controls, and a multi-line error quoting it.
  const [failed] = await owner.sql<{ id: number }[]>`
    insert into webhook_logs (tenant_id, source, event_type, dedupe_key, payload, status, error_message)
    values (${tenantId}, 'manychat', ${'\x1b[32mcontact_created\u202e'}, ${`k-${slug}\x1b[8m`},
            ${owner.sql.json({ subscriber: { id: 'mc-esc-1', first_name: '\u009b2J\u0085Eve\u202e', note: 'a\x1b[2Jb' } })},
            'failed', ${'bad field\n\x1b[2Jlog 1  processed  (tenant x)'})
    returning id`;
  failedId = failed!.id;
  const [c] = await owner.sql<{ id: string }[]>`
    insert into contacts (tenant_id, mc_id, first_name, stage) values (${tenantId}, 'mc-esc-1', ${'\x1b]52;c;BBBB\x07Eve'}, 'subscribed')
    returning id`;
  await owner.sql`
    insert into contact_identities (tenant_id, kind, value, contact_id, source, webhook_log_id)
    values (${tenantId}, 'mc_id', 'mc-esc-1', ${c!.id}, 'manychat', ${failedId})`;
  await owner.sql`
    insert into contact_field_changes (tenant_id, contact_id, field, old_value, new_value, webhook_log_id)
    values (${tenantId}, ${c!.id}, 'first_name', null, ${'\x1b]52;c;BBBB\x07Eve'}, ${failedId})`;
  await owner.sql`
    insert into funnel_events (tenant_id, contact_id, event_type, occurred_at, source, source_event_id, webhook_log_id)
    values (${tenantId}, ${c!.id}, 'contact_subscribed', now(), 'manychat', ${'evt\x1b[1A\x1b[2K'}, ${failedId})`;
});

afterAll(async () => {
  await owner.close();
});

describe('stored sender text reaches the terminal escaped', () => {
  it('mcb log <id> on a rejected row: the raw body, header values, error and dedupe key are shown escaped, no ESC/BEL byte printed', async () => {
    const r = await mcb('log', String(rejectedId));
    expect(r).toMatchObject({ code: 0, stderr: '' });
    expect(unsafeIn(r.stdout)).toEqual([]);
    expect(r.stdout).not.toContain('\x1b');
    expect(r.stdout).not.toContain('\x07');
    // The body keeps its line break (multi-line output), every escape sequence visible.
    expect(r.stdout).toContain(
      `payload (raw body as received, never parsed: the delivery was rejected; control characters shown escaped):\n${escapedFirstLine}\n${escapedSecondLine}\n`,
    );
    expect(r.stdout).toContain('error       invalid_signature: \\u001b[32msignature verified\\u001b[0m\n');
    expect(r.stdout).toContain('dedupe key  body:\\u001b]0;key\\u0007abc\n');
    expect(r.stdout).toContain('"user-agent": "curl\\u001b]0;ua\\u0007"');
    expect(r.stdout).toContain('"content-type": "text/plain\\u202e"');
  });

  it('mcb log <id> --json: the same record, valid JSON of the same values, nothing raw', async () => {
    const r = await mcb('log', String(rejectedId), '--json');
    expect(r.code).toBe(0);
    expect(unsafeIn(r.stdout)).toEqual([]);
    const record = JSON.parse(r.stdout) as { rawBody: string; headers: Record<string, string>; dedupeKey: string };
    expect(record.rawBody).toBe(attack);
    expect(record.headers['content-type']).toBe('text/plain\u202e');
    expect(record.dedupeKey).toBe('body:\x1b]0;key\x07abc');
  });

  it('mcb log <id> on a JSON payload: C1 and bidi controls escaped in the payload, event type and error each on one line', async () => {
    const r = await mcb('log', String(failedId));
    expect(r.code).toBe(0);
    expect(unsafeIn(r.stdout)).toEqual([]);
    expect(r.stdout.split('\n')[0]).toBe(`log ${failedId}  failed  (tenant ${slug}, manychat, \\u001b[32mcontact_created\\u202e)`);
    expect(r.stdout).toContain('"first_name": "\\u009b2J\\u0085Eve\\u202e"');
    expect(r.stdout).toContain('"note": "a\\u001b[2Jb"');
    // A newline in a stored error cannot start a forged line of the CLI's own.
    expect(r.stdout).toContain('error       bad field\\n\\u001b[2Jlog 1  processed  (tenant x)\n');
    expect(r.stdout).not.toMatch(/^\S*log 1 {2}processed/m);
    expect(r.stdout).toContain(`dedupe key  k-${slug}\\u001b[8m\n`);
  });

  it('mcb logs <slug>: one line per log, every stored cell escaped', async () => {
    const r = await mcb('logs', slug);
    expect(r).toMatchObject({ code: 0, stderr: '' });
    expect(unsafeIn(r.stdout)).toEqual([]);
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines).toHaveLength(3);
    expect(lines[1]).toMatch(
      new RegExp(`^${failedId}\\s.*\\\\u001b\\[32mcontact_created\\\\u202e\\s+failed\\s+0\\s+bad field \\\\u001b\\[2Jlog 1`),
    );
    expect(lines[2]).toMatch(new RegExp(`^${rejectedId}\\s.*rejected\\s+0\\s+invalid_signature: \\\\u001b\\[32msignature verified`));
  });

  it('mcb contact: names, event types and event ids from webhooks are shown escaped in fields and timeline', async () => {
    const r = await mcb('contact', slug, 'mc-esc-1');
    expect(r).toMatchObject({ code: 0, stderr: '' });
    expect(unsafeIn(r.stdout)).toEqual([]);
    expect(r.stdout).toMatch(/first_name\s+\\u001b\]52;c;BBBB\\u0007Eve\s+manychat \\u001b\[32mcontact_created\\u202e/);
    expect(r.stdout).toMatch(/contact_subscribed\s+manychat\s+\\u001b\[32mcontact_created\\u202e evt\\u001b\[1A\\u001b\[2K\s+\d+/);
  });

  it('an error line quoting what was typed or stored is one line, escaped', async () => {
    const r = await mcb('contact', slug, 'x\x1b]0;owned\x07\ny');
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(`No contact matching x\\u001b]0;owned\\u0007\\ny in tenant ${slug}\n`);
  });

  it('tenant text set by an operator (name, owner) is escaped too: tenant show, urls, stats --json', async () => {
    // `tenant show` opens the keyring (this tenant has no integration to decrypt).
    process.env.MCB_ENCRYPTION_KEY ??= randomBytes(32).toString('base64');
    const name = 'Other\x1b]52;c;aGVsbG8=\x07 \u009b2J\u202e';
    // Names are one line since stop 37 (the report subject): refused now, but one stored before is shown escaped.
    const refused = await mcb('tenant', 'update', slug, '--name', name);
    expect([refused.code, refused.stderr]).toEqual([1, 'Invalid name: it must be one line, without control characters\n']);
    await owner.sql`update tenants set name = ${name} where slug = ${slug}`;
    const upd = await mcb('tenant', 'update', slug, '--owner', 'O\x1b[2J');
    expect(upd.code).toBe(0);
    for (const argv of [
      ['tenant', 'show', slug],
      ['urls', slug],
      ['stats', '--tenant', slug, '--json'],
    ]) {
      const r = await mcb(...argv);
      expect([r.code, r.stderr], argv.join(' ')).toEqual([0, '']);
      expect(unsafeIn(r.stdout), argv.join(' ')).toEqual([]);
      expect(r.stdout, argv.join(' ')).toContain('Other\\u001b]52;c;aGVsbG8=\\u0007 \\u009b2J\\u202e');
    }
  });
});
