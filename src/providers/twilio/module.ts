/** Twilio as a provider module (see src/providers/module.ts); its API: docs/providers/twilio.md. */
import { z } from 'zod';
import { twilioRowSchema } from './schema.js';
import { toCallRecord } from './map.js';
import { defineProvider } from '../module.js';
import { pathSegment, text, url } from '../settings.js';
import { TwilioAdapter } from './client.js';
import { createTwilioSimulator } from './simulator.js';
import { verifyTwilioPush } from './push.js';

export const twilio = defineProvider({
  provider: 'TWILIO',
  displayName: 'Twilio',
  // The Account SID is in every path; the credential is the Auth Token, or an API key pair (used
  // when set). A missing half is named by its key (src/config.ts turns it into its variable).
  settings: z
    .strictObject({
      accountSid: pathSegment,
      authToken: text.optional(),
      apiKeySid: text.optional(),
      apiKeySecret: text.optional(),
      baseUrl: url.default('https://api.twilio.com'),
    })
    .superRefine((s, ctx) => {
      const missing =
        s.apiKeySid !== undefined || s.apiKeySecret !== undefined
          ? s.apiKeySid === undefined
            ? 'apiKeySid'
            : s.apiKeySecret === undefined
              ? 'apiKeySecret'
              : null
          : s.authToken === undefined
            ? 'authToken'
            : null;
      if (missing !== null) {
        ctx.addIssue({ code: 'custom', path: [missing], message: 'needs authToken, or both apiKeySid and apiKeySecret' });
      }
    }),
  env: {
    accountSid: 'TWILIO_ACCOUNT_SID',
    authToken: 'TWILIO_AUTH_TOKEN',
    apiKeySid: 'TWILIO_API_KEY_SID',
    apiKeySecret: 'TWILIO_API_KEY_SECRET',
    baseUrl: 'TWILIO_BASE_URL',
  },
  secrets: ['authToken', 'apiKeySecret'],
  push: verifyTwilioPush,
  createAdapter: (connection, settings, http) => new TwilioAdapter(connection, settings, http),
  simulator: {
    create: createTwilioSimulator,
    settings: (sim, baseUrl) => ({ accountSid: sim.credentials.accountSid, authToken: sim.credentials.authToken, baseUrl }),
    calls: (sim, { withUnreadable }) =>
      (withUnreadable ? sim.rows : sim.rows.filter((row) => !sim.unreadable.has(row))).map((r) => toCallRecord(twilioRowSchema.parse(r), 'default')),
    // FetchCall: GET /2010-04-01/Accounts/{AccountSid}/Calls/{Sid}.json (docs/providers/twilio.md).
    lookedUp: (_sim, r) => {
      const match = /\/Calls\/([^/]+)\.json$/.exec(r.path);
      return match ? [decodeURIComponent(match[1]!)] : [];
    },
    // The Account SID is in every path (not a secret); the secrets carry the canary.
    canaryCredentials: (canary) => ({ authToken: `tok-${canary}`, apiKeySecret: `sec-${canary}` }),
    markUnreadable: (sim, key, marker) => {
      const row = sim.rows.find((r) => r.sid === key);
      if (row) sim.unreadable.set(row, { start_time: marker, duration: marker });
      return row !== undefined;
    },
  },
});
