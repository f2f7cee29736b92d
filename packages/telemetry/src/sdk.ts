import { type Context, context, DiagLogLevel, diag, ROOT_CONTEXT, type Span, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BatchSpanProcessor, ParentBasedSampler, type Sampler, SamplingDecision } from '@opentelemetry/sdk-trace-base';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import { ATTR_SERVICE_NAME } from '@opentelemetry/semantic-conventions';
import { BullMQOtel } from 'bullmq-otel';
import type { SpanAttributes, SpanOptions, TraceSpan, Tracing, TracingConfig } from './index';

// Loaded only by `startTracing` (index.ts) when an endpoint is configured. Versions are pinned as a
// set that runs on Node 20 (ADR 0014): SDK 2.12 with exporter 0.223 and API 1.9 (the SDK's peer range
// stops below 1.10; the 0.300 exporters need SDK 3 and Node 22).

const kinds: Record<NonNullable<SpanOptions['kind']>, SpanKind> = {
  internal: SpanKind.INTERNAL,
  server: SpanKind.SERVER,
  client: SpanKind.CLIENT,
  producer: SpanKind.PRODUCER,
  consumer: SpanKind.CONSUMER,
};

/**
 * Root spans of kind INTERNAL are not recorded. Ours never are roots (a job's span sits under its
 * BullMQ consumer span); BullMQ's are its background loops — a blocking fetch that found nothing, the
 * stalled-job check — which would otherwise export a one-span trace per tenant queue every few seconds.
 */
const dropRootInternal: Sampler = {
  shouldSample: (_ctx, _traceId, _name, kind) => ({
    decision: kind === SpanKind.INTERNAL ? SamplingDecision.NOT_RECORD : SamplingDecision.RECORD_AND_SAMPLED,
  }),
  toString: () => 'DropRootInternal',
};

const defined = (attributes: SpanAttributes | undefined) => {
  const out: Record<string, string | number | boolean> = {};
  for (const [k, v] of Object.entries(attributes ?? {})) if (v !== undefined) out[k] = v;
  return out;
};

/** The OpenTelemetry implementation of `Tracing` (see `startTracing`). */
export function startOtelTracing(config: TracingConfig): Tracing {
  if (config.onError) {
    const report = config.onError;
    // Export failures (collector down) reach OpenTelemetry's diagnostic logger; without one they vanish.
    diag.setLogger(
      { error: report, warn: report, info: () => {}, debug: () => {}, verbose: () => {} },
      { logLevel: DiagLogLevel.WARN, suppressOverrideMessage: true },
    );
  }
  const url = `${config.endpoint?.replace(/\/+$/, '')}/v1/traces`;
  const provider = new NodeTracerProvider({
    resource: resourceFromAttributes({ [ATTR_SERVICE_NAME]: config.serviceName }),
    sampler: new ParentBasedSampler({ root: dropRootInternal }),
    // OTLP/HTTP with JSON bodies; batching and its limits follow the standard OTEL_BSP_* variables.
    spanProcessors: [new BatchSpanProcessor(new OTLPTraceExporter({ url }))],
  });
  provider.register();
  const bullmq = new BullMQOtel({ tracerName: 'bullmq' });
  const tracer = trace.getTracer('mcb');

  const parentOf = (options: SpanOptions): Context =>
    options.parent ? bullmq.contextManager.fromMetadata(ROOT_CONTEXT, options.parent) : context.active();

  const handle = (span: Span, ctx: Context): TraceSpan => {
    let ended = false;
    return {
      setAttributes: (attributes) => span.setAttributes(defined(attributes)),
      fail: (error) => span.setStatus({ code: SpanStatusCode.ERROR, message: error instanceof Error ? error.message : String(error) }),
      metadata: () => bullmq.contextManager.getMetadata(trace.setSpan(ctx, span)),
      end: () => {
        if (ended) return;
        ended = true;
        span.end();
      },
    };
  };

  const start = (name: string, options: SpanOptions) => {
    const parent = parentOf(options);
    const span = tracer.startSpan(name, { kind: kinds[options.kind ?? 'internal'], attributes: defined(options.attributes) }, parent);
    return { span, parent };
  };

  return {
    enabled: true,
    bullmq,
    async inSpan(name, options, fn) {
      const { span, parent } = start(name, options);
      const h = handle(span, parent);
      try {
        return await context.with(trace.setSpan(parent, span), () => fn(h));
      } finally {
        h.end();
      }
    },
    startSpan(name, options) {
      const { span, parent } = start(name, options);
      return handle(span, parent);
    },
    shutdown: () => provider.shutdown(),
  };
}
