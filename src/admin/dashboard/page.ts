import { basename } from 'node:path';
import { durationText } from '../../config/duration.js';
import type { MessageState } from '../../queue/messageState.js';
import type { DatedKind } from '../../tls/dated.js';
import type { CertificateRow } from './certificatesView.js';
import type { ConnectorsView } from './connectorsView.js';
import type { DashboardData } from './dashboardData.js';
import { html, markupText, type Interpolated, type Markup } from './html.js';
import type { QueueView } from './queueView.js';
import { CLASS_LABELS, percent, shareChart } from './shareChart.js';
import { SESSION_CLASSES, type SessionsView } from './sessionShares.js';

// GET /: the dashboard as one HTML page made on the server — no script, no framework, no
// file fetched from anywhere (the Content-Security-Policy the endpoint sends forbids all
// of it). It reloads itself every REFRESH_SECONDS, so that it can be left open.

export const REFRESH_SECONDS = 30;

// in the template itself, not interpolated: the tag takes its literal parts as they are
const STYLE = html`<style>
body { font: 14px/1.4 system-ui, sans-serif; margin: 1.5em; color: #1d1d1f; background: #fafafa; }
h1 { font-size: 1.4em; margin: 0 0 .2em; } h2 { font-size: 1.15em; margin: 1.6em 0 .5em; } h3 { font-size: .95em; color: #444; margin: 1em 0 .4em; }
.meta, .note { color: #666; } .note { margin: .4em 0; }
table { border-collapse: collapse; background: #fff; }
th, td { text-align: left; padding: .3em .7em; border-bottom: 1px solid #e3e3e3; vertical-align: top; }
th { background: #f0f0f0; font-weight: 600; } td.number { text-align: right; font-variant-numeric: tabular-nums; }
td.reply { font-family: ui-monospace, monospace; font-size: .92em; max-width: 46em; overflow-wrap: anywhere; }
.counts { display: flex; gap: 1em; flex-wrap: wrap; }
.count { background: #fff; border: 1px solid #e3e3e3; border-radius: 6px; padding: .5em 1em; min-width: 7em; }
.count .value { display: block; font-size: 1.6em; font-weight: 600; }
svg.chart text { font: 12px system-ui, sans-serif; fill: #1d1d1f; }
rect.verified, .legend .verified { fill: #2e7d32; background: #2e7d32; }
rect.encrypted, .legend .encrypted { fill: #f9a825; background: #f9a825; }
rect.plaintext, .legend .plaintext { fill: #c62828; background: #c62828; }
rect.none { fill: #ddd; }
.legend span.swatch { display: inline-block; width: .9em; height: .9em; margin: 0 .3em 0 1em; vertical-align: -.1em; }
tr.expired td.days { color: #fff; background: #c62828; font-weight: 600; } tr.soon td.days { background: #f9a825; font-weight: 600; }
</style>`;

const STATES: Array<{ state: MessageState; label: string }> = [
  { state: 'due', label: 'due now' },
  { state: 'deferred', label: 'deferred' },
  { state: 'held', label: 'held' },
];

const KIND_LABELS: Record<DatedKind, string> = { certificate: 'served certificate', 'trust-anchor': 'trust anchor', crl: 'CRL' };

function count(id: string, label: string, value: string | number): Markup {
  return html`<div class="count" id="${id}"><span class="value">${value}</span>${label}</div>`;
}

/** A table, or the sentence for none, so that an empty section says so instead of showing bare headings. */
function table(id: string, headings: string[], rows: Markup[], none: string): Markup {
  if (rows.length === 0) return html`<p class="note" id="${id}">${none}</p>`;
  return html`<table id="${id}"><thead><tr>${headings.map((heading) => html`<th>${heading}</th>`)}</tr></thead><tbody>${rows}</tbody></table>`;
}

const cell = (value: Interpolated, kind?: 'number' | 'reply' | 'days'): Markup => html`<td${kind ? html` class="${kind}"` : ''}>${value}</td>`;

function queueSection(queue: QueueView): Markup {
  const deferred = queue.deferred.map(
    (message) =>
      html`<tr>${[
        cell(message.id),
        cell(durationText(message.ageSeconds * 1000), 'number'),
        cell(`<${message.from}>`),
        cell(message.pending.join(', ')),
        cell(message.attempts, 'number'),
        cell(message.nextAttemptAt),
        cell(message.lastReply ?? '–', 'reply'),
      ]}</tr>`,
  );
  return html`<section id="queue"><h2>Queue</h2>
<div class="counts">${STATES.map(({ state, label }) => count(`queue-${state}`, label, queue.byState[state]))}${count('queue-total', 'in the queue', queue.total)}${count('queue-oldest', 'oldest message', queue.oldestAgeSeconds === null ? '–' : durationText(queue.oldestAgeSeconds * 1000))}</div>
<h3>Deferred messages</h3>
${table('deferred', ['queue ID', 'age', 'from', 'waiting for', 'attempts', 'next attempt', 'last reply'], deferred, 'No message is deferred.')}
${queue.deferredNotShown > 0 && html`<p class="note">and ${queue.deferredNotShown} more deferred messages (tlsrelay queue list shows them all)</p>`}
</section>`;
}

function sessionsSection(sessions: SessionsView & { skippedRecords: number }, period: string): Markup {
  const rows = sessions.rows.map(
    (row) =>
      html`<tr>${[
        cell(row.domain),
        cell(row.connector),
        cell(row.sessions, 'number'),
        SESSION_CLASSES.map((kind) => cell(percent(row.shares[kind]), 'number')),
        cell(row.delivered, 'number'),
        cell(row.failed, 'number'),
        cell(row.notDialled, 'number'),
      ]}</tr>`,
  );
  const legend = html`<p class="legend">${SESSION_CLASSES.map((kind) => html`<span class="swatch ${kind}"></span>${CLASS_LABELS[kind]}`)}</p>`;
  return html`<section id="sessions"><h2>Delivery sessions per partner, ${period}</h2>
${sessions.rows.length > 0 && html`${legend}${shareChart(sessions.rows)}`}
${table('partners', ['domain', 'connector', 'sessions', 'verified', 'encrypted', 'plaintext', 'messages delivered', 'failed', 'not dialled'], rows, 'No delivery session in this period.')}
${sessions.rowsNotShown > 0 && html`<p class="note">and ${sessions.rowsNotShown} more domains and connectors (tlsrelay report tls shows them all)</p>`}
${sessions.skippedRecords > 0 && html`<p class="note">${sessions.skippedRecords} lines of the transit record were not records (torn by a crash) and are not counted.</p>`}
</section>`;
}

function failuresSection(sessions: SessionsView): Markup {
  const rows = sessions.failures.map(
    (failure) =>
      html`<tr>${[cell(failure.at), cell(failure.domain), cell(failure.connector), cell(failure.ip === null ? `${failure.host} (not dialled)` : `${failure.host} [${failure.ip}]`), cell(failure.failure), cell(failure.outcome), cell(failure.reply, 'reply')]}</tr>`,
  );
  const more = sessions.failureCount - sessions.failures.length;
  return html`<section id="failures"><h2>Recent TLS failures</h2>
${table('failure-list', ['time', 'domain', 'connector', 'next hop', 'failure', 'outcome', 'reason'], rows, 'No session fell short of its TLS policy in this period.')}
${more > 0 && html`<p class="note">the latest ${sessions.failures.length} of ${sessions.failureCount}</p>`}
</section>`;
}

function certificatesSection(certificates: readonly CertificateRow[]): Markup {
  const rows = certificates.map(
    (row) =>
      html`<tr class="${row.status}">${[cell(KIND_LABELS[row.kind]), cell(row.subject), cell(row.connector === null ? row.setting : `${row.setting} (${row.connector})`), html`<td title="${row.file}">${basename(row.file)}</td>`, cell(row.end), cell(row.daysLeft, 'days')]}</tr>`,
  );
  return html`<section id="certificates"><h2>Certificates</h2>
${table('certificate-list', ['kind', 'subject', 'setting', 'file', 'expires (CRL: next update)', 'days left'], rows, 'No certificate, trust anchor or CRL is configured.')}
</section>`;
}

function connectorsSection(connectors: ConnectorsView): Markup {
  const outbound = connectors.outbound.map(
    (row) =>
      html`<tr>${[cell(row.implicit ? `${row.name} (implicit)` : row.name), cell(row.domains.join(', ')), cell(row.route), cell(row.level), cell(row.enforces), cell(row.minVersion), cell(row.maxAge)]}</tr>`,
  );
  const inbound = connectors.inbound.map((row) => html`<tr>${[cell(row.name), cell(row.match), cell(row.requires), cell(row.relay ? 'to any domain' : 'accepted domains only')]}</tr>`);
  return html`<section id="connectors"><h2>Connectors</h2>
<h3>Outbound, in the order they are matched</h3>
${table('outbound', ['name', 'domains', 'route', 'TLS level', 'enforces', 'TLS at least', 'retried for'], outbound, 'No outbound connector.')}
<h3>Inbound, the first that matches applies</h3>
${table('inbound', ['name', 'match', 'requires', 'relays'], inbound, 'No inbound connector: mail is accepted only for the accepted domains.')}
<p class="note">Accepted domains: ${connectors.acceptedDomains.length > 0 ? connectors.acceptedDomains.join(', ') : 'none'}</p>
</section>`;
}

/** `period`: the sessions' period in words, `the last 24 h`. */
export function dashboardPage(data: DashboardData, period: string): string {
  return markupText(html`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="refresh" content="${REFRESH_SECONDS}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>tlsrelay ${data.hostname}</title>
${STYLE}</head>
<body>
<h1>tlsrelay ${data.hostname}</h1>
<p class="meta">as of ${data.generatedAt}; sessions since ${data.since}; reloads every ${REFRESH_SECONDS} s</p>
${queueSection(data.queue)}
${sessionsSection(data.sessions, period)}
${failuresSection(data.sessions)}
${certificatesSection(data.certificates)}
${connectorsSection(data.connectors)}
</body></html>
`);
}
