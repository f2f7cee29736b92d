import { describe, expect, it } from 'vitest';
import { boardQueueName } from './queues';
import { stripLocalPaths } from './stack';

describe('stripLocalPaths (job pages in Bull Board, issue 16)', () => {
  it('keeps the repository-relative path and the dependency path, never the machine path', () => {
    const stack = [
      'Error: ManyChat getInfo failed: HTTP 401',
      '    at getSubscriber (/home/ops/work/mcb/packages/manychat/src/client.ts:41:11)',
      '    at async normalizeLog (file:///srv/mcb/apps/worker/src/processors/webhooks/process.ts:48:22)',
      '    at Worker.processJob (/srv/mcb/node_modules/.pnpm/bullmq@6.7.0_ioredis@6.0.0/node_modules/bullmq/dist/esm/classes/worker.js:512:28)',
      '    at process.processTicksAndRejections (node:internal/process/task_queues:95:5)',
      '    at C:\\Users\\ops\\mcb\\apps\\worker\\src\\main.ts:3:1',
      '    at /tmp/build/chunk-abc.js:1:200',
    ].join('\n');
    expect(stripLocalPaths(stack)).toBe(
      [
        'Error: ManyChat getInfo failed: HTTP 401',
        '    at getSubscriber (packages/manychat/src/client.ts:41:11)',
        '    at async normalizeLog (apps/worker/src/processors/webhooks/process.ts:48:22)',
        '    at Worker.processJob (bullmq/dist/esm/classes/worker.js:512:28)',
        '    at process.processTicksAndRejections (node:internal/process/task_queues:95:5)',
        '    at apps/worker/src/main.ts:3:1',
        '    at chunk-abc.js:1:200',
      ].join('\n'),
    );
  });

  it('leaves text without paths alone (URLs and ratios included)', () => {
    for (const text of [
      'invalid payload: ManyChat body has no subscriber id',
      'GET https://api.manychat.com/fb/subscriber/getInfo 401',
      'a/b',
    ]) {
      expect(stripLocalPaths(text)).toBe(text);
    }
  });
});

describe('boardQueueName', () => {
  it('lists a tenant queue as "<slug> · <name>:webhooks" (grouped per tenant); fixed queues keep their name', () => {
    expect(boardQueueName({ name: 'webhooks-3f94', tenantSlug: 'ppcu', tenantName: 'Postpartum Care USA' })).toBe(
      'ppcu · Postpartum Care USA:webhooks',
    );
    expect(boardQueueName({ name: 'webhooks-3f94', tenantSlug: 'acme', tenantName: ' Acme: Health \n Co ' })).toBe(
      'acme · Acme Health Co:webhooks',
    );
    expect(boardQueueName({ name: 'reports', tenantSlug: null, tenantName: null })).toBe('reports');
  });
});
