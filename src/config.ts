/**
 * Configuration, read once at start-up: the environment (names fixed by the public contract) and,
 * optionally, a JSON file named by SWITCHBOARD_CONFIG for several connections per provider.
 * Everything is validated strictly with zod; a bad value stops start-up with one line naming it.
 *
 * Strict means: every key at every depth of the file must be one Switchboard reads (a typo such as
 * "baseURL" would otherwise send a connection's credentials to the provider's default host), every
 * `SWITCHBOARD_*` and provider-prefixed variable must be one it reads, and every value is taken
 * exactly as written — no empty values, no surrounding whitespace, integers in plain digits,
 * booleans `true` or `false`. Messages name the bad key and never echo a credential.
 *
 * Precedence: a connection configured in the environment is named "default"; the file may add
 * others (a file connection may not also be named "default" for a provider the environment sets).
 */
import { readFileSync } from 'node:fs';
import { parse as parseJson } from 'lossless-json';
import { z } from 'zod';
import type { CacheSettings } from './calls/cache.js';
import { type ConnectionRef, type Provider, connectionLabel } from './calls/model.js';
import { type PersistedQueryManifest, parseManifest } from './persistedQueries.js';
import { type OverloadLimits, defaultOverloadLimits } from './overload.js';
import { type HttpPolicy, defaultHttpPolicy } from './providers/http.js';
import { type WebhookEndpoint, type WebhookSettings, defaultWebhookSettings, endpointIdentity, webhookEndpointSchema, webhookFilter } from './live/webhooks.js';
import type { CallbackSettings } from './live/callbacks.js';
import { DEFAULT_HEARTBEAT_MS, DEFAULT_LEASE_MS } from './live/source.js';
import { DEFAULT_DEMAND, type DemandSettings, WATCH_POLICIES, type WatchPolicy } from './live/policy.js';
import { PROVIDER_MODULES, type ProviderModuleOf } from './providers/index.js';
import { text, url } from './providers/settings.js';
import { type QueryLimits, defaultQueryLimits } from './security/queryLimits.js';

export class ConfigError extends Error {
  override name = 'ConfigError';
}

/**
 * A connection's name: it appears in `Call.connection`, API-key scopes (`provider/name`, joined
 * with `+` and `,`), cache keys (`:`-separated) and metric labels, so only characters none of
 * those uses as a separator.
 */
const connectionName = text.regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/, 'must be 1–64 letters, digits, "_", "." or "-", starting with a letter or digit');
/** An API key: sent as `Authorization: Bearer <key>`, so a b64token (RFC 6750 §2.1), 16+ characters. */
const apiKeySecret = z
  .string()
  .regex(/^[A-Za-z0-9._~+/-]+=*$/, 'must be a bearer token: letters, digits and - . _ ~ + / (then = only at the end)')
  .min(16, 'must be at least 16 characters');

export type ProviderSettings = { [P in Provider]: z.infer<ProviderModuleOf<P>['settings']> };

export type ConnectionConfig = {
  [P in Provider]: ConnectionRef & {
    provider: P;
    settings: ProviderSettings[P];
    /** Seconds between two polls while the connection is watched (the file's `watchInterval`); absent: SWITCHBOARD_WATCH_INTERVAL. */
    watchInterval?: number;
    /** When the connection is watched besides its listeners (the file's `watch`); absent: SWITCHBOARD_WATCH. */
    watch?: WatchPolicy;
    /** Upstream requests a second (the file's `upstreamRatePerSecond`; 0: unlimited); absent: SWITCHBOARD_UPSTREAM_RATE_PER_SECOND. */
    upstreamRatePerSecond?: number;
    /** Seconds a watched connection's window may be old and still serve `calls` (the file's `maxDataAge`; 0: never); absent: SWITCHBOARD_MAX_DATA_AGE. */
    maxDataAge?: number;
  };
}[Provider];

/** Each provider's settings schema and environment variable names, from its module. */
const settingsSchemas = Object.fromEntries(PROVIDER_MODULES.map((m) => [m.provider, m.settings])) as {
  [P in Provider]: ProviderModuleOf<P>['settings'];
};
const envNames = Object.fromEntries(PROVIDER_MODULES.map((m) => [m.provider, m.env])) as {
  [P in Provider]: Record<keyof ProviderSettings[P], string>;
};

export interface ApiKey {
  /** A label safe to log: "key#1" or the name given in the config file. */
  id: string;
  /** The key itself; compared in constant time, never logged. */
  secret: string;
  /** Connection labels ("twenty2/default") this key may see; null for all. */
  scope: readonly string[] | null;
}

export interface Config {
  port: number;
  production: boolean;
  /** No provider configured: serve the built-in simulators. */
  demo: boolean;
  connections: ConnectionConfig[];
  apiKeys: ApiKey[];
  allowAnonymous: boolean;
  /** HMAC key for cursors; null means a random one per process. */
  cursorSecret: string | null;
  http: HttpPolicy;
  logLevel: string;
  /** Largest GraphQL request body, in bytes. */
  maxBodyBytes: number;
  /** Bounds on GraphQL documents: depth, aliases, tokens, cost, directives, selections. */
  limits: QueryLimits;
  /** The cache of ended calls: REDIS_URL, SWITCHBOARD_CACHE_TTL_SECONDS, SWITCHBOARD_CACHE_MAX_ENTRIES. */
  cache: CacheSettings;
  /** Upstream list requests per connection one GraphQL request may send: SWITCHBOARD_SCAN_BUDGET. */
  scanBudget: number;
  /** The safelist (SWITCHBOARD_PERSISTED_QUERY_MANIFEST); null: any operation, and automatic persisted queries. */
  persistedQueries: PersistedQueryManifest | null;
  /** How long a shutdown waits for requests in flight, in ms (SWITCHBOARD_SHUTDOWN_GRACE_MS). */
  shutdownGraceMs: number;
  /** Load shedding: SWITCHBOARD_MAX_IN_FLIGHT, SWITCHBOARD_MAX_EVENT_LOOP_DELAY_MS, SWITCHBOARD_OVERLOAD_RETRY_AFTER_SECONDS. */
  overload: OverloadLimits;
  /** Outgoing webhooks (src/live/webhooks.ts): SWITCHBOARD_WEBHOOKS and the file's `webhooks`, then SWITCHBOARD_WEBHOOK_*. */
  webhooks: WebhookSettings;
  /**
   * Live events (docs/live.md): ms between two polls of a watched connection (SWITCHBOARD_WATCH_INTERVAL;
   * a connection's `watchInterval` overrides it), and with Redis the watch lease's length and how
   * often it is renewed (not configurable by the environment; tests shorten them); `policy`: when a
   * connection is watched besides its listeners (SWITCHBOARD_WATCH; a connection's `watch` overrides
   * it; src/live/policy.ts), and the `demand` policy's thresholds (SWITCHBOARD_WATCH_DEMAND_*,
   * SWITCHBOARD_WATCH_QUIET_SECONDS). `policy` absent (SWITCHBOARD_WATCH unset): `demand` in demo
   * mode, else `off` (`watchPolicies`, src/live/source.ts); `demand` absent: DEFAULT_DEMAND.
   */
  watch: { intervalMs: number; leaseMs: number; heartbeatMs: number; policy?: WatchPolicy; demand?: DemandSettings };
  /**
   * How old (ms) a watched connection's window may be and still serve the first pages of `calls`
   * (docs/live.md, "Freshness"): SWITCHBOARD_MAX_DATA_AGE, 10 s in demo mode, else 0 (never); a
   * connection's `maxDataAge` overrides it.
   */
  maxDataAgeMs: number;
  /** Subscriptions over Apollo's HTTP callback protocol (src/live/callbacks.ts): SWITCHBOARD_SUBSCRIPTION_CALLBACK_URLS. */
  subscriptionCallbacks: CallbackSettings;
  /**
   * Subscriptions open at once on this replica, at most, over WebSocket, SSE and callbacks together
   * (SWITCHBOARD_MAX_SUBSCRIPTIONS); beyond it a new one is refused with OVERLOADED (src/live/transports.ts).
   */
  maxSubscriptions: number;
}

/** An integer variable: plain decimal digits only (`10abc`, `1e3`, ` 5`, `0x10`, `5.0` are refused). */
const int = (name: string, min: number, max: number) =>
  z
    .string()
    .regex(/^(0|[1-9][0-9]*)$/, `${name} must be a whole number written in digits`)
    .transform(Number)
    .pipe(z.number().min(min, `${name} must be at least ${min}`).max(max, `${name} must be at most ${max}`));

/** Seconds between two polls of a watched connection: 12 list requests a minute (docs/live.md). */
export const DEFAULT_WATCH_INTERVAL = 5;
const MAX_WATCH_INTERVAL = 3600;

/** The largest SWITCHBOARD_MAX_DATA_AGE (and `maxDataAge`), in seconds. */
const MAX_DATA_AGE = 3600;
/** Demo mode serves `calls` from windows up to 10 s old unless told otherwise. */
export const DEMO_MAX_DATA_AGE = 10;

/** Largest upstream request rate a connection can be given, per second (0 is unlimited). */
const MAX_RATE_PER_SECOND = 100_000;

/** The integer variables, with their bounds and defaults. */
const integerSettings = z.object({
  PORT: int('PORT', 0, 65535).default(4000),
  SWITCHBOARD_UPSTREAM_TIMEOUT_MS: int('SWITCHBOARD_UPSTREAM_TIMEOUT_MS', 100, 120_000).default(defaultHttpPolicy.totalTimeoutMs),
  SWITCHBOARD_UPSTREAM_RETRIES: int('SWITCHBOARD_UPSTREAM_RETRIES', 0, 2).default(defaultHttpPolicy.retries),
  SWITCHBOARD_UPSTREAM_CONCURRENCY: int('SWITCHBOARD_UPSTREAM_CONCURRENCY', 1, 256).default(defaultHttpPolicy.concurrency),
  SWITCHBOARD_MAX_BODY_BYTES: int('SWITCHBOARD_MAX_BODY_BYTES', 1024, 10_000_000).default(100_000),
  SWITCHBOARD_UPSTREAM_CONNECT_TIMEOUT_MS: int('SWITCHBOARD_UPSTREAM_CONNECT_TIMEOUT_MS', 100, 120_000).optional(),
  SWITCHBOARD_UPSTREAM_RESPONSE_TIMEOUT_MS: int('SWITCHBOARD_UPSTREAM_RESPONSE_TIMEOUT_MS', 100, 120_000).optional(),
  SWITCHBOARD_UPSTREAM_MAX_RETRY_AFTER_MS: int('SWITCHBOARD_UPSTREAM_MAX_RETRY_AFTER_MS', 0, 60_000).default(defaultHttpPolicy.maxRetryAfterMs),
  SWITCHBOARD_UPSTREAM_QUEUE: int('SWITCHBOARD_UPSTREAM_QUEUE', 0, 10_000).default(defaultHttpPolicy.queueSize),
  SWITCHBOARD_UPSTREAM_MAX_BODY_BYTES: int('SWITCHBOARD_UPSTREAM_MAX_BODY_BYTES', 1024, 100_000_000).default(defaultHttpPolicy.maxBodyBytes),
  SWITCHBOARD_BREAKER_THRESHOLD: int('SWITCHBOARD_BREAKER_THRESHOLD', 1, 1000).default(defaultHttpPolicy.breakerThreshold),
  SWITCHBOARD_BREAKER_OPEN_MS: int('SWITCHBOARD_BREAKER_OPEN_MS', 100, 600_000).default(defaultHttpPolicy.breakerOpenMs),
  SWITCHBOARD_SCAN_BUDGET: int('SWITCHBOARD_SCAN_BUDGET', 1, 1000).default(10),
  SWITCHBOARD_UPSTREAM_RATE_PER_SECOND: int('SWITCHBOARD_UPSTREAM_RATE_PER_SECOND', 0, MAX_RATE_PER_SECOND).default(defaultHttpPolicy.ratePerSecond),
  SWITCHBOARD_UPSTREAM_BUDGET_MS: int('SWITCHBOARD_UPSTREAM_BUDGET_MS', 100, 600_000).default(defaultHttpPolicy.requestBudgetMs),
  SWITCHBOARD_MAX_QUERY_DEPTH: int('SWITCHBOARD_MAX_QUERY_DEPTH', 2, 100).default(defaultQueryLimits.maxDepth),
  SWITCHBOARD_MAX_ALIASES: int('SWITCHBOARD_MAX_ALIASES', 0, 1000).default(defaultQueryLimits.maxAliases),
  SWITCHBOARD_MAX_TOKENS: int('SWITCHBOARD_MAX_TOKENS', 100, 1_000_000).default(defaultQueryLimits.maxTokens),
  SWITCHBOARD_MAX_QUERY_COST: int('SWITCHBOARD_MAX_QUERY_COST', 10, 10_000_000).default(defaultQueryLimits.maxCost),
  SWITCHBOARD_MAX_DIRECTIVES: int('SWITCHBOARD_MAX_DIRECTIVES', 0, 1000).default(defaultQueryLimits.maxDirectives),
  SWITCHBOARD_MAX_SELECTIONS: int('SWITCHBOARD_MAX_SELECTIONS', 10, 10_000_000).default(defaultQueryLimits.maxSelections),
  SWITCHBOARD_CACHE_TTL_SECONDS: int('SWITCHBOARD_CACHE_TTL_SECONDS', 1, 30 * 86_400).default(3_600),
  SWITCHBOARD_CACHE_MAX_ENTRIES: int('SWITCHBOARD_CACHE_MAX_ENTRIES', 0, 10_000_000).default(10_000),
  // Under Kubernetes' default 30 s termination grace, with room for the worst upstream request
  // (3 tries of the 8 s total time-out, plus back-off).
  SWITCHBOARD_SHUTDOWN_GRACE_MS: int('SWITCHBOARD_SHUTDOWN_GRACE_MS', 0, 600_000).default(25_000),
  SWITCHBOARD_MAX_IN_FLIGHT: int('SWITCHBOARD_MAX_IN_FLIGHT', 0, 1_000_000).default(defaultOverloadLimits.maxInFlight),
  SWITCHBOARD_MAX_EVENT_LOOP_DELAY_MS: int('SWITCHBOARD_MAX_EVENT_LOOP_DELAY_MS', 0, 60_000).default(defaultOverloadLimits.maxEventLoopDelayMs),
  SWITCHBOARD_OVERLOAD_RETRY_AFTER_SECONDS: int('SWITCHBOARD_OVERLOAD_RETRY_AFTER_SECONDS', 1, 60).default(defaultOverloadLimits.retryAfterSeconds),
  SWITCHBOARD_WEBHOOK_RETRY_PERIOD_SECONDS: int('SWITCHBOARD_WEBHOOK_RETRY_PERIOD_SECONDS', 1, 7 * 86_400).default(defaultWebhookSettings.retryPeriodMs / 1000),
  SWITCHBOARD_WEBHOOK_QUEUE: int('SWITCHBOARD_WEBHOOK_QUEUE', 1, 100_000).default(defaultWebhookSettings.queueSize),
  SWITCHBOARD_WEBHOOK_TIMEOUT_MS: int('SWITCHBOARD_WEBHOOK_TIMEOUT_MS', 100, 120_000).default(defaultWebhookSettings.timeoutMs),
  SWITCHBOARD_WATCH_INTERVAL: int('SWITCHBOARD_WATCH_INTERVAL', 1, MAX_WATCH_INTERVAL).default(DEFAULT_WATCH_INTERVAL),
  SWITCHBOARD_WATCH_DEMAND_REQUESTS: int('SWITCHBOARD_WATCH_DEMAND_REQUESTS', 1, 100_000).default(DEFAULT_DEMAND.requests),
  SWITCHBOARD_WATCH_DEMAND_PERIOD_SECONDS: int('SWITCHBOARD_WATCH_DEMAND_PERIOD_SECONDS', 1, 86_400).default(DEFAULT_DEMAND.periodMs / 1000),
  SWITCHBOARD_WATCH_QUIET_SECONDS: int('SWITCHBOARD_WATCH_QUIET_SECONDS', 1, 86_400).default(DEFAULT_DEMAND.quietMs / 1000),
  SWITCHBOARD_MAX_DATA_AGE: int('SWITCHBOARD_MAX_DATA_AGE', 0, MAX_DATA_AGE).optional(),
  // ~29 KB each (bench/results/live.md): 5000 hold ~145 MB, comfortable for a 2-core replica.
  SWITCHBOARD_MAX_SUBSCRIPTIONS: int('SWITCHBOARD_MAX_SUBSCRIPTIONS', 1, 1_000_000).default(5_000),
});

/**
 * Every variable Switchboard reads. A variable under one of `OWN_PREFIXES` that is not listed here
 * is a typo (SWITCHBOARD_API_KEY for SWITCHBOARD_API_KEYS would leave the API open; TWENTY2_BASEURL
 * would send credentials to the default host) and stops start-up.
 */
export const KNOWN_VARIABLES: readonly string[] = [
  'NODE_ENV',
  'LOG_LEVEL',
  'REDIS_URL',
  'SWITCHBOARD_CONFIG',
  'SWITCHBOARD_API_KEYS',
  'SWITCHBOARD_ALLOW_ANONYMOUS',
  'SWITCHBOARD_CURSOR_SECRET',
  'SWITCHBOARD_DEMO',
  'SWITCHBOARD_PERSISTED_QUERY_MANIFEST',
  'SWITCHBOARD_WEBHOOKS',
  'SWITCHBOARD_WATCH',
  'SWITCHBOARD_SUBSCRIPTION_CALLBACK_URLS',
  ...Object.keys(integerSettings.shape),
  ...Object.values(envNames).flatMap((names) => Object.values(names) as string[]),
];
const OWN_PREFIXES = ['SWITCHBOARD_', ...Object.keys(envNames).map((provider) => `${provider}_`)];
/** Under our prefix but read by other tools our docs set up, not by the server; allowed beside it. */
export const OTHER_TOOLS_VARIABLES: readonly string[] = [
  'SWITCHBOARD_URL', // examples/call-log's dev server
  'SWITCHBOARD_COMPOSE_KEY', // rover's supergraph config (docs/supergraph.md)
  'SWITCHBOARD_GATEWAY_KEY', // the gateway's key for Switchboard (docs/supergraph.md)
];

const NODE_ENVS = ['production', 'development', 'test'];

const providerKeys = PROVIDER_MODULES.map((m) => m.provider.toLowerCase());
const providerName = z.enum(providerKeys as [string, ...string[]]);

/**
 * An API-key scope entry: `*`, a provider (`unpod`: all its connections) or a connection label
 * (`twenty2/default`). The provider part is read in any case; the connection name as written.
 */
const scopeEntry = z
  .string()
  .regex(/^(\*|[A-Za-z0-9]+(\/[A-Za-z0-9][A-Za-z0-9_.-]{0,63})?)$/, 'must be "*", a provider such as "unpod" or a connection such as "twenty2/default"')
  .transform((entry) => entry.replace(/^[^/]+/, (provider) => provider.toLowerCase()))
  .refine((entry) => entry === '*' || providerName.safeParse(entry.split('/')[0]).success, `names no provider Switchboard has (${providerKeys.join(', ')})`);

const fileSchema = z.strictObject({
  connections: z.array(z.looseObject({ provider: providerName })).default([]),
  apiKeys: z
    .array(
      z.strictObject({
        name: connectionName,
        key: apiKeySecret,
        connections: z.array(scopeEntry).min(1, 'must list at least one connection (leave it out for all)').nullish(),
      }),
    )
    .default([]),
  // Each entry is checked by webhookEndpoints(), which names the entry (and never echoes a secret).
  webhooks: z.array(z.unknown()).default([]),
});

/** A file connection's `watchInterval`: whole seconds, as a JSON number. */
const watchInterval = z
  .number({ error: 'must be a whole number of seconds (a JSON number)' })
  .int('must be a whole number of seconds')
  .min(1, 'must be at least 1 (second)')
  .max(MAX_WATCH_INTERVAL, `must be at most ${MAX_WATCH_INTERVAL} (seconds)`);

/** SWITCHBOARD_WATCH, or a file connection's `watch`: one of the policies, as written. */
const watchPolicy = z.enum(WATCH_POLICIES, { error: `must be one of ${WATCH_POLICIES.map((p) => `"${p}"`).join(', ')}` });
/** A file connection's `maxDataAge`: whole seconds, as a JSON number; 0: never served from its window. */
const maxDataAge = z
  .number({ error: 'must be a whole number of seconds (a JSON number)' })
  .int('must be a whole number of seconds')
  .min(0, 'must be at least 0 (0: never served from the window)')
  .max(MAX_DATA_AGE, `must be at most ${MAX_DATA_AGE} (seconds)`);

/** A file connection's `upstreamRatePerSecond`: whole requests a second, as a JSON number; 0 is unlimited. */
const upstreamRatePerSecond = z
  .number({ error: 'must be a whole number of requests a second (a JSON number)' })
  .int('must be a whole number of requests a second')
  .min(0, 'must be at least 0 (0: unlimited)')
  .max(MAX_RATE_PER_SECOND, `must be at most ${MAX_RATE_PER_SECOND}`);

/** The file's entry for one connection: `provider`, `name` and that provider's settings, nothing else. */
function fileConnectionSchema(provider: Provider): z.ZodType<{ provider: string; name: string } & Record<string, unknown>> {
  // safeExtend keeps the module's own checks (Twilio's credential pair), which spreading `.shape` would drop.
  return (settingsSchemas[provider] as z.ZodObject).safeExtend({ provider: providerName, name: connectionName, watchInterval: watchInterval.optional(), watch: watchPolicy.optional(), upstreamRatePerSecond: upstreamRatePerSecond.optional(), maxDataAge: maxDataAge.optional() }) as unknown as z.ZodType<{ provider: string; name: string } & Record<string, unknown>>;
}

/** `connections[1].baseURL`: a zod path as written in JSON terms. */
function pathText(path: readonly PropertyKey[]): string {
  return path.map((step, i) => (typeof step === 'number' ? `[${step}]` : `${i ? '.' : ''}${String(step)}`)).join('');
}

/**
 * One line for the first problem zod found, an unknown key first (a misspelt key is usually why a
 * required one is missing), with the nearest known key as a suggestion. Values are never echoed.
 */
function issueLine(prefix: string, schema: z.ZodType, error: z.ZodError, base: readonly PropertyKey[] = []): string {
  const issue = error.issues.find((i) => i.code === 'unrecognized_keys') ?? error.issues[0]!;
  if (issue.code === 'unrecognized_keys') {
    const key = issue.keys[0]!;
    const known = knownKeys(schema, issue.path);
    const suggestion = closest(key, known);
    const hint = suggestion ? `did you mean "${suggestion}"?` : `known keys: ${known.join(', ')}`;
    return `${prefix}${pathText([...base, ...issue.path, key])}: unknown key (${hint})`;
  }
  const message = /received undefined$/.test(issue.message) ? 'is required' : issue.message;
  const where = pathText([...base, ...issue.path]);
  return `${prefix}${where}${where ? ': ' : ''}${message}`;
}

/** The path of the first "__proto__" key in parsed JSON, if any. */
function protoKeyPath(value: unknown, path: PropertyKey[]): PropertyKey[] | null {
  if (typeof value !== 'object' || value === null) return null;
  for (const [key, inner] of Object.entries(value)) {
    const at = [...path, Array.isArray(value) ? Number(key) : key];
    if (key === '__proto__') return at;
    const found = protoKeyPath(inner, at);
    if (found) return found;
  }
  return null;
}

/** The keys the object schema at `path` inside `schema` accepts (optional/default/pipe unwrapped). */
function knownKeys(schema: z.ZodType, path: readonly PropertyKey[]): string[] {
  type Def = { type: string; innerType?: Node; in?: Node; shape?: Record<string, Node>; element?: Node };
  type Node = { _zod: { def: Def } };
  const unwrap = (node: Node): Node => {
    const def = node._zod.def;
    const inner = def.innerType ?? (def.type === 'pipe' ? def.in : undefined);
    return inner ? unwrap(inner) : node;
  };
  let node: Node | undefined = unwrap(schema as unknown as Node);
  for (const step of path) {
    const def: Def = node._zod.def;
    node = def.type === 'object' ? def.shape?.[String(step)] : def.type === 'array' ? def.element : undefined;
    if (!node) return [];
    node = unwrap(node);
  }
  return Object.keys(node._zod.def.shape ?? {});
}

/** The known name nearest to a misspelt one (same letters in another case, or a few edits away). */
function closest(word: string, known: readonly string[]): string | null {
  let best: string | null = null;
  let bestDistance = Math.max(1, Math.min(3, Math.floor(word.length / 3)));
  for (const candidate of known) {
    if (candidate.toLowerCase() === word.toLowerCase()) return candidate;
    const d = editDistance(word.toLowerCase(), candidate.toLowerCase());
    if (d <= bestDistance) [best, bestDistance] = [candidate, d - 1];
  }
  return best;
}

/** Levenshtein distance. */
function editDistance(a: string, b: string): number {
  let row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const next = [i];
    for (let j = 1; j <= b.length; j++) {
      next[j] = Math.min(row[j]! + 1, next[j - 1]! + 1, row[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    row = next;
  }
  return row[b.length]!;
}

/**
 * The environment's own namespace checked before any value is read: unknown names under our
 * prefixes, and empty values of the variables we read (an empty SWITCHBOARD_API_KEYS would
 * otherwise mean "no keys", an empty *_BASE_URL "the default host").
 */
function checkVariables(env: NodeJS.ProcessEnv): void {
  for (const name of Object.keys(env).sort()) {
    const known = KNOWN_VARIABLES.includes(name);
    const ours = OWN_PREFIXES.some((prefix) => name.toUpperCase().startsWith(prefix)) && !OTHER_TOOLS_VARIABLES.includes(name);
    if (!known && ours) {
      const suggestion = closest(name, KNOWN_VARIABLES);
      throw new ConfigError(
        `${name}: unknown variable${suggestion ? ` (did you mean ${suggestion}?)` : ''}; docs/operations.md lists every variable Switchboard reads`,
      );
    }
    if (known && env[name] !== undefined && env[name]!.trim() === '') {
      throw new ConfigError(`${name} is set but empty: give it a value or unset it`);
    }
  }
  if (env.NODE_ENV !== undefined && !NODE_ENVS.includes(env.NODE_ENV)) {
    throw new ConfigError(`NODE_ENV must be one of ${NODE_ENVS.join(', ')} (or unset); got "${env.NODE_ENV.slice(0, 40)}"`);
  }
}

/** A boolean variable: exactly `true` or `false`; undefined when unset. */
function bool(env: NodeJS.ProcessEnv, name: string): boolean | undefined {
  const value = env[name];
  if (value === undefined) return undefined;
  if (value !== 'true' && value !== 'false') {
    throw new ConfigError(`${name} must be "true" or "false"; got "${value.slice(0, 40)}"`);
  }
  return value === 'true';
}

function envConnection<P extends Provider>(provider: P, env: NodeJS.ProcessEnv): ConnectionConfig | null {
  const names = envNames[provider] as Record<string, string>;
  const raw: Record<string, string> = {};
  for (const [key, name] of Object.entries(names)) {
    const value = env[name];
    if (value !== undefined) raw[key] = value;
  }
  if (Object.keys(raw).length === 0) return null;
  const result = settingsSchemas[provider].safeParse(raw);
  if (!result.success) {
    const issue = result.error.issues[0]!;
    const key = String(issue.path[0]);
    const name = names[key] ?? key;
    const given = Object.entries(raw)
      .map(([k]) => names[k])
      .join(', ');
    const message = raw[key] === undefined ? `is required when ${given} ${given.includes(',') ? 'are' : 'is'} set` : issue.message;
    throw new ConfigError(`${name} ${message}`);
  }
  return { provider, connection: 'default', settings: result.data } as ConnectionConfig;
}

/**
 * Parses `SWITCHBOARD_API_KEYS`: comma-separated `key` or `key:scope+scope` (see
 * docs/operations.md), no whitespace anywhere. Throws ConfigError naming the entry, never the key.
 */
function parseApiKeys(value: string | undefined): ApiKey[] {
  if (value === undefined) return [];
  const expected = 'expected "<key>" or "<key>:<scope>+<scope>"';
  return value.split(',').map((entry, index) => {
    const where = `SWITCHBOARD_API_KEYS entry ${index + 1}`;
    if (/\s/.test(entry)) throw new ConfigError(`${where}: must not contain whitespace`);
    const [secret = '', scope, extra] = entry.split(':');
    if (entry === '' || extra !== undefined) throw new ConfigError(`${where}: ${expected}`);
    const key = apiKeySecret.safeParse(secret);
    if (!key.success) throw new ConfigError(`${where}: the key ${key.error.issues[0]!.message}`);
    if (scope === undefined) return { id: `key#${index + 1}`, secret, scope: null };
    const entries = scope.split('+').map((s, i) => {
      const parsed = scopeEntry.safeParse(s);
      if (!parsed.success) throw new ConfigError(`${where}, scope ${i + 1}: ${s === '' ? 'is empty' : parsed.error.issues[0]!.message}`);
      return parsed.data;
    });
    return { id: `key#${index + 1}`, secret, scope: entries.includes('*') ? null : entries };
  });
}

/**
 * Reads and checks the SWITCHBOARD_CONFIG file: JSON (a leading byte order mark ignored) with
 * `connections` and `apiKeys` only. Throws ConfigError naming the key's path, never its value.
 */
function readConfigFile(file: string): { connections: ConnectionConfig[]; apiKeys: ApiKey[]; webhooks: unknown[] } {
  const prefix = `SWITCHBOARD_CONFIG (${file})`;
  let source: string;
  try {
    source = readFileSync(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new ConfigError(`${prefix}: ${code === 'ENOENT' ? 'file not found' : `cannot be read (${code ?? 'unknown error'})`}`);
  }
  // A UTF-8 byte order mark, as some editors write, is not content (RFC 8259 §8.1).
  if (source.startsWith('\uFEFF')) source = source.slice(1);
  const at = (position: number) => {
    const before = source.slice(0, position).split('\n');
    return `line ${before.length}, column ${before[before.length - 1]!.length + 1}`;
  };
  let json: unknown;
  try {
    // lossless-json rather than JSON.parse: a key given twice is refused, not "last one wins".
    json = parseJson(source, null, {
      parseNumber: Number,
      onDuplicateKey: ({ key, position }) => {
        throw new ConfigError(`SWITCHBOARD_CONFIG: key "${key}" given twice (${at(position - 1)})`);
      },
    });
  } catch (error) {
    if (error instanceof ConfigError) throw error;
    // Only the position: the parser's message may quote the file's content, credentials included.
    const position = /at position (\d+)/.exec((error as Error).message)?.[1];
    throw new ConfigError(`${prefix}: not valid JSON${position ? ` (${at(Number(position))})` : ''}`);
  }
  // zod skips a "__proto__" key rather than calling it unknown: find it first.
  const proto = protoKeyPath(json, []);
  if (proto) throw new ConfigError(`SWITCHBOARD_CONFIG ${pathText(proto)}: unknown key`);
  const top = fileSchema.safeParse(json);
  if (!top.success) throw new ConfigError(issueLine('SWITCHBOARD_CONFIG ', fileSchema, top.error));

  const connections = top.data.connections.map((entry, index): ConnectionConfig => {
    const provider = entry.provider.toUpperCase() as Provider;
    const schema = fileConnectionSchema(provider);
    const parsed = schema.safeParse(entry);
    if (!parsed.success) {
      throw new ConfigError(issueLine('SWITCHBOARD_CONFIG ', schema, parsed.error, ['connections', index]));
    }
    const { provider: _provider, name, watchInterval, watch, upstreamRatePerSecond, maxDataAge, ...settings } = parsed.data;
    return {
      provider,
      connection: name,
      settings,
      ...(watchInterval === undefined ? {} : { watchInterval }),
      ...(watch === undefined ? {} : { watch }),
      ...(upstreamRatePerSecond === undefined ? {} : { upstreamRatePerSecond }),
      ...(maxDataAge === undefined ? {} : { maxDataAge }),
    } as ConnectionConfig;
  });
  const apiKeys = top.data.apiKeys.map((key) => ({ id: key.name, secret: key.key, scope: key.connections?.includes('*') ? null : (key.connections ?? null) }));
  return { connections, apiKeys, webhooks: top.data.webhooks };
}

/**
 * SWITCHBOARD_WEBHOOKS: a JSON array of endpoints (docs/live.md, "Webhooks"). Parsed like the
 * config file (a key given twice is refused); a syntax error names only its position, since the
 * text holds secrets.
 */
function parseWebhooksVariable(value: string | undefined): unknown[] {
  if (value === undefined) return [];
  let json: unknown;
  try {
    json = parseJson(value, null, {
      parseNumber: Number,
      onDuplicateKey: ({ key, position }) => {
        throw new ConfigError(`SWITCHBOARD_WEBHOOKS: key "${key}" given twice (at character ${position})`);
      },
    });
  } catch (error) {
    if (error instanceof ConfigError) throw error;
    const position = /at position (\d+)/.exec((error as Error).message)?.[1];
    throw new ConfigError(`SWITCHBOARD_WEBHOOKS: not valid JSON${position ? ` (at character ${position})` : ''}`);
  }
  if (!Array.isArray(json)) throw new ConfigError('SWITCHBOARD_WEBHOOKS: must be a JSON array of endpoints, e.g. [{"url": "https://…", "secret": "whsec_…"}]');
  const proto = protoKeyPath(json, []);
  if (proto) throw new ConfigError(`SWITCHBOARD_WEBHOOKS${pathText(proto)}: unknown key`);
  return json;
}

/**
 * The endpoints of SWITCHBOARD_WEBHOOKS, then of the file's `webhooks`, numbered in that order (the
 * `endpoint` label of metrics and logs). Each problem names the variable or file, the entry's index
 * and the field (`SWITCHBOARD_WEBHOOKS[1].filter.statuses[0]: …`), never a secret or a URL.
 */
function webhookEndpoints(sources: { where: string; entries: unknown[] }[]): { endpoints: WebhookEndpoint[]; names: string[] } {
  const endpoints: WebhookEndpoint[] = [];
  /** Each endpoint's entry as errors name it (`SWITCHBOARD_WEBHOOKS[1]`), by `index`. */
  const names: string[] = [];
  for (const { where, entries } of sources) {
    entries.forEach((entry, i) => {
      const parsed = webhookEndpointSchema.safeParse(entry);
      if (!parsed.success) throw new ConfigError(issueLine(where, webhookEndpointSchema, parsed.error, [i]));
      let filter;
      try {
        filter = webhookFilter(parsed.data.filter);
      } catch (error) {
        throw new ConfigError(`${where}[${i}].${(error as Error).message}`);
      }
      const { url, secret, types } = parsed.data;
      endpoints.push({ index: endpoints.length, url, secret, filter, types: types ? [...new Set(types)] : null });
      names.push(`${where}[${i}]`);
    });
  }
  return { endpoints, names };
}

/**
 * What the entries cannot mean on purpose, refused as the file's strict reading refuses a typo
 * (docs/operations.md): two entries with the same URL, filter and types (every event would be
 * delivered twice), and a filter naming a provider no configured connection is of (it would never
 * match). Errors name the entries and the field, never a URL or secret.
 * @throws ConfigError.
 */
function checkWebhookEndpoints(endpoints: readonly WebhookEndpoint[], names: readonly string[], available: readonly string[]): void {
  const seen = new Map<string, number>();
  for (const endpoint of endpoints) {
    const { filter } = endpoint;
    const providers = filter.providers ?? [];
    const dead = providers.findIndex((provider) => !available.some((label) => label.startsWith(`${provider.toLowerCase()}/`)));
    if (dead !== -1) {
      throw new ConfigError(
        `${names[endpoint.index]}.filter.providers[${dead}]: no connection of ${providers[dead]} is configured (configured: ${available.join(', ')}), so this filter would never match; remove it or configure the provider`,
      );
    }
    const key = endpointIdentity(endpoint);
    const first = seen.get(key);
    if (first !== undefined) {
      throw new ConfigError(
        `${names[first]} and ${names[endpoint.index]} are the same webhook (the same URL, filter and types): every event would be delivered twice; remove one`,
      );
    }
    seen.set(key, endpoint.index);
  }
}

/**
 * Reads the whole configuration from `env` (and the file SWITCHBOARD_CONFIG names).
 * @throws ConfigError with one line naming the bad variable or file key; nothing is echoed that
 *   could be a credential.
 */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  checkVariables(env);
  const production = env.NODE_ENV === 'production';
  const connections: ConnectionConfig[] = [];
  for (const provider of Object.keys(envNames) as Provider[]) {
    const connection = envConnection(provider, env);
    if (connection) connections.push(connection);
  }

  const apiKeys = parseApiKeys(env.SWITCHBOARD_API_KEYS);
  const webhookSources = [{ where: 'SWITCHBOARD_WEBHOOKS', entries: parseWebhooksVariable(env.SWITCHBOARD_WEBHOOKS) }];
  if (env.SWITCHBOARD_CONFIG !== undefined) {
    const file = readConfigFile(env.SWITCHBOARD_CONFIG);
    connections.push(...file.connections);
    apiKeys.push(...file.apiKeys);
    webhookSources.push({ where: 'SWITCHBOARD_CONFIG webhooks', entries: file.webhooks });
  }
  const { endpoints, names: endpointNames } = webhookEndpoints(webhookSources);

  const labels = connections.map(connectionLabel);
  const duplicate = labels.find((label, i) => labels.indexOf(label) !== i);
  if (duplicate) throw new ConfigError(`connection ${duplicate} is configured twice`);

  // Demo mode only when asked for, or outside production with nothing configured: a production
  // deployment whose provider variables went missing must not quietly serve simulated calls.
  const demoFlag = bool(env, 'SWITCHBOARD_DEMO');
  if (demoFlag === true && connections.length > 0) {
    throw new ConfigError(
      `SWITCHBOARD_DEMO=true but providers are configured (${labels.join(', ')}): demo mode serves only the built-in simulators; unset one or the other`,
    );
  }
  if (connections.length === 0 && demoFlag === false) {
    throw new ConfigError('SWITCHBOARD_DEMO=false and no provider is configured: set a provider\'s variables (README) or SWITCHBOARD_CONFIG');
  }
  const demo = connections.length === 0;
  // In demo mode the simulators are the connections, each named "default" (src/demo.ts).
  const available = demo ? Object.keys(envNames).map((p) => `${p.toLowerCase()}/default`) : labels;
  checkWebhookEndpoints(endpoints, endpointNames, available);

  const secrets = new Map<string, string>();
  for (const key of apiKeys) {
    const same = secrets.get(key.secret);
    if (same) throw new ConfigError(`API key ${key.id} is the same key as ${same}: each key must be different`);
    secrets.set(key.secret, key.id);
    const unknown = key.scope?.find((label) => !available.includes(label) && !isProviderWide(label, available));
    if (unknown) {
      throw new ConfigError(`API key ${key.id}: unknown connection "${unknown}" (configured: ${available.join(', ')})`);
    }
  }
  const ids = apiKeys.map((key) => key.id);
  const twice = ids.find((id, i) => ids.indexOf(id) !== i);
  // Names are what logs show and what cursors are bound to: two keys must not share one.
  if (twice) throw new ConfigError(`SWITCHBOARD_CONFIG apiKeys: the name "${twice}" is used twice`);

  const allowAnonymous = bool(env, 'SWITCHBOARD_ALLOW_ANONYMOUS') ?? false;
  if (production && apiKeys.length === 0 && !allowAnonymous) {
    throw new ConfigError(
      'NODE_ENV=production without SWITCHBOARD_API_KEYS: refusing to serve an open API. Configure keys, or set SWITCHBOARD_ALLOW_ANONYMOUS=true to allow it.',
    );
  }
  if (production && demo && demoFlag !== true) {
    throw new ConfigError(
      'NODE_ENV=production and no provider is configured: refusing to serve simulated calls. Set a provider\'s variables (README) or SWITCHBOARD_CONFIG, or SWITCHBOARD_DEMO=true to serve the built-in simulators on purpose.',
    );
  }

  const numbers = integerSettings.safeParse(env);
  if (!numbers.success) {
    const issue = numbers.error.issues[0]!;
    throw new ConfigError(`${issue.message}; got "${String(env[String(issue.path[0])]).slice(0, 40)}"`);
  }
  const n = numbers.data;
  const totalTimeoutMs = n.SWITCHBOARD_UPSTREAM_TIMEOUT_MS;

  const cursorSecret = env.SWITCHBOARD_CURSOR_SECRET ?? null;
  if (cursorSecret !== null && (cursorSecret.length < 32 || cursorSecret.trim() !== cursorSecret)) {
    throw new ConfigError('SWITCHBOARD_CURSOR_SECRET must be at least 32 characters, without surrounding whitespace');
  }

  return {
    port: n.PORT,
    production,
    demo,
    connections,
    apiKeys,
    allowAnonymous,
    cursorSecret,
    http: {
      ...defaultHttpPolicy,
      totalTimeoutMs,
      responseTimeoutMs: Math.min(n.SWITCHBOARD_UPSTREAM_RESPONSE_TIMEOUT_MS ?? defaultHttpPolicy.responseTimeoutMs, totalTimeoutMs),
      connectTimeoutMs: Math.min(n.SWITCHBOARD_UPSTREAM_CONNECT_TIMEOUT_MS ?? defaultHttpPolicy.connectTimeoutMs, totalTimeoutMs),
      maxRetryAfterMs: n.SWITCHBOARD_UPSTREAM_MAX_RETRY_AFTER_MS,
      queueSize: n.SWITCHBOARD_UPSTREAM_QUEUE,
      maxBodyBytes: n.SWITCHBOARD_UPSTREAM_MAX_BODY_BYTES,
      breakerThreshold: n.SWITCHBOARD_BREAKER_THRESHOLD,
      breakerOpenMs: n.SWITCHBOARD_BREAKER_OPEN_MS,
      retries: n.SWITCHBOARD_UPSTREAM_RETRIES,
      concurrency: n.SWITCHBOARD_UPSTREAM_CONCURRENCY,
      requestBudgetMs: n.SWITCHBOARD_UPSTREAM_BUDGET_MS,
      ratePerSecond: n.SWITCHBOARD_UPSTREAM_RATE_PER_SECOND,
    },
    logLevel: logLevel(env.LOG_LEVEL),
    maxBodyBytes: n.SWITCHBOARD_MAX_BODY_BYTES,
    limits: {
      maxDepth: n.SWITCHBOARD_MAX_QUERY_DEPTH,
      maxAliases: n.SWITCHBOARD_MAX_ALIASES,
      maxTokens: n.SWITCHBOARD_MAX_TOKENS,
      maxCost: n.SWITCHBOARD_MAX_QUERY_COST,
      maxDirectives: n.SWITCHBOARD_MAX_DIRECTIVES,
      maxSelections: n.SWITCHBOARD_MAX_SELECTIONS,
    },
    cache: {
      redisUrl: redisUrl(env.REDIS_URL),
      ttlSeconds: n.SWITCHBOARD_CACHE_TTL_SECONDS,
      maxEntries: n.SWITCHBOARD_CACHE_MAX_ENTRIES,
    },
    scanBudget: n.SWITCHBOARD_SCAN_BUDGET,
    persistedQueries: env.SWITCHBOARD_PERSISTED_QUERY_MANIFEST === undefined ? null : readManifest(env.SWITCHBOARD_PERSISTED_QUERY_MANIFEST),
    shutdownGraceMs: n.SWITCHBOARD_SHUTDOWN_GRACE_MS,
    overload: {
      maxInFlight: n.SWITCHBOARD_MAX_IN_FLIGHT,
      maxEventLoopDelayMs: n.SWITCHBOARD_MAX_EVENT_LOOP_DELAY_MS,
      retryAfterSeconds: n.SWITCHBOARD_OVERLOAD_RETRY_AFTER_SECONDS,
    },
    webhooks: {
      ...defaultWebhookSettings,
      endpoints,
      retryPeriodMs: n.SWITCHBOARD_WEBHOOK_RETRY_PERIOD_SECONDS * 1000,
      queueSize: n.SWITCHBOARD_WEBHOOK_QUEUE,
      timeoutMs: n.SWITCHBOARD_WEBHOOK_TIMEOUT_MS,
      // A claim covers rendering (detail requests, within the upstream budget) and the POST.
      claimMs: n.SWITCHBOARD_UPSTREAM_BUDGET_MS + n.SWITCHBOARD_WEBHOOK_TIMEOUT_MS + 5_000,
    },
    watch: {
      intervalMs: n.SWITCHBOARD_WATCH_INTERVAL * 1000,
      leaseMs: DEFAULT_LEASE_MS,
      heartbeatMs: DEFAULT_HEARTBEAT_MS,
      ...(env.SWITCHBOARD_WATCH === undefined ? {} : { policy: watchPolicyVariable(env.SWITCHBOARD_WATCH) }),
      demand: {
        requests: n.SWITCHBOARD_WATCH_DEMAND_REQUESTS,
        periodMs: n.SWITCHBOARD_WATCH_DEMAND_PERIOD_SECONDS * 1000,
        quietMs: n.SWITCHBOARD_WATCH_QUIET_SECONDS * 1000,
      },
    },
    maxDataAgeMs: (n.SWITCHBOARD_MAX_DATA_AGE ?? (demo ? DEMO_MAX_DATA_AGE : 0)) * 1000,
    subscriptionCallbacks: { urls: callbackUrls(env.SWITCHBOARD_SUBSCRIPTION_CALLBACK_URLS) },
    maxSubscriptions: n.SWITCHBOARD_MAX_SUBSCRIPTIONS,
  };
}

/** SWITCHBOARD_WATCH, as written (its default is `watchPolicies`', src/live/source.ts). */
function watchPolicyVariable(value: string): WatchPolicy {
  const parsed = watchPolicy.safeParse(value);
  if (!parsed.success) throw new ConfigError(`SWITCHBOARD_WATCH ${parsed.error.issues[0]!.message}; got "${value.slice(0, 40)}"`);
  return parsed.data;
}

/**
 * SWITCHBOARD_SUBSCRIPTION_CALLBACK_URLS: the callback URLs routers may name (docs/live.md), comma
 * separated, each an http(s) URL without credentials, query or fragment; none: callbacks are off.
 */
function callbackUrls(value: string | undefined): string[] {
  if (value === undefined) return [];
  return value.split(',').map((entry, i) => {
    const parsed = url.safeParse(entry);
    if (!parsed.success) {
      throw new ConfigError(`SWITCHBOARD_SUBSCRIPTION_CALLBACK_URLS[${i}]: ${parsed.error.issues[0]!.message} (a comma-separated list of URL prefixes such as http://router:4000/callback)`);
    }
    return parsed.data;
  });
}

/** The persisted-query manifest file, checked (src/persistedQueries.ts); a problem stops start-up naming it. */
function readManifest(file: string): PersistedQueryManifest {
  const prefix = `SWITCHBOARD_PERSISTED_QUERY_MANIFEST (${file})`;
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new ConfigError(`${prefix}: ${code === 'ENOENT' ? 'file not found' : `cannot be read (${code ?? 'unknown error'})`}`);
  }
  try {
    return parseManifest(text);
  } catch (error) {
    throw new ConfigError(`${prefix}: ${(error as Error).message}`);
  }
}

/** REDIS_URL, checked without echoing it: it may carry a password. */
function redisUrl(url: string | undefined): string | null {
  if (url === undefined) return null;
  if (!URL.canParse(url) || !/^rediss?:$/.test(new URL(url).protocol)) {
    throw new ConfigError('REDIS_URL must be a redis:// or rediss:// URL, e.g. redis://cache.internal:6379/0');
  }
  return url;
}

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

/** LOG_LEVEL: one of pino's levels, "info" by default; logs are always JSON lines on stdout. */
function logLevel(value: string | undefined): string {
  const level = value?.toLowerCase() ?? 'info';
  if (!LOG_LEVELS.includes(level)) {
    throw new ConfigError(`LOG_LEVEL must be one of ${LOG_LEVELS.join(', ')}; got "${value}"`);
  }
  return level;
}

/** "twenty2" in a scope means every twenty2 connection. */
export function isProviderWide(scopeEntry: string, labels: readonly string[]): boolean {
  return !scopeEntry.includes('/') && labels.some((label) => label.startsWith(`${scopeEntry}/`));
}
