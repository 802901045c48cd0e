/** TalkStack as a provider module (see src/providers/module.ts); its API: docs/providers/talkstack.md. */
import { z } from 'zod';
import { talkStackCallSchema } from './schema.js';
import { toCallRecord } from './map.js';
import { defineProvider } from '../module.js';
import { currency, text, url } from '../settings.js';
import { TalkStackAdapter } from './client.js';
import { createTalkStackSimulator } from './simulator.js';

export const talkstack = defineProvider({
  provider: 'TALKSTACK',
  displayName: 'TalkStack',
  settings: z.strictObject({
    apiKey: text,
    projectId: text,
    baseUrl: url.default('https://api.talkstackai.com'),
    currency: currency.default('USD'),
  }),
  env: {
    apiKey: 'TALKSTACK_API_KEY',
    projectId: 'TALKSTACK_PROJECT_ID',
    baseUrl: 'TALKSTACK_BASE_URL',
    currency: 'TALKSTACK_CURRENCY',
  },
  secrets: ['apiKey'],
  createAdapter: (connection, settings, http) => new TalkStackAdapter(connection, settings, http),
  simulator: {
    create: createTalkStackSimulator,
    settings: (sim, baseUrl) => ({ ...sim.credentials, baseUrl, currency: 'USD' }),
    calls: (sim, { withUnreadable }) =>
      (withUnreadable ? sim.rows : sim.rows.filter((row) => !sim.unreadable.has(row))).map((r) => toCallRecord(talkStackCallSchema.parse(r), { connection: 'default', currency: 'USD' })),
    // POST /call with the sid in the body (docs/providers/talkstack.md).
    lookedUp: (_sim, r) => {
      const sid = (r.body as { sid?: unknown } | undefined)?.sid;
      return r.path === '/call' && typeof sid === 'string' ? [sid] : [];
    },
    canaryCredentials: (canary) => ({ apiKey: `key-${canary}`, projectId: `proj-${canary}` }),
    markUnreadable: (sim, key, marker) => {
      const row = sim.rows.find((r) => r.callSid === key);
      if (row) sim.unreadable.set(row, { date: marker, data: { note: marker } });
      return row !== undefined;
    },
  },
});
