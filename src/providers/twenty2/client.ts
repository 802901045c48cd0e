/**
 * The Twenty2 adapter (docs/providers/twenty2.md): GET /call/logs pages by page number and
 * GET /call/detail fetches one call in full. Twenty2 publishes no list filters, so nothing is pushed
 * down and the core resumes walks by offset.
 */
import type { CallDetails, CallRecord } from '../../calls/model.js';
import { type CallQuery, isUnfiltered } from '../../calls/filter.js';
import { InvalidRowError, UpstreamError } from '../../errors.js';
import type { ConnectionHttp } from '../http.js';
import { mapWithConcurrency } from '../../calls/pool.js';
import type {
  CallLocator,
  CallLookup,
  Capabilities,
  ListRequest,
  ListResult,
  PageRef,
  ProviderAdapter,
} from '../../calls/adapter.js';
import { type RowReader, asRecord, plausibleId, readField, readRow, readRows } from '../rows.js';
import { toCallDetails, toCallRecord, toDetailedCallRecord, type Twenty2MapContext } from './map.js';
import {
  twenty2CallSchema,
  twenty2DetailEnvelopeSchema,
  twenty2DetailResponseSchema,
  twenty2ListResponseSchema,
  type Twenty2Call,
  type Twenty2Detail,
  type Twenty2DetailResponse,
} from './schema.js';

export interface Twenty2Settings {
  /** e.g. https://api.twentytwo.in/api */
  baseUrl: string;
  username: string;
  password: string;
  workspaceId: string;
  /** ISO alpha-2 region of the account's national numbers; default IN. */
  phoneRegion: string;
}

const MAX_PAGE_SIZE = 100;

const callId = (raw: Record<string, unknown>): string | null => plausibleId(readField(twenty2CallSchema.shape.call_id, raw.call_id));
const startedAt = (raw: Record<string, unknown>): Date | null => readField(twenty2CallSchema.shape.started_at, raw.started_at);

/** A /call/logs row; of one that does not read, its call_id and started_at as far as they read. */
const rowReader: RowReader<Twenty2Call> = { schema: twenty2CallSchema, id: callId, startedAt };

/** A /call/detail body past its envelope: the call with its media and parameters. */
const detailReader: RowReader<Twenty2DetailResponse> = {
  schema: twenty2DetailResponseSchema,
  id: (raw) => callId(asRecord(raw.call)),
  startedAt: (raw) => startedAt(asRecord(raw.call)),
};

/** Only an error code of the expected shape goes into a message; nothing else from the body. */
function errorCodeDetail(code: string | null | undefined): string {
  return code && /^[A-Z0-9_]{1,40}$/.test(code) ? `error code ${code}` : 'success is false';
}

export class Twenty2Adapter implements ProviderAdapter {
  readonly provider = 'TWENTY2' as const;
  readonly capabilities: Capabilities = { maxPageSize: MAX_PAGE_SIZE, resume: 'offset', reportsTotal: true, listsOngoing: true };
  private readonly baseUrl: string;
  private readonly headers: Record<string, string>;
  private readonly context: Twenty2MapContext;

  constructor(
    readonly connection: string,
    settings: Twenty2Settings,
    private readonly http: ConnectionHttp,
  ) {
    this.baseUrl = settings.baseUrl.replace(/\/+$/, '');
    const basic = Buffer.from(`${settings.username}:${settings.password}`, 'utf8').toString('base64');
    this.headers = {
      authorization: `Basic ${basic}`,
      'x-workspace-id': settings.workspaceId,
      'content-type': 'application/json',
    };
    this.context = {
      ref: { provider: this.provider, connection },
      phoneRegion: settings.phoneRegion || 'IN',
    };
  }

  /** Nothing is pushed down, so Twenty2's total counts the query's calls only for an empty query. */
  appliesExactly(query: CallQuery): boolean {
    return isUnfiltered(query);
  }

  /** One page of /call/logs; `from`, `until` and the query are ignored (no list filters). */
  async list(request: ListRequest): Promise<ListResult> {
    const index = pageIndex(request.page);
    const limit = Math.min(Math.max(1, Math.floor(request.pageSize)), MAX_PAGE_SIZE);
    const { body } = await this.http.json(
      {
        method: 'GET',
        url: `${this.baseUrl}/call/logs`,
        operation: 'GET /call/logs',
        headers: this.headers,
        searchParams: { page: index + 1, limit },
        bodyFailure: (sent) =>
          sent.success === false
            ? { failure: 'HTTP_STATUS', detail: errorCodeDetail(sent.error?.code) }
            : !sent.calls
              ? { failure: 'BAD_BODY', detail: 'unexpected body (calls: missing)' }
              : null,
      },
      twenty2ListResponseSchema,
    );
    // The body check refused a body without `calls`.
    const calls = body.calls!;
    const { rows, invalid } = readRows(calls, rowReader, { ref: this.context.ref, path: 'calls' });
    // Unreadable rows count as rows: a page is full, or the last, by what Twenty2 sent.
    const sent = calls.length;
    // The pagination block is an assumption (provider page): without it, a full page may have more.
    const hasMore = typeof body.pagination?.has_more === 'boolean' ? body.pagination.has_more : sent === limit;
    return {
      calls: rows.map((row) => toCallRecord(row, this.context)),
      // An empty page never promises more, so a wrong has_more cannot walk forever.
      next: hasMore && sent > 0 ? { index: index + 1 } : null,
      total: body.pagination?.total ?? null,
      ...(invalid.length > 0 ? { invalid } : {}),
    };
  }

  /**
   * One /call/detail request per locator (no batch endpoint), in parallel up to the connection's
   * cap; null for unknown ids; a failed request fails that call alone, and so does an
   * InvalidRowError for a call whose detail body does not read.
   */
  getCalls(locators: readonly CallLocator[]): Promise<CallLookup[]> {
    return mapWithConcurrency(locators, this.http.concurrency, async (locator) => {
      const detail = await this.fetchDetail(locator.key);
      return detail === null || detail instanceof Error ? detail : toDetailedCallRecord(detail, this.context);
    });
  }

  /** Rejects with an InvalidRowError when the call's detail body does not read. */
  async getDetails(call: CallRecord): Promise<CallDetails> {
    const detail = await this.fetchDetail(call.key);
    if (!detail) throw new UpstreamError(this.context.ref, 'HTTP_STATUS', { status: 404 });
    if (detail instanceof Error) throw detail;
    return toCallDetails(detail);
  }

  /** The detail body; null when Twenty2 answers 404 (CALL_NOT_FOUND); its error when the call does not read. */
  private async fetchDetail(callId: string): Promise<Twenty2Detail | InvalidRowError | null> {
    const { body } = await this.http.json(
      {
        method: 'GET',
        url: `${this.baseUrl}/call/detail`,
        operation: 'GET /call/detail',
        headers: this.headers,
        searchParams: { call_id: callId },
        answerStatuses: [404],
        bodyFailure: (sent) =>
          sent.success === false
            ? { failure: 'HTTP_STATUS', detail: errorCodeDetail(sent.error?.code) }
            : sent.call === undefined || sent.call === null
              ? { failure: 'BAD_BODY', detail: 'unexpected body (call: missing)' }
              : null,
      },
      twenty2DetailEnvelopeSchema,
    );
    if (!body) return null;
    const detail = readRow(body, detailReader, { ref: this.context.ref, path: '' }, callId);
    return detail instanceof Error ? detail : { ...detail, call: detail.call! };
  }
}

/** Twenty2 pages by number; a token cannot have been issued for it. */
function pageIndex(page: PageRef): number {
  if (!('index' in page) || !Number.isInteger(page.index) || page.index < 0) {
    throw new TypeError('Twenty2 pages are addressed by a non-negative page index');
  }
  return page.index;
}
