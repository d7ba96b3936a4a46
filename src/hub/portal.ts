/**
 * The hub's part of the portal: the built single-page app under `/ui/` (static files, no token,
 * every unknown path answered with index.html so deep links load), and a read-only proxy to a
 * member cluster's nodes and pods for the cluster page's heat map. The portal itself talks only
 * to the hub's API; the proxy is the one window onto a member, and it only lists.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { extname, join, normalize, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { StatusError } from '../machinery/status-error.ts';
import type { ApiHandler } from '../apiserver/handler.ts';
import type { MemberConnections } from '../fleet/index.ts';
import type { ResourceRef } from '../client/index.ts';

/** Where `vite build` puts the portal: `ui/dist` in the repository. */
export const portalDist = fileURLToPath(new URL('../../ui/dist/', import.meta.url));
const portalRoot = fileURLToPath(new URL('../../ui/', import.meta.url));

const contentTypes: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json',
  '.woff2': 'font/woff2',
  '.map': 'application/json',
};

const notBuiltPage = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Nephele portal: not built</title></head>
<body style="font-family: system-ui, sans-serif; max-width: 40rem; margin: 4rem auto; line-height: 1.5">
<h1>The Nephele portal is not built yet</h1>
<p>The hub serves the portal from <code>ui/dist</code>, which is missing. Build it from the repository root with</p>
<pre>npm install        # builds the portal as part of the install
# or, when the packages are already installed:
npx vite build ui</pre>
<p>then reload this page. <code>npm start</code> also builds it on first start.</p>
</body></html>
`;

/**
 * Answers a GET under `/ui/` from `dist`: a file when one matches, otherwise index.html (the
 * app routes the path itself), or a page saying how to build the portal when `dist` is missing.
 * Hashed assets are cached for good; index.html never, so a rebuild shows at once.
 */
export function servePortal(dist: string, req: IncomingMessage, res: ServerResponse, path: string): void {
  if (path === '/ui') {
    res.writeHead(308, { Location: '/ui/' });
    res.end();
    return;
  }
  const index = join(dist, 'index.html');
  if (!existsSync(index)) {
    res.writeHead(503, { 'Content-Type': 'text/html; charset=utf-8', 'Cache-Control': 'no-store' });
    res.end(req.method === 'HEAD' ? undefined : notBuiltPage);
    return;
  }
  let relative: string;
  try {
    relative = decodeURIComponent(path.slice('/ui/'.length));
  } catch {
    throw new StatusError('BadRequest', `the path ${path} is not valid percent-encoding`);
  }
  const root = resolve(dist);
  const candidate = resolve(root, normalize(relative));
  let file = index;
  if (relative !== '' && (candidate === root || candidate.startsWith(root + sep)) && existsSync(candidate) && statSync(candidate).isFile()) file = candidate;
  else if (relative.startsWith('assets/')) throw new StatusError('NotFound', `no portal asset at ${path}; rebuild the portal (npx vite build ui) if it was just updated`);
  const body = readFileSync(file);
  res.writeHead(200, {
    'Content-Type': contentTypes[extname(file)] ?? 'application/octet-stream',
    'Content-Length': String(body.length),
    'Cache-Control': file === index ? 'no-cache' : 'public, max-age=31536000, immutable',
    'X-Content-Type-Options': 'nosniff',
  });
  res.end(req.method === 'HEAD' ? undefined : body);
}

const nodes: ResourceRef = { group: '', version: 'v1', plural: 'nodes', kind: 'Node', namespaced: false };
const pods: ResourceRef = { group: '', version: 'v1', plural: 'pods', kind: 'Pod', namespaced: true };

/** The proxy's paths: `/apis/fleet.nephele.dev/v1alpha1/clusters/NAME/proxy/REST`. */
export const memberProxyPattern = /^\/apis\/fleet\.nephele\.dev\/v1alpha1\/clusters\/([^/]+)\/proxy\/(.*)$/;

/**
 * Lists a member's nodes or pods through the hub's connection to it: `api/v1/nodes`,
 * `api/v1/pods` and `api/v1/namespaces/NS/pods`, with `labelSelector`, `fieldSelector` and
 * `limit` passed on. Read-only by construction (GET lists only); anything else is a 404 that says
 * what is served, and a cluster the hub holds no connection to is a 503 naming it.
 */
export async function serveMemberProxy(members: MemberConnections, url: URL, res: ServerResponse): Promise<void> {
  const match = memberProxyPattern.exec(url.pathname);
  if (!match) throw new StatusError('NotFound', `${url.pathname} is not a member proxy path`);
  const cluster = decodeURIComponent(match[1]!);
  const rest = match[2]!.replace(/\/+$/, '').split('/');
  let ref: ResourceRef;
  let namespace: string | undefined;
  if (rest.join('/') === 'api/v1/nodes') ref = nodes;
  else if (rest.join('/') === 'api/v1/pods') ref = pods;
  else if (rest.length === 5 && rest[0] === 'api' && rest[1] === 'v1' && rest[2] === 'namespaces' && rest[4] === 'pods') {
    ref = pods;
    namespace = decodeURIComponent(rest[3]!);
  } else {
    throw new StatusError('NotFound', `the member proxy serves only lists of nodes and pods (api/v1/nodes, api/v1/pods, api/v1/namespaces/NS/pods), not ${match[2]}`);
  }
  const member = members.get(cluster);
  if (!member) {
    // Answered here rather than thrown: a member that is away is expected, not a server fault to log.
    res.writeHead(503, { 'Content-Type': 'application/json', 'Cache-Control': 'no-store' });
    res.end(JSON.stringify({ kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', reason: 'ServiceUnavailable', code: 503,
      message: `the hub has no connection to member cluster ${JSON.stringify(cluster)}: it is not registered, not started yet, or a pull-mode cluster` }));
    return;
  }
  const q = url.searchParams;
  const limit = q.get('limit');
  const list = await member.objects.list(ref, namespace, {
    ...(q.get('labelSelector') ? { labelSelector: q.get('labelSelector')! } : {}),
    ...(q.get('fieldSelector') ? { fieldSelector: q.get('fieldSelector')! } : {}),
    ...(limit && /^\d+$/.test(limit) ? { limit: Number(limit) } : {}),
  });
  const body = JSON.stringify({ kind: `${ref.kind}List`, apiVersion: 'v1', metadata: { resourceVersion: list.resourceVersion, ...(list.continue ? { continue: list.continue } : {}) }, items: list.items.map((o) => ({ apiVersion: 'v1', kind: ref.kind, ...o })) });
  res.writeHead(200, { 'Content-Type': 'application/json', 'Cache-Control': 'no-store' });
  res.end(body);
}

/** Registers the portal (`/ui/`, anonymous) and the member proxy (bearer token) on a hub's handler. */
export function registerPortal(handler: ApiHandler, members: MemberConnections, dist: string = portalDist): void {
  handler.addPrefix(/^\/ui(\/|$)/, (req, res, path) => servePortal(dist, req, res, path), { anonymous: true });
  handler.addPrefix(memberProxyPattern, (req, res) => serveMemberProxy(members, new URL(req.url ?? '/', 'https://hub'), res));
}

/**
 * Builds the portal with Vite when `ui/dist` is missing (a checkout where `npm install` ran
 * before the portal existed, or with scripts disabled). Returns a message when it could not,
 * undefined when the build is there.
 */
export function ensurePortalBuilt(): string | undefined {
  if (existsSync(join(portalDist, 'index.html'))) return undefined;
  const vite = fileURLToPath(new URL('../../node_modules/vite/bin/vite.js', import.meta.url));
  if (!existsSync(vite)) return 'the portal is not built and Vite is not installed: run `npm install`';
  console.log('building the portal (ui/dist) once with Vite...');
  const built = spawnSync(process.execPath, [vite, 'build', portalRoot, '--logLevel', 'warn'], { stdio: 'inherit' });
  return built.status === 0 ? undefined : 'building the portal failed (see above); the hub runs without it, /ui/ says how to build it';
}
