/**
 * Unpod has no by-id endpoint: calls are found again through creation_time windows. Locators spread
 * over many windows are first looked for in one request over their whole span, whose count tells
 * whether reading the span or the narrow windows is cheaper. Counted at the simulator.
 */
import type { CallRecord } from '../../src/calls/model.js';
import { ConnectionHttp, defaultHttpPolicy } from '../../src/providers/http.js';
import { UnpodAdapter } from '../../src/providers/unpod/client.js';
import { rowKey } from '../../src/providers/unpod/map.js';
import { unpodRowSchema } from '../../src/providers/unpod/schema.js';
import { createUnpodSimulator, type UnpodRawRow, type UnpodSimulator } from '../../src/providers/unpod/simulator.js';
import { failureOf, found as foundIn } from '../helpers/lookups.js';

let sim: UnpodSimulator;
let adapter: UnpodAdapter;

async function start(count: number): Promise<void> {
  sim = createUnpodSimulator({ count });
  const baseUrl = await sim.server.start();
  const http = new ConnectionHttp({ provider: 'UNPOD', connection: 'default' }, { ...defaultHttpPolicy, retries: 0 });
  adapter = new UnpodAdapter('default', { baseUrl, ...sim.credentials }, http);
}
afterEach(() => sim.server.close());

const keyOf = (row: UnpodRawRow) => rowKey(unpodRowSchema.parse(row), sim.credentials.orgHandle);
const locatorOf = (row: UnpodRawRow) => ({ key: keyOf(row), startedAt: new Date(row.creation_time) });
const ranges = () => sim.server.requests.map((r) => `${r.query.start_date}|${r.query.end_date}|${r.query.page}`);

describe('Unpod getCalls over a wide span', () => {
  it('a quiet account: 50 calls spread over six weeks cost the span’s pages, not 50 windows', async () => {
    await start(300);
    const wanted = sim.rows.filter((_, i) => i % 6 === 0);
    expect(wanted).toHaveLength(50);
    const found = foundIn(await adapter.getCalls(wanted.map(locatorOf).reverse()));
    expect(found.map((c) => c?.key)).toEqual(wanted.map(keyOf).reverse());
    // 300 rows in the span: three pages of 100.
    expect(sim.server.count()).toBe(3);
    expect(new Set(ranges()).size).toBe(3);
  });

  it('a busy account: the probe costs one request, then narrow windows', async () => {
    await start(6000);
    const wanted = sim.rows.filter((_, i) => i % 600 === 0);
    expect(wanted).toHaveLength(10);
    const found = foundIn(await adapter.getCalls(wanted.map(locatorOf)));
    expect(found.map((c) => c?.key)).toEqual(wanted.map(keyOf));
    // Reading the whole span would take 60 pages; one probe plus at most a window per call instead.
    process.stdout.write(`busy Unpod, 10 calls over six weeks: ${sim.server.count()} requests\n`);
    expect(sim.server.count()).toBeLessThanOrEqual(1 + wanted.length);
    expect(new Set(ranges()).size).toBe(sim.server.count());
  });

  it('fewer than four windows: no probe, the windows go out together', async () => {
    await start(300);
    const wanted = [sim.rows[10]!, sim.rows[150]!, sim.rows[290]!];
    sim.server.latencyMs = 150;
    const found = foundIn(await adapter.getCalls(wanted.map(locatorOf)));
    expect(found.map((c) => c?.key)).toEqual(wanted.map(keyOf));
    expect(sim.server.count()).toBe(3);
    expect(sim.server.maxInFlight).toBe(3);
  });
});

describe('Unpod getCalls over a wide span, when a request fails', () => {
  const failing = (page: string) => ({
    match: (r: { query: Record<string, string> }) => r.query.page === page,
    fault: { kind: 'status', status: 500 } as const,
  });

  it('a failed probe fails every call it was read for, with no further request', async () => {
    await start(300);
    const wanted = sim.rows.filter((_, i) => i % 6 === 0);
    sim.server.targetedFaults.push(failing('1'));
    const result = await adapter.getCalls(wanted.map(locatorOf));
    expect(result).toHaveLength(50);
    for (const lookup of result) expect(failureOf(lookup).details.status).toBe(500);
    expect(sim.server.count()).toBe(1);
  });

  it('a failed later page of the span fails only the calls not found on the pages that answered', async () => {
    await start(300);
    const wanted = sim.rows.filter((_, i) => i % 6 === 0);
    sim.server.targetedFaults.push(failing('2'));
    const result = await adapter.getCalls(wanted.map(locatorOf));
    expect(sim.server.count()).toBe(3);
    // The span's rows newest first, 100 a page: rows 100–199 were on page 2.
    result.forEach((lookup, i) => {
      const index = sim.rows.indexOf(wanted[i]!);
      if (index >= 100 && index < 200) expect(failureOf(lookup).details.status).toBe(500);
      else expect(lookup).toMatchObject({ key: keyOf(wanted[i]!) });
    });
  });
});
