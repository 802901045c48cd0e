/**
 * Persisted queries, both kinds:
 *
 * - **Trusted documents (safelisting).** With a persisted-query manifest configured
 *   (SWITCHBOARD_PERSISTED_QUERY_MANIFEST, the JSON `@apollo/generate-persisted-query-manifest`
 *   writes), only the manifest's operations run: by id (`extensions.persistedQuery.sha256Hash`, as
 *   Apollo Client's persisted-queries link sends it) or by a body equal to a manifest operation's
 *   (ignoring insignificant whitespace, commas and comments). Anything else is refused before it is
 *   parsed or run, with the error codes Apollo Router's safelisting uses. Automatic persisted
 *   queries are then off: registering operations at run time is what a safelist forbids.
 * - **Automatic persisted queries (APQ)**, without a manifest: Apollo Server's own protocol, its
 *   cache shared through Redis when REDIS_URL is set (`RedisApqCache`).
 */
import type { PersistedQueryOptions } from '@apollo/server';
import { type DocumentNode, Kind, type SelectionSetNode, parse, stripIgnoredCharacters } from 'graphql';
import { z } from 'zod';
import type { CacheStore } from './calls/cache.js';
import { ErrorCode } from './errors.js';
import { HttpError } from './graphqlOverHttp.js';

/** One operation of the manifest. */
export interface ManifestOperation {
  id: string;
  name: string;
  type: 'query' | 'mutation' | 'subscription';
  body: string;
}

/** A checked manifest: operations by id, and every body with its ignored characters stripped. */
export interface PersistedQueryManifest {
  byId: ReadonlyMap<string, ManifestOperation>;
  strippedBodies: ReadonlySet<string>;
}

/** A zod error message: "is required" when the field is missing, else `wrong`. */
const says = (wrong: string) => ({ error: (issue: { input?: unknown }) => (issue.input === undefined ? 'is required' : wrong) });

const operationSchema = z.object(
  {
    id: z.string(says('must be a string')).min(1, 'must not be empty'),
    name: z.string(says('must be a string')),
    type: z.enum(['query', 'mutation', 'subscription'], says('must be "query", "mutation" or "subscription"')),
    body: z.string(says('must be a string')).min(1, 'must not be empty'),
  },
  says('must be an object'),
);

const manifestSchema = z.object(
  {
    format: z.literal('apollo-persisted-query-manifest', says('must be "apollo-persisted-query-manifest"')),
    version: z.literal(1, says('must be 1 (the only version of the format)')),
    operations: z.array(operationSchema, says('must be a list')).min(1, 'lists no operation: every request would be refused'),
  },
  says('must be a JSON object'),
);

/**
 * Reads a manifest's text: the format, version 1, operations with a unique id, a name, a type and a
 * body that parses as GraphQL. Fields the format may add later are ignored.
 * @throws Error with a one-line message naming the field (`operations[2].body: …`) that is wrong.
 */
export function parseManifest(text: string): PersistedQueryManifest {
  let json: unknown;
  try {
    json = JSON.parse(text.startsWith('\uFEFF') ? text.slice(1) : text);
  } catch {
    throw new Error('not valid JSON');
  }
  const checked = manifestSchema.safeParse(json);
  if (!checked.success) {
    const issue = checked.error.issues[0]!;
    const where = issue.path.map((step, i) => (typeof step === 'number' ? `[${step}]` : `${i ? '.' : ''}${String(step)}`)).join('');
    throw new Error(`${where ? `${where}: ` : ''}${issue.message}`);
  }
  const byId = new Map<string, ManifestOperation>();
  const strippedBodies = new Set<string>();
  checked.data.operations.forEach((operation, index) => {
    const where = `operations[${index}] (${operation.name || 'unnamed'})`;
    let stripped: string;
    try {
      parse(operation.body, { noLocation: true });
      stripped = stripIgnoredCharacters(operation.body);
    } catch (error) {
      throw new Error(`${where}.body is not a GraphQL document: ${(error as Error).message.split('\n')[0]}`);
    }
    const same = byId.get(operation.id);
    if (same && same.body !== operation.body) throw new Error(`${where}.id "${operation.id.slice(0, 80)}" is also the id of another body`);
    byId.set(operation.id, operation);
    strippedBodies.add(stripped);
  });
  return { byId, strippedBodies };
}

/** The GraphQL parameters of a request as sent: a POST body, or a GET's query string. */
export interface GraphQLParams {
  body: unknown;
  search: string;
}

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** Persisted-query refusals are not cached by a CDN in front of GET: the manifest may change. */
const NO_STORE = { 'cache-control': 'no-store' };

/**
 * The safelist of a manifest: `admit` lets a request through as sent, rewrites one that names an
 * operation by id into that operation's body, or refuses it.
 */
export class Safelist {
  /**
   * @param options.introspection introspection is allowed (outside production): documents that
   *   only introspect (`__schema`, `__type`, `__typename`) pass, as in Apollo Router, so GraphiQL's
   *   docs work beside a manifest. Parsing for that check stops at `maxTokens`.
   */
  constructor(
    private readonly manifest: PersistedQueryManifest,
    private readonly options: { introspection: boolean; maxTokens: number },
  ) {}

  /**
   * What Apollo Server is given for this request. A request the safelist has nothing to say about
   * (no `query` string and no persisted-query id: malformed, a batch, an empty body) goes through
   * unchanged for Apollo to refuse as it always does: none of those can run an operation.
   * @throws HttpError 404 PERSISTED_QUERY_NOT_IN_LIST (an id the manifest does not have),
   *   403 QUERY_NOT_IN_SAFELIST (a body it does not have), 400 CANNOT_SEND_PQ_ID_AND_BODY (both
   *   an id and a body), 400 BAD_REQUEST (a persistedQuery extension without a string sha256Hash).
   */
  admit(method: string, { body, search }: GraphQLParams): GraphQLParams {
    let query: unknown;
    let extensions: unknown;
    let params: URLSearchParams | null = null;
    if (method === 'GET') {
      params = new URLSearchParams(search);
      query = params.get('query') ?? undefined;
      try {
        extensions = params.has('extensions') ? JSON.parse(params.get('extensions')!) : undefined;
      } catch {
        return { body, search }; // Apollo refuses invalid JSON in `extensions`
      }
    } else if (isRecord(body)) {
      ({ query, extensions } = body);
    } else {
      return { body, search };
    }

    const persisted = isRecord(extensions) ? extensions.persistedQuery : undefined;
    if (persisted !== undefined && persisted !== null) {
      const id = isRecord(persisted) ? persisted.sha256Hash : undefined;
      if (typeof id !== 'string') {
        throw new HttpError(400, 'extensions.persistedQuery must be an object with the operation\'s id in "sha256Hash"');
      }
      if (query !== undefined && query !== null) {
        throw new HttpError(
          400,
          'Send a persisted query\'s id or its body, not both: only the operations of the persisted-query manifest run here, by id or by body',
          ErrorCode.CannotSendIdAndBody,
        );
      }
      const operation = this.manifest.byId.get(id);
      if (!operation) {
        throw new HttpError(404, `Persisted query "${id.slice(0, 80)}" is not in the persisted-query manifest`, ErrorCode.PersistedQueryNotInList, NO_STORE);
      }
      // The manifest's body replaces the id, and the extension goes: Apollo Server runs a plain query.
      const { persistedQuery: _, ...rest } = extensions as Record<string, unknown>;
      const others = Object.keys(rest).length > 0 ? rest : undefined;
      if (params) {
        params.set('query', operation.body);
        if (others) params.set('extensions', JSON.stringify(others));
        else params.delete('extensions');
        return { body, search: `?${params.toString()}` };
      }
      const { extensions: _e, ...fields } = body as Record<string, unknown>;
      return { body: { ...fields, query: operation.body, ...(others ? { extensions: others } : {}) }, search };
    }

    if (typeof query !== 'string') return { body, search }; // no operation to run: Apollo refuses it
    if (this.listed(query) || (this.options.introspection && this.onlyIntrospects(query))) return { body, search };
    throw new HttpError(
      403,
      'This operation is not in the persisted-query manifest: only the operations it lists run here',
      ErrorCode.QueryNotInSafelist,
      NO_STORE,
    );
  }

  /** The body is a manifest operation's, up to insignificant whitespace, commas and comments. */
  private listed(query: string): boolean {
    try {
      return this.manifest.strippedBodies.has(stripIgnoredCharacters(query));
    } catch {
      return false; // not even lexically GraphQL
    }
  }

  /** Every operation of the document selects only `__schema`, `__type` or `__typename` at its root. */
  private onlyIntrospects(query: string): boolean {
    let document: DocumentNode;
    try {
      document = parse(query, { noLocation: true, maxTokens: this.options.maxTokens });
    } catch {
      return false;
    }
    const fragments = new Map(
      document.definitions.flatMap((d) => (d.kind === Kind.FRAGMENT_DEFINITION ? [[d.name.value, d.selectionSet] as const] : [])),
    );
    const introspects = (set: SelectionSetNode, seen: Set<string>): boolean =>
      set.selections.every((selection) => {
        if (selection.kind === Kind.FIELD) return selection.name.value.startsWith('__');
        if (selection.kind === Kind.INLINE_FRAGMENT) return introspects(selection.selectionSet, seen);
        const name = selection.name.value;
        const fragment = fragments.get(name);
        if (!fragment || seen.has(name)) return false;
        return introspects(fragment, new Set([...seen, name]));
      });
    const operations = document.definitions.filter((d) => d.kind === Kind.OPERATION_DEFINITION);
    return operations.length > 0 && operations.every((operation) => introspects(operation.selectionSet, new Set()));
  }
}

type KeyValueCache = NonNullable<PersistedQueryOptions['cache']>;

/** How long an automatic persisted query stays registered in Redis, in seconds: a day. */
export const APQ_TTL_SECONDS = 86_400;

/**
 * Apollo Server's APQ cache over the project's Redis store, so that a query registered on one
 * replica is known to all. Apollo prefixes its keys with `apq:`; this adds `sb:`, the prefix of
 * every Switchboard key. Entries are content-addressed (Apollo checks the hash against the query
 * before storing), so deployments sharing one Redis share them harmlessly. A store that fails is a
 * miss: the client then sends the full query, as the protocol expects.
 */
export class RedisApqCache implements KeyValueCache {
  constructor(private readonly store: CacheStore) {}

  async get(key: string): Promise<string | undefined> {
    const [value] = await this.store.get([`sb:${key}`]);
    return value ?? undefined;
  }

  async set(key: string, value: string, options?: { ttl?: number | null }): Promise<void> {
    const ttlMs = Math.round((options?.ttl ?? APQ_TTL_SECONDS) * 1000);
    await this.store.set([{ key: `sb:${key}`, value, ttlMs }]);
  }

  /** Apollo Server never deletes an APQ entry; they expire. */
  async delete(): Promise<boolean> {
    return false;
  }
}
