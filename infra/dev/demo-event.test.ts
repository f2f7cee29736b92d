import { execFile } from 'node:child_process';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { promisify } from 'node:util';
import Stripe from 'stripe';
import { describe, expect, it } from 'vitest';
import { demoStripeEvent, freshlySignedStripeCurl } from './demo-event';

describe('the demo Stripe delivery', () => {
  // Walk of the README, stop 34: demo.sh carried the signature made at npm start, refused as stale 5
  // minutes later; and a new event id per start booked the demo sale again at every restart.
  it("demo.sh's command signs when it runs, with Stripe's scheme, and sends the event as built", async () => {
    const secret = `whsec_${'x'.repeat(32)}`;
    const event = demoStripeEvent(new Date('2026-01-01T00:00:00Z'));
    const received: Array<{ signature: string; body: string }> = [];
    const server = createServer((req, res) => {
      let body = '';
      req.on('data', (d) => {
        body += d;
      });
      req.on('end', () => {
        received.push({ signature: String(req.headers['stripe-signature']), body });
        res.end('{"received":true}');
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      const command = freshlySignedStripeCurl(`http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`, secret, event);
      expect(command).not.toMatch(/t=\d+,v1=/);
      const before = Math.floor(Date.now() / 1000);
      const { stdout } = await promisify(execFile)('sh', ['-c', command]);
      expect(stdout).toBe('{"received":true}\n');
      const [got] = received;
      expect(got?.body).toBe(event);
      // Verified as the receiver verifies it (the real library, its 300 s tolerance), signed just now.
      expect(Stripe.webhooks.constructEvent(got!.body, got!.signature, secret).id).toBe('evt_demo_jane_doe');
      expect(Number(/^t=(\d+),/.exec(got!.signature)?.[1])).toBeGreaterThanOrEqual(before);
    } finally {
      server.close();
    }
  });

  it('has the same ids at every start: sent again it is a redelivery, not a second sale', () => {
    const a = JSON.parse(demoStripeEvent(new Date('2026-01-01T00:00:00Z')));
    const b = JSON.parse(demoStripeEvent(new Date('2026-03-01T00:00:00Z')));
    expect([a.id, a.data.object.id]).toEqual([b.id, b.data.object.id]);
  });
});
