import { execFileSync } from 'node:child_process';
import { normalizeWebhook, sources } from '@mcb/sources';
import { describe, expect, it } from 'vitest';
import { buildExampleRequest, curlCommand, exampleBodies, shellQuote, webhookSetupGuide } from './webhook-urls';

describe('mcb urls examples', () => {
  it('each example body is real-shaped: the normalizer makes a funnel event of it (or needs no more than the body)', () => {
    for (const source of sources) {
      const result = normalizeWebhook(source, exampleBodies[source], {});
      expect(result.kind, source).toBe('events');
    }
  });

  it('the test delivery carries "mcb_test": true, which the worker ignores (never counted)', () => {
    for (const source of sources) {
      const request = buildExampleRequest('http://127.0.0.1:4000/', 'ppcu', source, 's3cr3t');
      expect(JSON.parse(request.body)).toEqual({ ...exampleBodies[source], mcb_test: true });
      expect(normalizeWebhook(source, JSON.parse(request.body), {})).toMatchObject({
        kind: 'ignored',
        reason: expect.stringMatching(/^test delivery/),
      });
    }
    expect(buildExampleRequest('http://h', 'ppcu', 'manychat', 's').headers).toMatchObject({ 'X-Webhook-Secret': 's' });
    expect(buildExampleRequest('http://h', 'ppcu', 'perspective', 'a b').url).toBe('http://h/api/webhooks/ppcu/perspective?secret=a%20b');
    expect(buildExampleRequest('http://h', 'ppcu', 'stripe', 'whsec_x')).toMatchObject({
      needsStripeSignature: true,
      headers: { 'Content-Type': 'application/json' },
    });
  });

  it('quotes for a POSIX shell: the shell hands curl exactly the text', () => {
    const tricky = `it's "quoted" $HOME \`x\` \\ end`;
    expect(execFileSync('sh', ['-c', `printf %s ${shellQuote(tricky)}`], { encoding: 'utf8' })).toBe(tricky);
    expect(curlCommand({ url: 'http://h/x', headers: { A: "b'c" }, body: '{"n":"O\'Neil"}' })).toBe(
      `curl -sS -w '\\n' -X POST 'http://h/x' -H 'A: b'\\''c' --data-binary '{"n":"O'\\''Neil"}'`,
    );
  });

  it('names where each tool carries the secret', () => {
    const guide = webhookSetupGuide('http://h', 'ppcu');
    expect(Object.fromEntries(guide.map((g) => [g.source, g.secretCarrier.split(' (')[0]]))).toEqual({
      manychat: 'header X-Webhook-Secret',
      ghl: 'header X-Webhook-Secret',
      stripe: 'header Stripe-Signature',
      denefits: 'header X-Webhook-Secret',
      perspective: 'URL parameter ?secret=',
    });
  });
});
