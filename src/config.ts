/**
 * Configuration, read once at start-up: the environment (names fixed by the public contract) and,
 * optionally, a JSON file named by SWITCHBOARD_CONFIG for several connections per provider.
 * Everything is validated with zod; a bad value stops start-up with one line naming it.
 *
 * Precedence: a connection configured in the environment is named "default"; the file may add
 * others (a file connection may not also be named "default" for a provider the environment sets).
 */
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import type { CacheSettings } from './calls/cache.js';
import { type ConnectionRef, type Provider, connectionLabel } from './calls/model.js';
import { isSupportedCountry } from './calls/phone.js';
import { type HttpPolicy, defaultHttpPolicy } from './providers/http.js';
import { type QueryLimits, defaultQueryLimits } from './security/queryLimits.js';

export class ConfigError extends Error {
  override name = 'ConfigError';
}

const url = z.url({ protocol: /^https?$/ }).transform((u) => u.replace(/\/+$/, ''));
const text = z.string().trim().min(1);
const region = text.toUpperCase().refine((r) => isSupportedCountry(r), 'an ISO 3166-1 alpha-2 region such as IN');
const currency = text.toUpperCase().regex(/^[A-Z]{3}$/, 'an ISO 4217 code such as USD');

/** Each provider's settings, with the contract's defaults. */
export const settingsSchemas = {
  TWENTY2: z.object({
    username: text,
    password: text,
    workspaceId: text,
    baseUrl: url.default('https://api.twentytwo.in/api'),
    phoneRegion: region.default('IN'),
  }),
  UNPOD: z.object({
    token: text,
    orgHandle: text,
    baseUrl: url.default('https://unpod.dev/api/v2/platform'),
  }),
  CINNOX: z.object({ appId: text, appToken: text, baseUrl: url }),
  TALKSTACK: z.object({
    apiKey: text,
    projectId: text,
    baseUrl: url.default('https://api.talkstackai.com'),
    currency: currency.default('USD'),
  }),
} as const;

export type ProviderSettings = { [P in Provider]: z.infer<(typeof settingsSchemas)[P]> };

export type ConnectionConfig = {
  [P in Provider]: ConnectionRef & { provider: P; settings: ProviderSettings[P] };
}[Provider];

/** Environment variable of each setting, per provider (the contract's names). */
const envNames: { [P in Provider]: Record<keyof ProviderSettings[P], string> } = {
  TWENTY2: {
    username: 'TWENTY2_USERNAME',
    password: 'TWENTY2_PASSWORD',
    workspaceId: 'TWENTY2_WORKSPACE_ID',
    baseUrl: 'TWENTY2_BASE_URL',
    phoneRegion: 'TWENTY2_PHONE_REGION',
  },
  UNPOD: { token: 'UNPOD_TOKEN', orgHandle: 'UNPOD_ORG_HANDLE', baseUrl: 'UNPOD_BASE_URL' },
  CINNOX: { appId: 'CINNOX_APP_ID', appToken: 'CINNOX_APP_TOKEN', baseUrl: 'CINNOX_BASE_URL' },
  TALKSTACK: {
    apiKey: 'TALKSTACK_API_KEY',
    projectId: 'TALKSTACK_PROJECT_ID',
    baseUrl: 'TALKSTACK_BASE_URL',
    currency: 'TALKSTACK_CURRENCY',
  },
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
}

const int = (name: string, min: number, max: number) =>
  z.coerce
    .number({ error: `${name} must be a whole number` })
    .int(`${name} must be a whole number`)
    .min(min, `${name} must be at least ${min}`)
    .max(max, `${name} must be at most ${max}`);

const fileSchema = z.strictObject({
  connections: z
    .array(
      z.looseObject({ provider: z.enum(['twenty2', 'unpod', 'cinnox', 'talkstack']), name: text }),
    )
    .default([]),
  apiKeys: z.array(z.strictObject({ name: text, key: text.min(16), connections: z.array(text).nullish() })).default([]),
});

function issueLine(prefix: string, error: z.ZodError): string {
  const issue = error.issues[0]!;
  const where = issue.path.length ? `${prefix}${issue.path.join('.')}` : prefix.replace(/\.$/, '');
  return `${where}: ${issue.message}`;
}

function envConnection<P extends Provider>(provider: P, env: NodeJS.ProcessEnv): ConnectionConfig | null {
  const names = envNames[provider] as Record<string, string>;
  const raw: Record<string, string> = {};
  for (const [key, name] of Object.entries(names)) {
    const value = env[name];
    if (value !== undefined && value.trim() !== '') raw[key] = value;
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

/** Parses `SWITCHBOARD_API_KEYS`: comma-separated `key` or `key:scope+scope` (see README). */
function parseApiKeys(value: string | undefined): ApiKey[] {
  if (!value || value.trim() === '') return [];
  return value.split(',').map((entry, index) => {
    const [secret, scope, extra] = entry.trim().split(':');
    if (!secret || secret.length < 16 || extra !== undefined) {
      throw new ConfigError(
        `SWITCHBOARD_API_KEYS entry ${index + 1}: expected "<key of 16+ characters>" or "<key>:<connection>+<connection>"`,
      );
    }
    const connections = scope ? scope.split('+').map((s) => s.trim().toLowerCase()) : null;
    return { id: `key#${index + 1}`, secret, scope: connections && !connections.includes('*') ? connections : null };
  });
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const production = env.NODE_ENV === 'production';
  const connections: ConnectionConfig[] = [];
  for (const provider of Object.keys(envNames) as Provider[]) {
    const connection = envConnection(provider, env);
    if (connection) connections.push(connection);
  }

  const apiKeys = parseApiKeys(env.SWITCHBOARD_API_KEYS);
  if (env.SWITCHBOARD_CONFIG) {
    let json: unknown;
    try {
      json = JSON.parse(readFileSync(env.SWITCHBOARD_CONFIG, 'utf8'));
    } catch (error) {
      const why = (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'file not found' : 'not valid JSON';
      throw new ConfigError(`SWITCHBOARD_CONFIG (${env.SWITCHBOARD_CONFIG}): ${why}`);
    }
    const file = fileSchema.safeParse(json);
    if (!file.success) throw new ConfigError(issueLine('SWITCHBOARD_CONFIG ', file.error));
    file.data.connections.forEach((entry, index) => {
      const provider = entry.provider.toUpperCase() as Provider;
      const { provider: _p, name, ...rest } = entry;
      const settings = settingsSchemas[provider].safeParse(rest);
      if (!settings.success) {
        throw new ConfigError(issueLine(`SWITCHBOARD_CONFIG connections.${index}.`, settings.error));
      }
      connections.push({ provider, connection: name, settings: settings.data } as ConnectionConfig);
    });
    for (const key of file.data.apiKeys) {
      apiKeys.push({ id: key.name, secret: key.key, scope: key.connections?.map((c) => c.toLowerCase()) ?? null });
    }
  }

  const labels = connections.map(connectionLabel);
  const duplicate = labels.find((label, i) => labels.indexOf(label) !== i);
  if (duplicate) throw new ConfigError(`connection ${duplicate} is configured twice`);
  for (const key of apiKeys) {
    const unknown = key.scope?.find((label) => !labels.includes(label) && !isProviderWide(label, labels));
    if (unknown && connections.length > 0) {
      throw new ConfigError(`API key ${key.id}: unknown connection "${unknown}" (configured: ${labels.join(', ')})`);
    }
  }

  const allowAnonymous = env.SWITCHBOARD_ALLOW_ANONYMOUS === 'true';
  if (production && apiKeys.length === 0 && !allowAnonymous) {
    throw new ConfigError(
      'NODE_ENV=production without SWITCHBOARD_API_KEYS: refusing to serve an open API. Configure keys, or set SWITCHBOARD_ALLOW_ANONYMOUS=true to allow it.',
    );
  }

  const numbers = z
    .object({
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
      SWITCHBOARD_UPSTREAM_BUDGET_MS: int('SWITCHBOARD_UPSTREAM_BUDGET_MS', 100, 600_000).default(defaultHttpPolicy.requestBudgetMs),
      SWITCHBOARD_MAX_QUERY_DEPTH: int('SWITCHBOARD_MAX_QUERY_DEPTH', 2, 100).default(defaultQueryLimits.maxDepth),
      SWITCHBOARD_MAX_ALIASES: int('SWITCHBOARD_MAX_ALIASES', 0, 1000).default(defaultQueryLimits.maxAliases),
      SWITCHBOARD_MAX_TOKENS: int('SWITCHBOARD_MAX_TOKENS', 100, 1_000_000).default(defaultQueryLimits.maxTokens),
      SWITCHBOARD_MAX_QUERY_COST: int('SWITCHBOARD_MAX_QUERY_COST', 10, 10_000_000).default(defaultQueryLimits.maxCost),
      SWITCHBOARD_MAX_DIRECTIVES: int('SWITCHBOARD_MAX_DIRECTIVES', 0, 1000).default(defaultQueryLimits.maxDirectives),
      SWITCHBOARD_MAX_SELECTIONS: int('SWITCHBOARD_MAX_SELECTIONS', 10, 10_000_000).default(defaultQueryLimits.maxSelections),
      SWITCHBOARD_CACHE_TTL_SECONDS: int('SWITCHBOARD_CACHE_TTL_SECONDS', 1, 30 * 86_400).default(3_600),
      SWITCHBOARD_CACHE_MAX_ENTRIES: int('SWITCHBOARD_CACHE_MAX_ENTRIES', 0, 10_000_000).default(10_000),
    })
    .safeParse(env);
  if (!numbers.success) throw new ConfigError(numbers.error.issues[0]!.message);
  const n = numbers.data;
  const totalTimeoutMs = n.SWITCHBOARD_UPSTREAM_TIMEOUT_MS;

  const cursorSecret = env.SWITCHBOARD_CURSOR_SECRET?.trim() || null;
  if (cursorSecret !== null && cursorSecret.length < 32) {
    throw new ConfigError('SWITCHBOARD_CURSOR_SECRET must be at least 32 characters');
  }

  return {
    port: n.PORT,
    production,
    demo: connections.length === 0,
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
  };
}

/** REDIS_URL, checked without echoing it: it may carry a password. */
function redisUrl(value: string | undefined): string | null {
  const url = value?.trim();
  if (!url) return null;
  if (!URL.canParse(url) || !/^rediss?:$/.test(new URL(url).protocol)) {
    throw new ConfigError('REDIS_URL must be a redis:// or rediss:// URL, e.g. redis://cache.internal:6379/0');
  }
  return url;
}

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

/** LOG_LEVEL: one of pino's levels, "info" by default; logs are always JSON lines on stdout. */
function logLevel(value: string | undefined): string {
  const level = value?.trim().toLowerCase() || 'info';
  if (!LOG_LEVELS.includes(level)) {
    throw new ConfigError(`LOG_LEVEL must be one of ${LOG_LEVELS.join(', ')}; got "${value}"`);
  }
  return level;
}

/** "twenty2" in a scope means every twenty2 connection. */
export function isProviderWide(scopeEntry: string, labels: readonly string[]): boolean {
  return !scopeEntry.includes('/') && labels.some((label) => label.startsWith(`${scopeEntry}/`));
}
