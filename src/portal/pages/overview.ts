/** The overview: traffic, grants needing reconnect, the CA and how to trust it. */
export const OVERVIEW_BODY = `<h1>Overview</h1>
<p id="status" class="status" role="status" aria-live="polite"></p>

<section aria-labelledby="traffic-h">
<h2 id="traffic-h">Traffic</h2>
<div class="cards">
  <div class="card">
    <h3>Last hour</h3>
    <p class="big"><span id="hour-requests">–</span> <span class="unit">requests</span></p>
    <p><span id="hour-errors">–</span> errors, <span id="hour-refused">–</span> refused by grantd</p>
  </div>
  <div class="card">
    <h3>Last 24 hours</h3>
    <p class="big"><span id="day-requests">–</span> <span class="unit">requests</span></p>
    <p><span id="day-errors">–</span> errors, <span id="day-refused">–</span> refused by grantd</p>
  </div>
  <div class="card">
    <h3>Set up</h3>
    <p class="big"><span id="count-apps">–</span> <span class="unit">apps</span></p>
    <p><span id="count-keys">–</span> active keys, <span id="count-grants">–</span> grants</p>
  </div>
</div>
<div class="charts">
  <figure class="chart">
    <figcaption>Requests per 5 minutes, last hour</figcaption>
    <div id="chart-hour" class="chart-box"></div>
  </figure>
  <figure class="chart">
    <figcaption>Requests per hour, last 24 hours</figcaption>
    <div id="chart-day" class="chart-box"></div>
  </figure>
</div>
<p class="legend"><span class="swatch swatch-ok" aria-hidden="true"></span> requests
  <span class="swatch swatch-err" aria-hidden="true"></span> errors: 4xx, 5xx or no answer
  (<a href="/audit?status=4xx">see 4xx</a>, <a href="/audit?status=5xx">5xx</a>)</p>
</section>

<section aria-labelledby="reconnect-h">
<h2 id="reconnect-h">Grants needing reconnect</h2>
<p id="reconnect-none" class="quiet-text">None: every grant works.</p>
<ul id="reconnect" class="plain"></ul>
</section>

<section aria-labelledby="ca-h">
<h2 id="ca-h">Local certificate authority</h2>
<p>grantd reads the calls it injects into by terminating TLS with certificates from its own CA.
Programs going through it must trust that CA; nothing else on this machine needs to.</p>
<dl class="facts">
  <dt>SHA-256 fingerprint</dt><dd><code id="ca-fingerprint" class="wrap">–</code></dd>
  <dt>Certificate</dt><dd><code id="ca-path" class="wrap">–</code> <a href="/api/ca.pem" download>Download grantd-ca.pem</a></dd>
  <dt>System roots and the CA</dt><dd><code id="ca-bundle" class="wrap">–</code></dd>
</dl>
<h3>How to trust it</h3>
<ul class="steps">
  <li><code>grantd run --app NAME -- CMD</code>, or <code>eval "$(grantd env --app NAME)"</code> in a shell,
    sets <code>NODE_EXTRA_CA_CERTS</code>, <code>SSL_CERT_FILE</code>, <code>REQUESTS_CA_BUNDLE</code> and
    friends for that program only. This is the narrowest way.</li>
  <li>curl: <code>curl --cacert "$(grantd ca path)" …</code></li>
  <li>Debian, Ubuntu: <code>sudo cp "$(grantd ca path)" /usr/local/share/ca-certificates/grantd.crt &amp;&amp; sudo update-ca-certificates</code></li>
  <li>macOS: <code>sudo security add-trusted-cert -d -r trustRoot -k /Library/Keychains/System.keychain "$(grantd ca path)"</code></li>
  <li>Windows: <code>certutil -user -addstore Root grantd-ca.pem</code></li>
  <li>Before trusting a copy, compare its fingerprint with the one above:
    <code>openssl x509 -noout -fingerprint -sha256 -in grantd-ca.pem</code></li>
</ul>
</section>

<section aria-labelledby="daemon-h">
<h2 id="daemon-h">This grantd</h2>
<dl class="facts">
  <dt>Proxy</dt><dd><code id="daemon-proxy">–</code></dd>
  <dt>App keys</dt><dd id="daemon-auth">–</dd>
  <dt>Vault</dt><dd id="daemon-vault">–</dd>
  <dt>Data folder</dt><dd><code id="daemon-home" class="wrap">–</code></dd>
</dl>
</section>
`;
