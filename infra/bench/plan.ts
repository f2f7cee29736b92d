// `npm run bench -- plan [identities] [orphans] [batch]`: the applier's pure planning step (`planBatch`)
// on the shapes a hostile signed sender can build for its own tenant — every worker's event loop is
// shared by all tenants, so a slow plan delays everyone's events (red team, stop 34):
// 1. one contact holding `identities` identifiers, a batch of `batch` events for it, each adding an email;
// 2. `orphans` orphan payments sharing one email, then one contact event with that email (a star);
// 3. `orphans` orphan payments chained (email ↔ phone ↔ email …), then one contact event with the first email.
// Prints ms per batch (median of 3) and events/s; nothing asserted. infra/bench is not a workspace package.
import { randomUUID } from 'node:crypto';
import type { OrphanPayment, PlanItem, ReadState } from '../../packages/contacts/src/plan';
import { planBatch } from '../../packages/contacts/src/plan';

const identities = Number(process.argv[2] ?? 150_000);
const orphans = Number(process.argv[3] ?? 100_000);
const batch = Number(process.argv[4] ?? 50);
const say = (line: string) => process.stdout.write(`${line}\n`);

const contactEvent = (logId: number, mcId: string, email: string): PlanItem => ({
  ctx: { tenantId: 't', logId, receivedAt: new Date(), dedupeKey: `k${logId}` },
  status: 'processed',
  eventType: 'contact_update',
  reason: null,
  events: [
    {
      source: 'manychat',
      eventType: 'contact_update',
      contact: { identity: { mcId, emails: [email] }, fields: { mcId, emailPrimary: email } },
      funnelEvent: { type: 'contact_updated' },
    },
  ],
});

const emptyRead = (): ReadState => ({ contacts: [], identities: [], orphans: [], firstInvoices: [], invoicePayments: [] });
const orphan = (i: number, email: string | null, phone: string | null): OrphanPayment => ({
  paymentEventId: `cs_${i}`,
  source: 'stripe',
  funnelEvent: 'purchase_completed',
  paidAt: new Date(Date.UTC(2026, 0, 1) + i * 1000),
  webhookLogId: i + 1,
  customerEmail: email,
  customerPhone: phone,
  stripeCustomerId: null,
});

function time(label: string, read: () => ReadState, items: PlanItem[]): void {
  const runs: number[] = [];
  let linked = 0;
  for (let r = 0; r < 3; r++) {
    const state = read();
    const t = performance.now();
    const { outcomes } = planBatch(state, items, { newId: randomUUID, now: new Date() });
    runs.push(performance.now() - t);
    linked = outcomes.flat().reduce((n, o) => n + o.linkedOrphans, 0);
  }
  const ms = [...runs].sort((a, b) => a - b)[1] as number;
  say(
    `${label}: ${ms.toFixed(1)} ms per batch of ${items.length} (${Math.round((items.length / ms) * 1000)} events/s), ${linked} orphans linked`,
  );
}

// 1. A contact with many identifiers.
const big = randomUUID();
/** The read of the contact holding `identities` identifiers, with `waiting` orphans of other people. */
const bigContactRead = (waiting: OrphanPayment[] = []): ReadState => ({
  ...emptyRead(),
  contacts: [
    { id: big, createdAt: new Date(0), firstSeenAt: new Date(0), stage: null, state: { values: { mc_id: 'big' }, tags: {}, meta: {} } },
  ],
  identities: [
    { kind: 'mc_id', value: 'big', contactId: big },
    ...Array.from({ length: identities }, (_, i) => ({ kind: 'email' as const, value: `big-${i}@ids.example`, contactId: big })),
  ],
  orphans: waiting,
});
const bigContactBatch = Array.from({ length: batch }, (_, k) => contactEvent(k + 1, 'big', `new-${k}@ids.example`));
time(`contact with ${identities} identifiers`, () => bigContactRead(), bigContactBatch);
// 2. A star of orphans on one email.
time(
  `${orphans} orphans on one email`,
  () => ({ ...emptyRead(), orphans: Array.from({ length: orphans }, (_, i) => orphan(i, 'star@ids.example', null)) }),
  [contactEvent(1, 'star', 'star@ids.example')],
);
// 3. A chain: orphan i carries email i and phone i; orphan i+1 phone i and email i+1.
time(
  `chain of ${orphans} orphans`,
  () => ({
    ...emptyRead(),
    orphans: Array.from({ length: orphans }, (_, i) =>
      orphan(i, `chain-${Math.ceil(i / 2)}@ids.example`, `+1555${String(Math.floor(i / 2)).padStart(7, '0')}`),
    ),
  }),
  [contactEvent(1, 'chain', 'chain-0@ids.example')],
);
// 1 again with orphans waiting elsewhere in the tenant's read (unrelated to this contact).
time(
  `contact with ${identities} identifiers, ${Math.min(orphans, 1000)} unrelated orphans read`,
  () => bigContactRead(Array.from({ length: Math.min(orphans, 1000) }, (_, i) => orphan(i, `other-${i}@ids.example`, null))),
  bigContactBatch,
);
