/**
 * GraphiQL served by Switchboard itself, outside production: the page, React and GraphiQL come from
 * installed packages (no CDN), so it works offline and under a Content-Security-Policy of 'self'.
 * GET /graphql with `Accept: text/html` and no `query` parameter gets the page; everything else
 * falls through to the GraphQL endpoint.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import express, { type NextFunction, type Request, type Response, type Router } from 'express';

/** Where the page loads its assets from; served by the same Express app. */
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

const BOOT_SCRIPT = `(function () {
  var fetcher = GraphiQL.createFetcher({ url: new URL('/graphql', window.location.href).toString() });
  var root = ReactDOM.createRoot(document.getElementById('graphiql'));
  root.render(
    React.createElement(GraphiQL, {
      fetcher: fetcher,
      defaultQuery: ${JSON.stringify(EXAMPLE_QUERY)},
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
export function wantsGraphiQL(req: Request): boolean {
  return req.method === 'GET' && req.query.query === undefined && (req.headers.accept ?? '').includes('text/html');
}

/**
 * The GraphiQL routes: mount the returned router on the app before the GraphQL middleware. The
 * page is public (it holds no data); queries it sends go through the same authentication as any
 * other client's, with a key set in GraphiQL's headers editor.
 */
export function graphiqlRouter(graphqlPath = '/graphql'): Router {
  const assets = loadAssets();
  const router = express.Router();
  router.get(`${GRAPHIQL_ASSETS_PATH}/:name`, (req: Request, res: Response, next: NextFunction) => {
    const asset = assets.get(String(req.params.name));
    if (!asset) return next();
    res
      .set('content-type', asset.contentType)
      .set('cache-control', 'public, max-age=3600')
      .set('x-content-type-options', 'nosniff')
      .send(asset.body);
  });
  router.get(graphqlPath, (req: Request, res: Response, next: NextFunction) => {
    if (!wantsGraphiQL(req)) return next();
    res
      .set('content-type', 'text/html; charset=utf-8')
      .set('content-security-policy', GRAPHIQL_CSP)
      .set('x-content-type-options', 'nosniff')
      .set('referrer-policy', 'no-referrer')
      .set('cache-control', 'no-cache')
      .send(PAGE);
  });
  return router;
}
