/**
 * Builds elements. Text is always set as text (never parsed as HTML): records are teacher output
 * and may hold markup.
 */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith('on')) el.addEventListener(name.slice(2), value);
    else if (name === 'class') el.className = value;
    else if (name === 'text') el.textContent = String(value);
    else el.setAttribute(name, value === true ? '' : String(value));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

/** Replaces an element's children. */
export function fill(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

export const fmt = {
  int: (n) => (typeof n === 'number' ? n.toLocaleString('en-US') : '–'),
  num: (n, digits = 2) => (typeof n === 'number' ? n.toLocaleString('en-US', { maximumFractionDigits: digits }) : '–'),
  usd: (n) => (typeof n === 'number' ? `$${n < 1 ? n.toFixed(4) : n.toFixed(2)}` : '–'),
  eta: (s) => (typeof s !== 'number' ? '–' : s < 90 ? `${Math.round(s)} s` : s < 5400 ? `${Math.round(s / 60)} min` : `${(s / 3600).toFixed(1)} h`),
  when: (iso) => (iso ? new Date(iso).toLocaleString() : '–'),
};

export function statusBadge(status) {
  return h('span', { class: `badge ${status}`, 'data-status': status, text: status });
}

/** A JSON value, pretty-printed, as text. */
export function jsonBlock(value) {
  return h('pre', { class: 'json', text: JSON.stringify(value, null, 2) });
}
