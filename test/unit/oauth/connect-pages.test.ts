import { describe, expect, it } from 'vitest';

import { openerFor } from '../../../src/oauth/connect/browser.js';
import { errorPage, renderPage, successPage } from '../../../src/oauth/connect/pages.js';

describe('connect pages', () => {
  it('escapes text from the redirect', () => {
    const html = renderPage(
      errorPage(400, 'Refused', 'Acme said <script>alert(1)</script> & "more"'),
    );
    expect(html).not.toContain('<script>');
    expect(html).toContain('&#60;script&#62;');
    expect(html).toContain('&#38; &#34;more&#34;');
  });

  it('sends the person back to the terminal on success', () => {
    const html = renderPage(successPage('Acme'));
    expect(html).toContain('<h1>Acme is connected</h1>');
    expect(html).toContain('return to the terminal');
  });
});

describe('openerFor', () => {
  const url = 'https://auth.example/authorize?a=1&b=%41%PATH%';

  it('uses open on macOS and xdg-open on Linux with a display', () => {
    expect(openerFor(url, 'darwin', {})).toEqual({ file: 'open', args: [url] });
    expect(openerFor(url, 'linux', { DISPLAY: ':0' })).toEqual({ file: 'xdg-open', args: [url] });
    expect(openerFor(url, 'linux', { WAYLAND_DISPLAY: 'wayland-0' })?.file).toBe('xdg-open');
  });

  it('tries nothing on Linux without a display, where xdg-open would take over the terminal', () => {
    expect(openerFor(url, 'linux', {})).toBeUndefined();
  });

  it('hands Windows the URL without cmd.exe, which would split it at &', () => {
    expect(openerFor(url, 'win32', {})).toEqual({
      file: 'rundll32',
      args: ['url.dll,FileProtocolHandler', url],
    });
  });
});
