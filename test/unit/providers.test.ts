/** The provider list (src/providers/index.ts) and the SDL's `Provider` enum (the contract) agree. */
import { PROVIDERS } from '../../src/calls/model.js';
import { ConnectionHttp, defaultHttpPolicy } from '../../src/providers/http.js';
import { PROVIDER_MODULES } from '../../src/providers/index.js';
import type { ProviderModule } from '../../src/providers/module.js';
import { sdlEnumValues } from '../../src/sdl.js';

describe('PROVIDER_MODULES', () => {
  const listed = PROVIDER_MODULES.map((m) => m.provider as string);
  const enumValues = sdlEnumValues('Provider');

  it('has a module for every enum value, and no module outside the enum, in enum order', () => {
    expect(enumValues.filter((v) => !listed.includes(v))).toEqual([]);
    expect(listed.filter((v) => !enumValues.includes(v))).toEqual([]);
    expect(listed).toEqual(enumValues);
  });

  it('is the order the core ranks providers in', () => {
    expect([...PROVIDERS]).toEqual(listed);
  });

  it.each(PROVIDER_MODULES.map((m) => [m.provider, m] as const))('%s: env names every setting, secrets are settings', (_, m) => {
    const keys = Object.keys(m.settings.shape).sort();
    expect(Object.keys(m.env).sort()).toEqual(keys);
    for (const name of Object.values(m.env)) expect(name.startsWith(`${m.provider}_`)).toBe(true);
    for (const secret of m.secrets) expect(keys).toContain(secret);
    expect(m.secrets.length).toBeGreaterThan(0);
  });

  // The watcher sweeps the recent past of a list that shows only ended calls, by time bounds
  // (src/live/watcher.ts#sweepRange): the adapter must say so as its simulator behaves, and bound time.
  it.each(PROVIDER_MODULES.map((m) => [m.provider, m as unknown as ProviderModule] as const))('%s: the adapter says whether its list shows calls in progress, as its simulator does', (_, m) => {
    const sim = m.simulator.create({ count: 1 });
    const settings = m.settings.parse(m.simulator.settings(sim, 'http://127.0.0.1:1'));
    const http = new ConnectionHttp({ provider: m.provider, connection: 'default' }, defaultHttpPolicy);
    const { capabilities } = m.createAdapter('default', settings, http, m.connectionState?.());
    expect(capabilities.listsOngoing).toBe(sim.listsOngoing);
    if (!capabilities.listsOngoing) expect(capabilities.resume).toBe('window');
  });
});
