import { api } from './api.js';
import { h, fill, fmt, statusBadge } from './dom.js';

const STATUSES = ['', 'queued', 'running', 'succeeded', 'failed', 'canceled'];
const REFRESH_MS = 3000;

/** The runs list: newest first, filtered by status and kind, refreshed while the page is open. */
export async function runsView(root, { signal, query }) {
  const status = query.get('status') ?? '';
  const kind = query.get('kind') ?? '';
  const before = query.get('before') ?? '';
  const table = h('tbody');
  const more = h('div', { class: 'pager' });
  const link = (params) => `#/runs?${new URLSearchParams(Object.entries({ status, kind, before: '', ...params }).filter(([, v]) => v))}`;
  fill(
    root,
    h('section', { class: 'head' },
      h('h1', { text: 'Runs' }),
      h('div', { class: 'filters' },
        ...STATUSES.map((s) => h('a', { href: link({ status: s }), class: s === status ? 'chip active' : 'chip', text: s || 'all' })),
      ),
    ),
    h('table', { class: 'list', id: 'runs' },
      h('thead', {}, h('tr', {}, ...['Run', 'Kind', 'Status', 'Progress', 'Records', 'Cost', 'Created'].map((t) => h('th', { text: t })))),
      table,
    ),
    more,
  );
  const load = async () => {
    const params = new URLSearchParams(Object.entries({ status, kind, before, limit: '50' }).filter(([, v]) => v));
    const page = await api(`/v1/runs?${params}`, { signal });
    if (signal.aborted) return;
    fill(table, page.runs.length ? page.runs.map(runRow) : h('tr', {}, h('td', { colspan: 7, class: 'muted', text: 'No runs yet. Start one with the CLI (quarry generate …) or POST /v1/generate.' })));
    const next = page.runs.length === 50 ? page.runs[page.runs.length - 1].id : null;
    fill(more, before ? h('a', { href: link({}), text: '← newest' }) : null, next ? h('a', { href: link({ before: next }), text: 'older →' }) : null);
  };
  await load();
  const timer = setInterval(() => load().catch(() => {}), REFRESH_MS);
  signal.addEventListener('abort', () => clearInterval(timer));
}

function runRow(run) {
  const p = run.progress;
  const share = p.total ? Math.min(1, (p.done + p.failed) / p.total) : 0;
  return h('tr', { 'data-run': run.id },
    h('td', {}, h('a', { href: `#/runs/${run.id}`, text: run.id })),
    h('td', { text: run.kind }),
    h('td', {}, statusBadge(run.status)),
    h('td', {}, h('progress', { max: 1, value: share, title: `${p.done} done, ${p.failed} failed of ${p.total} tasks` })),
    h('td', { class: 'num', text: fmt.int(p.records) }),
    h('td', { class: 'num', text: fmt.usd(p.cost_usd) }),
    h('td', { text: fmt.when(run.created_at) }),
  );
}
