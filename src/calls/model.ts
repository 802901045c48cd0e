/**
 * The internal call model: what every provider adapter maps its rows into, and what resolvers
 * receive as parents (codegen's mapper for `Call` and `Node`). Nothing here knows a provider's
 * field names.
 */
import type {
  CallDirection,
  CallParty,
  CallStatus,
  MediaLink,
  Money,
  PageInfo,
  Provider,
} from '../__generated__/resolvers-types.js';
import { sdlEnumValues } from '../sdl.js';

export type { CallDirection, CallParty, CallStatus, MediaLink, Money, Provider };

/**
 * Fixed provider order: the second key of the merged order, after `startedAt`. It is the SDL's
 * `Provider` enum order (the contract), read from the schema rather than from the provider list
 * (src/providers/index.ts), which the core does not import; test/unit/providers.test.ts keeps the
 * two equal.
 */
export const PROVIDERS: readonly Provider[] = sdlEnumValues('Provider') as Provider[];

export const providerRank = (provider: Provider): number => PROVIDERS.indexOf(provider);

/** A configured connection to one provider account, e.g. TWENTY2 / "default". */
export interface ConnectionRef {
  provider: Provider;
  connection: string;
}

/** `twenty2/default`: how connections are named in configuration, API-key scopes and logs. */
export const connectionLabel = (ref: ConnectionRef): string =>
  `${ref.provider.toLowerCase()}/${ref.connection}`;

/**
 * The fields some providers only give from a per-call detail request (Twenty2's /call/detail).
 * Adapters whose list rows are complete fill these in directly. A row's details may leave
 * `recordings` or `transcriptText` undefined: the adapter's detail request gives that field, asked
 * only when a client selects it (Twilio's recordings, Retell's transcript); see `detailsPending`.
 */
export interface CallDetails {
  billedDurationSeconds: number | null;
  /** Undefined in a row's details when only the detail request gives them (Twilio's Recordings). */
  recordings?: MediaLink[];
  transcript: MediaLink | null;
  /**
   * The transcript as plain text, where the provider gives text rather than a link (Retell's
   * get-call `transcript`). Absent means null: providers with links only leave it out.
   */
  transcriptText?: string | null;
  inputParameters: unknown;
  outputParameters: unknown;
}

/**
 * Whether `details` (a row's) leave a field to the adapter's detail request: such details answer
 * the other fields, but are never primed or cached as the answer of that request.
 */
export const detailsPending = (details: CallDetails): boolean =>
  details.recordings === undefined || details.transcriptText === undefined;

export interface CallRecord extends ConnectionRef {
  /**
   * The call's key within its connection: the provider's id, or for rows without one a key derived
   * from stable fields (see the Unpod adapter). Unique per connection; the last tie-break of the order.
   */
  key: string;
  providerCallId: string | null;
  direction: CallDirection | null;
  status: CallStatus;
  providerStatus: string;
  from: CallParty;
  to: CallParty;
  startedAt: Date;
  answeredAt: Date | null;
  endedAt: Date | null;
  durationSeconds: number | null;
  cost: Money | null;
  endReason: string | null;
  agentId: string | null;
  /** Present when the row carries everything; null when a detail request is needed for it. */
  details: CallDetails | null;
}

/** A position in the merged order: [startedAt ms, provider rank, connection, key]. */
export type Position = readonly [number, number, string, string];

export const positionOf = (call: CallRecord): Position => [
  call.startedAt.getTime(),
  providerRank(call.provider),
  call.connection,
  call.key,
];

/**
 * A position between instants, where no call sits: after every call that started after `ms`,
 * before every call that started at `ms` (rank -1 sorts before every provider). A scan the budget
 * stopped resumes from one (see docs/pagination.md), in either direction.
 */
export const cutBefore = (ms: number): Position => [ms, -1, '', ''];

/** After every call: the end of the list (the earliest instant a Date can hold). */
export const END_OF_LIST: Position = cutBefore(-8.64e15);

/**
 * The total order of `calls`: newest `startedAt` first, then provider (enum order), connection
 * name and key ascending. Negative when `a` comes first.
 */
export function comparePositions(a: Position, b: Position): number {
  if (a[0] !== b[0]) return b[0] - a[0];
  if (a[1] !== b[1]) return a[1] - b[1];
  if (a[2] !== b[2]) return a[2] < b[2] ? -1 : 1;
  if (a[3] !== b[3]) return a[3] < b[3] ? -1 : 1;
  return 0;
}

export const compareCalls = (a: CallRecord, b: CallRecord): number =>
  comparePositions(positionOf(a), positionOf(b));

/** The parent of `CallEdge`. */
export interface CallEdgeModel {
  cursor: string;
  node: CallRecord;
}

/** The parent of `CallConnection`: one merged page. `totalCount` is computed only when selected. */
export interface CallPage {
  edges: CallEdgeModel[];
  nodes: CallRecord[];
  pageInfo: PageInfo;
  totalCount: () => Promise<number | null>;
}
