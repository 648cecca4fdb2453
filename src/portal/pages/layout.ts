/** The portal's pages, by path: the title, nav label and script of each. */
export const PAGES = {
  '/': { id: 'overview', title: 'Overview' },
  '/apps': { id: 'apps', title: 'Apps and keys' },
  '/grants': { id: 'grants', title: 'Grants' },
  '/audit': { id: 'audit', title: 'Audit log' },
  '/providers': { id: 'providers', title: 'Providers' },
} as const;

export type PagePath = keyof typeof PAGES;
export type PageId = (typeof PAGES)[PagePath]['id'];

/** Escapes text for HTML content and attribute values. */
export function escapeHtml(text: string): string {
  return text
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');
}

function head(title: string, extra = ''): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light">
<title>${escapeHtml(title)} · grantd</title>
<link rel="icon" href="/assets/icon.svg" type="image/svg+xml">
<link rel="stylesheet" href="/assets/portal.css">
${extra}</head>`;
}

function nav(current: PagePath): string {
  const links = Object.entries(PAGES).map(([path, page]) => {
    const here = path === current ? ' aria-current="page"' : '';
    return `<li><a href="${path}"${here}>${page.title}</a></li>`;
  });
  return `<header class="top">
<a class="skip" href="#main">Skip to content</a>
<span class="brand" aria-hidden="true">grantd</span>
<nav aria-label="Portal"><ul>${links.join('')}</ul></nav>
<button type="button" id="logout" class="quiet">Sign out</button>
</header>`;
}

/**
 * A signed-in page: the shell, the page's own markup, and its script. The
 * CSRF token rides in a meta tag: only a same-origin script can read it.
 */
export function renderPage(path: PagePath, csrf: string, body: string): string {
  const page = PAGES[path];
  const scripts = `<meta name="grantd-csrf" content="${escapeHtml(csrf)}">
<link rel="modulepreload" href="/assets/core.js">
<script type="module" src="/assets/${page.id}.js"></script>
`;
  return `${head(page.title, scripts)}
<body data-page="${page.id}">
${nav(path)}
<main id="main" tabindex="-1">
${body}
</main>
</body>
</html>
`;
}

/** A page for the signed-out: why, and what to run. */
export function renderNotice(title: string, paragraphs: string[]): string {
  const text = paragraphs.map((p) => `<p>${p}</p>`).join('\n');
  return `${head(title)}
<body class="notice">
<main id="main">
<h1>${escapeHtml(title)}</h1>
${text}
</main>
</body>
</html>
`;
}

const HOW_TO_SIGN_IN =
  'Run <code>grantd portal</code> in a terminal on this machine: it opens the portal with a new one-time link (<code>grantd portal --no-browser</code> prints the link instead).';

export const NOTICES = {
  signedOut: renderNotice('Sign in to grantd', [
    'The grantd portal needs a one-time login link.',
    HOW_TO_SIGN_IN,
  ]),
  used: renderNotice('This login link was already used', [
    'Each link from <code>grantd portal</code> works once, so a copied or leaked link is useless.',
    HOW_TO_SIGN_IN,
    'Already signed in in this browser? <a href="/">Go to the portal</a>.',
  ]),
  expired: renderNotice('This login link has expired', [
    'Links from <code>grantd portal</code> work for 5 minutes.',
    HOW_TO_SIGN_IN,
  ]),
  unknown: renderNotice('This login link is not valid', [
    'grantd does not know this link; it may be mistyped, or from another grantd data folder.',
    HOW_TO_SIGN_IN,
  ]),
  missing: renderNotice('This login link has no token', [
    'Open the whole link as <code>grantd portal</code> printed it, including <code>?token=…</code>.',
    HOW_TO_SIGN_IN,
  ]),
  notFound: renderNotice('Not found', [
    'There is no such page. <a href="/">Go to the overview</a>.',
  ]),
};
