/**
 * What a provider is to Switchboard: one module object, exported by its folder
 * (src/providers/<provider>/module.ts) and listed once in `PROVIDER_MODULES` (src/providers/index.ts).
 * Configuration, error messages, cache keys, demo mode and the test helpers all read that list;
 * the core (src/calls/) never does — it sees only `ProviderAdapter` (src/calls/adapter.ts) and takes
 * the tie-break order from the SDL's `Provider` enum, which a test keeps equal to the list.
 */
import type { z } from 'zod';
import type { ProviderAdapter } from '../calls/adapter.js';
import type { CallRecord, Provider } from '../calls/model.js';
import type { RecordedRequest, SimulatorServer } from '../simulation/harness.js';
import type { ConnectionHttp } from './http.js';

/**
 * What every simulator gives back: its HTTP server, the credentials it accepts, and ways to add
 * calls, ended or in progress (live events: src/live/watcher.ts, the demo's activity).
 */
export interface ProviderSimulator {
  server: SimulatorServer;
  credentials: object;
  /** Inserts a call newer than every call it holds (a call arriving during a walk); returns its row. */
  addCall(): unknown;
  /**
   * Starts a call newer than every call it holds, in progress; returns its row, for `endCall`.
   * Where the provider lists only ended calls (`listsOngoing` false: Unpod's and CINNOX's call
   * logs), the call is not listed until it ends.
   */
  startCall(): unknown;
  /** Ends a call `startCall` returned: it is then listed as completed, with its duration and cost. */
  endCall(row: unknown): void;
  /** Whether the provider's list shows calls in progress (else only once they end). */
  readonly listsOngoing: boolean;
  /** The rows it sends unreadable (`markUnreadable`); `clear()` makes them read again. */
  unreadable: { clear(): void };
}

/** One push as a provider sent it to Switchboard (src/live/pushes.ts). */
export interface PushRequest {
  /** The URL the provider posted to, as it was configured there (scheme, host, port, path, query). */
  url: string;
  /** Header values by lower-case name (a repeated header: its first value). */
  header(name: string): string | undefined;
  /** The raw body: signatures cover these bytes, never re-serialised JSON. */
  body: Buffer;
  /** Now, in ms since the epoch: timestamps are checked against it. */
  now: number;
}

/** A call a verified push is about: its key, and its start when the push carries it. */
export interface PushedCall {
  key: string;
  startedAt: Date | null;
}

/**
 * How a provider's pushes are verified and read (src/providers/<provider>/push.ts). Pure: no I/O.
 * `verify` returns the calls the push is about ([] for a verified push of a kind that changes no
 * call) or throws a PushRefusedError (src/errors.ts): 401 PUSH_UNVERIFIED, 401 PUSH_EXPIRED, 400.
 */
export type PushVerifier<Settings> = (settings: Settings, request: PushRequest) => PushedCall[];

/**
 * One provider. `P` is its SDL enum value, `S` the zod schema of one connection's settings, `Sim`
 * its simulator's type (tests reach its rows and fault injection through `Simulators`).
 */
export interface ProviderModule<
  P extends Provider = Provider,
  S extends z.ZodObject = z.ZodObject,
  Sim extends ProviderSimulator = ProviderSimulator,
  St = unknown,
> {
  /** Its value of the SDL's `Provider` enum (schema/*.graphql), the public name. */
  readonly provider: P;
  /** How messages name it, e.g. "TalkStack" in `TalkStack connection "default" timed out`. */
  readonly displayName: string;
  /**
   * One connection's settings: a `z.strictObject` of the values src/providers/settings.ts offers,
   * with the contract's defaults. The same keys are a file connection's keys (SWITCHBOARD_CONFIG).
   */
  readonly settings: S;
  /** The environment variable of every setting (the contract's names); the "default" connection. */
  readonly env: { readonly [K in keyof z.output<S>]-?: string };
  /** The settings that are credentials: left out of cache keys, never logged. */
  readonly secrets: readonly (keyof z.output<S>)[];
  /**
   * What one connection keeps across GraphQL requests: caches of upstream resources that rarely
   * change and are not calls (Vapi's phone numbers). Built once per connection at start-up and
   * handed to each of its adapters; absent for providers that keep nothing.
   */
  readonly connectionState?: () => St;
  /**
   * The adapter of one connection, over its HTTP client (which carries the connection's policy,
   * breaker and per-request observer) and the connection's `state` (undefined without
   * `connectionState`). Holds no other state past construction: one is built per request.
   */
  createAdapter(connection: string, settings: z.output<S>, http: ConnectionHttp, state: St): ProviderAdapter;
  /** Verifies and reads the provider's pushes (status callbacks, server messages, webhooks); absent: it pushes nothing. */
  readonly push?: PushVerifier<z.output<S>>;
  /** The in-process simulator: demo mode and every integration test serve it over HTTP. */
  readonly simulator: {
    /** A simulator with about `count` calls (its default when absent), accepting `credentials`. */
    create(options: { count?: number; credentials?: Partial<Sim['credentials']> }): Sim;
    /** The settings of a connection to `sim` listening at `baseUrl`: the demo data's connection. */
    settings(sim: Sim, baseUrl: string): z.input<S>;
    /**
     * Ground truth for the tests: every call `sim` holds (only those it serves readable, unless
     * `withUnreadable`), as the "default" connection of its demo settings, mapped by this
     * provider's pure mapping — never through its adapter or the merge under test.
     */
    calls(sim: Sim, options: { withUnreadable?: boolean }): CallRecord[];
    /**
     * The keys (`CallRecord.key`, the key a `Call.id` carries) of the calls that `request`, one
     * `sim` recorded, looked up one by one — the request a by-id resolution (`call`, `node`,
     * `nodes`, `_entities`, detail fields) sends per call or per group; [] for any other request.
     * Tests fail or count exactly one call's look-up with it, whatever the provider's API.
     */
    lookedUp(sim: Sim, request: RecordedRequest): string[];
    /**
     * Credentials for `create` whose every secret value (and any other value that could leak,
     * e.g. a user name) contains `canary`, so that tests can search every answer and log line for
     * it. Values that must keep a format (e.g. an account id in every path) may stay as they are.
     */
    canaryCredentials(canary: string): Partial<Sim['credentials']>;
    /**
     * From now on `sim` sends the call whose key is `key` as a row that does not read, with
     * `marker` as its start (which then does not read) and in one more field; its id stays. Tests
     * check that nothing of such a row reaches a client or a log line. False when no row has `key`.
     */
    markUnreadable(sim: Sim, key: string, marker: string): boolean;
  };
}

/** Checks a module against `ProviderModule` while keeping its exact types (for `Simulators`). */
export const defineProvider = <const P extends Provider, S extends z.ZodObject, Sim extends ProviderSimulator, St = undefined>(
  module: ProviderModule<P, S, Sim, St>,
): ProviderModule<P, S, Sim, St> => module;
