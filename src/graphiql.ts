/**
 * GraphiQL served by Switchboard itself, outside production: the page, React, GraphiQL and
 * graphql-sse's client come from installed packages (no CDN), so it works offline and under a
 * Content-Security-Policy of 'self'. Queries run over POST, subscriptions over GraphQL over SSE,
 * both with the headers set in GraphiQL's headers editor.
 * GET /graphql with `Accept: text/html` and no `query` parameter gets the page; everything else
 * falls through to the GraphQL endpoint.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { IncomingMessage, ServerResponse } from 'node:http';
import path from 'node:path';

/** Where the page loads its assets from; served by the same server. */
export const GRAPHIQL_ASSETS_PATH = '/graphiql-assets';

/** The query the editor opens with: the newest calls across every provider. */
export const EXAMPLE_QUERY = `# The 20 newest calls across every enabled provider, newest first.
# Pass pageInfo.endCursor as \`after\` to read the next page.
query LatestCalls($first: Int = 20, $after: String) {
  calls(first: $first, after: $after) {
    nodes {
      provider
      status
      startedAt
      from { phoneNumber }
      to { phoneNumber displayName }
      durationSeconds
    }
    pageInfo { hasNextPage endCursor }
  }
}
`;

/**
 * Scripts and styles only from this origin. GraphiQL sets inline styles and its stylesheet embeds
 * its fonts and icons as data: URIs, hence those two exceptions; no inline script is needed
 * because the boot code is served as a file.
 */
export const GRAPHIQL_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "font-src 'self' data:",
  "img-src 'self' data:",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

/**
 * A second operation below the query: events as they happen. GraphiQL's run button then offers
 * both by name (or runs the one under the cursor with Ctrl-Enter).
 */
export const EXAMPLE_SUBSCRIPTION = `# Live events: calls as they start, change and end.
# Run it (the run button offers CallEvents), then wait:
# in demo mode a call starts every ~8 s, ends 10-40 s later.
subscription CallEvents {
  callEvents {
    type
    occurredAt
    call { provider status startedAt from { phoneNumber } }
  }
}
`;

/**
 * The page's boot code. Queries go through GraphiQL's own fetcher (a POST asking for JSON).
 * Subscriptions go over GraphQL over SSE (graphql-sse's client, distinct connections mode) rather
 * than WebSocket because a browser can set headers on a fetch but not on a WebSocket upgrade: the
 * headers editor's `Authorization` reaches the server as for a query. Which kind an operation is
 * comes from the document GraphiQL parsed (the operation it runs), not from the text. A refusal
 * (401, 400, 503) is shown as the server's JSON errors, like a refused query, and not retried.
 */
const BOOT_SCRIPT = `(function () {
  var url = new URL('/graphql', window.location.href).toString();
  var httpFetcher = GraphiQL.createFetcher({ url: url });

  /** The operation GraphiQL runs: the one named, or the document's only one. */
  function operationOf(documentAST, operationName) {
    if (!documentAST) return null;
    var operations = documentAST.definitions.filter(function (d) { return d.kind === 'OperationDefinition'; });
    if (operationName) return operations.find(function (d) { return d.name && d.name.value === operationName; }) || null;
    return operations.length === 1 ? operations[0] : null;
  }

  /** An observable (what GraphiQL's fetcher may return) of one subscription over SSE. */
  function subscribeOverSse(params, headers) {
    return {
      subscribe: function (sink) {
        var client = graphqlSse.createClient({ url: url, headers: headers || {}, retryAttempts: 0 });
        var done = function () { client.dispose(); };
        var dispose = client.subscribe(params, {
          next: function (result) { sink.next(result); },
          complete: function () { done(); sink.complete(); },
          error: function (error) {
            var response = error && error.response;
            if (!response) {
              done();
              return sink.error(error);
            }
            // The server's refusal is JSON with coded errors; show it as a result, as for a query.
            // Read before disposing the client: disposing aborts the request, body included.
            response.json().then(
              function (body) { done(); sink.next(body); sink.complete(); },
              function () { done(); sink.error(error); }
            );
          },
        });
        return { unsubscribe: function () { dispose(); done(); } };
      },
    };
  }

  function fetcher(params, opts) {
    var operation = operationOf(opts && opts.documentAST, params.operationName);
    if (operation && operation.operation === 'subscription') return subscribeOverSse(params, opts.headers);
    return httpFetcher(params, opts);
  }

  var root = ReactDOM.createRoot(document.getElementById('graphiql'));
  root.render(
    React.createElement(GraphiQL, {
      fetcher: fetcher,
      defaultQuery: ${JSON.stringify(EXAMPLE_QUERY + '\n' + EXAMPLE_SUBSCRIPTION)},
      defaultEditorToolsVisibility: true,
      isHeadersEditorEnabled: true,
      shouldPersistHeaders: false,
    }),
  );
})();
`;

const PAGE = `<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8" />
    <meta name="viewport" content="width=device-width, initial-scale=1" />
    <title>Switchboard · GraphiQL</title>
    <link rel="stylesheet" href="${GRAPHIQL_ASSETS_PATH}/graphiql.min.css" />
    <link rel="stylesheet" href="${GRAPHIQL_ASSETS_PATH}/page.css" />
  </head>
  <body>
    <div id="graphiql">Loading GraphiQL…</div>
    <script src="${GRAPHIQL_ASSETS_PATH}/react.production.min.js"></script>
    <script src="${GRAPHIQL_ASSETS_PATH}/react-dom.production.min.js"></script>
    <script src="${GRAPHIQL_ASSETS_PATH}/graphiql.min.js"></script>
    <script src="${GRAPHIQL_ASSETS_PATH}/graphql-sse.min.js"></script>
    <script src="${GRAPHIQL_ASSETS_PATH}/boot.js"></script>
  </body>
</html>
`;

const PAGE_CSS = 'html, body, #graphiql { height: 100%; margin: 0; }\n';

interface Asset {
  contentType: string;
  body: Buffer;
}

let cachedAssets: Map<string, Asset> | null = null;

/** Reads the UMD builds out of node_modules once; a missing package fails start-up, not a request. */
function loadAssets(): Map<string, Asset> {
  if (cachedAssets) return cachedAssets;
  const require = createRequire(import.meta.url);
  // Each package's own package.json locates its folder without depending on its `exports` map.
  const packageFile = (name: string, file: string) =>
    path.join(path.dirname(require.resolve(`${name}/package.json`)), file);
  const js = 'text/javascript; charset=utf-8';
  const css = 'text/css; charset=utf-8';
  const files: Array<[string, string, string]> = [
    ['react.production.min.js', packageFile('react', 'umd/react.production.min.js'), js],
    ['react-dom.production.min.js', packageFile('react-dom', 'umd/react-dom.production.min.js'), js],
    ['graphiql.min.js', packageFile('graphiql', 'graphiql.min.js'), js],
    ['graphiql.min.css', packageFile('graphiql', 'graphiql.min.css'), css],
    // Subscriptions' client (GraphQL over SSE); its UMD build defines the global `graphqlSse`.
    ['graphql-sse.min.js', packageFile('graphql-sse', 'umd/graphql-sse.min.js'), js],
  ];
  const assets = new Map<string, Asset>(
    files.map(([name, file, contentType]) => [name, { contentType, body: readFileSync(file) }]),
  );
  assets.set('boot.js', { contentType: js, body: Buffer.from(BOOT_SCRIPT) });
  assets.set('page.css', { contentType: css, body: Buffer.from(PAGE_CSS) });
  cachedAssets = assets;
  return assets;
}

/** True for a browser navigating to /graphql, not for a GraphQL request over GET. */
function wantsGraphiQL(req: IncomingMessage, search: string): boolean {
  return req.method === 'GET' && !new URLSearchParams(search).has('query') && (req.headers.accept ?? '').includes('text/html');
}

/**
 * The GraphiQL routes: the returned handler answers the page and its assets and returns true, or
 * returns false for anything else (which then reaches the GraphQL endpoint). The page is public (it
 * holds no data); queries it sends go through the same authentication as any other client's, with
 * a key set in GraphiQL's headers editor.
 */
export function graphiqlHandler(graphqlPath = '/graphql') {
  const assets = loadAssets();
  return (req: IncomingMessage, res: ServerResponse, pathname: string, search: string): boolean => {
    if (req.method !== 'GET') return false;
    if (pathname.startsWith(`${GRAPHIQL_ASSETS_PATH}/`)) {
      const asset = assets.get(pathname.slice(GRAPHIQL_ASSETS_PATH.length + 1));
      if (!asset) return false;
      res.writeHead(200, {
        'content-type': asset.contentType,
        'content-length': asset.body.length,
        'cache-control': 'public, max-age=3600',
        'x-content-type-options': 'nosniff',
      });
      res.end(asset.body);
      return true;
    }
    if (pathname !== graphqlPath || !wantsGraphiQL(req, search)) return false;
    res.writeHead(200, {
      'content-type': 'text/html; charset=utf-8',
      'content-length': Buffer.byteLength(PAGE),
      'content-security-policy': GRAPHIQL_CSP,
      'x-content-type-options': 'nosniff',
      'referrer-policy': 'no-referrer',
      'cache-control': 'no-cache',
    });
    res.end(PAGE);
    return true;
  };
}
