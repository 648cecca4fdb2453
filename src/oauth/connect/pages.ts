/** A page the loopback listener answers the browser with. */
export interface Page {
  status: number;
  title: string;
  /** Plain sentences; escaped before they go in the HTML. */
  lines: string[];
}

/** The answer to a completed connect: it only tells the person where to look next. */
export function successPage(providerName: string): Page {
  return {
    status: 200,
    title: `${providerName} is connected`,
    lines: ['grantd has stored the grant.', 'You can close this tab and return to the terminal.'],
  };
}

export function errorPage(status: number, title: string, ...lines: string[]): Page {
  return {
    status,
    title,
    lines: [...lines, 'Return to the terminal for details; run grantd connect again to retry.'],
  };
}

/**
 * The page as HTML. Nothing in it comes from a token or secret; text from
 * the redirect (a provider's error description) is escaped like the rest.
 */
export function renderPage(page: Page): string {
  const body = page.lines.map((line) => `<p>${escapeHtml(line)}</p>`).join('\n');
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>grantd: ${escapeHtml(page.title)}</title>
<style>body{font:16px/1.5 system-ui,sans-serif;max-width:36rem;margin:4rem auto;padding:0 1rem}</style>
</head>
<body>
<h1>${escapeHtml(page.title)}</h1>
${body}
</body>
</html>
`;
}

/** Headers for every page: no caching, no scripts, no referrer carrying the code onwards. */
export const PAGE_HEADERS = {
  'content-type': 'text/html; charset=utf-8',
  'cache-control': 'no-store',
  'content-security-policy': "default-src 'none'; style-src 'unsafe-inline'",
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
  'x-content-type-options': 'nosniff',
  connection: 'close',
} as const;

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
