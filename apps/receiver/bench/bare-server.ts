// The baseline of `npm run bench -- intake`: a bare Hono app that reads the body and answers, nothing else.
import { serve } from '@hono/node-server';
import { Hono } from 'hono';

const app = new Hono();
app.get('/healthz', (c) => c.json({ status: 'ok' }));
app.post('/api/webhooks/:tenant/:source', async (c) => {
  const body = await c.req.arrayBuffer();
  return c.json({ received: true, bytes: body.byteLength });
});
serve({ fetch: app.fetch, port: Number(process.env.PORT), hostname: '127.0.0.1' });
