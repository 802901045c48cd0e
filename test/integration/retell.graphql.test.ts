/**
 * Retell through the GraphQL API: the plain-text transcript (`Call.transcriptText`) costs a get-call
 * request per call only when selected; the other detail fields come with the list.
 */
import { createRetellSimulator, type RetellSimulator } from '../../src/providers/retell/simulator.js';
import { type Harness, startHarness } from '../helpers/switchboard.js';

describe('Retell over GraphQL', () => {
  let retell: RetellSimulator;
  let harness: Harness;

  beforeAll(async () => {
    retell = createRetellSimulator({ count: 60 });
    await retell.server.start();
    harness = await startHarness({
      connections: () => [
        { provider: 'RETELL', connection: 'default', settings: { baseUrl: retell.server.url, apiKey: retell.credentials.apiKey } },
      ],
    });
  });
  afterAll(async () => {
    await harness.stop();
    await retell.server.close();
  });
  beforeEach(() => retell.server.resetCounters());

  const getCalls = () => retell.server.requests.filter((r) => r.path.startsWith('/v2/get-call/')).length;

  it('lists calls with recordings and parameters without a per-call request', async () => {
    const { body } = await harness.gql('{ calls(first: 10) { nodes { provider providerCallId cost { amount currency } recordings { url } inputParameters outputParameters billedDurationSeconds transcript { url } } } }');
    expect(body.errors).toBeUndefined();
    expect(body.data.calls.nodes).toHaveLength(10);
    expect(body.data.calls.nodes.every((n: { provider: string }) => n.provider === 'RETELL')).toBe(true);
    expect(getCalls()).toBe(0);
  });

  it('transcriptText is fetched by get-call, once per call, only when selected', async () => {
    const { body } = await harness.gql('{ calls(first: 10) { nodes { providerCallId transcriptText again: transcriptText } } }');
    expect(body.errors).toBeUndefined();
    expect(getCalls()).toBe(10);
    for (const node of body.data.calls.nodes as { providerCallId: string; transcriptText: string | null; again: string | null }[]) {
      const row = retell.rows.find((r) => r.call_id === node.providerCallId)!;
      expect(node.transcriptText).toBe(row.transcript ?? null);
      expect(node.again).toBe(node.transcriptText);
    }
    expect(body.data.calls.nodes.some((n: { transcriptText: string | null }) => n.transcriptText !== null)).toBe(true);
  });

  it('call(id) asks get-call once and has the transcript from that answer', async () => {
    const listed = await harness.gql('{ calls(first: 20) { nodes { id providerCallId } } }');
    const row = retell.rows.find((r) => r.transcript && listed.body.data.calls.nodes.some((n: { providerCallId: string }) => n.providerCallId === r.call_id))!;
    const { id } = listed.body.data.calls.nodes.find((n: { providerCallId: string }) => n.providerCallId === row.call_id);
    retell.server.resetCounters();
    const { body } = await harness.gql('query($id: ID!) { call(id: $id) { providerCallId transcriptText recordings { url } } }', { id });
    expect(body.errors).toBeUndefined();
    expect(body.data.call.transcriptText).toBe(row.transcript);
    expect(getCalls()).toBe(1);
  });
});
