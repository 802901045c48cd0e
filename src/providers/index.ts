/**
 * Configuration → provider adapters. Adding a provider is adding its folder and one entry here.
 */
import { type ConnectionRef, connectionLabel } from '../calls/model.js';
import type { ConnectionConfig } from '../config.js';
import { CinnoxAdapter } from './cinnox/client.js';
import { ConnectionHttp, type HttpPolicy, type UpstreamObserver } from './http.js';
import type { ProviderAdapter } from './provider.js';
import { TalkStackAdapter } from './talkstack/client.js';
import { TwilioAdapter } from './twilio/client.js';
import { Twenty2Adapter } from './twenty2/client.js';
import { UnpodAdapter } from './unpod/client.js';

export interface Connection {
  ref: ConnectionRef;
  label: string;
  adapter: ProviderAdapter;
  http: ConnectionHttp;
  /**
   * This connection for one GraphQL request: an adapter over `http.forRequest(observe)`, so the
   * request's upstream events reach `observe`. Adapters hold no state past their constructor,
   * so building one per request shares everything that matters (breaker, cap, sockets).
   */
  forRequest(observe: UpstreamObserver): Connection;
}

function createAdapter(config: ConnectionConfig, http: ConnectionHttp): ProviderAdapter {
  switch (config.provider) {
    case 'TWENTY2':
      return new Twenty2Adapter(config.connection, config.settings, http);
    case 'UNPOD':
      return new UnpodAdapter(config.connection, config.settings, http);
    case 'CINNOX':
      return new CinnoxAdapter(config.connection, config.settings, http);
    case 'TALKSTACK':
      return new TalkStackAdapter(config.connection, config.settings, http);
    case 'TWILIO':
      return new TwilioAdapter(config.connection, config.settings, http);
  }
}

/** Every configured connection, built once at start-up. */
export class ConnectionRegistry {
  readonly connections: readonly Connection[];
  private readonly byLabel: Map<string, Connection>;

  constructor(configs: readonly ConnectionConfig[], policy: HttpPolicy, observe?: UpstreamObserver) {
    this.connections = configs.map((config) => {
      const ref: ConnectionRef = { provider: config.provider, connection: config.connection };
      const http = new ConnectionHttp(ref, policy, observe);
      const label = connectionLabel(ref);
      const bind = (view: ConnectionHttp): Connection => ({
        ref,
        label,
        adapter: createAdapter(config, view),
        http: view,
        forRequest: (requestObserver) => bind(http.forRequest(requestObserver)),
      });
      return bind(http);
    });
    this.byLabel = new Map(this.connections.map((c) => [c.label, c]));
  }

  get(ref: ConnectionRef): Connection | undefined {
    return this.byLabel.get(connectionLabel(ref));
  }
}
