/**
 * GraphQL Mesh composition of the benchmark's peer: the Twenty2 simulator as an OpenAPI source.
 * bench/peer.ts runs `mesh-compose` with the simulator's URL and credentials in the environment.
 */
import { defineConfig } from '@graphql-mesh/compose-cli';
import { loadOpenAPISubgraph } from '@omnigraph/openapi';

export const composeConfig = defineConfig({
  subgraphs: [
    {
      sourceHandler: loadOpenAPISubgraph('Twenty2', {
        source: './twenty2.openapi.json',
        endpoint: process.env.TWENTY2_URL,
        operationHeaders: {
          authorization: process.env.TWENTY2_AUTHORIZATION,
          'x-workspace-id': process.env.TWENTY2_WORKSPACE_ID,
        },
      }),
    },
  ],
});
