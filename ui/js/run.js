import { api, followEvents } from './api.js';
import { timeChart } from './charts.js';
import { h, fill, fmt, statusBadge } from './dom.js';
import { recordSummary, recordView } from './record.js';
import { reportView, stagesView } from './report.js';

/** Records kept on the page as they arrive; the dataset browser has them all. */
const LIVE_RECORDS = 50;
/** A finished run with more records than this is shown without replaying its events (a button replays them). */
const REPLAY_LIMIT = 5000;
const FAILURE_EXAMPLES = 3;

/** A run's live view: progress, charts over time, stages, failures, records as they come, the report. */
export async function runView(root, id, { signal }) {
  let { run } = await api(`/v1/runs/${id}`, { signal });
  const el = {
    head: h('section', { class: 'head' }),
    stats: h('section', { class: 'stats', id: 'stats' }),
    notices: h('div', { class: 'notices' }),
    charts: h('section', { class: 'charts' }),
    stages: h('section', { id: 'stages' }),
    failures: h('section', { id: 'failures' }),
    records: h('ol', { class: 'records', id: 'live-records' }),
    report: h('section', { id: 'report' }),
    state: h('span', { class: 'stream-state', id: 'stream-state' }),
  };
  const charts = {
    records: timeChart(el.charts, 'Records', [{ label: 'records', color: '#2563eb' }, { label: 'failed tasks', color: '#dc2626' }]),
    rate: timeChart(el.charts, 'Records / s', [{ label: 'records/s', color: '#059669' }]),
    cost: timeChart(el.charts, 'Cost (USD)', [{ label: 'spent', color: '#7c3aed' }, { label: 'projected', color: '#a3a3a3' }]),
  };
  signal.addEventListener('abort', () => Object.values(charts).forEach((c) => c.destroy()));
  // Every line starts at zero when the run started, so even a run with one progress event draws one.
  const started = Date.parse(run.started_at ?? run.created_at) / 1000;
  charts.records.push(started, [0, 0]);
  charts.rate.push(started, [0]);
  charts.cost.push(started, [0, null]);
  fill(root, el.head, el.notices, el.stats, el.charts, el.stages, el.failures,
    h('section', {}, h('h2', {}, 'Records as they are committed ', el.state), el.records),
    el.report);

  const failures = new Map();
  let recordCount = 0;
  const render = () => {
    renderHead(el.head, run, signal);
    renderStats(el.stats, run.progress);
    fill(el.stages, run.kind === 'pipeline' ? stagesView(run) : null);
  };
  const refresh = async () => {
    ({ run } = await api(`/v1/runs/${id}`, { signal }));
    render();
    if (['succeeded', 'failed', 'canceled'].includes(run.status)) await showReport();
  };
  const showReport = async () => {
    const doc = await api(`/v1/runs/${id}/report`, { signal });
    for (const f of doc.report.failures ?? []) addFailure(failures, f.error ?? {}, f.key);
    renderFailures(el.failures, failures);
    fill(el.report, h('h2', { text: 'Report' }), reportView(run, doc.report));
  };
  render();

  const onEvents = (events) => {
    let refreshNeeded = false;
    for (const e of events) {
      const t = Date.parse(e.at) / 1000;
      if (e.type === 'progress') {
        run.progress = e.data;
        charts.records.push(t, [e.data.records, e.data.failed]);
        charts.rate.push(t, [e.data.records_per_second]);
        charts.cost.push(t, [e.data.cost_usd, e.data.projected_cost_usd ?? null]);
      } else if (e.type === 'record.created' && e.data.record) {
        recordCount += 1;
        el.records.prepend(liveRecord(e.data.key, e.data.record));
        if (el.records.children.length > LIVE_RECORDS) el.records.lastElementChild.remove();
      } else if (e.type === 'record.failed') {
        addFailure(failures, e.data, e.data.task);
      } else if (e.type === 'provider.throttled' || e.type === 'provider.resumed' || e.type === 'run.budget_exceeded') {
        notice(el.notices, e);
      } else if (e.type.startsWith('stage.') || e.type.startsWith('run.')) {
        refreshNeeded = true;
      }
    }
    el.records.dataset.count = String(recordCount);
    renderStats(el.stats, run.progress);
    renderFailures(el.failures, failures);
    if (refreshNeeded) refresh().catch(() => {});
  };
  const follow = () => followEvents(id, { signal, onEvents, onState: (state) => (el.state.textContent = state) }).catch(() => {});
  const ended = ['succeeded', 'failed', 'canceled'].includes(run.status);
  if (ended) {
    // A finished run's lines end where it ended, even if its events are not replayed.
    const end = Date.parse(run.finished_at ?? run.created_at) / 1000;
    charts.records.push(end, [run.progress.records, run.progress.failed]);
    charts.rate.push(end, [run.progress.records_per_second]);
    charts.cost.push(end, [run.progress.cost_usd, run.progress.projected_cost_usd ?? null]);
    await showReport();
  }
  if (!ended || run.progress.records <= REPLAY_LIMIT) follow();
  else {
    el.state.textContent = `not replayed (${fmt.int(run.progress.records)} records)`;
    el.state.after(h('button', { class: 'ghost', type: 'button', onclick: (ev) => (ev.target.remove(), follow()), text: 'Replay events' }));
  }
}

function renderHead(el, run, signal) {
  const act = (path) => () => api(path, { method: 'POST', body: {}, signal }).catch((err) => alert(err.message));
  const live = ['queued', 'running'].includes(run.status);
  fill(el,
    h('h1', {}, h('span', { class: 'kind', text: run.kind }), ' ', h('code', { text: run.id }), ' ', statusBadge(run.status)),
    h('div', { class: 'actions' },
      live ? h('button', { type: 'button', id: 'cancel', onclick: act(`/v1/runs/${run.id}/cancel`), text: 'Cancel' }) : null,
      ['failed', 'canceled'].includes(run.status) ? h('button', { type: 'button', id: 'retry', onclick: act(`/v1/runs/${run.id}/retry`), text: 'Retry' }) : null,
      run.output?.dataset_id ? h('a', { href: `#/datasets/${run.output.dataset_id}`, text: 'Dataset' }) : null,
      run.output?.rejected_dataset_id ? h('a', { href: `#/datasets/${run.output.rejected_dataset_id}`, text: 'Rejected' }) : null,
      h('a', { href: `/v1/runs/${run.id}/report?format=markdown`, target: '_blank', text: 'Report (markdown)' }),
    ),
    run.error ? h('div', { class: 'error', role: 'alert' }, h('strong', { text: `${run.error.category}: ` }), run.error.message) : null,
    h('p', { class: 'muted', text: `created ${fmt.when(run.created_at)} · started ${fmt.when(run.started_at)} · finished ${fmt.when(run.finished_at)}` }),
  );
}

function renderStats(el, p) {
  const share = p.total ? (p.done + p.failed) / p.total : 0;
  const stat = (label, value, key) => h('div', { class: 'stat', 'data-stat': key }, h('span', { class: 'label', text: label }), h('span', { class: 'value', text: value }));
  fill(el,
    h('progress', { max: 1, value: Math.min(1, share) }),
    h('div', { class: 'stat-row' },
      stat('tasks', `${fmt.int(p.done)} / ${fmt.int(p.total)}`, 'tasks'),
      stat('failed', fmt.int(p.failed), 'failed'),
      stat('records', fmt.int(p.records), 'records'),
      stat('rate', `${fmt.num(p.records_per_second)} /s`, 'rate'),
      stat('ETA', fmt.eta(p.eta_seconds), 'eta'),
      stat('cost', fmt.usd(p.cost_usd), 'cost'),
      stat('projected', fmt.usd(p.projected_cost_usd ?? undefined), 'projected'),
      stat('tokens in / out', `${fmt.int(p.tokens?.input)} / ${fmt.int(p.tokens?.output)}`, 'tokens'),
      stat('cache hits', fmt.int(p.cache_hits), 'cache'),
    ),
  );
}

/** Failures by category, each task counted once (its event and the report both name it). */
function addFailure(failures, error, task) {
  const category = error.category ?? 'unknown';
  const byTask = failures.get(category) ?? new Map();
  byTask.set(task ?? `#${byTask.size}`, error.message ?? JSON.stringify(error));
  failures.set(category, byTask);
}

function renderFailures(el, failures) {
  if (failures.size === 0) return fill(el);
  fill(el, h('h2', { text: 'Failures by category' }),
    h('ul', { class: 'failures' },
      [...failures].map(([category, byTask]) =>
        h('li', { 'data-category': category },
          h('strong', { text: category }), ` × ${byTask.size}`,
          h('ul', {}, [...byTask].slice(0, FAILURE_EXAMPLES).map(([task, message]) => h('li', {}, h('code', { text: task }), ' ', message))),
        ),
      ),
    ),
  );
}

function liveRecord(key, record) {
  return h('li', { 'data-key': key },
    h('details', {}, h('summary', {}, h('code', { text: key }), ' ', recordSummary(record)), recordView(record)));
}

function notice(el, e) {
  const text = e.type === 'provider.throttled'
    ? `Teacher ${e.data.provider} paused by its circuit breaker (${e.data.reason}), retrying in ${fmt.eta(e.data.pause_ms / 1000)}`
    : e.type === 'provider.resumed' ? `Teacher ${e.data.provider} resumed` : `Budget exceeded: spent ${fmt.usd(e.data.spent_usd)} of ${fmt.usd(e.data.budget_usd)}`;
  el.append(h('div', { class: `notice ${e.type.replace('.', '-')}`, text: `${new Date(e.at).toLocaleTimeString()} · ${text}` }));
}

