import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { noTracing, startTracing, telemetryEnvFields } from './index';

const schema = z.object(telemetryEnvFields('mcb-test'));

describe('telemetryEnvFields', () => {
  it('leaves tracing off when the endpoint is unset or blank (a copied .env.example), with the app default service name', () => {
    expect(schema.parse({})).toEqual({ OTEL_EXPORTER_OTLP_ENDPOINT: undefined, OTEL_SERVICE_NAME: 'mcb-test' });
    expect(schema.parse({ OTEL_EXPORTER_OTLP_ENDPOINT: '', OTEL_SERVICE_NAME: '' })).toEqual({
      OTEL_EXPORTER_OTLP_ENDPOINT: undefined,
      OTEL_SERVICE_NAME: 'mcb-test',
    });
  });

  it('takes a collector URL and a service name', () => {
    expect(schema.parse({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://otel:4318', OTEL_SERVICE_NAME: 'edge-receiver' })).toEqual({
      OTEL_EXPORTER_OTLP_ENDPOINT: 'http://otel:4318',
      OTEL_SERVICE_NAME: 'edge-receiver',
    });
  });

  it('refuses an endpoint that is not a URL', () => {
    for (const bad of ['otel:4318', 'grpc://otel:4317', 'http://']) {
      const r = schema.safeParse({ OTEL_EXPORTER_OTLP_ENDPOINT: bad });
      expect(r.success, bad).toBe(false);
      expect(r.error?.issues[0]?.path).toEqual(['OTEL_EXPORTER_OTLP_ENDPOINT']);
    }
  });
});

describe('startTracing without an endpoint', () => {
  it('returns noTracing: spans run their function and carry no context, BullMQ gets no telemetry', async () => {
    const tracing = await startTracing({ endpoint: undefined, serviceName: 'mcb-test' });
    expect(tracing).toBe(noTracing);
    expect(tracing.bullmq).toBeUndefined();
    const seen = await tracing.inSpan('x', { kind: 'server' }, async (span) => {
      span.setAttributes({ a: 1 });
      span.fail(new Error('no-op'));
      return span.metadata();
    });
    expect(seen).toBeUndefined();
    expect(tracing.startSpan('y', {}).metadata()).toBeUndefined();
    await expect(tracing.shutdown()).resolves.toBeUndefined();
  });
});
