import { api } from './api.js';
import { h, fill, fmt, jsonBlock } from './dom.js';
import { recordSummary, recordView } from './record.js';

const PAGE = 25;

/** Datasets, newest first, a page at a time. */
export async function datasetsView(root, { signal, query }) {
  const before = query.get('before');
  const page = await api(`/v1/datasets?limit=${PAGE}${before ? `&before=${before}` : ''}`, { signal });
  fill(root,
    h('section', { class: 'head' }, h('h1', { text: 'Datasets' })),
    h('table', { class: 'list', id: 'datasets' },
      h('thead', {}, h('tr', {}, ...['Dataset', 'Name', 'Kind', 'Records', 'Run', 'Created'].map((t) => h('th', { text: t })))),
      h('tbody', {}, page.datasets.length ? page.datasets.map((d) =>
        h('tr', { 'data-dataset': d.id },
          h('td', {}, h('a', { href: `#/datasets/${d.id}`, text: d.id })),
          h('td', { text: d.name ?? '' }),
          h('td', { text: d.meta?.kind ?? '' }),
          h('td', { class: 'num', text: fmt.int(d.record_count) }),
          h('td', {}, d.run_id ? h('a', { href: `#/runs/${d.run_id}`, text: d.run_id }) : ''),
          h('td', { text: fmt.when(d.created_at) }),
        )) : h('tr', {}, h('td', { colspan: 6, class: 'muted', text: 'No datasets yet.' }))),
    ),
    h('div', { class: 'pager' },
      before ? h('a', { href: '#/datasets', text: '← newest' }) : null,
      page.next_before ? h('a', { href: `#/datasets?before=${page.next_before}`, text: 'older →' }) : null),
  );
}

/**
 * One dataset's records, a page at a time (the API's cursor; the cursors seen are kept so the
 * page can go back), each opening to its record view.
 */
export async function datasetView(root, id, { signal, query }) {
  const cursor = query.get('cursor') ?? '';
  const trail = (query.get('trail') ?? '').split(',').filter(Boolean);
  const [{ dataset }, page] = await Promise.all([
    api(`/v1/datasets/${id}`, { signal }),
    api(`/v1/datasets/${id}/records?limit=${PAGE}${cursor ? `&cursor=${cursor}` : ''}`, { signal }),
  ]);
  const back = trail.length ? `#/datasets/${id}?${new URLSearchParams({ cursor: trail[trail.length - 1], trail: trail.slice(0, -1).join(',') })}` : null;
  const next = page.next_cursor ? `#/datasets/${id}?${new URLSearchParams({ cursor: page.next_cursor, trail: [...trail, cursor || '0'].join(',') })}` : null;
  const formats = ['chatml', 'openai', 'trl', 'sharegpt', 'alpaca', 'jsonl'];
  fill(root,
    h('section', { class: 'head' },
      h('h1', {}, h('span', { text: dataset.name ?? 'Dataset' }), ' ', h('code', { text: dataset.id })),
      h('p', { class: 'muted' }, `${fmt.int(dataset.record_count)} records · created ${fmt.when(dataset.created_at)}`,
        dataset.run_id ? h('span', {}, ' · by ', h('a', { href: `#/runs/${dataset.run_id}`, text: dataset.run_id })) : null),
      h('p', { class: 'actions' }, 'Export: ', formats.map((f) => h('a', { href: `/v1/datasets/${id}/export?format=${f}`, target: '_blank', text: f }))),
      dataset.meta ? h('details', {}, h('summary', { text: 'meta' }), jsonBlock(dataset.meta)) : null,
    ),
    h('ul', { class: 'records', id: 'dataset-records' },
      page.records.map((r) => h('li', { 'data-key': r.key },
        h('details', {}, h('summary', {}, h('code', { text: r.key }), ' ', recordSummary(r.data)), recordView(r.data))))),
    h('div', { class: 'pager' }, back ? h('a', { href: back, text: '← previous' }) : null, next ? h('a', { href: next, id: 'next-page', text: 'next →' }) : null),
  );
}
