/**
 * Execution fuzz: random documents over the whole schema (every root field, every type's fields,
 * aliases, repeated fields, inline and named fragments, good, missing, foreign and bad ids,
 * cursors, filters, arguments that are refused) against random upstream faults (a connection's
 * list, look-up batch or a call's detail request failing, rows carrying values their scalar
 * refuses, answers arriving in any order). Every answer must be consistent — each error with a
 * path points at a null in the data, `nodes` and `_entities` have one item per id asked — and a
 * repeated request must answer the same bytes, shaped by the server's own error formatter.
 *
 * This began as a differential test of graphql-js against graphql-jit, which then ran repeated
 * documents: it found graphql-jit dropping or misplacing the null of a failed list item, and
 * reporting other errors than graphql-js wherever a failed non-null field nulls its parent, so
 * graphql-jit was removed (docs/benchmark.md, "Compiled execution, removed"). Should another
 * executor ever take graphql-js's place, run these documents on both and compare their bytes.
 *
 * In-process, over the real schema, resolvers, loaders and merge, with fake provider adapters
 * whose answers are fixed by the case; the HTTP path is covered by
 * test/integration/execution.test.ts. `EXECUTION_FUZZ_RUNS` (default 1000) and
 * `EXECUTION_FUZZ_SEED` explore further.
 */
import { Writable } from 'node:stream';
import fc from 'fast-check';
import { type DocumentNode, type ExecutionResult, type GraphQLError, Kind, execute, parse, validate } from 'graphql';
import { CursorCodec } from '../../src/calls/cursor.js';
import { encodeCallId } from '../../src/calls/ids.js';
import { type CallDetails, type CallRecord, type Provider, PROVIDERS, connectionLabel } from '../../src/calls/model.js';
import { type RequestContext, type Services, createRequestContext } from '../../src/context.js';
import { UpstreamError } from '../../src/errors.js';
import { createLogger } from '../../src/logger.js';
import type { ConnectionRegistry, LiveConnection as Connection } from '../../src/providers/index.js';
import type { CallLocator, ListRequest, ListResult, ProviderAdapter } from '../../src/calls/adapter.js';
import { createSchema } from '../../src/schema.js';
import { guardEntities } from '../../src/security/entities.js';
import { formatError, formatUpstream } from '../../src/server.js';

const RUNS = Number(process.env.EXECUTION_FUZZ_RUNS ?? 1000);
const SEED = process.env.EXECUTION_FUZZ_SEED === undefined ? 20261124 : Number(process.env.EXECUTION_FUZZ_SEED);

const schema = guardEntities(createSchema());
const silent = createLogger('fatal', new Writable({ write: (_chunk, _encoding, done) => done() }));
const format = formatError(silent);

// ---------------------------------------------------------------------------------------------
// The upstream: four connections of three calls each. TWENTY2's rows lack details (a detail
// request per call, as the real provider); the others carry them.

const PER_CONNECTION = 3;
const BASE_MS = Date.UTC(2026, 10, 20, 12);
const keyOf = (provider: Provider, i: number) => `${provider.toLowerCase()}_${i}`;
const KEYS = PROVIDERS.flatMap((p) => Array.from({ length: PER_CONNECTION }, (_, i) => keyOf(p, i)));

/** What one case's upstream does; the same plan is played to every run of the case. */
interface Plan {
  /** Per connection: its list requests fail; its look-up batches fail; setImmediate turns before each answers. */
  connections: Record<Provider, { listFails: boolean; lookupFails: boolean; listDelay: number; lookupDelay: number }>;
  /** Per call key: its detail request fails; its delay; a value its scalar refuses. */
  calls: Record<string, { detailsFail: boolean; detailsDelay: number; corrupt: 'none' | 'duration' | 'providerStatus' | 'amount' }>;
}

const turns = async (n: number) => {
  for (let i = 0; i < n; i++) await new Promise((resolve) => setImmediate(resolve));
};

const DETAILS: CallDetails = {
  billedDurationSeconds: 60,
  recordings: [{ url: 'https://media.example/r.mp3', expiresAt: new Date(BASE_MS + 3600_000) }],
  transcript: { url: 'https://media.example/t.txt', expiresAt: null },
  inputParameters: { lang: 'en' },
  outputParameters: { score: 3 },
};

function callOf(provider: Provider, i: number, plan: Plan): CallRecord {
  const key = keyOf(provider, i);
  const corrupt = plan.calls[key]!.corrupt;
  return {
    provider,
    connection: 'default',
    key,
    providerCallId: i === 1 ? null : key,
    direction: i === 2 ? null : i === 0 ? 'INBOUND' : 'OUTBOUND',
    status: i === 1 ? 'NO_ANSWER' : 'COMPLETED',
    // Values a buggy mapping could let through; their scalar refuses them at serialisation.
    providerStatus: (corrupt === 'providerStatus' ? { word: 'done' } : 'done') as string,
    from: { phoneNumber: '+14155550100', rawPhoneNumber: '(415) 555-0100', displayName: null, countryCode: 'US', isStaff: false },
    to: { phoneNumber: null, rawPhoneNumber: 'anonymous', displayName: 'Ann', countryCode: null, isStaff: null },
    // Distinct instants, interleaved across providers; two providers share one to exercise the tie-break.
    startedAt: new Date(BASE_MS - (i * 4 + (provider === 'CINNOX' ? 0 : PROVIDERS.indexOf(provider))) * 60_000),
    answeredAt: null,
    endedAt: new Date(BASE_MS),
    durationSeconds: corrupt === 'duration' ? 2.5 : 30 + i,
    cost: i === 2 ? null : { amount: (corrupt === 'amount' ? { v: 1 } : '0.0125') as string, currency: 'USD' },
    endReason: null,
    agentId: i === 0 ? 'agent-7' : null,
    details: provider === 'TWENTY2' ? null : DETAILS,
  };
}

class FakeAdapter implements ProviderAdapter {
  readonly connection = 'default';
  readonly capabilities;
  private readonly rows: CallRecord[];
  constructor(
    readonly provider: Provider,
    private readonly plan: Plan,
  ) {
    this.capabilities = { maxPageSize: 2, resume: 'window' as const, reportsTotal: provider === 'TWENTY2' || provider === 'UNPOD', listsOngoing: true };
    this.rows = Array.from({ length: PER_CONNECTION }, (_, i) => callOf(provider, i, plan)).sort((a, b) => b.startedAt.getTime() - a.startedAt.getTime());
  }

  private get faults() {
    return this.plan.connections[this.provider];
  }

  appliesExactly(): boolean {
    return false;
  }

  async list(request: ListRequest): Promise<ListResult> {
    await turns(this.faults.listDelay);
    if (this.faults.listFails) throw new UpstreamError(this, 'HTTP_STATUS', { status: 503 });
    const inWindow = this.rows.filter((r) => (!request.from || r.startedAt >= request.from) && (!request.until || r.startedAt <= request.until));
    const index = 'index' in request.page ? request.page.index : 0;
    const size = Math.min(request.pageSize, this.capabilities.maxPageSize);
    const calls = inWindow.slice(index * size, (index + 1) * size);
    return { calls, next: (index + 1) * size < inWindow.length ? { index: index + 1 } : null, total: this.capabilities.reportsTotal ? inWindow.length : null };
  }

  async getCalls(locators: readonly CallLocator[]): Promise<(CallRecord | null)[]> {
    await turns(this.faults.lookupDelay);
    if (this.faults.lookupFails) throw new UpstreamError(this, 'UNAUTHORIZED', { status: 401 });
    return locators.map((l) => this.rows.find((r) => r.key === l.key) ?? null);
  }

  async getDetails(call: CallRecord): Promise<CallDetails> {
    const faults = this.plan.calls[call.key]!;
    await turns(faults.detailsDelay);
    if (faults.detailsFail) throw new UpstreamError(this, 'TIMEOUT');
    return DETAILS;
  }
}

const cursors = new CursorCodec(Buffer.alloc(32, 7));

function servicesFor(plan: Plan): Services {
  const connections: Connection[] = PROVIDERS.map((provider) => {
    const ref = { provider, connection: 'default' };
    const connection: Connection = {
      ref,
      label: connectionLabel(ref),
      adapter: new FakeAdapter(provider, plan),
      http: { concurrency: 4 } as Connection['http'],
      concurrency: 4,
      forRequest: () => connection,
    };
    return connection;
  });
  return { registry: { connections } as unknown as ConnectionRegistry, cursors, cache: null, scanBudget: 10, events: { subscribe: () => () => {}, observeLocal: () => () => {} } };
}

const contextFor = (plan: Plan): RequestContext => createRequestContext(servicesFor(plan), { scopeId: 'anonymous', scope: null });

const planArbitrary: fc.Arbitrary<Plan> = fc.record({
  connections: fc.record(
    Object.fromEntries(
      PROVIDERS.map((p) => [
        p,
        fc.record({ listFails: fc.nat(5).map((n) => n === 0), lookupFails: fc.nat(3).map((n) => n === 0), listDelay: fc.nat(3), lookupDelay: fc.nat(3) }),
      ]),
    ) as { [P in Provider]: fc.Arbitrary<Plan['connections'][P]> },
  ),
  calls: fc.record(
    Object.fromEntries(
      KEYS.map((k) => [
        k,
        fc.record({
          detailsFail: fc.nat(3).map((n) => n === 0),
          detailsDelay: fc.nat(3),
          corrupt: fc.oneof({ weight: 12, arbitrary: fc.constant('none' as const) }, fc.constantFrom('duration' as const, 'providerStatus' as const, 'amount' as const)),
        }),
      ]),
    ),
  ),
});

// ---------------------------------------------------------------------------------------------
// Documents. Argument values come from pools of ids and cursors of this world.

const FAULTLESS: Plan = {
  connections: Object.fromEntries(PROVIDERS.map((p) => [p, { listFails: false, lookupFails: false, listDelay: 0, lookupDelay: 0 }])) as Plan['connections'],
  calls: Object.fromEntries(KEYS.map((k) => [k, { detailsFail: false, detailsDelay: 0, corrupt: 'none' as const }])),
};
const ids = PROVIDERS.flatMap((p) => Array.from({ length: PER_CONNECTION }, (_, i) => encodeCallId(callOf(p, i, FAULTLESS))));
const missingId = encodeCallId({ ...callOf('UNPOD', 0, FAULTLESS), key: 'no_such_call' });
const foreignId = encodeCallId({ ...callOf('CINNOX', 0, FAULTLESS), connection: 'other-tenant' });
const ID_POOL = [...ids, missingId, foreignId, 'not-an-id'];
let CURSORS: string[] = [];

const str = (s: string) => JSON.stringify(s);
const idValue = fc.constantFrom(...ID_POOL).map(str);
const idList = fc.array(idValue, { maxLength: 5 }).map((xs) => `[${xs.join(', ')}]`);
const representation = fc.oneof(
  { weight: 9, arbitrary: idValue.map((id) => `{ __typename: "Call", id: ${id} }`) },
  fc.constantFrom('{ __typename: "CallParty", id: "x" }', '{ __typename: "Call" }'),
);
const filterValue = fc
  .record(
    {
      providers: fc.subarray([...PROVIDERS], { minLength: 1 }).map((ps) => `[${ps.join(', ')}]`),
      statuses: fc.subarray(['COMPLETED', 'NO_ANSWER', 'BUSY']).map((ss) => `[${ss.join(', ')}]`),
      direction: fc.constantFrom('INBOUND', 'OUTBOUND'),
      startedAfter: fc.constantFrom(str(new Date(BASE_MS - 5 * 60_000).toISOString()), '"2026-11-20T11:50:00+01:00"'),
      phoneNumber: fc.constantFrom('"+14155550100"', '"+10000000000"'),
    },
    { requiredKeys: [] },
  )
  .map((f) => `{ ${Object.entries(f).map(([k, v]) => `${k}: ${v}`).join(', ')} }`);
const cursorValue = fc.oneof({ weight: 4, arbitrary: fc.nat().map((n) => str(CURSORS[n % CURSORS.length]!)) }, fc.constant('"garbage"'));
const callsArgs = fc
  .record(
    {
      first: fc.oneof(fc.nat(5).map(String), fc.constantFrom('$n', '-1', '101')),
      last: fc.nat(4).map(String),
      after: cursorValue,
      before: cursorValue,
      filter: filterValue,
    },
    { requiredKeys: [] },
  )
  .map((a) => Object.entries(a).map(([k, v]) => `${k}: ${v}`).join(', '));

/** Arguments per field that takes any; the rest take none. */
const ARGUMENTS: Record<string, fc.Arbitrary<string>> = {
  'Query.calls': callsArgs,
  'Query.call': idValue.map((id) => `id: ${id}`),
  'Query.node': idValue.map((id) => `id: ${id}`),
  'Query.nodes': idList.map((l) => `ids: ${l}`),
  'Query._entities': fc.array(representation, { maxLength: 5 }).map((rs) => `representations: [${rs.join(', ')}]`),
};

interface Piece {
  /** The response name when not aliased. */
  name: string;
  /** Everything after the name: arguments and sub-selection. */
  rest: string;
  alias: boolean;
}

const typeName = (t: { toString(): string }) => t.toString().replace(/[[\]!]/g, '');

/**
 * A selection set on `type`: 1–5 pieces, each a field (with arguments and a sub-selection),
 * `__typename`, or an inline fragment; some aliased, some repeated. Aliases are made unique, and a
 * field repeated under its own name with other arguments gets one, so the document stays valid.
 */
function selectionSet(type: string, depth = 0, aliases = 'a'): fc.Arbitrary<string> {
  const named = schema.getType(type)!;
  const pieces: fc.Arbitrary<Piece>[] = [fc.record({ name: fc.constant('__typename'), rest: fc.constant(''), alias: fc.boolean() })];
  if ('getFields' in named) {
    for (const field of Object.values(named.getFields())) {
      const inner = typeName(field.type);
      const args = ARGUMENTS[`${type}.${field.name}`] ?? fc.constant('');
      const leaf = !('getFields' in schema.getType(inner)!) && !('getTypes' in schema.getType(inner)!);
      const sub = leaf ? fc.constant('') : fc.constant(null).chain(() => selectionSet(inner, depth + 1, `${aliases}_${field.name}`));
      pieces.push(fc.record({ name: fc.constant(field.name), rest: fc.tuple(args, sub).map(([a, s]) => `${a ? `(${a})` : ''} ${s}`), alias: fc.boolean() }));
    }
  }
  // Abstract types: what a client writes for them. Call: fragments on itself and on Node.
  if (type === 'Node' || type === '_Entity' || type === 'Call') {
    // Its fields merge into this level: aliases of their own.
    pieces.push(fc.nat(999).chain((tag) => selectionSet('Call', depth + 1, `${aliases}_f${tag}_`)).map((s) => ({ name: '...', rest: ` on Call ${s}`, alias: false })));
    pieces.push(fc.constant({ name: '...', rest: ' CallBits', alias: false }));
  }
  if (type === 'Node' || type === 'Call') pieces.push(fc.constant({ name: '...', rest: ' on Node { id __typename }', alias: false }));
  return fc.array(fc.oneof(...pieces), { minLength: 1, maxLength: depth === 0 ? 4 : 5 }).map((chosen) => {
    const seen = new Map<string, string>();
    const parts = chosen.map((piece, i) => {
      if (piece.name === '...') return `...${piece.rest}`;
      const clash = seen.has(piece.name) && seen.get(piece.name) !== piece.rest;
      if (piece.alias || clash) return `${aliases}${i}: ${piece.name}${piece.rest}`;
      seen.set(piece.name, piece.rest);
      return `${piece.name}${piece.rest}`;
    });
    return `{ ${parts.join(' ')} }`;
  });
}

const FRAGMENT = 'fragment CallBits on Call { id status recordings { url } cost { amount } durationSeconds }';
const documentText = selectionSet('Query').map((s) => `query Q${s.includes('$n') ? '($n: Int = 2)' : ''} ${s}${s.includes('CallBits') ? `\n${FRAGMENT}` : ''}`);
/** Two fragments may still pick the same alias for different fields (rarely): those are left out. */
const documentArbitrary = documentText.filter((text) => validate(schema, parse(text)).length === 0);

// ---------------------------------------------------------------------------------------------
// Running a document.

/**
 * What must hold of any answer, whatever executed it: every error with a path points at a
 * null in the data (the failed field, or an ancestor nulled in its place), and `nodes` and
 * `_entities` have one item per id or representation asked for. The dropped null broke both.
 */
function inconsistencies(document: DocumentNode, result: ExecutionResult): string[] {
  const found: string[] = [];
  for (const error of result.errors ?? []) {
    if (!error.path) continue;
    let at: unknown = result.data;
    for (const key of error.path) {
      if (at === null) break;
      at = (at as Record<string | number, unknown> | undefined)?.[key];
    }
    if (at !== null) found.push(`error at ${error.path.join('.')} but ${at === undefined ? 'nothing' : 'a value'} there in the data`);
  }
  const operation = document.definitions.find((d) => d.kind === Kind.OPERATION_DEFINITION);
  for (const selection of operation?.selectionSet.selections ?? []) {
    if (selection.kind !== Kind.FIELD || !['nodes', '_entities'].includes(selection.name.value)) continue;
    const list = selection.arguments?.[0]?.value;
    const answer = (result.data as Record<string, unknown> | null | undefined)?.[selection.alias?.value ?? selection.name.value];
    if (list?.kind === Kind.LIST && Array.isArray(answer) && answer.length !== list.values.length) {
      found.push(`${selection.alias?.value ?? selection.name.value}: ${list.values.length} asked, ${answer.length} answered`);
    }
  }
  return found;
}

/** The client's response body for `result`: errors through the server's formatter, upstream failures after them. */
function responseBody(result: ExecutionResult, ctx: RequestContext): string {
  const errors = [
    ...(result.errors ?? []).map((e) => format((e as GraphQLError).toJSON(), e)),
    ...ctx.upstreamFailures.map(({ error, path }) => formatUpstream(error, path)),
  ];
  return JSON.stringify({ ...(errors.length ? { errors } : {}), data: result.data });
}

interface Answer {
  body: string;
  inconsistencies: string[];
}

async function onGraphqlJs(document: DocumentNode, plan: Plan): Promise<Answer> {
  const ctx = contextFor(plan);
  const result = await execute({ schema, document, contextValue: ctx });
  return { body: responseBody(result, ctx), inconsistencies: inconsistencies(document, result) };
}

beforeAll(async () => {
  const page = await execute({ schema, document: parse('{ calls(first: 12) { edges { cursor } } }'), contextValue: contextFor(FAULTLESS) });
  CURSORS = (page.data as { calls: { edges: { cursor: string }[] } }).calls.edges.map((e) => e.cursor);
  expect(CURSORS).toHaveLength(12);
});

test('the generated documents are valid and reach every root field', () => {
  const samples = fc.sample(documentText, { numRuns: 200, seed: SEED });
  // Nearly all valid as generated: the filter on documentArbitrary rarely has to throw one away.
  expect(samples.filter((text) => validate(schema, parse(text)).length === 0).length).toBeGreaterThan(190);
  for (const root of ['calls(', 'call(', 'node(', 'nodes(', '_entities(', '_service', '...on Node', 'edges', 'pageInfo', 'totalCount', 'recordings']) {
    expect(samples.some((s) => s.replace(/\.\.\. on/g, '...on').includes(root))).toBe(true);
  }
});

test('every answer is consistent and a repeated request answers the same, whatever the upstream does', async () => {
  await fc.assert(
    fc.asyncProperty(documentArbitrary, planArbitrary, async (text, plan) => {
      const document = parse(text);
      const answer = await onGraphqlJs(document, plan);
      expect({ document: text, inconsistencies: answer.inconsistencies }).toEqual({ document: text, inconsistencies: [] });
      expect({ document: text, body: (await onGraphqlJs(document, plan)).body }).toEqual({ document: text, body: answer.body });
    }),
    { numRuns: RUNS, seed: SEED },
  );
}, 300_000); // ~7 s alone; the cap is for a loaded machine running every suite at once
