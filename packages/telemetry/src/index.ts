import type { Telemetry } from 'bullmq';
import { z } from 'zod';

// This module is what every app imports, traced or not: it holds no OpenTelemetry code. The SDK
// (./sdk.ts) is imported only by `startTracing` when an endpoint is configured; the production build
// bundles it into telemetry-sdk.js beside main.js, which an untraced process never loads
// (infra/deploy/build.ts `lazyModules`, infra/deploy/tracing.int.test.ts).

/** Attribute values a span accepts; `undefined` entries are dropped. */
export type SpanAttributes = Record<string, string | number | boolean | undefined>;

export interface SpanOptions {
  /** OpenTelemetry span kind (default `internal`). */
  kind?: 'internal' | 'server' | 'client' | 'producer' | 'consumer';
  attributes?: SpanAttributes;
  /** Parent given as serialized trace context (`TraceSpan.metadata()`); default: the active span. */
  parent?: string;
}

/** A started span. Never put a request body, a signature or a secret in its attributes. */
export interface TraceSpan {
  setAttributes(attributes: SpanAttributes): void;
  /** Marks the span failed (status ERROR with the error's message; no stack, no payload). */
  fail(error: unknown): void;
  /**
   * This span's W3C trace context (`traceparent`) serialized the way BullMQ carries it in a job's
   * `opts.telemetry.metadata`; undefined when tracing is off.
   */
  metadata(): string | undefined;
  end(): void;
}

/** Tracing as the apps use it: `noTracing`, or the OpenTelemetry SDK exporting over OTLP/HTTP. */
export interface Tracing {
  readonly enabled: boolean;
  /** BullMQ's `telemetry` option for Workers (bullmq-otel); undefined when tracing is off. */
  readonly bullmq: Telemetry | undefined;
  /**
   * Runs `fn` inside a new span, active for everything `fn` awaits, and ends it when `fn` settles.
   * Whether a thrown error makes the span failed is the caller's call (`span.fail`): a delayed job is
   * not a failure.
   */
  inSpan<T>(name: string, options: SpanOptions, fn: (span: TraceSpan) => Promise<T>): Promise<T>;
  /** Starts a span that is not made active; the caller ends it. */
  startSpan(name: string, options: SpanOptions): TraceSpan;
  /** Exports what is pending and stops (last step of a graceful shutdown). */
  shutdown(): Promise<void>;
}

const noSpan: TraceSpan = {
  setAttributes: () => {},
  fail: () => {},
  metadata: () => undefined,
  end: () => {},
};

/** Tracing off: spans cost one function call and nothing is exported. */
export const noTracing: Tracing = {
  enabled: false,
  bullmq: undefined,
  inSpan: (_name, _options, fn) => fn(noSpan),
  startSpan: () => noSpan,
  shutdown: async () => {},
};

export interface TracingConfig {
  /** OTLP/HTTP base URL (`OTEL_EXPORTER_OTLP_ENDPOINT`); spans go to `<endpoint>/v1/traces`. Unset: `noTracing`. */
  endpoint: string | undefined;
  /** `service.name` of every span (`OTEL_SERVICE_NAME`). */
  serviceName: string;
  /** Called with OpenTelemetry's own warnings and errors (a failed export); pass a rate-limited log. */
  onError?: (message: string) => void;
}

/**
 * `noTracing` when `endpoint` is unset (the SDK is not even imported); otherwise loads the SDK,
 * registers it as the process-wide tracer provider (AsyncLocalStorage context, W3C propagation) and
 * exports spans in batches as OTLP/HTTP JSON. Call once, from an app's entry point.
 */
export async function startTracing(config: TracingConfig): Promise<Tracing> {
  if (!config.endpoint) return noTracing;
  const { startOtelTracing } = await import('./sdk');
  return startOtelTracing(config);
}

const blankIsUnset = (v: unknown) => (v === '' ? undefined : v);

/** Env fields of tracing, spread into each traced app's env schema with that app's default service name. */
export function telemetryEnvFields(defaultServiceName: string) {
  return {
    OTEL_EXPORTER_OTLP_ENDPOINT: z.preprocess(
      blankIsUnset,
      z
        .string()
        .regex(/^https?:\/\/[^\s/]+/, 'must be an http:// or https:// URL (the OTLP/HTTP collector)')
        .optional(),
    ),
    OTEL_SERVICE_NAME: z.preprocess(blankIsUnset, z.string().min(1).default(defaultServiceName)),
  };
}
