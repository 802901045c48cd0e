/**
 * What a newcomer meets first, over HTTP: the README's curl command works as written, GraphiQL's
 * request for /favicon.ico is answered, and a cursor kept across a restart is refused with a
 * message saying why when no SWITCHBOARD_CURSOR_SECRET is set.
 */
import { readFileSync } from 'node:fs';
import { startSimulators, type Simulators } from '../../src/demo.js';
import { startHarness, type Harness } from '../helpers/switchboard.js';

let sims: Simulators;
let h: Harness;
beforeAll(async () => {
  sims = await startSimulators();
  h = await startHarness({ sims: async () => sims });
});
afterAll(async () => {
  await h.server.stop();
  await sims.close();
});

test("the README's curl command works as written", async () => {
  const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
  const command = /```sh\n(curl [^`]*?)\n```/.exec(readme)?.[1]?.replace(/\\\n\s*/g, ' ');
  expect(command).toBeDefined();
  const url = /curl -s (\S+)/.exec(command!)![1]!;
  const header = /-H '([^:']+): ([^']+)'/.exec(command!)!;
  const body = /-d '([^']+)'/.exec(command!)![1]!;
  expect(url).toBe('http://localhost:4000/graphql');
  const response = await fetch(h.server.url, { method: 'POST', headers: { [header[1]!]: header[2]! }, body });
  expect(response.status).toBe(200);
  const answer = (await response.json()) as { data?: { calls: { edges: Array<{ node: { status: string } }> } }; errors?: unknown };
  expect(answer.errors).toBeUndefined();
  expect(answer.data!.calls.edges.map((edge) => edge.node.status)).toEqual(['COMPLETED', 'COMPLETED', 'COMPLETED', 'COMPLETED']);
});

test("a browser's request for /favicon.ico is answered 204, not 404", async () => {
  const response = await fetch(new URL('/favicon.ico', h.server.url));
  expect(response.status).toBe(204);
  expect(await response.text()).toBe('');
  expect(response.headers.get('cache-control')).toMatch(/max-age=\d+/);
});

describe('a cursor kept across a restart', () => {
  const PAGE = 'query Page($after: String) { calls(first: 2, after: $after) { nodes { id } pageInfo { endCursor } } }';
  const SECRET = 'a-cursor-secret-of-32-characters-or-more';

  /** A cursor issued by one server, then used on a second one started over the same simulators. */
  async function acrossRestart(env: Record<string, string>) {
    const before = await startHarness({ sims: async () => sims, env });
    const cursor = (await before.gql(PAGE)).body.data.calls.pageInfo.endCursor as string;
    await before.server.stop();
    const after = await startHarness({ sims: async () => sims, env });
    try {
      return { cursor, page: await after.gql(PAGE, { after: cursor }), altered: await after.gql(PAGE, { after: `${cursor.slice(0, -2)}AA` }) };
    } finally {
      await after.server.stop();
    }
  }

  it('without SWITCHBOARD_CURSOR_SECRET, is refused with a message saying that the restart is why', async () => {
    const { page } = await acrossRestart({});
    expect(page.body.errors).toHaveLength(1);
    expect(page.body.errors![0]!.extensions).toEqual({ code: 'BAD_USER_INPUT', argument: 'after' });
    expect(page.body.errors![0]!.message).toMatch(/issued before this server restarted or by another replica: SWITCHBOARD_CURSOR_SECRET is not set/);
    expect(page.body.errors![0]!.message).toMatch(/start again from the first page/);
  });

  it('with SWITCHBOARD_CURSOR_SECRET, is accepted; an altered one is refused without the restart hint', async () => {
    const { page, altered } = await acrossRestart({ SWITCHBOARD_CURSOR_SECRET: SECRET });
    expect(page.body.errors).toBeUndefined();
    expect(page.body.data.calls.nodes).toHaveLength(2);
    expect(altered.body.errors![0]!.extensions).toEqual({ code: 'BAD_USER_INPUT', argument: 'after' });
    expect(altered.body.errors![0]!.message).not.toMatch(/restart|SWITCHBOARD_CURSOR_SECRET/);
  });
});
