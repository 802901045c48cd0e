/** Unpod as a provider module (see src/providers/module.ts); its API: docs/providers/unpod.md. */
import { z } from 'zod';
import { unpodRowSchema } from './schema.js';
import { toCallRecord } from './map.js';
import { defineProvider } from '../module.js';
import { text, url } from '../settings.js';
import { UnpodAdapter } from './client.js';
import { type UnpodSimulator, createUnpodSimulator } from './simulator.js';

/** Every call `sim` holds (readable ones only unless `withUnreadable`), by Unpod's pure mapping. */
const simulatedCalls = (sim: UnpodSimulator, withUnreadable = false) =>
  (withUnreadable ? sim.rows : sim.rows.filter((row) => !sim.unreadable.has(row))).map((r) => toCallRecord(unpodRowSchema.parse(r), { connection: 'default', orgHandle: sim.credentials.orgHandle }));

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
    calls: (sim, { withUnreadable }) => simulatedCalls(sim, withUnreadable),
    // No endpoint for one call: a creation_time window bounded at both ends finds the calls in it
    // again (src/providers/unpod/locate.ts); every call the window holds was looked up.
    lookedUp: (sim, r) => {
      const [from, until] = [r.query.start_date, r.query.end_date].map((v) => (v === undefined ? NaN : Date.parse(v)));
      if (Number.isNaN(from) || Number.isNaN(until)) return [];
      return simulatedCalls(sim, true)
        .filter((call) => call.startedAt.getTime() >= from! && call.startedAt.getTime() <= until!)
        .map((call) => call.key);
    },
    canaryCredentials: (canary) => ({ token: `tok-${canary}`, orgHandle: `org-${canary}` }),
    markUnreadable: (sim, key, marker) => {
      const orgHandle = sim.credentials.orgHandle;
      const row = sim.rows.find((r) => toCallRecord(unpodRowSchema.parse(r), { connection: 'default', orgHandle }).key === key);
      if (row) sim.unreadable.set(row, { creation_time: marker, end_reason: marker });
      return row !== undefined;
    },
  },
});
