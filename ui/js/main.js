import { apiKey } from './api.js';
import { h, fill } from './dom.js';
import { runsView } from './runs.js';
import { runView } from './run.js';
import { datasetsView, datasetView } from './datasets.js';

const view = document.getElementById('view');
const dialog = document.getElementById('key-dialog');
const keyInput = document.getElementById('key-input');

/** Routes of the page (hash-based, so the service serves one file): each returns a cleanup. */
const ROUTES = [
  [/^#\/runs\/(run_[0-9a-f]{24})$/, (m, ctx) => runView(view, m[1], ctx)],
  [/^#\/datasets\/(ds_[0-9a-f]{24})$/, (m, ctx) => datasetView(view, m[1], ctx)],
  [/^#\/datasets$/, (_m, ctx) => datasetsView(view, ctx)],
  [/^#\/runs$/, (_m, ctx) => runsView(view, ctx)],
];

let current;
function route() {
  current?.abort();
  current = new AbortController();
  const hash = location.hash.split('?')[0] || '#/runs';
  for (const a of document.querySelectorAll('[data-nav]')) a.classList.toggle('active', hash.startsWith(`#/${a.dataset.nav}`));
  const ctx = { signal: current.signal, query: new URLSearchParams(location.hash.split('?')[1] ?? '') };
  for (const [pattern, render] of ROUTES) {
    const m = pattern.exec(hash);
    if (m) return render(m, ctx).catch((err) => showError(err, ctx.signal));
  }
  location.hash = '#/runs';
}

function showError(err, signal) {
  if (signal.aborted) return;
  fill(view, h('div', { class: 'error', role: 'alert' }, h('strong', { text: err.status ? `HTTP ${err.status}: ` : 'Error: ' }), err.message));
}

function askKey() {
  keyInput.value = apiKey.get();
  if (!dialog.open) dialog.showModal();
}

dialog.addEventListener('close', () => {
  if (dialog.returnValue !== 'save') return;
  apiKey.set(keyInput.value.trim());
  route();
});
document.getElementById('key-button').addEventListener('click', askKey);
window.addEventListener('quarry:unauthorized', askKey);
window.addEventListener('hashchange', route);
route();
