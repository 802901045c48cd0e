/** Retell AI as a provider module (see src/providers/module.ts); its API: docs/providers/retell.md. */
import { z } from 'zod';
import type { CallRecord } from '../../calls/model.js';
import { defineProvider } from '../module.js';
import { text, url } from '../settings.js';
import { RetellAdapter } from './client.js';
import { toCallRecord } from './map.js';
import { retellCallSchema } from './schema.js';
import { createRetellSimulator } from './simulator.js';
import { verifyRetellPush } from './push.js';

export const retell = defineProvider({
  provider: 'RETELL',
  displayName: 'Retell AI',
  settings: z.strictObject({
    apiKey: text,
    baseUrl: url.default('https://api.retellai.com'),
  }),
  env: {
    apiKey: 'RETELL_API_KEY',
    baseUrl: 'RETELL_BASE_URL',
  },
  secrets: ['apiKey'],
  push: verifyRetellPush,
  createAdapter: (connection, settings, http) => new RetellAdapter(connection, settings, http),
  simulator: {
    create: createRetellSimulator,
    settings: (sim, baseUrl) => ({ ...sim.credentials, baseUrl }),
    // Calls not started yet (registered, no timestamps) are left out: lists never serve them
    // (the adapter skips them; they are found by id only), so they are no part of any walk.
    calls: (sim, { withUnreadable }) =>
      (withUnreadable ? sim.rows : sim.rows.filter((row) => !sim.unreadable.has(row)))
        .filter((row) => row.start_timestamp !== undefined)
        .map((r) => toCallRecord(retellCallSchema.parse(r), { connection: 'default' }) as CallRecord),
    // GET /v2/get-call/{call_id} (docs/providers/retell.md).
    lookedUp: (_sim, r) => {
      const match = /^\/v2\/get-call\/([^/]+)$/.exec(r.path);
      return match ? [decodeURIComponent(match[1]!)] : [];
    },
    canaryCredentials: (canary) => ({ apiKey: `key-${canary}` }),
    markUnreadable: (sim, key, marker) => {
      const row = sim.rows.find((r) => r.call_id === key);
      if (row) sim.unreadable.set(row, { start_timestamp: marker, disconnection_reason: marker });
      return row !== undefined;
    },
  },
});
