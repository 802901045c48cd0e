/** Unpod as a provider module (see src/providers/module.ts); its API: docs/providers/unpod.md. */
import { z } from 'zod';
import { unpodRowSchema } from './schema.js';
import { toCallRecord } from './map.js';
import { defineProvider } from '../module.js';
import { text, url } from '../settings.js';
import { UnpodAdapter } from './client.js';
import { createUnpodSimulator } from './simulator.js';

export const unpod = defineProvider({
  provider: 'UNPOD',
  displayName: 'Unpod',
  settings: z.strictObject({
    token: text,
    orgHandle: text,
    baseUrl: url.default('https://unpod.dev/api/v2/platform'),
  }),
  env: { token: 'UNPOD_TOKEN', orgHandle: 'UNPOD_ORG_HANDLE', baseUrl: 'UNPOD_BASE_URL' },
  secrets: ['token'],
  createAdapter: (connection, settings, http) => new UnpodAdapter(connection, settings, http),
  simulator: {
    create: createUnpodSimulator,
    settings: (sim, baseUrl) => ({ ...sim.credentials, baseUrl }),
    calls: (sim, { withUnreadable }) =>
      (withUnreadable ? sim.rows : sim.rows.filter((row) => !sim.unreadable.has(row))).map((r) => toCallRecord(unpodRowSchema.parse(r), { connection: 'default', orgHandle: sim.credentials.orgHandle })),
  },
});
