import { auditSeries } from '../audit-view.js';
import { send } from '../http.js';
import { grantJson } from './grants.js';
import { proxyHostPort, STREAMED, type ApiCall, type ApiRoute } from './context.js';

/** The overview: traffic over the last hour and day, grants to reconnect, the CA. */
export const OVERVIEW_ROUTES: ApiRoute[] = [
  { method: 'GET', path: '/api/overview', run: overview },
  { method: 'GET', path: '/api/ca.pem', run: caCertificate },
];

const HOUR = 3_600_000;

function overview({ deps }: ApiCall) {
  const { store } = deps;
  deps.audit.flush();
  const now = Date.now();
  const hour = auditSeries(store.db, now, HOUR, 5 * 60_000);
  const day = auditSeries(store.db, now, 24 * HOUR, HOUR);
  const providers = deps.providers();
  const grants = store.grants.list();
  const config = deps.config();
  return {
    now: new Date(now).toISOString(),
    totals: { hour: totals(hour), day: totals(day) },
    series: { hour, day },
    reconnect: grants
      .filter((grant) => grant.status === 'needs_reauth')
      .map((grant) => grantJson(grant, providers.get(grant.provider))),
    counts: {
      apps: store.apps.list().length,
      keys: store.keys.list().filter((key) => key.revokedAt === undefined).length,
      grants: grants.length,
    },
    ca: {
      fingerprint256: deps.authority.fingerprint256,
      path: deps.authority.paths.cert,
      bundle_path: deps.trustBundlePath,
    },
    daemon: {
      proxy: proxyHostPort(deps),
      vault: deps.vault.kind,
      home: config.home,
      auth_required: config.auth.required,
    },
  };
}

function totals(series: { requests: number[]; errors: number[]; refused: number[] }) {
  const sum = (values: number[]) => values.reduce((a, b) => a + b, 0);
  return {
    requests: sum(series.requests),
    errors: sum(series.errors),
    refused: sum(series.refused),
  };
}

/** The CA certificate (public by nature), to import into a browser or OS trust store. */
function caCertificate({ deps, res }: ApiCall) {
  send(res, 200, 'application/x-pem-file', deps.authority.certPem, {
    'Content-Disposition': 'attachment; filename="grantd-ca.pem"',
  });
  return STREAMED;
}
