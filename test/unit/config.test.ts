/**
 * Configuration is validated strictly: every key of the SWITCHBOARD_CONFIG file at every depth,
 * every variable under Switchboard's prefixes, every value as written. A bad one stops start-up
 * with one line naming it (and never a credential); production never serves simulated calls
 * unless SWITCHBOARD_DEMO=true asks for it.
 */
import { PROVIDER_MODULES } from '../../src/providers/index.js';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ConfigError, loadConfig } from '../../src/config.js';
import { maxDataAges, watchIntervals, watchPolicies } from '../../src/live/source.js';

const dir = mkdtempSync(path.join(tmpdir(), 'switchboard-config-'));
let files = 0;
/** Writes a config file (an object as JSON, or text as given) and returns its path. */
function file(body: unknown): string {
  const name = path.join(dir, `config-${++files}.json`);
  writeFileSync(name, typeof body === 'string' ? body : JSON.stringify(body));
  return name;
}

/** The one-line message loadConfig refuses `env` with. */
function refusal(env: Record<string, string>): string {
  try {
    loadConfig(env);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    const message = (error as Error).message;
    expect(message.split('\n')).toHaveLength(1);
    return message;
  }
  throw new Error(`accepted: ${JSON.stringify(env)}`);
}

const UNPOD = { provider: 'unpod', name: 'sales', token: 'unpod-secret-token', orgHandle: 'acme' };
const CINNOX = { provider: 'cinnox', name: 'hk', appId: 'app-1', appToken: 'cinnox-secret-token', baseUrl: 'https://cinnox.example/v1/api' };
const TWENTY2 = { provider: 'twenty2', name: 'india', username: 'u', password: 'twenty2-secret-pw', workspaceId: 'ws_1' };
const TALKSTACK = { provider: 'talkstack', name: 'us', apiKey: 'talkstack-secret-key', projectId: 'proj_1' };
const KEY = 'k_live_9f2c1e0b7a6d5c4b';
const SECRETS = /unpod-secret-token|cinnox-secret-token|twenty2-secret-pw|talkstack-secret-key|k_live_9f2c1e0b7a6d5c4b/;

describe('SWITCHBOARD_CONFIG: every key at every depth', () => {
  it('refuses "baseURL" for "baseUrl" instead of sending the credentials to the default host', () => {
    const config = file({ connections: [UNPOD, { ...CINNOX, baseUrl: undefined, baseURL: 'https://cinnox.example/v1/api' }] });
    expect(refusal({ SWITCHBOARD_CONFIG: config })).toBe('SWITCHBOARD_CONFIG connections[1].baseURL: unknown key (did you mean "baseUrl"?)');
    // Where the default host would have been used: the typo is refused just the same.
    const unpod = file({ connections: [{ ...UNPOD, baseURL: 'https://unpod.internal/api' }] });
    expect(refusal({ SWITCHBOARD_CONFIG: unpod })).toBe('SWITCHBOARD_CONFIG connections[0].baseURL: unknown key (did you mean "baseUrl"?)');
  });

  it.each([
    ['a misspelt credential', { connections: [{ ...UNPOD, token: undefined, tokn: 'x' }] }, /^SWITCHBOARD_CONFIG connections\[0\]\.tokn: unknown key \(did you mean "token"\?\)$/],
    ['a key of another provider', { connections: [{ ...TWENTY2, currency: 'USD' }] }, /connections\[0\]\.currency: unknown key/],
    // The module's own check (a complete credential pair) holds in the file too, not only in the environment.
    ['a Twilio connection without a credential', { connections: [{ provider: 'twilio', name: 'us', accountSid: 'AC1' }] }, /^SWITCHBOARD_CONFIG connections\[0\]\.authToken: /],
    ['a Twilio API key without its secret', { connections: [{ provider: 'twilio', name: 'us', accountSid: 'AC1', apiKeySid: 'SK1' }] }, /^SWITCHBOARD_CONFIG connections\[0\]\.apiKeySecret: /],
    ['every provider', { connections: [TWENTY2, UNPOD, CINNOX, { ...TALKSTACK, projectID: 'p' }] }, /connections\[3\]\.projectID: unknown key \(did you mean "projectId"\?\)/],
    ['a misspelt top-level key', { connection: [UNPOD] }, /^SWITCHBOARD_CONFIG connection: unknown key \(did you mean "connections"\?\)$/],
    ['an unknown top-level key', { connections: [UNPOD], subscriptions: [] }, /^SWITCHBOARD_CONFIG subscriptions: unknown key \(known keys: connections, apiKeys, webhooks\)$/],
    ['a misspelt top-level key', { connections: [UNPOD], webhook: [] }, /^SWITCHBOARD_CONFIG webhook: unknown key \(did you mean "webhooks"\?\)$/],
    ['a misspelt API-key field', { connections: [UNPOD], apiKeys: [{ name: 'a', key: KEY, connection: ['unpod'] }] }, /apiKeys\[0\]\.connection: unknown key \(did you mean "connections"\?\)/],
    ['an unknown provider', { connections: [{ ...UNPOD, provider: 'Unpod' }] }, /connections\[0\]\.provider: .*"unpod"/],
    ['a missing name', { connections: [{ ...UNPOD, name: undefined }] }, /connections\[0\]\.name: is required/],
    ['a missing credential', { connections: [{ ...UNPOD, token: undefined }] }, /connections\[0\]\.token: is required/],
    ['an empty credential', { connections: [{ ...UNPOD, token: '' }] }, /connections\[0\]\.token: must not be empty/],
    ['whitespace around a credential', { connections: [{ ...UNPOD, token: 'abc\n' }] }, /connections\[0\]\.token: must not start or end with whitespace/],
    ['a number for a string', { connections: [{ ...UNPOD, orgHandle: 42 }] }, /connections\[0\]\.orgHandle: .*expected string/],
    ['an ftp URL', { connections: [{ ...UNPOD, baseUrl: 'ftp://unpod.example' }] }, /connections\[0\]\.baseUrl: must be an http:\/\/ or https:\/\/ URL/],
    ['a javascript: URL', { connections: [{ ...UNPOD, baseUrl: 'javascript:alert(1)' }] }, /connections\[0\]\.baseUrl: must be an http/],
    ['a URL with credentials', { connections: [{ ...UNPOD, baseUrl: 'https://user:pw@unpod.example' }] }, /connections\[0\]\.baseUrl: .*without credentials/],
    ['a URL with a query', { connections: [{ ...UNPOD, baseUrl: 'https://unpod.example/api?x=1' }] }, /connections\[0\]\.baseUrl: .*query/],
    // A path segment of every request: `..` would resolve to another path (src/providers/http.ts).
    ['a dot-segment app id', { connections: [{ ...CINNOX, appId: '..' }] }, /^SWITCHBOARD_CONFIG connections\[0\]\.appId: must not be \. or \.\./],
    ['a dot-segment Account SID', { connections: [{ provider: 'twilio', name: 'us', accountSid: '.', authToken: 't' }] }, /^SWITCHBOARD_CONFIG connections\[0\]\.accountSid: must not be \. or \.\./],
    ['a bad region', { connections: [{ ...TWENTY2, phoneRegion: 'India' }] }, /connections\[0\]\.phoneRegion: must be an ISO 3166-1/],
    ['a bad currency', { connections: [{ ...TALKSTACK, currency: 'dollars' }] }, /connections\[0\]\.currency: must be an ISO 4217/],
    ['a name with a separator', { connections: [{ ...UNPOD, name: 'sales/eu' }] }, /connections\[0\]\.name: must be 1–64 letters/],
    ['connections not a list', { connections: UNPOD }, /^SWITCHBOARD_CONFIG connections: .*expected array/],
    ['an API key too short', { connections: [UNPOD], apiKeys: [{ name: 'a', key: 'short' }] }, /apiKeys\[0\]\.key: must be at least 16 characters/],
    ['an API key with a space', { connections: [UNPOD], apiKeys: [{ name: 'a', key: 'abc def ghi jkl mno' }] }, /apiKeys\[0\]\.key: must be a bearer token/],
    ['an empty scope list', { connections: [UNPOD], apiKeys: [{ name: 'a', key: KEY, connections: [] }] }, /apiKeys\[0\]\.connections: must list at least one/],
    ['a scope of no provider', { connections: [UNPOD], apiKeys: [{ name: 'a', key: KEY, connections: ['unpodd'] }] }, /apiKeys\[0\]\.connections\[0\]: names no provider/],
    ['a scope of no connection', { connections: [UNPOD], apiKeys: [{ name: 'a', key: KEY, connections: ['unpod/support'] }] }, /API key a: unknown connection "unpod\/support" \(configured: unpod\/sales\)/],
    ['one key name twice', { connections: [UNPOD], apiKeys: [{ name: 'a', key: KEY }, { name: 'a', key: `${KEY}x` }] }, /the name "a" is used twice/],
    ['one key twice', { connections: [UNPOD], apiKeys: [{ name: 'a', key: KEY }, { name: 'b', key: KEY }] }, /API key b is the same key as a/],
    ['one connection twice', { connections: [UNPOD, UNPOD] }, /connection unpod\/sales is configured twice/],
  ])('refuses %s, naming its path', (_name, body, expected) => {
    const message = refusal({ SWITCHBOARD_CONFIG: file(body) });
    expect(message).toMatch(expected);
    expect(message).not.toMatch(SECRETS);
  });

  it('refuses a key given twice, a "__proto__" key, and text that is not JSON, without quoting the file', () => {
    const twice = file(`{"connections": [{"provider": "unpod", "name": "a", "token": "unpod-secret-token", "orgHandle": "o",\n "token": "other"}]}`);
    expect(refusal({ SWITCHBOARD_CONFIG: twice })).toBe('SWITCHBOARD_CONFIG: key "token" given twice (line 2, column 2)');
    const broken = file('{"connections": [{"provider": "unpod", "token": unpod-secret-token}]}');
    expect(refusal({ SWITCHBOARD_CONFIG: broken })).toBe(`SWITCHBOARD_CONFIG (${broken}): not valid JSON (line 1, column 49)`);
    const proto = file('{"connections": [{"provider": "unpod", "name": "a", "token": "t", "orgHandle": "o", "__proto__": {"baseUrl": "https://elsewhere.example"}}]}');
    expect(refusal({ SWITCHBOARD_CONFIG: proto })).toBe('SWITCHBOARD_CONFIG connections[0].__proto__: unknown key');
    expect(refusal({ SWITCHBOARD_CONFIG: path.join(dir, 'missing.json') })).toMatch(/: file not found$/);
    expect(refusal({ SWITCHBOARD_CONFIG: dir })).toMatch(/: cannot be read \(EISDIR\)$/);
  });

  it('accepts every provider, a byte order mark, and scopes by provider, connection or *', () => {
    const config = loadConfig({
      SWITCHBOARD_CONFIG: file(
        `\uFEFF${JSON.stringify({
          connections: [TWENTY2, UNPOD, CINNOX, { ...TALKSTACK, baseUrl: 'https://talkstack.example/' }],
          apiKeys: [
            { name: 'one', key: KEY, connections: ['Twenty2/india', 'unpod'] },
            { name: 'all', key: `${KEY}-all`, connections: ['*'] },
            { name: 'also-all', key: `${KEY}-also`, connections: null },
          ],
        })}`,
      ),
    });
    expect(config.demo).toBe(false);
    expect(config.connections.map((c) => [c.provider, c.connection])).toEqual([
      ['TWENTY2', 'india'],
      ['UNPOD', 'sales'],
      ['CINNOX', 'hk'],
      ['TALKSTACK', 'us'],
    ]);
    expect(config.connections[0]!.settings).toEqual({ ...TWENTY2, provider: undefined, name: undefined, baseUrl: 'https://api.twentytwo.in/api', phoneRegion: 'IN' });
    expect(config.connections[3]!.settings).toMatchObject({ baseUrl: 'https://talkstack.example', currency: 'USD' });
    expect(config.apiKeys.map((k) => [k.id, k.scope])).toEqual([
      ['one', ['twenty2/india', 'unpod']],
      ['all', null],
      ['also-all', null],
    ]);
  });
});

describe('environment variables', () => {
  const unpod = { UNPOD_TOKEN: 'unpod-secret-token', UNPOD_ORG_HANDLE: 'acme' };

  it.each([
    // A typo that would silently leave the API open, or send credentials to the default host.
    [{ SWITCHBOARD_API_KEY: KEY }, /^SWITCHBOARD_API_KEY: unknown variable \(did you mean SWITCHBOARD_API_KEYS\?\)/],
    [{ ...unpod, UNPOD_BASEURL: 'https://unpod.internal' }, /^UNPOD_BASEURL: unknown variable \(did you mean UNPOD_BASE_URL\?\)/],
    [{ TWENTY2_PASWORD: 'x' }, /^TWENTY2_PASWORD: unknown variable \(did you mean TWENTY2_PASSWORD\?\)/],
    [{ CINNOX_APP_SECRET: 'x' }, /^CINNOX_APP_SECRET: unknown variable/],
    [{ TALKSTACK_PROJECT: 'x' }, /^TALKSTACK_PROJECT: unknown variable \(did you mean TALKSTACK_PROJECT_ID\?\)/],
    [{ switchboard_demo: 'true' }, /^switchboard_demo: unknown variable \(did you mean SWITCHBOARD_DEMO\?\)/],
    [{ SWITCHBOARD_ALLOW_ANONYMOUS: 'banana' }, /^SWITCHBOARD_ALLOW_ANONYMOUS must be "true" or "false"; got "banana"$/],
    [{ SWITCHBOARD_ALLOW_ANONYMOUS: 'TRUE' }, /^SWITCHBOARD_ALLOW_ANONYMOUS must be "true" or "false"/],
    [{ SWITCHBOARD_ALLOW_ANONYMOUS: '1' }, /^SWITCHBOARD_ALLOW_ANONYMOUS must be "true" or "false"/],
    [{ SWITCHBOARD_DEMO: 'yes' }, /^SWITCHBOARD_DEMO must be "true" or "false"; got "yes"$/],
    [{ SWITCHBOARD_UPSTREAM_TIMEOUT_MS: '10abc' }, /^SWITCHBOARD_UPSTREAM_TIMEOUT_MS must be a whole number written in digits; got "10abc"$/],
    [{ SWITCHBOARD_BREAKER_OPEN_MS: '1e3' }, /^SWITCHBOARD_BREAKER_OPEN_MS must be a whole number written in digits; got "1e3"$/],
    [{ SWITCHBOARD_UPSTREAM_RETRIES: ' 1' }, /^SWITCHBOARD_UPSTREAM_RETRIES must be a whole number written in digits/],
    [{ PORT: '0x10' }, /^PORT must be a whole number written in digits/],
    [{ SWITCHBOARD_MAX_ALIASES: '5.0' }, /^SWITCHBOARD_MAX_ALIASES must be a whole number written in digits/],
    [{ SWITCHBOARD_MAX_TOKENS: '-1' }, /^SWITCHBOARD_MAX_TOKENS must be a whole number written in digits/],
    [{ SWITCHBOARD_CACHE_TTL_SECONDS: '0' }, /^SWITCHBOARD_CACHE_TTL_SECONDS must be at least 1; got "0"$/],
    [{ SWITCHBOARD_MAX_ALIASES: '' }, /^SWITCHBOARD_MAX_ALIASES is set but empty/],
    [{ SWITCHBOARD_API_KEYS: '' }, /^SWITCHBOARD_API_KEYS is set but empty/],
    [{ SWITCHBOARD_CURSOR_SECRET: '   ' }, /^SWITCHBOARD_CURSOR_SECRET is set but empty/],
    [{ SWITCHBOARD_CURSOR_SECRET: ` ${'s'.repeat(40)}` }, /^SWITCHBOARD_CURSOR_SECRET must be at least 32 characters, without surrounding whitespace$/],
    [{ ...unpod, UNPOD_BASE_URL: '' }, /^UNPOD_BASE_URL is set but empty/],
    [{ ...unpod, UNPOD_BASE_URL: 'unpod.example' }, /^UNPOD_BASE_URL must be an http:\/\/ or https:\/\/ URL/],
    [{ ...unpod, UNPOD_BASE_URL: 'file:///etc/passwd' }, /^UNPOD_BASE_URL must be an http:\/\/ or https:\/\/ URL/],
    [{ ...unpod, UNPOD_TOKEN: 'unpod-secret-token ' }, /^UNPOD_TOKEN must not start or end with whitespace$/],
    [{ UNPOD_TOKEN: 't' }, /^UNPOD_ORG_HANDLE is required when UNPOD_TOKEN is set$/],
    [{ SWITCHBOARD_CONFIG: '' }, /^SWITCHBOARD_CONFIG is set but empty/],
    [{ LOG_LEVEL: ' info' }, /^LOG_LEVEL must be one of/],
    [{ REDIS_URL: 'http://cache:6379' }, /^REDIS_URL must be a redis:\/\/ or rediss:\/\/ URL/],
    [{ NODE_ENV: 'prod' }, /^NODE_ENV must be one of production, development, test \(or unset\); got "prod"$/],
    [{ NODE_ENV: 'Production' }, /^NODE_ENV must be one of production/],
    [{ SWITCHBOARD_API_KEYS: `${KEY}:` }, /^SWITCHBOARD_API_KEYS entry 1, scope 1: is empty$/],
    [{ SWITCHBOARD_API_KEYS: `${KEY}:unpod+` }, /^SWITCHBOARD_API_KEYS entry 1, scope 2: is empty$/],
    [{ SWITCHBOARD_API_KEYS: `${KEY}:unpod:x` }, /^SWITCHBOARD_API_KEYS entry 1: expected/],
    [{ SWITCHBOARD_API_KEYS: `${KEY},` }, /^SWITCHBOARD_API_KEYS entry 2: expected/],
    [{ SWITCHBOARD_API_KEYS: `${KEY}, ${KEY}2` }, /^SWITCHBOARD_API_KEYS entry 2: must not contain whitespace$/],
    [{ SWITCHBOARD_API_KEYS: 'short' }, /^SWITCHBOARD_API_KEYS entry 1: the key must be at least 16 characters$/],
    [{ SWITCHBOARD_API_KEYS: `${KEY}:plivo` }, /^SWITCHBOARD_API_KEYS entry 1, scope 1: names no provider/],
    [{ SWITCHBOARD_API_KEYS: `${KEY},${KEY}` }, /^API key key#2 is the same key as key#1/],
    // Scopes are checked in demo mode too: its connections are every module's simulator, each "default".
    [
      { SWITCHBOARD_API_KEYS: `${KEY}:unpod/sales` },
      new RegExp(`^API key key#1: unknown connection "unpod/sales" \\(configured: ${PROVIDER_MODULES.map((m) => `${m.provider.toLowerCase()}/default`).join(', ')}\\)$`),
    ],
    [{ ...unpod, SWITCHBOARD_API_KEYS: `${KEY}:twenty2` }, /^API key key#1: unknown connection "twenty2" \(configured: unpod\/default\)$/],
  ])('%j stops start-up with one line naming it', (env, expected) => {
    const message = refusal(env as Record<string, string>);
    expect(message).toMatch(expected);
    expect(message).not.toMatch(SECRETS);
  });

  it('reads valid values exactly, and ignores variables outside its prefixes', () => {
    const config = loadConfig({
      ...unpod,
      UNPOD_BASE_URL: 'https://unpod.example/api/',
      SWITCHBOARD_UPSTREAM_TIMEOUT_MS: '1000',
      SWITCHBOARD_UPSTREAM_RETRIES: '0',
      SWITCHBOARD_API_KEYS: `${KEY}:UNPOD/default,${KEY}2:*,${KEY}3`,
      SWITCHBOARD_ALLOW_ANONYMOUS: 'false',
      NODE_ENV: 'development',
      HOME: '/root',
      PLIVO_AUTH_ID: 'not ours',
      SWITCHBOARD: 'not a prefix match',
      // Read by the example app, rover and a gateway (docs), not by the server.
      SWITCHBOARD_URL: 'http://localhost:4000',
      SWITCHBOARD_COMPOSE_KEY: KEY,
      SWITCHBOARD_GATEWAY_KEY: KEY,
    });
    expect(config.http.totalTimeoutMs).toBe(1000);
    expect(config.http.retries).toBe(0);
    expect(config.connections).toEqual([{ provider: 'UNPOD', connection: 'default', settings: { token: 'unpod-secret-token', orgHandle: 'acme', baseUrl: 'https://unpod.example/api' } }]);
    expect(config.apiKeys.map((k) => [k.id, k.scope])).toEqual([
      ['key#1', ['unpod/default']],
      ['key#2', null],
      ['key#3', null],
    ]);
    expect(config.allowAnonymous).toBe(false);
  });
});

describe('demo mode is never a silent fallback in production', () => {
  it('refuses production with no provider configured', () => {
    expect(refusal({ NODE_ENV: 'production', SWITCHBOARD_API_KEYS: KEY })).toMatch(
      /^NODE_ENV=production and no provider is configured: refusing to serve simulated calls\..*SWITCHBOARD_DEMO=true/,
    );
    expect(refusal({ NODE_ENV: 'production', SWITCHBOARD_ALLOW_ANONYMOUS: 'true' })).toMatch(/refusing to serve simulated calls/);
  });

  it('serves the simulators in production only when SWITCHBOARD_DEMO=true says so', () => {
    const config = loadConfig({ NODE_ENV: 'production', SWITCHBOARD_API_KEYS: KEY, SWITCHBOARD_DEMO: 'true' });
    expect(config).toMatchObject({ production: true, demo: true, connections: [] });
  });

  it('is the default outside production, and SWITCHBOARD_DEMO=false turns it off', () => {
    expect(loadConfig({}).demo).toBe(true);
    expect(loadConfig({ NODE_ENV: 'development', SWITCHBOARD_DEMO: 'true' }).demo).toBe(true);
    expect(refusal({ SWITCHBOARD_DEMO: 'false' })).toMatch(/^SWITCHBOARD_DEMO=false and no provider is configured/);
    expect(loadConfig({ UNPOD_TOKEN: 't', UNPOD_ORG_HANDLE: 'o', SWITCHBOARD_DEMO: 'false' }).demo).toBe(false);
  });

  it('refuses SWITCHBOARD_DEMO=true beside configured providers (which would be ignored)', () => {
    expect(refusal({ UNPOD_TOKEN: 't', UNPOD_ORG_HANDLE: 'o', SWITCHBOARD_DEMO: 'true' })).toMatch(
      /^SWITCHBOARD_DEMO=true but providers are configured \(unpod\/default\)/,
    );
    expect(refusal({ SWITCHBOARD_CONFIG: file({ connections: [UNPOD] }), SWITCHBOARD_DEMO: 'true' })).toMatch(/\(unpod\/sales\)/);
  });
});

describe('SWITCHBOARD_PERSISTED_QUERY_MANIFEST: a manifest is checked at start-up', () => {
  const BODY = 'query Latest { calls { nodes { id } } }';
  const manifest = (operations: unknown[], extra: Record<string, unknown> = {}) =>
    file({ format: 'apollo-persisted-query-manifest', version: 1, operations, ...extra });
  const operation = { id: 'abc123', name: 'Latest', type: 'query', body: BODY };
  const pq = (name: string) => ({ SWITCHBOARD_PERSISTED_QUERY_MANIFEST: name });

  it('reads the operations of a manifest (fields the format may add are ignored), and none without one', () => {
    const config = loadConfig(pq(manifest([operation, { ...operation, id: 'other', clientName: 'web' }], { generatedAt: 'x' })));
    expect([...config.persistedQueries!.byId.keys()]).toEqual(['abc123', 'other']);
    expect(loadConfig({}).persistedQueries).toBeNull();
  });

  it.each([
    ['a file that is not there', () => path.join(dir, 'missing-manifest.json'), /^SWITCHBOARD_PERSISTED_QUERY_MANIFEST \(.*missing-manifest\.json\): file not found$/],
    ['a directory', () => dir, /: cannot be read \(EISDIR\)$/],
    ['text that is not JSON', () => file('{ "format": '), /\): not valid JSON$/],
    ['another format', () => file({ format: 'relay', version: 1, operations: [operation] }), /\): format: must be "apollo-persisted-query-manifest"$/],
    ['another version', () => manifest([operation], { version: 2 }), /\): version: must be 1/],
    ['no operations', () => manifest([]), /\): operations: lists no operation/],
    ['operations that are not a list', () => file({ format: 'apollo-persisted-query-manifest', version: 1, operations: {} }), /\): operations: must be a list$/],
    ['an operation without a body', () => manifest([{ ...operation, body: undefined }]), /\): operations\[0\]\.body: is required$/],
    ['an operation with an empty id', () => manifest([operation, { ...operation, id: '' }]), /\): operations\[1\]\.id: must not be empty$/],
    ['an unknown operation type', () => manifest([{ ...operation, type: 'Query' }]), /\): operations\[0\]\.type: must be "query", "mutation" or "subscription"$/],
    ['a body that is not GraphQL', () => manifest([{ ...operation, body: 'query Latest { calls {' }]), /\): operations\[0\] \(Latest\)\.body is not a GraphQL document: Syntax Error: Expected Name, found <EOF>\.$/],
    ['one id for two bodies', () => manifest([operation, { ...operation, body: '{ __typename }' }]), /\): operations\[1\] \(Latest\)\.id "abc123" is also the id of another body$/],
  ])('refuses %s with one line naming it', (_name, make, expected) => {
    expect(refusal(pq(make()))).toMatch(expected);
  });
});

describe('SWITCHBOARD_SHUTDOWN_GRACE_MS', () => {
  it('is 25 s by default, any whole number of ms up to 10 minutes, and nothing else', () => {
    expect(loadConfig({}).shutdownGraceMs).toBe(25_000);
    expect(loadConfig({ SWITCHBOARD_SHUTDOWN_GRACE_MS: '0' }).shutdownGraceMs).toBe(0);
    expect(refusal({ SWITCHBOARD_SHUTDOWN_GRACE_MS: '30s' })).toBe('SWITCHBOARD_SHUTDOWN_GRACE_MS must be a whole number written in digits; got "30s"');
    expect(refusal({ SWITCHBOARD_SHUTDOWN_GRACE_MS: '600001' })).toBe('SWITCHBOARD_SHUTDOWN_GRACE_MS must be at most 600000; got "600001"');
    expect(refusal({ SWITCHBOARD_SHUTDOWN_GRACE_MS_: '1' })).toMatch(/^SWITCHBOARD_SHUTDOWN_GRACE_MS_: unknown variable \(did you mean SWITCHBOARD_SHUTDOWN_GRACE_MS\?\)/);
  });
});

describe('SWITCHBOARD_WEBHOOKS and the file\'s webhooks', () => {
  const SECRET = `whsec_${Buffer.alloc(32, 'webhook-signing-secret-').toString('base64')}`;
  const URL_TOKEN = 'url-token-1234';
  const endpoint = (extra: object = {}) => ({ url: `https://hooks.example/in?token=${URL_TOKEN}`, secret: SECRET, ...extra });
  const hooks = (...entries: unknown[]) => ({ SWITCHBOARD_WEBHOOKS: JSON.stringify(entries) });
  /** Refused, naming `where`, and echoing neither the secret nor the URL. */
  const refused = (env: Record<string, string>, expected: RegExp) => {
    const message = refusal(env);
    expect(message).toMatch(expected);
    expect(message).not.toContain(SECRET.slice(6, 20));
    expect(message).not.toContain(URL_TOKEN);
    return message;
  };

  it('reads endpoints from the variable, then the file, numbered in that order; the filter as the GraphQL CallFilter, normalised', () => {
    const config = loadConfig({
      ...hooks(endpoint({ filter: { providers: ['UNPOD', 'TWENTY2'], statuses: ['COMPLETED'], startedAfter: '2026-11-01T00:00:00+05:30', phoneNumber: '+91 98765 43210' }, types: ['CALL_ENDED', 'CALL_ENDED'] })),
      SWITCHBOARD_CONFIG: file({ webhooks: [{ url: 'http://127.0.0.1:9000/sidecar', secret: SECRET }] }),
    });
    expect(config.webhooks.endpoints).toEqual([
      {
        index: 0,
        url: `https://hooks.example/in?token=${URL_TOKEN}`,
        secret: SECRET,
        filter: { providers: ['TWENTY2', 'UNPOD'], direction: null, statuses: ['COMPLETED'], startedAfter: new Date('2026-10-31T18:30:00Z'), startedBefore: null, phoneNumber: '+919876543210' },
        types: ['CALL_ENDED'],
      },
      // Loopback is allowed (a sidecar receiver); no filter and no types: everything.
      { index: 1, url: 'http://127.0.0.1:9000/sidecar', secret: SECRET, filter: expect.objectContaining({ providers: null, statuses: null }), types: null },
    ]);
    expect(config.webhooks).toMatchObject({ retryPeriodMs: 86_400_000, queueSize: 1000, timeoutMs: 10_000 });
    expect(loadConfig({}).webhooks.endpoints).toEqual([]);
    expect(
      loadConfig({ SWITCHBOARD_WEBHOOK_RETRY_PERIOD_SECONDS: '600', SWITCHBOARD_WEBHOOK_QUEUE: '50', SWITCHBOARD_WEBHOOK_TIMEOUT_MS: '2000' }).webhooks,
    ).toMatchObject({ retryPeriodMs: 600_000, queueSize: 50, timeoutMs: 2000 });
  });

  it.each([
    ['not JSON', { SWITCHBOARD_WEBHOOKS: `[{"url": "https://hooks.example/?token=${URL_TOKEN}", "secret": "${SECRET}",]` }, /^SWITCHBOARD_WEBHOOKS: not valid JSON \(at character \d+\)$/],
    ['not an array', { SWITCHBOARD_WEBHOOKS: JSON.stringify(endpoint()) }, /^SWITCHBOARD_WEBHOOKS: must be a JSON array of endpoints/],
    ['a key twice', { SWITCHBOARD_WEBHOOKS: `[{"url": "https://a.example", "secret": "whsec_${Buffer.alloc(32, 2).toString('base64')}", "secret": "${SECRET}"}]` }, /^SWITCHBOARD_WEBHOOKS: key "secret" given twice/],
    ['a misspelt key', hooks(endpoint(), endpoint({ filters: {} })), /^SWITCHBOARD_WEBHOOKS\[1\]\.filters: unknown key \(did you mean "filter"\?\)$/],
    ['no url', hooks({ secret: SECRET }), /^SWITCHBOARD_WEBHOOKS\[0\]\.url: is required$/],
    ['a url that is not http(s)', hooks(endpoint({ url: `ftp://hooks.example/?token=${URL_TOKEN}` })), /^SWITCHBOARD_WEBHOOKS\[0\]\.url: must be an http:\/\/ or https:\/\/ URL$/],
    ['a secret without whsec_', hooks(endpoint({ secret: SECRET.slice(6) })), /^SWITCHBOARD_WEBHOOKS\[0\]\.secret: must be "whsec_" followed by base64/],
    ['a secret too short', hooks(endpoint({ secret: `whsec_${Buffer.alloc(16, 1).toString('base64')}` })), /^SWITCHBOARD_WEBHOOKS\[0\]\.secret: must hold 24 to 64 bytes/],
    ['an unknown event type', hooks(endpoint({ types: ['CALL_ENDED', 'call.ended'] })), /^SWITCHBOARD_WEBHOOKS\[0\]\.types\[1\]: .*"CALL_ADDED"\|"CALL_UPDATED"\|"CALL_ENDED"/],
    ['no event type', hooks(endpoint({ types: [] })), /^SWITCHBOARD_WEBHOOKS\[0\]\.types: must list at least one event type/],
    ['a filter field the GraphQL input lacks', hooks(endpoint({ filter: { status: ['COMPLETED'] } })), /^SWITCHBOARD_WEBHOOKS\[0\]\.filter: Field "status" is not defined by type "CallFilter"\. Did you mean "statuses"\?$/],
    ['a status the enum lacks', hooks(endpoint({ filter: { statuses: ['COMPLETED', 'completed'] } })), /^SWITCHBOARD_WEBHOOKS\[0\]\.filter\.statuses\[1\]: Value "completed" does not exist in "CallStatus" enum/],
    ['a provider the enum lacks', hooks(endpoint({ filter: { providers: ['TWILIO_X'] } })), /^SWITCHBOARD_WEBHOOKS\[0\]\.filter\.providers\[0\]: Value "TWILIO_X" does not exist in "Provider" enum/],
    ['a direction as a list', hooks(endpoint({ filter: { direction: ['INBOUND'] } })), /^SWITCHBOARD_WEBHOOKS\[0\]\.filter\.direction: Enum "CallDirection" cannot represent non-string value/],
    ['a date without an offset', hooks(endpoint({ filter: { startedAfter: '2026-11-01T00:00:00' } })), /^SWITCHBOARD_WEBHOOKS\[0\]\.filter\.startedAfter: DateTime "2026-11-01T00:00:00" /],
    ['a date as a number', hooks(endpoint({ filter: { startedBefore: 1796000000000 } })), /^SWITCHBOARD_WEBHOOKS\[0\]\.filter\.startedBefore: DateTime 1796000000000 must be a string/],
    ['a date range backwards', hooks(endpoint({ filter: { startedAfter: '2026-11-02T00:00:00Z', startedBefore: '2026-11-01T00:00:00Z' } })), /^SWITCHBOARD_WEBHOOKS\[0\]\.filter\.startedAfter: must not be later than filter\.startedBefore/],
    ['a phone number that is none', hooks(endpoint({ filter: { phoneNumber: 'reception' } })), /^SWITCHBOARD_WEBHOOKS\[0\]\.filter\.phoneNumber: expected a phone number in international form/],
    ['a filter that is not an object', hooks(endpoint({ filter: 'COMPLETED' })), /^SWITCHBOARD_WEBHOOKS\[0\]\.filter: Expected type "CallFilter" to be an object\.$/],
  ])('refuses %s, naming the entry and field', (_what, env, expected) => {
    refused(env as Record<string, string>, expected);
  });

  it('names the file and the entry for the file\'s webhooks', () => {
    refused({ SWITCHBOARD_CONFIG: file({ webhooks: [endpoint(), endpoint({ secret: 'whsec_!!' })] }) }, /^SWITCHBOARD_CONFIG webhooks\[1\]\.secret: must be "whsec_"/);
    refused({ SWITCHBOARD_CONFIG: file({ webhooks: endpoint() }) }, /^SWITCHBOARD_CONFIG webhooks: /);
    refused({ SWITCHBOARD_WEBHOOKS: '[{"__proto__": {}}]' }, /^SWITCHBOARD_WEBHOOKS\[0\]\.__proto__: unknown key$/);
  });

  it('refuses two entries with the same URL, filter and types, naming both (every event would be delivered twice)', () => {
    const other = `whsec_${Buffer.alloc(32, 7).toString('base64')}`;
    refused(hooks(endpoint(), endpoint()), /^SWITCHBOARD_WEBHOOKS\[0\] and SWITCHBOARD_WEBHOOKS\[1\] are the same webhook \(the same URL, filter and types\): every event would be delivered twice/);
    // The same URL as parsed (host case, default port), another secret, the filter's lists in another order.
    refused(
      hooks(
        endpoint({ filter: { providers: ['UNPOD', 'VAPI'] }, types: ['CALL_ENDED', 'CALL_ADDED'] }),
        endpoint({ url: `https://HOOKS.example:443/in?token=${URL_TOKEN}`, secret: other, filter: { providers: ['VAPI', 'UNPOD'] }, types: ['CALL_ADDED', 'CALL_ENDED'] }),
      ),
      /^SWITCHBOARD_WEBHOOKS\[0\] and SWITCHBOARD_WEBHOOKS\[1\] are the same webhook/,
    );
    // Across the variable and the file.
    refused({ ...hooks(endpoint()), SWITCHBOARD_CONFIG: file({ webhooks: [endpoint()] }) }, /^SWITCHBOARD_WEBHOOKS\[0\] and SWITCHBOARD_CONFIG webhooks\[0\] are the same webhook/);
    // One URL for different events or calls is two webhooks on purpose.
    expect(loadConfig(hooks(endpoint({ types: ['CALL_ADDED'] }), endpoint({ types: ['CALL_ENDED'] }))).webhooks.endpoints).toHaveLength(2);
    expect(loadConfig(hooks(endpoint(), endpoint({ filter: { providers: ['UNPOD'] } }))).webhooks.endpoints).toHaveLength(2);
  });

  it('refuses a filter naming a provider no configured connection is of (it would never match), naming the entry and field', () => {
    refused(
      { SWITCHBOARD_CONFIG: file({ connections: [UNPOD], webhooks: [endpoint({ filter: { providers: ['UNPOD', 'VAPI'] } })] }) },
      /^SWITCHBOARD_CONFIG webhooks\[0\]\.filter\.providers\[1\]: no connection of VAPI is configured \(configured: unpod\/sales\), so this filter would never match/,
    );
    refused(
      { ...hooks(endpoint({ filter: { providers: ['TWILIO'] } })), SWITCHBOARD_CONFIG: file({ connections: [UNPOD] }) },
      /^SWITCHBOARD_WEBHOOKS\[0\]\.filter\.providers\[0\]: no connection of TWILIO is configured/,
    );
    expect(loadConfig({ SWITCHBOARD_CONFIG: file({ connections: [UNPOD], webhooks: [endpoint({ filter: { providers: ['UNPOD'] } })] }) }).webhooks.endpoints).toHaveLength(1);
  });

  it('bounds the retry period, queue and time-out', () => {
    expect(refusal({ SWITCHBOARD_WEBHOOK_QUEUE: '0' })).toMatch(/SWITCHBOARD_WEBHOOK_QUEUE must be at least 1/);
    expect(refusal({ SWITCHBOARD_WEBHOOK_RETRY_PERIOD_SECONDS: '1h' })).toMatch(/SWITCHBOARD_WEBHOOK_RETRY_PERIOD_SECONDS must be a whole number/);
    expect(refusal({ SWITCHBOARD_WEBHOOK_TIMEOUT_MS: '50' })).toMatch(/SWITCHBOARD_WEBHOOK_TIMEOUT_MS must be at least 100/);
    expect(refusal({ SWITCHBOARD_WEBHOOK: '[]' })).toMatch(/^SWITCHBOARD_WEBHOOK: unknown variable \(did you mean SWITCHBOARD_WEBHOOKS\?\)/);
  });
});

describe('SWITCHBOARD_MAX_DATA_AGE and a connection\'s maxDataAge', () => {
  it('is off by default, 10 s in demo mode unless set, any whole number of seconds from 0 to 3600, and nothing else', () => {
    const unpod = { UNPOD_TOKEN: 't', UNPOD_ORG_HANDLE: 'o' };
    expect(loadConfig(unpod).maxDataAgeMs).toBe(0);
    expect(loadConfig({}).demo).toBe(true);
    expect(loadConfig({}).maxDataAgeMs).toBe(10_000);
    expect(loadConfig({ SWITCHBOARD_MAX_DATA_AGE: '0' }).maxDataAgeMs).toBe(0);
    expect(loadConfig({ ...unpod, SWITCHBOARD_MAX_DATA_AGE: '30' }).maxDataAgeMs).toBe(30_000);
    expect(refusal({ SWITCHBOARD_MAX_DATA_AGE: '3601' })).toBe('SWITCHBOARD_MAX_DATA_AGE must be at most 3600; got "3601"');
    expect(refusal({ SWITCHBOARD_MAX_DATA_AGE: '-1' })).toBe('SWITCHBOARD_MAX_DATA_AGE must be a whole number written in digits; got "-1"');
    expect(refusal({ SWITCHBOARD_MAX_DATA_AGE: '10s' })).toBe('SWITCHBOARD_MAX_DATA_AGE must be a whole number written in digits; got "10s"');
  });

  it('is set per file connection as whole seconds (a JSON number), which overrides the variable for that connection only', () => {
    const config = loadConfig({ SWITCHBOARD_MAX_DATA_AGE: '10', SWITCHBOARD_CONFIG: file({ connections: [{ ...UNPOD, maxDataAge: 0 }, TALKSTACK] }) });
    expect(config.connections.map((c) => c.maxDataAge)).toEqual([0, undefined]);
    expect(config.connections[0]!.settings).not.toHaveProperty('maxDataAge');
    expect(maxDataAges(config)('unpod/sales')).toBe(0);
    expect(maxDataAges(config)('talkstack/us')).toBe(10_000);
  });

  it.each([
    ['a string', '60', 'must be a whole number of seconds (a JSON number)'],
    ['a fraction', 2.5, 'must be a whole number of seconds'],
    ['a negative number', -1, 'must be at least 0 (0: never served from the window)'],
    ['more than an hour', 3601, 'must be at most 3600 (seconds)'],
  ])('refuses %s, naming the key', (_name, value, message) => {
    expect(refusal({ SWITCHBOARD_CONFIG: file({ connections: [TWENTY2, { ...UNPOD, maxDataAge: value }] }) })).toBe(
      `SWITCHBOARD_CONFIG connections[1].maxDataAge: ${message}`,
    );
  });
});

describe('SWITCHBOARD_WATCH_INTERVAL and a connection\'s watchInterval', () => {
  it('is 5 s by default, any whole number of seconds from 1 to 3600, and nothing else', () => {
    expect(loadConfig({}).watch.intervalMs).toBe(5_000);
    expect(loadConfig({ SWITCHBOARD_WATCH_INTERVAL: '30' }).watch.intervalMs).toBe(30_000);
    expect(refusal({ SWITCHBOARD_WATCH_INTERVAL: '0' })).toBe('SWITCHBOARD_WATCH_INTERVAL must be at least 1; got "0"');
    expect(refusal({ SWITCHBOARD_WATCH_INTERVAL: '3601' })).toBe('SWITCHBOARD_WATCH_INTERVAL must be at most 3600; got "3601"');
    expect(refusal({ SWITCHBOARD_WATCH_INTERVAL: '2.5' })).toBe('SWITCHBOARD_WATCH_INTERVAL must be a whole number written in digits; got "2.5"');
    expect(refusal({ SWITCHBOARD_WATCH_INTERVAL: '5s' })).toBe('SWITCHBOARD_WATCH_INTERVAL must be a whole number written in digits; got "5s"');
    expect(refusal({ SWITCHBOARD_WATCH_INTERVALS: '5' })).toMatch(/^SWITCHBOARD_WATCH_INTERVALS: unknown variable \(did you mean SWITCHBOARD_WATCH_INTERVAL\?\)/);
  });

  it('is set per file connection as whole seconds (a JSON number), which overrides the variable for that connection only', () => {
    const config = loadConfig({ SWITCHBOARD_WATCH_INTERVAL: '10', SWITCHBOARD_CONFIG: file({ connections: [{ ...UNPOD, watchInterval: 60 }, TALKSTACK] }) });
    expect(config.connections.map((c) => c.watchInterval)).toEqual([60, undefined]);
    expect(config.connections[0]!.settings).not.toHaveProperty('watchInterval');
    expect(watchIntervals(config)('unpod/sales')).toBe(60_000);
    expect(watchIntervals(config)('talkstack/us')).toBe(10_000);
  });

  it.each([
    ['a string', '60', 'must be a whole number of seconds (a JSON number)'],
    ['a fraction', 2.5, 'must be a whole number of seconds'],
    ['zero', 0, 'must be at least 1 (second)'],
    ['more than an hour', 3601, 'must be at most 3600 (seconds)'],
  ])('refuses %s, naming the key', (_name, value, message) => {
    expect(refusal({ SWITCHBOARD_CONFIG: file({ connections: [TWENTY2, { ...UNPOD, watchInterval: value }] }) })).toBe(
      `SWITCHBOARD_CONFIG connections[1].watchInterval: ${message}`,
    );
  });

  it('suggests watchInterval for a misspelling', () => {
    expect(refusal({ SWITCHBOARD_CONFIG: file({ connections: [{ ...UNPOD, watchinterval: 5 }] }) })).toBe(
      'SWITCHBOARD_CONFIG connections[0].watchinterval: unknown key (did you mean "watchInterval"?)',
    );
  });
});

describe('SWITCHBOARD_WATCH, the demand thresholds and a connection\'s watch', () => {
  it('is off with providers configured and demand in demo mode unless set; off, demand or always as written, nothing else', () => {
    const configured = loadConfig({ SWITCHBOARD_CONFIG: file({ connections: [UNPOD] }) });
    expect(configured.watch.policy).toBeUndefined();
    expect(watchPolicies(configured)('unpod/sales')).toBe('off');
    expect(watchPolicies(loadConfig({}))('unpod/default')).toBe('demand');
    for (const policy of ['off', 'demand', 'always']) expect(loadConfig({ SWITCHBOARD_WATCH: policy }).watch.policy).toBe(policy);
    expect(watchPolicies(loadConfig({ SWITCHBOARD_WATCH: 'off' }))('unpod/default')).toBe('off');
    expect(refusal({ SWITCHBOARD_WATCH: 'Always' })).toBe('SWITCHBOARD_WATCH must be one of "off", "demand", "always"; got "Always"');
    expect(refusal({ SWITCHBOARD_WATCH: 'on' })).toBe('SWITCHBOARD_WATCH must be one of "off", "demand", "always"; got "on"');
    expect(refusal({ SWITCHBOARD_WACH: 'off' })).toMatch(/^SWITCHBOARD_WACH: unknown variable \(did you mean SWITCHBOARD_WATCH\?\)/);
  });

  it('counts 12 first pages in 60 s and stops after 120 quiet seconds by default, each a whole number', () => {
    expect(loadConfig({}).watch.demand).toEqual({ requests: 12, periodMs: 60_000, quietMs: 120_000 });
    expect(loadConfig({ SWITCHBOARD_WATCH_DEMAND_REQUESTS: '3', SWITCHBOARD_WATCH_DEMAND_PERIOD_SECONDS: '10', SWITCHBOARD_WATCH_QUIET_SECONDS: '30' }).watch.demand).toEqual({
      requests: 3,
      periodMs: 10_000,
      quietMs: 30_000,
    });
    expect(refusal({ SWITCHBOARD_WATCH_DEMAND_REQUESTS: '0' })).toBe('SWITCHBOARD_WATCH_DEMAND_REQUESTS must be at least 1; got "0"');
    expect(refusal({ SWITCHBOARD_WATCH_QUIET_SECONDS: '2m' })).toBe('SWITCHBOARD_WATCH_QUIET_SECONDS must be a whole number written in digits; got "2m"');
  });

  it("is set per file connection, which overrides the variable for that connection only, and refuses anything else", () => {
    const config = loadConfig({ SWITCHBOARD_WATCH: 'demand', SWITCHBOARD_CONFIG: file({ connections: [{ ...UNPOD, watch: 'always' }, TALKSTACK] }) });
    expect(config.connections.map((c) => c.watch)).toEqual(['always', undefined]);
    expect(config.connections[0]!.settings).not.toHaveProperty('watch');
    expect(watchPolicies(config)('unpod/sales')).toBe('always');
    expect(watchPolicies(config)('talkstack/us')).toBe('demand');
    expect(refusal({ SWITCHBOARD_CONFIG: file({ connections: [TWENTY2, { ...UNPOD, watch: true }] }) })).toBe(
      'SWITCHBOARD_CONFIG connections[1].watch: must be one of "off", "demand", "always"',
    );
  });
});

describe('SWITCHBOARD_UPSTREAM_RATE_PER_SECOND and a connection\'s upstreamRatePerSecond', () => {
  it('is 0 (unlimited) by default, any whole number from 0 to 100000, and nothing else', () => {
    expect(loadConfig({}).http.ratePerSecond).toBe(0);
    expect(loadConfig({ SWITCHBOARD_UPSTREAM_RATE_PER_SECOND: '20' }).http.ratePerSecond).toBe(20);
    expect(refusal({ SWITCHBOARD_UPSTREAM_RATE_PER_SECOND: '100001' })).toBe('SWITCHBOARD_UPSTREAM_RATE_PER_SECOND must be at most 100000; got "100001"');
    expect(refusal({ SWITCHBOARD_UPSTREAM_RATE_PER_SECOND: '-1' })).toBe('SWITCHBOARD_UPSTREAM_RATE_PER_SECOND must be a whole number written in digits; got "-1"');
    expect(refusal({ SWITCHBOARD_UPSTREAM_RATE_PER_SECOND: '2.5' })).toBe('SWITCHBOARD_UPSTREAM_RATE_PER_SECOND must be a whole number written in digits; got "2.5"');
    expect(refusal({ SWITCHBOARD_UPSTREAM_RATE_PER_SECOND: '10/s' })).toBe('SWITCHBOARD_UPSTREAM_RATE_PER_SECOND must be a whole number written in digits; got "10/s"');
    expect(refusal({ SWITCHBOARD_UPSTREAM_RATE_PER_SECONDS: '5' })).toMatch(/^SWITCHBOARD_UPSTREAM_RATE_PER_SECONDS: unknown variable \(did you mean SWITCHBOARD_UPSTREAM_RATE_PER_SECOND\?\)/);
  });

  it('is set per file connection (a JSON number), kept out of the provider settings', () => {
    const config = loadConfig({ SWITCHBOARD_UPSTREAM_RATE_PER_SECOND: '10', SWITCHBOARD_CONFIG: file({ connections: [{ ...UNPOD, upstreamRatePerSecond: 3 }, TALKSTACK] }) });
    expect(config.connections.map((c) => c.upstreamRatePerSecond)).toEqual([3, undefined]);
    expect(config.connections[0]!.settings).not.toHaveProperty('upstreamRatePerSecond');
    expect(config.http.ratePerSecond).toBe(10);
  });

  it.each([
    ['a string', '3', 'must be a whole number of requests a second (a JSON number)'],
    ['a fraction', 0.5, 'must be a whole number of requests a second'],
    ['a negative number', -1, 'must be at least 0 (0: unlimited)'],
    ['too many', 100_001, 'must be at most 100000'],
  ])('refuses %s, naming the key', (_name, value, message) => {
    expect(refusal({ SWITCHBOARD_CONFIG: file({ connections: [TWENTY2, { ...UNPOD, upstreamRatePerSecond: value }] }) })).toBe(
      `SWITCHBOARD_CONFIG connections[1].upstreamRatePerSecond: ${message}`,
    );
  });
});

describe("Vapi's push credential (docs/live.md, Provider pushes)", () => {
  it('reads VAPI_WEBHOOK_SECRET and VAPI_WEBHOOK_AUTH, refuses another auth word by name, and keeps the secret out of cache keys', () => {
    const config = loadConfig({ VAPI_API_KEY: 'vapi-key', VAPI_WEBHOOK_SECRET: 'vapi-webhook-secret', VAPI_WEBHOOK_AUTH: 'hmac' });
    const vapi = config.connections.find((c) => c.provider === 'VAPI')!;
    expect(vapi.settings).toMatchObject({ webhookSecret: 'vapi-webhook-secret', webhookAuth: 'hmac' });
    expect(refusal({ VAPI_API_KEY: 'vapi-key', VAPI_WEBHOOK_AUTH: 'HMAC' })).toMatch(/^VAPI_WEBHOOK_AUTH must be bearer or hmac/);
    expect(refusal({ VAPI_API_KEY: 'vapi-key', VAPI_WEBHOOK_SECRET: ' padded' })).toMatch(/^VAPI_WEBHOOK_SECRET /);
    expect(PROVIDER_MODULES.find((m) => m.provider === 'VAPI')!.secrets).toContain('webhookSecret');
  });
});

describe("subscription callbacks (Apollo's HTTP callback protocol)", () => {
  it('are off unless SWITCHBOARD_SUBSCRIPTION_CALLBACK_URLS lists URL prefixes', () => {
    expect(loadConfig({}).subscriptionCallbacks).toEqual({ urls: [] });
    expect(loadConfig({ SWITCHBOARD_SUBSCRIPTION_CALLBACK_URLS: 'http://router:4000/callback/,https://router.example' }).subscriptionCallbacks).toEqual({
      urls: ['http://router:4000/callback', 'https://router.example'],
    });
  });

  it.each([
    ['an entry that is not http(s)', 'ftp://router/callback', /^SWITCHBOARD_SUBSCRIPTION_CALLBACK_URLS\[0\]: must be an http:\/\/ or https:\/\/ URL/],
    ['an empty entry', 'http://router:4000/callback,', /^SWITCHBOARD_SUBSCRIPTION_CALLBACK_URLS\[1\]: must not be empty/],
    ['a query', 'http://router:4000/callback?x=1', /^SWITCHBOARD_SUBSCRIPTION_CALLBACK_URLS\[0\]: must be an http:\/\/ or https:\/\/ URL without credentials, query or fragment/],
    ['credentials', 'http://u:p@router:4000/callback', /^SWITCHBOARD_SUBSCRIPTION_CALLBACK_URLS\[0\]: must be an http:\/\/ or https:\/\/ URL without credentials/],
    ['spaces after a comma', 'http://a:4000/callback, http://b:4000/callback', /^SWITCHBOARD_SUBSCRIPTION_CALLBACK_URLS\[1\]: must not start or end with whitespace/],
  ])('refuses %s, naming the entry', (_what, value, expected) => {
    expect(refusal({ SWITCHBOARD_SUBSCRIPTION_CALLBACK_URLS: value })).toMatch(expected);
  });

});

describe('SWITCHBOARD_MAX_SUBSCRIPTIONS', () => {
  it('bounds open subscriptions over every transport: 5000 by default, at least 1', () => {
    expect(loadConfig({}).maxSubscriptions).toBe(5000);
    expect(loadConfig({ SWITCHBOARD_MAX_SUBSCRIPTIONS: '3' }).maxSubscriptions).toBe(3);
    expect(refusal({ SWITCHBOARD_MAX_SUBSCRIPTIONS: '0' })).toMatch(/SWITCHBOARD_MAX_SUBSCRIPTIONS must be at least 1/);
  });

  it('no longer reads SWITCHBOARD_MAX_CALLBACK_SUBSCRIPTIONS (never released; replaced by SWITCHBOARD_MAX_SUBSCRIPTIONS)', () => {
    expect(refusal({ SWITCHBOARD_MAX_CALLBACK_SUBSCRIPTIONS: '10' })).toMatch(/SWITCHBOARD_MAX_CALLBACK_SUBSCRIPTIONS/);
  });
});
