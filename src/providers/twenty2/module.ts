/** Twenty2 as a provider module (see src/providers/module.ts); its API: docs/providers/twenty2.md. */
import { z } from 'zod';
import { twenty2CallSchema } from './schema.js';
import { toCallRecord } from './map.js';
import { defineProvider } from '../module.js';
import { region, text, url } from '../settings.js';
import { Twenty2Adapter } from './client.js';
import { createTwenty2Simulator } from './simulator.js';

export const twenty2 = defineProvider({
  provider: 'TWENTY2',
  displayName: 'Twenty2',
  settings: z.strictObject({
    username: text,
    password: text,
    workspaceId: text,
    baseUrl: url.default('https://api.twentytwo.in/api'),
    phoneRegion: region.default('IN'),
  }),
  env: {
    username: 'TWENTY2_USERNAME',
    password: 'TWENTY2_PASSWORD',
    workspaceId: 'TWENTY2_WORKSPACE_ID',
    baseUrl: 'TWENTY2_BASE_URL',
    phoneRegion: 'TWENTY2_PHONE_REGION',
  },
  secrets: ['password'],
  createAdapter: (connection, settings, http) => new Twenty2Adapter(connection, settings, http),
  simulator: {
    create: createTwenty2Simulator,
    settings: (sim, baseUrl) => ({ ...sim.credentials, baseUrl, phoneRegion: 'IN' }),
    calls: (sim, { withUnreadable }) =>
      (withUnreadable ? sim.rows : sim.rows.filter((row) => !sim.unreadable.has(row))).map((r) => toCallRecord(twenty2CallSchema.parse(r), { ref: { provider: 'TWENTY2', connection: 'default' }, phoneRegion: 'IN' })),
    // GET /call/detail?call_id=… (docs/providers/twenty2.md).
    lookedUp: (_sim, r) => (r.path === '/call/detail' && r.query.call_id ? [r.query.call_id] : []),
    canaryCredentials: (canary) => ({ username: `user-${canary}`, password: `pass-${canary}`, workspaceId: `ws-${canary}` }),
    markUnreadable: (sim, key, marker) => {
      const row = sim.rows.find((r) => r.call_id === key);
      if (row) sim.unreadable.set(row, { started_at: `at ${marker}`, agent_id: marker });
      return row !== undefined;
    },
  },
});
