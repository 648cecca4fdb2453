/** Grants: the list, a static credential form, and the command that connects OAuth. */
export const GRANTS_BODY = `<h1>Grants</h1>
<p id="status" class="status" role="status" aria-live="polite"></p>

<section aria-labelledby="list-h">
<h2 id="list-h">Grants by app and provider</h2>
<div class="field narrow">
  <label for="grants-app">Show app</label>
  <select id="grants-app"><option value="">All apps</option></select>
</div>
<div class="table-wrap">
<table id="grants-table">
  <thead><tr>
    <th scope="col">App</th><th scope="col">Provider</th><th scope="col">Alias</th>
    <th scope="col">Principal</th><th scope="col">Kind</th><th scope="col">Status</th>
    <th scope="col">Last use</th><th scope="col">ID</th>
    <th scope="col"><span class="sr-only">Actions</span></th>
  </tr></thead>
  <tbody></tbody>
</table>
</div>
<p id="grants-empty" class="quiet-text" hidden>No grants yet: add a static credential or connect an account below.</p>
</section>

<section aria-labelledby="add-h">
<h2 id="add-h">Add a static credential</h2>
<p class="hint">An API key or token the provider issued. It goes to the vault and is never shown again, here or anywhere.</p>
<form id="add-grant" class="grid-form" autocomplete="off" novalidate>
  <div class="field"><label for="add-app">App</label><select id="add-app" name="app" required></select></div>
  <div class="field"><label for="add-provider">Provider</label><select id="add-provider" name="provider" required></select></div>
  <div class="field"><label for="add-alias">Alias <span class="opt">(optional)</span></label>
    <input id="add-alias" name="alias" maxlength="63" spellcheck="false" aria-describedby="add-alias-hint">
    <p id="add-alias-hint" class="hint">Apps select the grant by it: <code>Grantd-Grant: ALIAS</code>.</p></div>
  <div class="field"><label for="add-principal">Principal <span class="opt">(optional)</span></label>
    <input id="add-principal" name="principal" maxlength="200" aria-describedby="add-principal-hint">
    <p id="add-principal-hint" class="hint">Who the credential acts as, for the audit log.</p></div>
  <div class="field wide"><label for="add-token">Token</label>
    <input id="add-token" name="token" type="password" required spellcheck="false" autocomplete="off"></div>
  <div id="add-params" class="params wide"></div>
  <div class="field"><label for="add-methods">Only methods <span class="opt">(optional)</span></label>
    <input id="add-methods" name="methods" placeholder="GET,HEAD" spellcheck="false"></div>
  <div class="field"><label for="add-paths">Only paths <span class="opt">(optional)</span></label>
    <input id="add-paths" name="paths" placeholder="/v1/models, /v1/chat/**" spellcheck="false"></div>
  <div class="wide"><button type="submit">Add grant</button></div>
</form>
</section>

<section aria-labelledby="connect-h">
<h2 id="connect-h">Connect an OAuth account</h2>
<p>The portal does not run the consent flow itself: run the command below in a terminal on this
machine. It opens the provider's consent page, stores the tokens in the vault and prints the grant
id; the grant then shows up above. Connecting an alias the app already has repairs that grant in place.</p>
<form id="connect" class="grid-form" autocomplete="off" novalidate>
  <div class="field"><label for="connect-app">App</label><select id="connect-app" name="app"></select></div>
  <div class="field"><label for="connect-provider">Provider</label><select id="connect-provider" name="provider"></select></div>
  <div class="field"><label for="connect-alias">Alias <span class="opt">(optional)</span></label>
    <input id="connect-alias" name="alias" maxlength="63" spellcheck="false"></div>
  <div class="field"><label for="connect-scopes">Scopes <span class="opt">(optional)</span></label>
    <input id="connect-scopes" name="scopes" spellcheck="false" placeholder="the provider's defaults"></div>
</form>
<p id="connect-client" class="warn" hidden></p>
<label for="connect-command">Command</label>
<div class="copy-row">
  <input id="connect-command" readonly spellcheck="false">
  <button type="button" data-copy="connect-command">Copy command</button>
</div>
</section>
`;
