/**
 * The CINNOX adapter: GET {base}/apps/{appID}/data/call-log, paged by offset/limit, newest callDate
 * first, no total count (docs/providers/cinnox.md).
 */
import type { CallQuery } from '../../calls/filter.js';
import { InvalidRowError } from '../../errors.js';
import type { ConnectionHttp } from '../http.js';
import { mapWithConcurrency } from '../../calls/pool.js';
import {
  type Capabilities,
  type CallLocator,
  type CallLookup,
  type InvalidRow,
  type ListRequest,
  type ListResult,
  type ProviderAdapter,
  singleStatusWord,
} from '../../calls/adapter.js';
import { type RowReader, plausibleId, readField, readRows } from '../rows.js';
import { STATUS_TABLE, toCallRecord } from './map.js';
import { type CinnoxCall, type CinnoxCallLog, cinnoxCallLogSchema, cinnoxCallSchema } from './schema.js';

export interface CinnoxSettings {
  baseUrl: string;
  appId: string;
  appToken: string;
}

const OPERATION = 'GET /apps/{appID}/data/call-log';

/** A call-log record; of one that does not read, its callID and callDate as far as they read. */
const rowReader: RowReader<CinnoxCall> = {
  schema: cinnoxCallSchema,
  id: (raw) => plausibleId(readField(cinnoxCallSchema.shape.callID, raw.callID)),
  startedAt: (raw) => readField(cinnoxCallSchema.shape.callDate, raw.callDate),
};

/** The records of one answer: how many were sent, the readable ones, the others placed by index. */
interface CinnoxPage {
  sent: number;
  rows: CinnoxCall[];
  invalid: InvalidRow[];
}

export class CinnoxAdapter implements ProviderAdapter {
  readonly provider = 'CINNOX' as const;
  /** `limit` above 500 is refused; startAt/endAt bound callDate, so walks resume by time. */
  readonly capabilities: Capabilities = { maxPageSize: 500, resume: 'window', reportsTotal: false, listsOngoing: false };

  constructor(
    readonly connection: string,
    private readonly settings: CinnoxSettings,
    private readonly http: ConnectionHttp,
  ) {}

  /** The one status word to send, when the statuses asked for are exactly one CINNOX word. */
  private statusWord(query: CallQuery): string | undefined {
    if (!query.statuses) return undefined;
    return singleStatusWord(STATUS_TABLE, query.statuses) ?? undefined;
  }

  /** CINNOX reports no count, so this only matters for documentation; answered honestly anyway. */
  appliesExactly(query: CallQuery): boolean {
    if (query.direction !== null || query.phoneNumber !== null) return false;
    return query.statuses === null || this.statusWord(query) !== undefined;
  }

  async list(request: ListRequest): Promise<ListResult> {
    if (!('index' in request.page)) throw new Error('CINNOX pages are numbered, not tokens');
    const index = request.page.index;
    const limit = Math.max(1, Math.min(request.pageSize, this.capabilities.maxPageSize));
    const page = await this.fetch({
      offset: index * limit,
      limit,
      startAt: request.from?.toISOString(),
      // `until` is inclusive; CINNOX's endAt is exclusive, and callDate carries milliseconds.
      endAt: request.until ? new Date(request.until.getTime() + 1).toISOString() : undefined,
      status: this.statusWord(request.query),
    });
    return {
      calls: page.rows.map((row) => toCallRecord(row, this)),
      // No count in the response: a page shorter than `limit` is the last one (unreadable records count).
      next: page.sent >= limit ? { index: index + 1 } : null,
      total: null,
      ...(page.invalid.length > 0 ? { invalid: page.invalid } : {}),
    };
  }

  /**
   * No batch endpoint: one `callID` look-up per locator, in parallel up to the connection's cap; a
   * failed one fails that call alone. A record that does not read fails its look-up alone, unless
   * its own callID reads as another call.
   */
  getCalls(locators: readonly CallLocator[]): Promise<CallLookup[]> {
    return mapWithConcurrency(locators, this.http.concurrency, async (locator) => {
      const page = await this.fetch({ callID: locator.key, limit: 1 });
      const row = page.rows.find((candidate) => candidate.callID === locator.key);
      if (row) return toCallRecord(row, this);
      const bad = page.invalid.find((candidate) => candidate.key === null || candidate.key === locator.key);
      if (!bad) return null;
      // Asked by callID: a record whose own callID does not read is the call asked for.
      return bad.error.providerCallId === null ? withId(bad, locator.key) : bad.error;
    });
  }

  private async fetch(searchParams: Record<string, string | number | undefined>): Promise<CinnoxPage> {
    const base = this.settings.baseUrl.replace(/\/+$/, '');
    const { body } = await this.http.json(
      {
        method: 'GET',
        url: `${base}/apps/${encodeURIComponent(this.settings.appId)}/data/call-log`,
        operation: OPERATION,
        headers: {
          authorization: `Bearer ${this.settings.appToken}`,
          accept: 'application/json',
        },
        searchParams,
        // A non-zero `code` is an error even with HTTP 200; its message is upstream text, kept out.
        bodyFailure: (sent) =>
          sent.code !== 0
            ? { failure: 'HTTP_STATUS', detail: `error code ${sent.code}` }
            : !sent.result
              ? { failure: 'BAD_BODY', detail: 'no result in the body' }
              : null,
      },
      cinnoxCallLogSchema,
    );
    return this.rowsOf(body);
  }

  /** The rows of a body that passed its check, which refused one without `result`. */
  private rowsOf(body: CinnoxCallLog): CinnoxPage {
    const result = body.result!;
    const { rows, invalid } = readRows(result, rowReader, { ref: this, path: 'result' });
    return { sent: result.length, rows, invalid };
  }
}

/** The row's error naming the call id that was asked for. */
function withId(row: InvalidRow, id: string): InvalidRowError {
  const { error } = row;
  return new InvalidRowError(error, id, error.problem, error.fingerprint);
}
