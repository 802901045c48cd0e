/** Vapi as a provider module (see src/providers/module.ts); its API: docs/providers/vapi.md. */
import { z } from 'zod';
import { vapiCallSchema } from './schema.js';
import { inlineAgentNumber, toCallRecord } from './map.js';
import { defineProvider } from '../module.js';
import { text, url } from '../settings.js';
import { VapiAdapter, VapiPhoneNumbers } from './client.js';
import { createVapiSimulator } from './simulator.js';
import { verifyVapiPush } from './push.js';

export const vapi = defineProvider({
  provider: 'VAPI',
  displayName: 'Vapi',
  // The server URL's credential (pushes, src/providers/vapi/push.ts) is the operator's own, not the API key.
  settings: z.strictObject({
    apiKey: text,
    baseUrl: url.default('https://api.vapi.ai'),
    webhookSecret: text.optional(),
    webhookAuth: z.enum(['bearer', 'hmac'], { error: 'must be bearer or hmac' }).optional(),
  }),
  env: {
    apiKey: 'VAPI_API_KEY',
    baseUrl: 'VAPI_BASE_URL',
    webhookSecret: 'VAPI_WEBHOOK_SECRET',
    webhookAuth: 'VAPI_WEBHOOK_AUTH',
  },
  secrets: ['apiKey', 'webhookSecret'],
  push: verifyVapiPush,
  // Phone-number resources rarely change: one cache per connection, across GraphQL requests.
  connectionState: () => new VapiPhoneNumbers(),
  createAdapter: (connection, settings, http, phoneNumbers) => new VapiAdapter(connection, settings, http, phoneNumbers),
  simulator: {
    create: createVapiSimulator,
    settings: (sim, baseUrl) => ({ ...sim.credentials, baseUrl }),
    // The Vapi-side number: the call's transient number, else its phone-number resource (what the
    // adapter looks up with GET /phone-number/{id}).
    calls: (sim, { withUnreadable }) => {
      const numbers = new Map(sim.phoneNumbers.map((p) => [p.id, p.number]));
      const baseUrl = sim.server.url;
      return (withUnreadable ? sim.rows : sim.rows.filter((row) => !sim.unreadable.has(row))).map((r) => {
        const row = vapiCallSchema.parse(r);
        const agent = inlineAgentNumber(row) ?? (row.phoneNumberId ? (numbers.get(row.phoneNumberId) ?? null) : null);
        return toCallRecord(row, agent, { connection: 'default', baseUrl });
      });
    },
    // GET /call/{id} (docs/providers/vapi.md); not the recording downloads under it, nor phone numbers.
    lookedUp: (_sim, r) => {
      const match = /^\/call\/([^/]+)$/.exec(r.path);
      return r.method === 'GET' && match ? [decodeURIComponent(match[1]!)] : [];
    },
    canaryCredentials: (canary) => ({ apiKey: `key-${canary}` }),
    // The marker as its creation (the start falls back to it) and start, and as the customer's name.
    markUnreadable: (sim, key, marker) => {
      const row = sim.rows.find((r) => r.id === key);
      if (row) sim.unreadable.set(row, { createdAt: marker, startedAt: marker, customer: { ...row.customer, name: marker } });
      return row !== undefined;
    },
  },
});
