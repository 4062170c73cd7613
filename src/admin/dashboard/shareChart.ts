import { html, type Markup } from './html.js';
import { SESSION_CLASSES, type PartnerRow, type SessionClass } from './sessionShares.js';

// The bar chart of the partner rows, as inline SVG: one stacked bar per domain and
// connector, verified / encrypted / plaintext, so that a partner whose mail went out in
// plaintext shows at a glance. No script: the server draws it, the browser only shows it.

const LABEL_WIDTH = 300;
const BAR_WIDTH = 420;
const ROW_HEIGHT = 24;
const BAR_HEIGHT = 16;
const TEXT_WIDTH = 200;
/** Longer labels are cut (the full one is the bar's tooltip). */
const LABEL_CHARACTERS = 44;

export const CLASS_LABELS: Record<SessionClass, string> = { verified: 'verified', encrypted: 'encrypted, not verified', plaintext: 'plaintext' };

/** 1 → `100 %`, 0.6667 → `66.7 %`; a dash for no sessions. */
export function percent(share: number | null): string {
  if (share === null) return '–';
  return `${Math.round(share * 1000) / 10} %`;
}

const label = (row: PartnerRow): string => {
  const text = `${row.domain} · ${row.connector}`;
  return text.length > LABEL_CHARACTERS ? `${text.slice(0, LABEL_CHARACTERS - 1)}…` : text;
};

function segments(row: PartnerRow): Markup[] {
  let x = LABEL_WIDTH;
  return SESSION_CLASSES.flatMap((kind) => {
    const count = row.counts[kind];
    if (count === 0) return [];
    const width = (count / row.sessions) * BAR_WIDTH;
    const segment = html`<rect class="${kind}" x="${x.toFixed(1)}" y="4" width="${width.toFixed(1)}" height="${BAR_HEIGHT}"><title>${row.domain} via ${row.connector}: ${count} of ${row.sessions} sessions ${CLASS_LABELS[kind]} (${percent(row.shares[kind])})</title></rect>`;
    x += width;
    return [segment];
  });
}

function bar(row: PartnerRow, index: number): Markup {
  const summary = row.sessions === 0 ? `no session (${row.notDialled} not dialled)` : SESSION_CLASSES.map((kind) => percent(row.shares[kind])).join(' / ');
  return html`<g transform="translate(0 ${index * ROW_HEIGHT})">
<text x="0" y="16">${label(row)}<title>${row.domain} via ${row.connector}</title></text>
${row.sessions === 0 ? html`<rect class="none" x="${LABEL_WIDTH}" y="4" width="${BAR_WIDTH}" height="${BAR_HEIGHT}"/>` : segments(row)}
<text x="${LABEL_WIDTH + BAR_WIDTH + 8}" y="16">${summary}</text>
</g>`;
}

export function shareChart(rows: readonly PartnerRow[]): Markup {
  const width = LABEL_WIDTH + BAR_WIDTH + 8 + TEXT_WIDTH;
  const height = rows.length * ROW_HEIGHT + 4;
  return html`<svg class="chart" role="img" aria-label="TLS of delivery sessions per partner domain and connector" viewBox="0 0 ${width} ${height}" width="${width}" height="${height}">
${rows.map(bar)}
</svg>`;
}
