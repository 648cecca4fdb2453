import { GrantdError } from '../../errors.js';
import type { Provider } from '../../providers/registry.js';
import { buildAuthorizeUrl, usesPkce } from '../authorize-url.js';
import { createPkce, createState } from '../pkce.js';
import type { TokenClient, TokenSet } from '../token-client.js';
import { openInBrowser } from './browser.js';
import { ConnectPortError, LoopbackListener, type Callback } from './loopback.js';
import { errorPage, type Page } from './pages.js';

export interface AuthorizationOptions {
  /** A provider with an OAuth block and a client. */
  provider: Provider;
  params: Readonly<Record<string, string>>;
  scopes: readonly string[];
  /** Try the platform's browser opener; the URL is printed either way. */
  openBrowser: boolean;
  timeoutSeconds: number;
  /** The loopback port for the redirect; 0 picks a free one. */
  redirectPort?: number;
  tokens: TokenClient;
  /** A line for the person at the terminal (stderr in the CLI). */
  say: (line: string) => void;
  /** Replaces the platform opener; for tests. */
  opener?: (url: string) => Promise<boolean>;
}

/** A finished consent: the tokens, the redirect's query, and the browser still waiting. */
export interface Authorization {
  tokens: TokenSet;
  callback: URLSearchParams;
  /** Answers the waiting browser tab and closes the listener. */
  finish(page: Page): Promise<void>;
}

/** Why a connect ended without tokens; the message is for the terminal and safe to print. */
export class ConnectError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ConnectError';
  }
}

/**
 * The authorization-code flow of a native app (RFC 8252): a loopback
 * redirect, a random `state`, PKCE S256 where the provider takes it, the
 * browser sent to the authorize URL, and the code traded for tokens. The
 * browser tab waits on the answer until the caller calls `finish`, so its
 * page can say whether the grant was really stored.
 */
export async function authorize(options: AuthorizationOptions): Promise<Authorization> {
  const { provider, say } = options;
  const client = provider.client;
  if (!client) throw new ConnectError(`${provider.spec.id} has no OAuth client configured`);
  let listener: LoopbackListener;
  try {
    listener = await LoopbackListener.open(options.redirectPort ?? 0);
  } catch (error) {
    if (error instanceof ConnectPortError) throw new ConnectError(error.message);
    throw error;
  }
  try {
    const state = createState();
    const pkce = usesPkce(provider.spec) ? createPkce() : undefined;
    const url = buildAuthorizeUrl(provider.spec, {
      clientId: client.id,
      redirectUri: listener.redirectUri,
      state,
      scopes: options.scopes,
      params: options.params,
      pkce,
    });
    await showUrl(url.toString(), options);

    const callback = await listener.waitForCallback(state, options.timeoutSeconds, (why) =>
      say(`Ignored a redirect with ${why}; still waiting.`),
    );
    const finish = async (page: Page) => {
      await callback.finish(page);
      await listener.close();
    };
    if (callback.kind === 'error') await refuseCallback(callback, provider, finish);

    const code = callback.kind === 'code' ? callback.code : '';
    say('Approved; fetching the tokens.');
    let tokens: TokenSet;
    try {
      tokens = await options.tokens.exchangeCode(provider, options.params, {
        code,
        redirectUri: listener.redirectUri,
        codeVerifier: pkce?.verifier,
      });
    } catch (error) {
      await finish(
        errorPage(502, 'Connecting failed', `${provider.spec.name} did not issue a token.`),
      );
      throw new ConnectError(`the token exchange failed: ${reasonOf(error)}`, { cause: error });
    }
    return {
      tokens,
      callback: callback.kind === 'code' ? callback.query : new URLSearchParams(),
      finish,
    };
  } catch (error) {
    await listener.close();
    throw error;
  }
}

async function showUrl(url: string, options: AuthorizationOptions): Promise<void> {
  const name = options.provider.spec.name;
  const wait = `grantd waits ${options.timeoutSeconds} s for the answer`;
  if (options.openBrowser) {
    const opened = await (options.opener ?? openInBrowser)(url);
    if (opened) {
      options.say(
        `Opened your browser to connect ${name} (${wait}). If it did not open, visit:\n\n  ${url}\n`,
      );
      return;
    }
    options.say('Could not open a browser here.');
  }
  options.say(`Open this URL in a browser to connect ${name} (${wait}):\n\n  ${url}\n`);
}

/** A redirect that carries `error`: the user said no, or the provider refused. */
async function refuseCallback(
  callback: Extract<Callback, { kind: 'error' }>,
  provider: Provider,
  finish: (page: Page) => Promise<void>,
): Promise<never> {
  const name = provider.spec.name;
  if (callback.error === 'access_denied') {
    await finish(errorPage(400, 'Access was denied', `${name} was not connected.`));
    throw new ConnectError(`access to ${name} was denied in the browser; nothing was stored`);
  }
  const detail = callback.description === undefined ? '' : `: ${callback.description}`;
  await finish(
    errorPage(400, `${name} refused the request`, `${name} answered ${callback.error}${detail}.`),
  );
  throw new ConnectError(`${name} answered ${callback.error}${detail}`);
}

/** A token call's failure as a short phrase: its label, never a body. */
export function reasonOf(error: unknown): string {
  if (error instanceof GrantdError) {
    const cause = error.cause instanceof Error ? error.cause.message : undefined;
    if (error.code === 'grant_needs_reauth') {
      return `${cause ?? 'the provider refused the code'} (the code may have expired; try again)`;
    }
    return cause ?? error.message;
  }
  return error instanceof Error ? error.message : String(error);
}
