/**
 * Subscriptions in GraphiQL, in a real browser (Debian's Chromium through playwright-core, as in
 * browser.test.ts): against a Switchboard that requires API keys and watches every 200 ms, the
 * editor's `CallEvents` subscription runs over GraphQL over SSE with the key set in the headers
 * editor, and a call started in a simulator appears in the result pane; without the key the
 * server's coded refusal appears there instead of a silent wait.
 */
import { chromium, type Browser, type Page } from 'playwright-core';
import { startHarness, type Harness } from '../helpers/switchboard.js';
import { PROGRAMS, findExecutable } from '../prerequisites.js';
import { waitFor } from '../helpers/waitFor.js';

const CHROMIUM = findExecutable(PROGRAMS.find((program) => program.apt === 'chromium')!.names);
const KEY = 'k_giql_0123456789abcdef';
const TIMEOUT_MS = 60_000;

let h: Harness;
let browser: Browser;

beforeAll(async () => {
  if (!CHROMIUM) throw new Error('chromium is not on PATH: install it (apt-get install -y chromium); `npm test` does so as root');
  h = await startHarness({
    env: { SWITCHBOARD_API_KEYS: KEY },
    configure: (config) => ({ ...config, watch: { ...config.watch, intervalMs: 200 } }),
  });
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-quic', '--no-first-run', '--disable-component-update', '--disable-sync'],
  });
}, TIMEOUT_MS);

afterAll(async () => {
  await browser?.close();
  await h?.stop();
});

/** GraphiQL opened, with every URL it requests and every CSP complaint recorded. */
async function openGraphiQL(): Promise<{ page: Page; urls: string[]; cspViolations: string[] }> {
  const page = await browser.newPage({ viewport: { width: 1400, height: 860 } });
  const urls: string[] = [];
  const cspViolations: string[] = [];
  page.on('request', (request) => urls.push(request.url()));
  page.on('console', (message) => {
    if (/Content Security Policy|Refused to/i.test(message.text())) cspViolations.push(message.text());
  });
  await page.goto(h.server.url);
  await page.locator('.graphiql-container').waitFor();
  return { page, urls, cspViolations };
}

/** Types into the headers editor (its CodeMirror instance, so no bracket is auto-closed twice). */
async function setHeaders(page: Page, headers: Record<string, string>): Promise<void> {
  await page.getByRole('button', { name: 'Headers', exact: true }).click();
  const visibleEditor = `[...document.querySelectorAll('.graphiql-editor-tool .graphiql-editor')].find((e) => !e.classList.contains('hidden'))`;
  await page.waitForFunction(`Boolean(${visibleEditor})`);
  await page.evaluate(`${visibleEditor}.querySelector('.CodeMirror').CodeMirror.setValue(${JSON.stringify(JSON.stringify(headers))})`);
}

/** The editor holds two operations: the run button offers them by name. */
async function run(page: Page, operation: 'CallEvents' | 'LatestCalls'): Promise<void> {
  await page.locator('.graphiql-execute-button').click();
  await page.getByRole('menuitem', { name: operation }).click();
}

const resultText = (page: Page) => page.locator('.result-window').innerText();

test('the example subscription runs over SSE with the headers editor key, and a started call appears in the result pane', async () => {
  const { page, urls, cspViolations } = await openGraphiQL();
  await setHeaders(page, { Authorization: `Bearer ${KEY}` });
  const stream = page.waitForRequest((r) => r.url().endsWith('/graphql') && (r.headers().accept ?? '').includes('text/event-stream'));
  await run(page, 'CallEvents');
  const request = await stream;
  expect(request.headers().authorization).toBe(`Bearer ${KEY}`);
  expect(request.postDataJSON()).toMatchObject({ operationName: 'CallEvents' });

  // Once the watcher has its baseline, a call that starts is new: CALL_ADDED, in progress.
  await waitFor('the watcher\'s baseline', () => Boolean(h.server.events.watchers().find((w) => w.connection === 'twenty2/default')?.lastSuccessAt));
  h.sims.twenty2.startCall();
  await page.locator('.result-window').getByText('CALL_ADDED').waitFor({ timeout: 20_000 });
  const shown = await resultText(page);
  expect(shown).toContain('"TWENTY2"');
  expect(shown).toContain('"occurredAt"');
  expect(shown).not.toContain('"errors"');
  // Still subscribed (the button stops it), and stopping ends the stream.
  await page.getByRole('button', { name: /Stop query/ }).click();
  await page.getByRole('button', { name: /Execute query/ }).waitFor();

  expect(urls.filter((url) => url.startsWith('ws'))).toEqual([]);
  expect(urls.every((url) => url.startsWith(h.server.url.replace(/\/graphql$/, '')) || url.startsWith('data:'))).toBe(true);
  expect(cspViolations).toEqual([]);
  await page.close();
}, TIMEOUT_MS);

test('without a key the subscription shows the coded refusal in the result pane, not a silent wait', async () => {
  const { page, cspViolations } = await openGraphiQL();
  await run(page, 'CallEvents');
  await page.locator('.result-window').getByText('UNAUTHENTICATED').waitFor({ timeout: 20_000 });
  const shown = await resultText(page);
  expect(shown).toContain('"code": "UNAUTHENTICATED"');
  expect(shown).toContain('A valid API key is required');
  // Done, not retrying: the button offers to run again.
  await page.getByRole('button', { name: /Execute query/ }).waitFor();

  // A query without the key is refused the same way (GraphiQL's own fetcher).
  await run(page, 'LatestCalls');
  await page.locator('.result-window').getByText('UNAUTHENTICATED').waitFor();
  expect(cspViolations).toEqual([]);
  await page.close();
}, TIMEOUT_MS);
