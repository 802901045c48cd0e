/**
 * What a person sees, in a real browser (Debian's Chromium through playwright-core): the example
 * call log (examples/call-log, built here with its own Vite) paging through Switchboard with
 * "Load more" and filters, showing calls arriving live (graphql-ws, a watcher polling every 200 ms),
 * and GraphiQL served by Switchboard itself, offline under its CSP.
 *
 * Chromium missing is a failure, not a skip: `npm test` installs it first where it can, or stops
 * naming it (test/prerequisites.ts). Screenshots are written to docs/screenshots/ only with
 * UPDATE_SCREENSHOTS=1, so CI leaves the tree clean.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';
import { startHarness, type Harness } from '../helpers/switchboard.js';
import { serveWithProxy, type StaticProxy } from '../helpers/static-proxy.js';
import { PROGRAMS, findExecutable } from '../prerequisites.js';

const CHROMIUM = findExecutable(PROGRAMS.find((program) => program.apt === 'chromium')!.names);
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const EXAMPLE = path.join(ROOT, 'examples/call-log');
const SCREENSHOTS = process.env.UPDATE_SCREENSHOTS === '1' ? path.join(ROOT, 'docs/screenshots') : null;
const PAGE_SIZE = 10; // examples/call-log/src/App.jsx

const TIMEOUT_MS = 60_000;

let h: Harness;
let app: StaticProxy;
let browser: Browser;
let buildDir: string;

/**
 * Builds the example with its own Vite (an npm workspace: `npm ci` at the root installs it, hoisted
 * to the root node_modules) into a temporary folder; fails with Vite's output.
 */
function buildExample(outDir: string): void {
  const manifest = createRequire(path.join(EXAMPLE, 'package.json')).resolve('vite/package.json');
  const vite = path.join(path.dirname(manifest), 'bin/vite.js');
  const result = spawnSync(process.execPath, [vite, 'build', '--outDir', outDir, '--emptyOutDir', '--logLevel', 'warn'], {
    cwd: EXAMPLE,
    encoding: 'utf8',
    timeout: 60_000,
  });
  if (result.status !== 0) throw new Error(`vite build failed:\n${result.stdout}\n${result.stderr}`);
}

beforeAll(async () => {
  if (!CHROMIUM) throw new Error('chromium is not on PATH: install it (apt-get install -y chromium); `npm test` does so as root');
  buildDir = mkdtempSync(path.join(tmpdir(), 'call-log-'));
  buildExample(buildDir);
  // A short watch interval, so a call started in a simulator reaches the page within a second.
  h = await startHarness({ configure: (config) => ({ ...config, watch: { ...config.watch, intervalMs: 200 } }) });
  app = await serveWithProxy(buildDir, h.server.url);
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-quic', '--no-first-run', '--disable-component-update', '--disable-sync'],
  });
}, TIMEOUT_MS);

afterAll(async () => {
  await browser?.close();
  await app?.close();
  await h?.stop();
  if (buildDir) rmSync(buildDir, { recursive: true, force: true });
});

/** A page that records every URL it requests and every CSP complaint on the console. */
async function openPage(width = 1280): Promise<{ page: Page; urls: string[]; cspViolations: string[] }> {
  const page = await browser.newPage({ viewport: { width, height: 860 } });
  const urls: string[] = [];
  const cspViolations: string[] = [];
  page.on('request', (request) => urls.push(request.url()));
  page.on('console', (message) => {
    if (/Content Security Policy|Refused to/i.test(message.text())) cspViolations.push(message.text());
  });
  return { page, urls, cspViolations };
}

/** Nothing leaves the machine: every request is to localhost (data: URIs are not requests out). */
function expectOnlyLocal(urls: string[]): void {
  expect(urls.length).toBeGreaterThan(0);
  const external = urls.filter((url) => {
    const { protocol, hostname } = new URL(url);
    if (protocol === 'data:' || protocol === 'blob:') return false;
    return !['localhost', '127.0.0.1', '[::1]'].includes(hostname);
  });
  expect(external).toEqual([]);
}

const rowIds = (page: Page) =>
  page.$$eval('[data-testid="call-row"]', (rows) => rows.map((row) => row.getAttribute('data-call-id')!));

/** Waits until the table shows `count` rows whose cells match `columns` (index → text); runs in the page. */
async function waitForRows(page: Page, count: number, columns: Record<number, string> = {}): Promise<void> {
  const predicate = `(() => {
    const rows = [...document.querySelectorAll('[data-testid="call-row"]')];
    const columns = Object.entries(${JSON.stringify(columns)});
    return rows.length === ${count} && rows.every((row) => columns.every(([i, text]) => row.children[i]?.textContent === text));
  })()`;
  await page.waitForFunction(predicate);
}

async function loadMore(page: Page, expected: number): Promise<void> {
  await page.getByRole('button', { name: 'Load more' }).click();
  await waitForRows(page, expected);
}

/** The ids Switchboard itself returns over HTTP for the same filter, in order. */
async function idsOverHttp(first: number, filter: Record<string, unknown>): Promise<string[]> {
  const res = await h.gql<{ calls: { edges: Array<{ node: { id: string } }> } }>(
    'query Expected($first: Int!, $filter: CallFilter) { calls(first: $first, filter: $filter) { edges { node { id } } } }',
    { first, filter },
  );
  expect(res.body.errors).toBeUndefined();
  return res.body.data!.calls.edges.map((edge) => edge.node.id);
}

test('the call log pages by cursor through three "Load more" clicks and a filter change, with no duplicate and no gap', async () => {
  const { page, urls, cspViolations } = await openPage();
  const sent: Array<{ first?: number; after?: string | null; filter?: unknown }> = [];
  page.on('request', (request) => {
    if (request.method() === 'POST' && request.url() === `${app.url}/graphql`) sent.push(request.postDataJSON().variables);
  });
  await page.goto(app.url);
  await waitForRows(page, PAGE_SIZE);
  for (const pages of [2, 3, 4]) await loadMore(page, pages * PAGE_SIZE);

  const all = await rowIds(page);
  expect(new Set(all).size).toBe(all.length);
  expect(all).toEqual(await idsOverHttp(4 * PAGE_SIZE, {}));
  // Each "Load more" asked for one page after the previous page's end cursor, not for everything again.
  expect(sent.map((v) => [v.first, typeof v.after])).toEqual([[PAGE_SIZE, 'undefined'], ...Array(3).fill([PAGE_SIZE, 'string'])]);

  // The selects offer every value of the schema's enums.
  for (const [label, type] of [['Provider', 'Provider'], ['Status', 'CallStatus']] as const) {
    const offered = await page.getByLabel(label).locator('option').evaluateAll((options) => options.map((o) => o.getAttribute('value')).filter(Boolean));
    const res = await h.gql<{ __type: { enumValues: Array<{ name: string }> } }>(`{ __type(name: "${type}") { enumValues { name } } }`);
    expect(offered).toEqual(res.body.data!.__type.enumValues.map((value) => value.name));
  }

  // A filter change starts a new list (relayStylePagination keys on `filter`), paged the same way.
  await page.getByLabel('Provider').selectOption('UNPOD');
  await waitForRows(page, PAGE_SIZE, { 1: 'UNPOD' });
  await page.getByLabel('Status').selectOption('COMPLETED');
  const expected = await idsOverHttp(2 * PAGE_SIZE, { providers: ['UNPOD'], statuses: ['COMPLETED'] });
  expect(expected.length).toBe(2 * PAGE_SIZE);
  await waitForRows(page, PAGE_SIZE, { 1: 'UNPOD', 2: 'COMPLETED' });
  await loadMore(page, 2 * PAGE_SIZE);
  const filtered = await rowIds(page);
  expect(new Set(filtered).size).toBe(filtered.length);
  expect(filtered).toEqual(expected);

  if (SCREENSHOTS) {
    mkdirSync(SCREENSHOTS, { recursive: true });
    await page.screenshot({ path: path.join(SCREENSHOTS, 'call-log.png'), fullPage: true });
  }
  expectOnlyLocal(urls);
  expect(cspViolations).toEqual([]);
  await page.close();
}, TIMEOUT_MS);

/** Resolves once `check` holds, polling every 50 ms; fails naming `what` after 20 s. */
async function waitFor(what: string, check: () => boolean): Promise<void> {
  const until = Date.now() + 20_000;
  while (!check()) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Waits until `connection`'s watcher has polled once more after now: it has its baseline. */
async function watcherPolled(connection: string): Promise<void> {
  const since = Date.now();
  const watcher = () => h.server.events.watchers().find((w) => w.connection === connection);
  await waitFor(`${connection} watched`, () => {
    const last = watcher()?.lastSuccessAt;
    return last != null && new Date(last).getTime() > since;
  });
}

const topRow = (page: Page) =>
  page.$eval('[data-testid="call-row"]', (row) => ({ id: row.getAttribute('data-call-id')!, provider: row.children[1]!.textContent, status: row.children[2]!.textContent }));

test('the call log shows calls arriving live: a started call appears on top without reload, and its ending turns it COMPLETED in place, one subscription per filter', async () => {
  const { page, urls, cspViolations } = await openPage();
  const posts: string[] = [];
  const sockets: string[] = [];
  page.on('request', (request) => {
    if (request.method() === 'POST') posts.push(request.url());
  });
  const subscribes: Array<{ filter?: unknown }> = [];
  page.on('websocket', (socket) => {
    sockets.push(socket.url());
    socket.on('framesent', ({ payload }) => {
      const message = JSON.parse(String(payload)) as { type: string; payload?: { variables?: { filter?: unknown } } };
      if (message.type === 'subscribe') subscribes.push(message.payload!.variables ?? {});
    });
  });
  await page.goto(app.url);
  await waitForRows(page, PAGE_SIZE);
  const before = await rowIds(page);
  await waitFor('the subscription', () => sockets.length === 1);
  expect(sockets).toEqual([`${app.url.replace(/^http/, 'ws')}/graphql`]);
  await watcherPolled('twenty2/default');
  const queries = posts.length;

  // Twenty2 lists calls in progress: CALL_ADDED while it runs, CALL_ENDED when it ends.
  const row = h.sims.twenty2.startCall();
  await waitForRows(page, PAGE_SIZE + 1);
  const added = await topRow(page);
  expect(added.provider).toBe('TWENTY2');
  expect(added.status).not.toBe('COMPLETED');
  expect(added.id).toBe((await idsOverHttp(1, { providers: ['TWENTY2'] }))[0]);
  expect(await rowIds(page)).toEqual([added.id, ...before]);

  h.sims.twenty2.endCall(row);
  await page.waitForFunction(`document.querySelector('[data-testid="call-row"]').children[2].textContent === 'COMPLETED'`);
  expect(await topRow(page)).toEqual({ ...added, status: 'COMPLETED' });
  expect(await rowIds(page)).toEqual([added.id, ...before]);

  // Unpod lists ended calls only: CALL_ADDED and CALL_ENDED come together, and the call shows once.
  await watcherPolled('unpod/default');
  h.sims.unpod.endCall(h.sims.unpod.startCall());
  await waitForRows(page, PAGE_SIZE + 2);
  const unpod = await topRow(page);
  expect(unpod).toMatchObject({ provider: 'UNPOD', status: 'COMPLETED' });
  await watcherPolled('unpod/default');
  expect(await rowIds(page)).toEqual([unpod.id, added.id, ...before]);
  expect(await page.getByTestId('row-count').textContent()).toMatch(/^12 shown/);

  // All of it without a reload or another query, on one subscription.
  expect(posts.length).toBe(queries);
  expect(subscribes).toEqual([{ filter: {} }]);

  // A filter change subscribes with the new filter: a Twenty2 call no longer shows, an Unpod one does.
  await page.getByLabel('Provider').selectOption('UNPOD');
  await waitForRows(page, PAGE_SIZE, { 1: 'UNPOD' });
  await waitFor('the new subscription', () => subscribes.length === 2);
  expect(subscribes[1]).toEqual({ filter: { providers: ['UNPOD'] } });
  const unpodBefore = await rowIds(page);
  // (Switchboard stops watching Twenty2 once nobody listens to it: the filter reaches the server.)
  h.sims.twenty2.startCall();
  await watcherPolled('unpod/default');
  h.sims.unpod.endCall(h.sims.unpod.startCall());
  await waitForRows(page, PAGE_SIZE + 1, { 1: 'UNPOD' });
  expect((await rowIds(page)).slice(1)).toEqual(unpodBefore);
  // "Load more" after a live call still continues from the page's end: no duplicate, no gap.
  await loadMore(page, 2 * PAGE_SIZE + 1);
  expect(await rowIds(page)).toEqual(await idsOverHttp(2 * PAGE_SIZE + 1, { providers: ['UNPOD'] }));
  expectOnlyLocal(urls);
  expect(cspViolations).toEqual([]);
  await page.close();
}, TIMEOUT_MS);

test('GraphiQL is served by Switchboard, offline: the example query runs and the docs show the schema descriptions', async () => {
  const { page, urls, cspViolations } = await openPage(1600);
  const response = await page.goto(h.server.url);
  expect(response!.headers()['content-security-policy']).toContain("script-src 'self'");
  await page.locator('.graphiql-container').waitFor();

  const answer = page.waitForResponse((r) => r.url().endsWith('/graphql') && r.request().method() === 'POST' && (r.request().postData() ?? '').includes('LatestCalls'));
  // The editor holds LatestCalls and the CallEvents subscription: the run button offers both.
  await page.locator('.graphiql-execute-button').click();
  await page.getByRole('menuitem', { name: 'LatestCalls' }).click();
  const body = (await (await answer).json()) as { data?: { calls: { nodes: unknown[] } }; errors?: unknown };
  expect(body.errors).toBeUndefined();
  expect(body.data!.calls.nodes).toHaveLength(20);
  const result = page.locator('.result-window');
  await expect(result.getByText('"startedAt"').first().waitFor()).resolves.toBeUndefined();
  expect(await result.innerText()).toContain('"provider"');

  // Introspection is on outside production, and the explorer shows the SDL's descriptions.
  await page.getByRole('button', { name: /Documentation Explorer/ }).click();
  await page.locator('.graphiql-doc-explorer').getByText('Query', { exact: true }).click();
  await page.getByText('Calls across every enabled connection').first().waitFor();

  if (SCREENSHOTS) {
    mkdirSync(SCREENSHOTS, { recursive: true });
    await page.screenshot({ path: path.join(SCREENSHOTS, 'graphiql.png') });
  }
  expectOnlyLocal(urls);
  expect(urls.some((url) => url.includes('/graphiql-assets/graphiql.min.js'))).toBe(true);
  expect(cspViolations).toEqual([]);
  await page.close();
}, TIMEOUT_MS);
