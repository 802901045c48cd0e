/**
 * OpenTelemetry tracing, explicit and off by default: a SERVER span per GraphQL request (named
 * `query LatestCalls` once the operation is known) continuing the caller's W3C `traceparent`, and a
 * CLIENT span per upstream HTTP request (each try of src/providers/http.ts, retries included) as
 * its child. Retries and upstream failures are events on the server span.
 *
 * No context manager and no instrumentation that patches modules: the server span travels in the
 * request's context (src/context.ts) and each connection's per-request view (`forRequest`), as the
 * rest of the per-request state does (AsyncLocalStorage costs ~15% of requests/s, Node 20). When
 * tracing is off (`tracingFromEnv` returns null) no provider exists and a request pays one null check
 * per span site.
 *
 * Attribute names follow the OpenTelemetry semantic conventions (GraphQL and HTTP client spans,
 * semconv 1.3x); `switchboard.provider` and `switchboard.connection` are Switchboard's own.
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { ApolloServerPlugin, BaseContext } from '@apollo/server';
import {
  type Attributes,
  type Context,
  ROOT_CONTEXT,
  type Span,
  SpanKind,
  SpanStatusCode,
  type TextMapGetter,
  type Tracer,
  trace,
} from '@opentelemetry/api';
import type { TextMapPropagator, TracerProvider } from '@opentelemetry/api';
import type { SpanExporter, SpanProcessor } from '@opentelemetry/sdk-trace-base';
import { ConfigError } from '../config.js';
import type { ConnectionRef } from '../calls/model.js';

// The SDK, the exporters and @opentelemetry/core are imported only when tracing is set up
// (`Tracing.create`): without tracing they are never loaded (~0.6 s and ~20 MB on start-up).

/** Tracer name reported with every span (the instrumentation scope). */
const SCOPE = 'switchboard';

const headerGetter: TextMapGetter<IncomingHttpHeaders> = {
  keys: (headers) => Object.keys(headers),
  get: (headers, key) => headers[key],
};

/** Tracing for one process: a tracer provider with its exporter. */
export class Tracing {
  readonly tracer: Tracer;

  private constructor(
    private readonly provider: TracerProvider & { shutdown(): Promise<void> },
    private readonly propagator: TextMapPropagator,
  ) {
    this.tracer = provider.getTracer(SCOPE);
  }

  /**
   * Tracing whose ended spans go to `processors` (a BatchSpanProcessor per exporter; tests pass a
   * SimpleSpanProcessor over an InMemorySpanExporter). The resource is `service.name` plus
   * OTEL_RESOURCE_ATTRIBUTES; the sampler is the SDK's, from OTEL_TRACES_SAMPLER (default: parent-based, always on).
   */
  static async create(processors: SpanProcessor[], serviceName = 'switchboard'): Promise<Tracing> {
    const [{ BasicTracerProvider }, { detectResources, envDetector, resourceFromAttributes }, { W3CTraceContextPropagator }] =
      await Promise.all([import('@opentelemetry/sdk-trace-base'), import('@opentelemetry/resources'), import('@opentelemetry/core')]);
    const provider = new BasicTracerProvider({
      resource: resourceFromAttributes({ 'service.name': serviceName }).merge(detectResources({ detectors: [envDetector] })),
      spanProcessors: processors,
    });
    return new Tracing(provider, new W3CTraceContextPropagator());
  }

  /**
   * Starts the SERVER span of one GraphQL HTTP request, the child of the caller's `traceparent`
   * (W3C Trace Context) when it sent a valid one. Named "GraphQL Operation" until the operation is
   * known (`RequestTrace.operation`).
   */
  startRequest(method: string, headers: IncomingHttpHeaders): RequestTrace {
    const parent = headers.traceparent ? this.propagator.extract(ROOT_CONTEXT, headers, headerGetter) : ROOT_CONTEXT;
    const span = this.tracer.startSpan(
      'GraphQL Operation',
      { kind: SpanKind.SERVER, attributes: { 'http.request.method': method, 'url.path': '/graphql' } },
      parent,
    );
    return new RequestTrace(this.tracer, span);
  }

  /** Exports the spans still buffered and stops the exporter (at shutdown). */
  shutdown(): Promise<void> {
    return this.provider.shutdown();
  }
}

/** The trace of one GraphQL request: its server span, and the parent of its upstream spans. */
export class RequestTrace {
  private readonly context: Context;
  private readonly recording: boolean;
  /** The error codes of the answer, once Apollo has made it. */
  private errorCodes: readonly string[] = [];

  constructor(
    private readonly tracer: Tracer,
    readonly span: Span,
  ) {
    this.context = trace.setSpan(ROOT_CONTEXT, span);
    this.recording = span.isRecording();
  }

  /** Names the span after the operation (`query LatestCalls`, or `query` when anonymous). */
  operation(type: string | undefined, name: string | undefined | null): void {
    if (!this.recording || !type) return;
    this.span.updateName(name ? `${type} ${name}` : type);
    this.span.setAttribute('graphql.operation.type', type);
    if (name) this.span.setAttribute('graphql.operation.name', name);
  }

  /** The error codes of the GraphQL answer (first one first, each once). */
  answered(errorCodes: readonly string[]): void {
    this.errorCodes = errorCodes;
  }

  /**
   * Ends the span with the HTTP status sent and the error codes of the answer (`answered`, or those
   * given for a request refused before Apollo ran it): any error, a provider that failed beside the
   * data that came too, sets status ERROR and `error.type` to the first code.
   */
  end(status: number, errorCodes: readonly string[] = this.errorCodes): void {
    this.span.setAttribute('http.response.status_code', status);
    if (errorCodes.length > 0) {
      this.span.setAttribute('error.type', errorCodes[0]!);
      this.span.setStatus({ code: SpanStatusCode.ERROR, message: errorCodes.join(', ') });
    }
    this.span.end();
  }

  /** Starts the CLIENT span of one upstream HTTP request (one try); `resend` counts earlier tries. */
  upstream(ref: ConnectionRef, request: UpstreamSpanRequest, resend: number): UpstreamSpan {
    if (!this.recording) return noUpstreamSpan;
    const attributes: Attributes = {
      'http.request.method': request.method,
      'switchboard.provider': ref.provider,
      'switchboard.connection': ref.connection,
      ...urlAttributes(request.url, request.operation, request.searchParams),
    };
    if (resend > 0) attributes['http.request.resend_count'] = resend;
    const span = this.tracer.startSpan(
      // HTTP client span name: `{method} {url.template}`; the operation label is exactly that.
      request.operation,
      { kind: SpanKind.CLIENT, attributes },
      this.context,
    );
    return {
      end(status, failure) {
        if (status !== null) span.setAttribute('http.response.status_code', status);
        if (failure !== null) {
          span.setAttribute('error.type', failure);
          span.setStatus({ code: SpanStatusCode.ERROR, message: failure });
        }
        span.end();
      },
    };
  }

  /** A failed upstream request is tried again after `delayMs` (an event on the server span). */
  retry(ref: ConnectionRef, operation: string, failure: string, resend: number, delayMs: number): void {
    if (!this.recording) return;
    this.span.addEvent('switchboard.upstream.retry', {
      'switchboard.provider': ref.provider,
      'switchboard.connection': ref.connection,
      'switchboard.operation': operation,
      'error.type': failure,
      'http.request.resend_count': resend,
      'switchboard.retry.delay_ms': Math.round(delayMs),
    });
  }

  /**
   * An upstream call failed for good, tries exhausted or never sent (breaker open, queue full,
   * time budget spent): an event on the server span, since no CLIENT span exists for a request
   * never sent.
   */
  upstreamFailed(ref: ConnectionRef, operation: string, failure: string): void {
    if (!this.recording) return;
    this.span.addEvent('switchboard.upstream.failed', {
      'switchboard.provider': ref.provider,
      'switchboard.connection': ref.connection,
      'switchboard.operation': operation,
      'error.type': failure,
    });
  }
}

/** What a CLIENT span is made from (a subset of src/providers/http.ts's UpstreamRequest). */
export interface UpstreamSpanRequest {
  method: string;
  url: string;
  operation: string;
  searchParams?: Record<string, string | number | undefined>;
}

/** A started CLIENT span: end it once, with the status received (null: none) and the failure code (null: none). */
export interface UpstreamSpan {
  end(status: number | null, failure: string | null): void;
}

const noUpstreamSpan: UpstreamSpan = { end() {} };

/**
 * Query parameters whose values are shown in `url.full`: paging only. Every other value is
 * replaced by `REDACTED` (semconv `url.full`: no credentials, sensitive query values redacted):
 * providers put call ids, phone numbers, page tokens and date filters in queries
 * (src/providers/*\/client.ts), personal or opaque data that does not belong in a trace backend.
 */
const SHOWN_QUERY_PARAMS = new Set(['page', 'limit', 'page_size', 'pageSize', 'offset']);

/**
 * `url.full`, `url.template`, `server.address` and `server.port` of an upstream request. `url.full`
 * is the URL without userinfo, with the path segments the operation's template names as
 * placeholders (CINNOX's `/apps/{appID}/…`: a tenant identifier) and query values other than
 * paging redacted; names are kept, so the request's shape stays visible. `operation` is the
 * request's label, `METHOD /path/{placeholder}` (src/providers/http.ts UpstreamRequest).
 */
export function urlAttributes(url: string, operation: string, searchParams?: UpstreamSpanRequest['searchParams']): Attributes {
  const parsed = new URL(url);
  parsed.username = '';
  parsed.password = '';
  parsed.hash = '';
  const template = operation.slice(operation.indexOf(' ') + 1);
  const templateSegments = template.split('/');
  if (templateSegments.some((segment) => segment.startsWith('{'))) {
    // The template is the tail of the path (the base URL may add a prefix).
    const segments = parsed.pathname.split('/');
    const offset = segments.length - templateSegments.length;
    templateSegments.forEach((segment, i) => {
      if (segment.startsWith('{') && offset + i >= 0) segments[offset + i] = 'REDACTED';
    });
    parsed.pathname = segments.join('/');
  }
  const query = new URLSearchParams();
  for (const [key, value] of parsed.searchParams) query.append(key, SHOWN_QUERY_PARAMS.has(key) ? value : 'REDACTED');
  for (const key in searchParams ?? {}) {
    const value = searchParams![key];
    if (value === undefined || value === '') continue; // left out of the request too (withQuery)
    query.append(key, SHOWN_QUERY_PARAMS.has(key) ? String(value) : 'REDACTED');
  }
  parsed.search = query.toString();
  const port = parsed.port ? Number(parsed.port) : parsed.protocol === 'https:' ? 443 : 80;
  return { 'url.full': parsed.toString(), 'url.template': template, 'server.address': parsed.hostname, 'server.port': port };
}

/**
 * The OpenTelemetry variables Switchboard honours (docs/operations.md, "Tracing"). The OTLP
 * exporter itself also reads OTEL_EXPORTER_OTLP_{,TRACES_}{HEADERS,TIMEOUT,COMPRESSION}, the
 * provider OTEL_TRACES_SAMPLER(_ARG) and OTEL_SPAN_*_LIMIT, the batch processor OTEL_BSP_*.
 */
export type TracingEnv = Partial<Record<
  | 'OTEL_SDK_DISABLED'
  | 'OTEL_TRACES_EXPORTER'
  | 'OTEL_EXPORTER_OTLP_ENDPOINT'
  | 'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT'
  | 'OTEL_EXPORTER_OTLP_PROTOCOL'
  | 'OTEL_EXPORTER_OTLP_TRACES_PROTOCOL'
  | 'OTEL_SERVICE_NAME',
  string
>>;

/**
 * Tracing as the standard OTEL_* variables ask, or null (nothing set up at all): on when
 * OTEL_TRACES_EXPORTER is `otlp` or `console`, or is unset while an OTLP endpoint is given; off
 * when it is `none`, when OTEL_SDK_DISABLED is `true`, or when nothing asks for it. Throws
 * ConfigError for an exporter or protocol Switchboard does not ship (e.g. `zipkin`, `grpc`).
 */
export async function tracingFromEnv(env: TracingEnv = process.env): Promise<Tracing | null> {
  if (env.OTEL_SDK_DISABLED?.trim().toLowerCase() === 'true') return null;
  const endpoint = env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT?.trim() || env.OTEL_EXPORTER_OTLP_ENDPOINT?.trim();
  const exporters = (env.OTEL_TRACES_EXPORTER ?? '').split(',').map((e) => e.trim()).filter(Boolean);
  const wanted = exporters.length > 0 ? exporters : endpoint ? ['otlp'] : ['none'];
  if (wanted.includes('none')) return null;
  const made: SpanExporter[] = [];
  for (const name of wanted) made.push(await exporter(name, env));
  const { BatchSpanProcessor } = await import('@opentelemetry/sdk-trace-base');
  return Tracing.create(
    made.map((exporter) => new BatchSpanProcessor(exporter)),
    env.OTEL_SERVICE_NAME?.trim() || 'switchboard',
  );
}

/** The exporter OTEL_TRACES_EXPORTER names (`otlp` over the protocol asked for, or `console`). */
async function exporter(name: string, env: TracingEnv): Promise<SpanExporter> {
  if (name === 'console') return new (await import('@opentelemetry/sdk-trace-base')).ConsoleSpanExporter();
  if (name !== 'otlp') {
    throw new ConfigError(`OTEL_TRACES_EXPORTER: "${name}" is not an exporter Switchboard ships; use otlp, console or none`);
  }
  const protocol = (env.OTEL_EXPORTER_OTLP_TRACES_PROTOCOL ?? env.OTEL_EXPORTER_OTLP_PROTOCOL ?? 'http/protobuf').trim();
  // The exporters read their endpoint, headers, time-out and compression from the environment.
  if (protocol === 'http/protobuf') return new (await import('@opentelemetry/exporter-trace-otlp-proto')).OTLPTraceExporter();
  if (protocol === 'http/json') return new (await import('@opentelemetry/exporter-trace-otlp-http')).OTLPTraceExporter();
  throw new ConfigError(`OTEL_EXPORTER_OTLP_PROTOCOL: "${protocol}" is not supported; use http/protobuf or http/json`);
}

/**
 * The Apollo plugin naming each request's server span after its operation and noting the error
 * codes of its answer. Listed only when tracing is on, after the plugins that add errors.
 */
export function tracingPlugin<C extends BaseContext & { trace: RequestTrace | null }>(): ApolloServerPlugin<C> {
  return {
    async requestDidStart({ contextValue }) {
      const { trace } = contextValue;
      if (!trace) return;
      return {
        async didResolveOperation({ operation, operationName }) {
          trace.operation(operation?.operation, operationName);
        },
        async willSendResponse({ response }) {
          const errors = response.body.kind === 'single' ? (response.body.singleResult.errors ?? []) : [];
          trace.answered([...new Set(errors.map((e) => String(e.extensions?.code ?? 'INTERNAL_SERVER_ERROR')))]);
        },
      };
    },
  };
}
