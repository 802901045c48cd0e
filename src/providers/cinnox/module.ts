/** CINNOX as a provider module (see src/providers/module.ts); its API: docs/providers/cinnox.md. */
import { z } from 'zod';
import { cinnoxCallSchema } from './schema.js';
import { toCallRecord } from './map.js';
import { defineProvider } from '../module.js';
import { pathSegment, text, url } from '../settings.js';
import { CinnoxAdapter } from './client.js';
import { createCinnoxSimulator } from './simulator.js';

export const cinnox = defineProvider({
  provider: 'CINNOX',
  displayName: 'CINNOX',
  // No default base URL: every CINNOX tenant has its own host.
  settings: z.strictObject({ appId: pathSegment, appToken: text, baseUrl: url }),
  env: { appId: 'CINNOX_APP_ID', appToken: 'CINNOX_APP_TOKEN', baseUrl: 'CINNOX_BASE_URL' },
  secrets: ['appToken'],
  createAdapter: (connection, settings, http) => new CinnoxAdapter(connection, settings, http),
  simulator: {
    create: createCinnoxSimulator,
    settings: (sim, baseUrl) => ({ ...sim.credentials, baseUrl }),
    calls: (sim, { withUnreadable }) =>
      (withUnreadable ? sim.rows : sim.rows.filter((row) => !sim.unreadable.has(row))).map((r) => toCallRecord(cinnoxCallSchema.parse(r), { provider: 'CINNOX', connection: 'default' })),
    // The call-log list with callID=… (docs/providers/cinnox.md: no endpoint for one call).
    lookedUp: (_sim, r) => (r.query.callID ? [r.query.callID] : []),
    canaryCredentials: (canary) => ({ appId: `app-${canary}`, appToken: `tok-${canary}` }),
    markUnreadable: (sim, key, marker) => {
      const row = sim.rows.find((r) => r.callID === key);
      if (row) sim.unreadable.set(row, { callDate: marker, byeReason: marker });
      return row !== undefined;
    },
  },
});
