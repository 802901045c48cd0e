/**
 * A small second subgraph, as a platform team's CRM would be: contacts that reference Switchboard's
 * calls by id (`Contact.recentCalls`), and a `Call.contact` field it contributes to Switchboard's
 * entity. Built with @apollo/subgraph and served by Apollo Server standalone on a random port.
 */
import { ApolloServer } from '@apollo/server';
import { ApolloServerPluginInlineTraceDisabled } from '@apollo/server/plugin/disabled';
import { startStandaloneServer } from '@apollo/server/standalone';
import { buildSubgraphSchema } from '@apollo/subgraph';
import { gql } from 'graphql-tag';

export interface CrmContact {
  id: string;
  name: string;
  /** Switchboard call ids, newest first, as the CRM stored them when the calls were logged. */
  callIds: string[];
}

export const CRM_SDL = `
  extend schema @link(url: "https://specs.apollo.dev/federation/v2.7", import: ["@key"])

  type Query {
    contacts: [Contact!]!
    contact(id: ID!): Contact
  }

  type Contact @key(fields: "id") {
    id: ID!
    name: String!
    "Calls with this contact; Switchboard resolves everything but the id."
    recentCalls: [Call!]!
  }

  "Switchboard's entity; the CRM knows only its id and adds who the call was with."
  type Call @key(fields: "id") {
    id: ID!
    contact: Contact
  }
`;

/** What the CRM's resolvers hand the gateway for a call: a reference Switchboard resolves. */
interface CallReference {
  id: string;
}

export interface CrmSubgraph {
  url: string;
  sdl: string;
  stop(): Promise<void>;
}

export async function startCrmSubgraph(contacts: readonly CrmContact[]): Promise<CrmSubgraph> {
  const byId = new Map(contacts.map((c) => [c.id, c]));
  const contactOfCall = (callId: string) => contacts.find((c) => c.callIds.includes(callId)) ?? null;
  const schema = buildSubgraphSchema([
    {
      typeDefs: gql(CRM_SDL),
      resolvers: {
        Query: {
          contacts: () => contacts,
          contact: (_: unknown, { id }: { id: string }) => byId.get(id) ?? null,
        },
        Contact: {
          __resolveReference: ({ id }: { id: string }) => byId.get(id) ?? null,
          recentCalls: (contact: CrmContact): CallReference[] => contact.callIds.map((id) => ({ id })),
        },
        Call: {
          __resolveReference: ({ id }: CallReference): CallReference => ({ id }),
          contact: ({ id }: CallReference) => contactOfCall(id),
        },
      },
    },
  ]);
  // No usage reporting here, so no federated traces (and no start-up line about them).
  const server = new ApolloServer({ schema, plugins: [ApolloServerPluginInlineTraceDisabled()] });
  const { url } = await startStandaloneServer(server, { listen: { port: 0, host: '127.0.0.1' } });
  return { url, sdl: CRM_SDL, stop: () => server.stop() };
}
