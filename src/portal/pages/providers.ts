/** Providers: the built-in catalog and the config's own, and which have an OAuth client. */
export const PROVIDERS_BODY = `<h1>Providers</h1>
<p>Built-in providers and the ones the config adds. OAuth providers need a client registered with
the provider (<code>providers.ID.client_id</code> and <code>client_secret</code> in the config;
<code>kill -HUP</code> the daemon to reload). Secrets are never shown here.</p>
<form id="provider-filter" class="row-form" role="search" aria-label="Filter providers" novalidate>
  <div class="field"><label for="p-search">Search</label>
    <input id="p-search" type="search" spellcheck="false" placeholder="name, id or host"></div>
  <label class="check"><input type="checkbox" id="p-custom"> Only providers from the config</label>
  <label class="check"><input type="checkbox" id="p-used"> Only providers with grants</label>
</form>
<p id="status" class="status" role="status" aria-live="polite"></p>
<div class="table-wrap">
<table id="providers-table">
  <thead><tr>
    <th scope="col">Provider</th><th scope="col">Source</th><th scope="col">Auth</th>
    <th scope="col">OAuth client</th><th scope="col">Hosts</th><th scope="col">Injected as</th>
    <th scope="col" class="num">Grants</th>
  </tr></thead>
  <tbody></tbody>
</table>
</div>
`;
