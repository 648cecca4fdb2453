import type { IncomingMessage, ServerResponse } from 'node:http';

import type { LoadedConfig } from '../config/load.js';
import { ProviderRegistry } from '../providers/registry.js';
import { parseHostPort } from '../util/hosts.js';
import { STREAMED, type ApiCall, type PortalDeps } from './api/context.js';
import { matchRoute } from './api/routes.js';
import { ASSETS } from './assets/index.js';
import { PortalError, readJsonBody, Reply, send, sendError, sendJson } from './http.js';
import { LoginTokens, type LoginVerdict } from './login-tokens.js';
import { APPS_BODY } from './pages/apps.js';
import { AUDIT_BODY } from './pages/audit.js';
import { GRANTS_BODY } from './pages/grants.js';
import { NOTICES, PAGES, renderPage, type PagePath } from './pages/layout.js';
import { OVERVIEW_BODY } from './pages/overview.js';
import { PROVIDERS_BODY } from './pages/providers.js';
import {
  clearedCookie,
  cookieName,
  CSRF_HEADER,
  isAllowedHost,
  isSameOrigin,
  readCookie,
  sessionCookie,
} from './security.js';
import { isCsrfValid, SessionStore, type Session, type SessionOptions } from './sessions.js';

export type PortalOptions = Omit<PortalDeps, 'providers'> & { sessions?: SessionOptions };

const BODIES: Record<PagePath, string> = {
  '/': OVERVIEW_BODY,
  '/apps': APPS_BODY,
  '/grants': GRANTS_BODY,
  '/audit': AUDIT_BODY,
  '/providers': PROVIDERS_BODY,
};

const HTML = 'text/html; charset=utf-8';

const LOGIN_REFUSALS: Record<Exclude<LoginVerdict, 'ok'>, { status: number; page: string }> = {
  used: { status: 410, page: NOTICES.used },
  expired: { status: 410, page: NOTICES.expired },
  unknown: { status: 401, page: NOTICES.unknown },
};

/**
 * The local portal, served on the admin listener at `/`: pages, their static
 * files, `/login` for one-time links from `grantd portal`, and the JSON API
 * under `/api/`. Every API route needs a session; every state change also
 * needs the portal's own Origin and the session's CSRF token.
 */
export class Portal {
  readonly #deps: PortalDeps;
  readonly #sessions: SessionStore;
  readonly #logins: LoginTokens;
  #registry: { config: LoadedConfig; providers: ProviderRegistry } | undefined;

  constructor(options: PortalOptions) {
    const { sessions, ...deps } = options;
    this.#deps = { ...deps, providers: () => this.#providers() };
    this.#sessions = new SessionStore(sessions);
    this.#logins = new LoginTokens(deps.store.db);
  }

  /** The admin listener's fallback: every request that is not a health probe or /metrics. */
  readonly handle = (req: IncomingMessage, res: ServerResponse): void => {
    void this.#serve(req, res);
  };

  async #serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
    try {
      await this.#route(req, res);
    } catch (error) {
      if (res.headersSent) {
        this.#deps.logger.warn({ err: error, path: pathOf(req) }, 'portal: failed mid-response');
        res.destroy();
        return;
      }
      if (error instanceof PortalError) return sendError(res, error);
      // The detail goes to the log; the page gets a fixed message.
      this.#deps.logger.error({ err: error, path: pathOf(req) }, 'portal: request failed');
      sendError(
        res,
        new PortalError(500, 'internal_error', 'Something went wrong; see the grantd log.'),
      );
    }
  }

  async #route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (!isAllowedHost(req.headers.host, this.#adminHost())) {
      this.#deps.logger.info(
        { host: req.headers.host },
        'portal: refused a request for another host name',
      );
      return send(
        res,
        421,
        'text/plain; charset=utf-8',
        'The grantd portal answers on 127.0.0.1 and localhost only.\n',
      );
    }
    const url = new URL(req.url ?? '/', 'http://portal.invalid');
    const method = req.method ?? 'GET';
    if (url.pathname === '/api' || url.pathname.startsWith('/api/')) {
      return this.#api(req, res, method, url);
    }
    if (method !== 'GET' && method !== 'HEAD') {
      return send(res, 405, 'text/plain; charset=utf-8', 'Use GET.\n', { Allow: 'GET, HEAD' });
    }
    const asset = ASSETS.get(url.pathname);
    if (asset) return send(res, 200, asset.type, asset.body);
    if (url.pathname === '/login') return this.#login(req, res, url.searchParams);
    if (!Object.hasOwn(PAGES, url.pathname)) return send(res, 404, HTML, NOTICES.notFound);
    const session = this.#session(req);
    if (!session) return send(res, 401, HTML, NOTICES.signedOut);
    const path = url.pathname as PagePath;
    send(res, 200, HTML, renderPage(path, session.csrf, BODIES[path]));
  }

  async #api(req: IncomingMessage, res: ServerResponse, method: string, url: URL): Promise<void> {
    const session = this.#session(req);
    if (!session) {
      throw new PortalError(
        401,
        'unauthenticated',
        'Sign in first: run grantd portal in a terminal.',
      );
    }
    if (method !== 'GET' && method !== 'HEAD') this.#checkStateChange(req, session);

    const match = matchRoute(method === 'HEAD' ? 'GET' : method, url.pathname);
    if (!match) throw new PortalError(404, 'not_found', `No API route ${url.pathname}.`);
    if ('methods' in match) {
      res.setHeader('Allow', match.methods.join(', '));
      throw new PortalError(405, 'method_not_allowed', `Use ${match.methods.join(' or ')}.`);
    }
    let body: Promise<Record<string, unknown>> | undefined;
    const call: ApiCall = {
      deps: this.#deps,
      params: match.params,
      query: url.searchParams,
      body: () => (body ??= readJsonBody(req)),
      res,
      signOut: () => this.#signOut(req, res),
    };
    const result = await match.route.run(call);
    if (result === STREAMED) return;
    if (result instanceof Reply) return sendJson(res, result.status, result.body);
    sendJson(res, 200, result);
  }

  /** Origin first (a foreign page), then the CSRF token (a page without it). */
  #checkStateChange(req: IncomingMessage, session: Session): void {
    if (!isSameOrigin(req)) {
      this.#deps.logger.warn(
        { origin: req.headers.origin ?? null, path: pathOf(req) },
        'portal: refused a state change from another origin',
      );
      throw new PortalError(
        403,
        'origin_refused',
        "The request did not come from the portal's own pages.",
      );
    }
    const sent = req.headers[CSRF_HEADER];
    if (!isCsrfValid(session, typeof sent === 'string' ? sent : undefined)) {
      this.#deps.logger.warn(
        { path: pathOf(req) },
        'portal: refused a state change without its CSRF token',
      );
      throw new PortalError(
        403,
        'csrf_refused',
        'The CSRF token is missing or wrong; reload the page.',
      );
    }
  }

  /** Redeems a one-time link: a session cookie and on to the overview, or a page saying why not. */
  #login(req: IncomingMessage, res: ServerResponse, query: URLSearchParams): void {
    const token = query.get('token');
    if (!token) return send(res, 400, HTML, NOTICES.missing);
    const verdict = this.#logins.redeem(token);
    if (verdict !== 'ok') {
      this.#deps.logger.info({ verdict }, 'portal: login link refused');
      const refusal = LOGIN_REFUSALS[verdict];
      return send(res, refusal.status, HTML, refusal.page);
    }
    const { id } = this.#sessions.create();
    this.#deps.logger.info('portal: signed in with a login link');
    send(res, 303, HTML, '<!doctype html><a href="/">Continue to the portal</a>\n', {
      Location: '/',
      'Set-Cookie': sessionCookie(cookieName(req.socket.localPort ?? 0), id),
    });
  }

  #session(req: IncomingMessage): Session | undefined {
    return this.#sessions.get(readCookie(req, cookieName(req.socket.localPort ?? 0)));
  }

  #signOut(req: IncomingMessage, res: ServerResponse): void {
    const name = cookieName(req.socket.localPort ?? 0);
    const id = readCookie(req, name);
    if (id) this.#sessions.delete(id);
    res.setHeader('Set-Cookie', clearedCookie(name));
  }

  #adminHost(): string {
    return parseHostPort(this.#deps.config().admin)?.host ?? '127.0.0.1';
  }

  /** The providers of the config in force, built again only after a reload. */
  #providers(): ProviderRegistry {
    const config = this.#deps.config();
    if (this.#registry?.config !== config) {
      this.#registry = { config, providers: new ProviderRegistry(config.providers) };
    }
    return this.#registry.providers;
  }
}

function pathOf(req: IncomingMessage): string {
  return (req.url ?? '/').split('?')[0] as string;
}
