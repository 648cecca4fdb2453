import { APPS_JS } from './apps-js.js';
import { AUDIT_JS } from './audit-js.js';
import { CORE_JS } from './core-js.js';
import { GRANTS_JS } from './grants-js.js';
import { OVERVIEW_JS } from './overview-js.js';
import { PROVIDERS_JS } from './providers-js.js';
import { ICON_SVG, PORTAL_CSS } from './styles.js';

/** A static file the portal serves. */
export interface Asset {
  type: string;
  body: Buffer;
}

const JS = 'text/javascript; charset=utf-8';

/**
 * The portal's static files by URL path. They are TypeScript string modules,
 * so `tsc` carries them into dist/ and nothing is read from disk or the
 * network at run time.
 */
export const ASSETS: ReadonlyMap<string, Asset> = new Map(
  (
    [
      ['/assets/portal.css', 'text/css; charset=utf-8', PORTAL_CSS],
      ['/assets/icon.svg', 'image/svg+xml', ICON_SVG],
      ['/assets/core.js', JS, CORE_JS],
      ['/assets/overview.js', JS, OVERVIEW_JS],
      ['/assets/apps.js', JS, APPS_JS],
      ['/assets/grants.js', JS, GRANTS_JS],
      ['/assets/audit.js', JS, AUDIT_JS],
      ['/assets/providers.js', JS, PROVIDERS_JS],
    ] as const
  ).map(([path, type, text]) => [path, { type, body: Buffer.from(text, 'utf8') }]),
);
