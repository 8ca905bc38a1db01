import { bars } from './charts.js';
import { h, fmt, jsonBlock, statusBadge } from './dom.js';

/**
 * A run's report: the parts a person looks for drawn as such (the curate rating histogram and
 * rejections, the compare decision, per-tool coverage), and the whole report as JSON below.
 */
export function reportView(run, report) {
  return h('div', { class: 'report' },
    report.rating_histogram ? section('Ratings of the judged records (kept and rejected)', bars(report.rating_histogram), 'rating-histogram') : null,
    countsSection('Kept and rejected', { kept: report.kept, ...(report.rejected ?? {}) }, 'rejections'),
    report.rejected_by_gate ? section('Rejected by gate', bars(report.rejected_by_gate), 'gates') : null,
    report.difficulty_out ? section('Difficulty of kept records', bars(report.difficulty_out), 'difficulty') : null,
    report.coverage?.per_tool ? coverageView(report.coverage) : null,
    report.decision ? decisionView(report) : null,
    report.tasks ? section('Tasks', bars(report.tasks), 'tasks') : null,
    h('details', { class: 'raw' }, h('summary', { text: 'Whole report (JSON)' }), jsonBlock(report)),
  );
}

function section(title, body, id) {
  return h('div', { class: 'report-part', 'data-part': id }, h('h3', { text: title }), body);
}

function countsSection(title, counts, id) {
  const numeric = Object.fromEntries(Object.entries(counts).filter(([, v]) => typeof v === 'number'));
  return Object.keys(numeric).length > 1 ? section(title, bars(numeric), id) : null;
}

function coverageView(coverage) {
  const below = new Set(coverage.below_min ?? []);
  return section(`Coverage per tool (min ${coverage.min_per_tool})`,
    h('table', { class: 'list' },
      h('thead', {}, h('tr', {}, h('th', { text: 'tool' }), h('th', { text: 'kept examples' }))),
      h('tbody', {}, Object.entries(coverage.per_tool).map(([tool, n]) =>
        h('tr', { class: below.has(tool) ? 'below' : '', 'data-tool': tool }, h('td', {}, h('code', { text: tool })), h('td', { class: 'num', text: fmt.int(n) })))),
    ),
    'coverage');
}

function decisionView(report) {
  const d = report.decision;
  return section('Decision',
    h('div', { class: 'decision' },
      d.error ? h('div', { class: 'error', text: `${d.error.category}: ${d.error.message}` }) : null,
      h('p', {}, 'Winner: ', h('strong', { class: 'winner', text: d.winner }), h('span', { class: 'muted', text: ` (decided by ${d.decided_by}${d.model ? `, ${d.model}` : ''})` })),
      d.reasoning ? h('p', { text: d.reasoning }) : null,
      (report.metric_reasons ?? []).length ? h('ul', {}, report.metric_reasons.map((r) => h('li', { text: typeof r === 'string' ? r : r.reason ?? JSON.stringify(r) }))) : null,
      (report.judge_reasons ?? []).map((j) => h('div', { class: 'judge' }, h('strong', { text: `${j.label}: ${j.mean_score}` }),
        h('ul', {}, [...j.strengths.map((s) => h('li', { class: 'plus', text: s })), ...j.weaknesses.map((s) => h('li', { class: 'minus', text: s }))]))),
    ),
    'decision');
}

const STAGE_ORDER = ['topics', 'generate', 'tools', 'enrich', 'curate', 'select', 'compare'];

/** A pipeline's stages as boxes: the ones started with their run, rows in → out and status; the rest pending. */
export function stagesView(run) {
  const started = Array.isArray(run.output?.report?.stages) ? run.output.report.stages.filter((s) => typeof s === 'object' && s) : [];
  const names = STAGE_ORDER.filter((s) => run.spec?.[s] !== undefined);
  return h('div', {},
    h('h2', { text: 'Stages' }),
    h('ol', { class: 'stages' },
      names.map((name, i) => {
        const s = started.find((x) => x.stage === i);
        return h('li', { class: `stage ${s?.status ?? 'pending'}`, 'data-stage': name },
          h('div', { class: 'stage-name', text: `${i + 1}. ${name}` }),
          s ? statusBadge(s.status) : h('span', { class: 'badge pending', text: 'pending' }),
          s ? h('div', { class: 'muted', text: `${s.rows_in ?? '–'} → ${fmt.int(s.rows_out)} rows · ${fmt.num(s.records_per_second)}/s` }) : null,
          s ? h('a', { href: `#/runs/${s.run_id}`, text: 'stage run' }) : null,
        );
      }),
    ),
  );
}
