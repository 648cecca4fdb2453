/** Apps and keys: create and delete apps; mint (shown once) and revoke keys. */
export const APPS_BODY = `<h1>Apps and keys</h1>
<p id="status" class="status" role="status" aria-live="polite"></p>

<section id="minted" class="minted" hidden tabindex="-1" aria-labelledby="minted-h">
<h2 id="minted-h">New key for <span id="minted-app"></span></h2>
<p class="warn"><strong>Shown once.</strong> Copy the key now: grantd keeps only its hash, and this page
forgets it when you press Done or leave.</p>
<label for="minted-key">Key</label>
<div class="copy-row">
  <input id="minted-key" readonly spellcheck="false" autocomplete="off">
  <button type="button" data-copy="minted-key">Copy key</button>
</div>
<label for="minted-proxy">Proxy setting for the app</label>
<div class="copy-row">
  <input id="minted-proxy" readonly spellcheck="false" autocomplete="off">
  <button type="button" data-copy="minted-proxy">Copy line</button>
</div>
<p class="hint">Give the app this <code>HTTPS_PROXY</code>, and the CA from the overview to trust.
The user name <code>_</code> names no grant; put a grant's alias there to select it without a header.</p>
<button type="button" id="minted-done">Done, I stored it</button>
</section>

<section aria-labelledby="create-h">
<h2 id="create-h">Create an app</h2>
<form id="create-app" class="row-form" novalidate>
  <div class="field">
    <label for="app-name">App name</label>
    <input id="app-name" name="name" required maxlength="63" autocomplete="off" spellcheck="false"
      pattern="[a-z0-9][a-z0-9_.\\-]{0,62}" aria-describedby="app-name-hint">
  </div>
  <button type="submit">Create app</button>
  <p id="app-name-hint" class="hint">One per service or agent: lower-case letters, digits, <code>.</code>, <code>_</code> and <code>-</code>.</p>
</form>
</section>

<section aria-labelledby="apps-h">
<h2 id="apps-h">Apps</h2>
<div class="table-wrap">
<table id="apps-table">
  <thead><tr>
    <th scope="col">Name</th><th scope="col">Active keys</th><th scope="col">Grants</th>
    <th scope="col">Last use</th><th scope="col">Created</th><th scope="col">ID</th>
    <th scope="col"><span class="sr-only">Actions</span></th>
  </tr></thead>
  <tbody></tbody>
</table>
</div>
<p id="apps-empty" class="quiet-text" hidden>No apps yet: create one above.</p>
</section>

<section aria-labelledby="keys-h">
<h2 id="keys-h">Keys</h2>
<p class="hint">Keys are listed by id; the keys themselves were shown once, at mint. Revoking one stops it on the next request.</p>
<div class="table-wrap">
<table id="keys-table">
  <thead><tr>
    <th scope="col">ID</th><th scope="col">App</th><th scope="col">Created</th>
    <th scope="col">Last use</th><th scope="col">Status</th>
    <th scope="col"><span class="sr-only">Actions</span></th>
  </tr></thead>
  <tbody></tbody>
</table>
</div>
<p id="keys-empty" class="quiet-text" hidden>No keys yet: mint one for an app.</p>
</section>
`;
