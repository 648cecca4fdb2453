/** The portal's one stylesheet. Colours keep text at 4.5:1 or more against its background. */
export const PORTAL_CSS = String.raw`
:root {
  --fg: #1b1f24;
  --muted: #4f5862;
  --bg: #ffffff;
  --panel: #f4f6f8;
  --line: #c9d1d9;
  --accent: #0b57c2;
  --accent-fg: #ffffff;
  --ok: #0f6b33;
  --ok-bg: #e3f4e8;
  --err: #a4161a;
  --err-bg: #fbe9e9;
  --warn-bg: #fff5d6;
  --warn-line: #b7860b;
  --focus: #9a3412;
  --bar: #5b7fb3;
  --bar-err: #c0392b;
  font-family: system-ui, -apple-system, "Segoe UI", Roboto, "Noto Sans", sans-serif;
  font-size: 16px;
  line-height: 1.45;
  color: var(--fg);
  background: var(--bg);
}
* { box-sizing: border-box; }
[hidden] { display: none !important; }
body { margin: 0; }
a { color: var(--accent); }
code, input[readonly], .mono { font-family: ui-monospace, "SFMono-Regular", Menlo, Consolas, monospace; font-size: 0.92em; }
.wrap { overflow-wrap: anywhere; word-break: break-word; }
:focus-visible { outline: 3px solid var(--focus); outline-offset: 2px; }
.sr-only { position: absolute; width: 1px; height: 1px; padding: 0; margin: -1px; overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap; border: 0; }
.top :focus-visible { outline-color: #ffd166; }
.skip { position: absolute; left: -10000px; top: 0; background: var(--fg); color: var(--bg); padding: 0.5rem 1rem; }
.skip:focus { left: 0.5rem; z-index: 10; }

.top { display: flex; flex-wrap: wrap; align-items: center; gap: 0.5rem 1.25rem; padding: 0.6rem 1.25rem; background: #16202e; color: #ffffff; }
.brand { font-weight: 700; letter-spacing: 0.02em; font-size: 1.1rem; }
.top nav ul { display: flex; flex-wrap: wrap; gap: 0.25rem 0.9rem; list-style: none; margin: 0; padding: 0; }
.top nav a { color: #e8eef6; text-decoration: none; padding: 0.2rem 0; border-bottom: 2px solid transparent; }
.top nav a:hover { border-bottom-color: #8fb3e8; }
.top nav a[aria-current="page"] { color: #ffffff; font-weight: 600; border-bottom-color: #ffffff; }
.top #logout { margin-left: auto; color: #e8eef6; border-color: #6b7b90; background: transparent; }

main { max-width: 75rem; margin: 0 auto; padding: 1rem 1.25rem 3rem; }
main:focus { outline: none; }
h1 { font-size: 1.6rem; margin: 0.5rem 0 1rem; }
h2 { font-size: 1.2rem; margin: 2rem 0 0.6rem; }
h3 { font-size: 1rem; margin: 1rem 0 0.4rem; }
section > h2:first-child { margin-top: 1.5rem; }
p { margin: 0.4rem 0 0.8rem; }
.hint, .quiet-text, .unit { color: var(--muted); }
.hint { font-size: 0.9rem; margin: 0.25rem 0; }
.opt { color: var(--muted); font-weight: 400; }

button, .button { font: inherit; padding: 0.45rem 0.9rem; border-radius: 6px; border: 1px solid var(--accent); background: var(--accent); color: var(--accent-fg); cursor: pointer; min-height: 2.5rem; }
button:hover { filter: brightness(1.08); }
button.quiet { background: var(--bg); color: var(--accent); }
button.danger { background: var(--bg); color: var(--err); border-color: var(--err); }
button.small { padding: 0.2rem 0.6rem; min-height: 2rem; font-size: 0.9rem; }
button.link { background: none; border: none; color: var(--accent); padding: 0; min-height: 0; text-decoration: underline; text-align: left; font: inherit; }
button:disabled { opacity: 0.6; cursor: default; }

label { font-weight: 600; display: block; margin: 0 0 0.2rem; }
label.check { font-weight: 400; display: inline-flex; align-items: center; gap: 0.4rem; }
input, select { font: inherit; padding: 0.4rem 0.5rem; border: 1px solid #7d8792; border-radius: 6px; background: var(--bg); color: var(--fg); min-height: 2.5rem; max-width: 100%; }
input[type="checkbox"] { min-height: 0; width: 1.1rem; height: 1.1rem; }
input[readonly] { background: var(--panel); }
.field { display: flex; flex-direction: column; min-width: 0; }
.field input, .field select { width: 100%; }
.field.narrow { max-width: 20rem; margin-bottom: 0.75rem; }
.row-form { display: flex; flex-wrap: wrap; align-items: flex-end; gap: 0.75rem; }
.row-form .hint { flex-basis: 100%; }
.grid-form { display: grid; grid-template-columns: repeat(auto-fill, minmax(15rem, 1fr)); gap: 0.75rem 1rem; align-items: start; }
.grid-form .wide { grid-column: 1 / -1; }
.params { display: grid; grid-template-columns: repeat(auto-fill, minmax(15rem, 1fr)); gap: 0.75rem 1rem; }
.params:empty { display: none; }
.filters { display: grid; grid-template-columns: repeat(auto-fill, minmax(11rem, 1fr)); gap: 0.6rem 0.9rem; align-items: end; background: var(--panel); padding: 0.9rem; border-radius: 8px; }
.filters .actions { grid-column: 1 / -1; display: flex; gap: 0.5rem; flex-wrap: wrap; }
.toolbar { display: flex; flex-wrap: wrap; justify-content: space-between; gap: 0.5rem 1.5rem; margin: 0.9rem 0 0.3rem; }
.exports a { margin-left: 0.4rem; }
.copy-row { display: flex; gap: 0.5rem; margin-bottom: 0.6rem; }
.copy-row input { flex: 1; min-width: 0; }

.status { min-height: 1.5rem; margin: 0.3rem 0; }
.status.error { color: var(--err); font-weight: 600; }
.status.done { color: var(--ok); }
.warn { background: var(--warn-bg); border-left: 4px solid var(--warn-line); padding: 0.5rem 0.75rem; }
.minted { border: 2px solid var(--warn-line); border-radius: 8px; padding: 0.25rem 1rem 1rem; margin: 1rem 0; }
.minted h2 { margin-top: 0.75rem; }

.table-wrap { position: relative; overflow-x: auto; border: 1px solid var(--line); border-radius: 8px; }
table { border-collapse: collapse; width: 100%; font-size: 0.95rem; }
th, td { text-align: left; padding: 0.45rem 0.6rem; border-bottom: 1px solid var(--line); vertical-align: top; }
thead th { background: var(--panel); font-weight: 600; white-space: nowrap; }
tbody tr:last-child > * { border-bottom: none; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
td.nowrap { white-space: nowrap; }
td.request { overflow-wrap: anywhere; min-width: 12rem; }
td.actions { white-space: nowrap; text-align: right; }
td.actions button + button { margin-left: 0.4rem; }
tr.group td { background: #eef2f7; font-weight: 600; }
tbody th { font-weight: 600; }
tr.fresh td { animation: fresh 2s ease-out; }
@keyframes fresh { from { background: #fff1b8; } to { background: transparent; } }
@media (prefers-reduced-motion: reduce) { tr.fresh td { animation: none; } }

.badge { display: inline-block; padding: 0.05rem 0.5rem; border-radius: 999px; font-size: 0.85rem; font-weight: 600; white-space: nowrap; }
.badge.ok { background: var(--ok-bg); color: var(--ok); }
.badge.err { background: var(--err-bg); color: var(--err); }
.badge.muted { background: var(--panel); color: var(--muted); }

.cards { display: grid; grid-template-columns: repeat(auto-fit, minmax(14rem, 1fr)); gap: 0.9rem; }
.card { background: var(--panel); border-radius: 8px; padding: 0.4rem 1rem 0.6rem; }
.card h3 { margin: 0.5rem 0 0.1rem; font-size: 0.95rem; color: var(--muted); }
.big { font-size: 1.9rem; font-weight: 700; margin: 0; }
.big .unit { font-size: 1rem; font-weight: 400; }
.charts { display: grid; grid-template-columns: repeat(auto-fit, minmax(18rem, 1fr)); gap: 0.9rem; margin-top: 1rem; }
.chart { margin: 0; border: 1px solid var(--line); border-radius: 8px; padding: 0.6rem 0.8rem; }
.chart figcaption { font-weight: 600; font-size: 0.95rem; margin-bottom: 0.4rem; }
.chart svg { display: block; width: 100%; height: 9rem; }
.chart .axis { display: flex; justify-content: space-between; color: var(--muted); font-size: 0.8rem; }
.bar { fill: var(--bar); }
.bar-err { fill: var(--bar-err); }
.baseline { stroke: #7d8792; stroke-width: 1; }
.legend { font-size: 0.9rem; color: var(--muted); }
.swatch { display: inline-block; width: 0.8rem; height: 0.8rem; border-radius: 2px; vertical-align: -0.05rem; margin-left: 0.5rem; }
.swatch-ok { background: var(--bar); }
.swatch-err { background: var(--bar-err); }

.facts { display: grid; grid-template-columns: max-content 1fr; gap: 0.3rem 1rem; margin: 0.5rem 0; }
.facts dt { font-weight: 600; }
.facts dd { margin: 0; min-width: 0; overflow-wrap: anywhere; }
.steps li { margin: 0.35rem 0; overflow-wrap: anywhere; }
ul.plain { list-style: none; padding: 0; }
ul.plain li { padding: 0.5rem 0; border-bottom: 1px solid var(--line); }

dialog { border: 1px solid var(--line); border-radius: 10px; padding: 1rem 1.25rem; max-width: min(44rem, 94vw); width: 100%; }
dialog::backdrop { background: rgba(10, 20, 30, 0.45); }
dialog h2 { margin-top: 0.25rem; }

body.notice main { max-width: 40rem; padding-top: 3rem; }

@media (max-width: 40rem) {
  main { padding: 0.75rem 0.75rem 2rem; }
  .top { padding: 0.5rem 0.75rem; }
  h1 { font-size: 1.35rem; }
  .facts { grid-template-columns: 1fr; }
  .facts dd { margin-bottom: 0.4rem; }
  .copy-row { flex-wrap: wrap; }
  .copy-row input { flex-basis: 100%; }
  .grid-form, .filters { grid-template-columns: 1fr; }
}
`;

/** A small favicon, so browsers do not ask for /favicon.ico. */
export const ICON_SVG = `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32"><rect width="32" height="32" rx="7" fill="#16202e"/><path d="M9 17l5 5 9-11" fill="none" stroke="#8fd19e" stroke-width="3.5" stroke-linecap="round" stroke-linejoin="round"/></svg>`;
