// The shipped Prometheus alert rules and Grafana dashboard (contrib/): every query names
// only metrics the relay exports; promtool checks the rules, runs their unit tests (each
// alert fires on the series that should raise it) and checks the dashboard's queries as
// PromQL.
import t from 'tap';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { RelayMetrics } from '../../src/admin/relayMetrics.js';
import { PROJECT_ROOT } from '../helpers/relayProcess.js';
import { needsTool, runTool } from '../helpers/tools.js';

const RULES = join(PROJECT_ROOT, 'contrib', 'prometheus', 'tlsrelay-alerts.yaml');
const DASHBOARD = join(PROJECT_ROOT, 'contrib', 'grafana', 'tlsrelay-dashboard.json');
const PROMTOOL = 'apt-get install prometheus';

/** What /metrics serves: the relay's own and the process's, a histogram's series under their suffixes. */
async function exportedNames(): Promise<Set<string>> {
  const metrics = new RelayMetrics({ queue: () => ({ byState: { due: 0, deferred: 0, held: 0 }, oldestReceivedAt: undefined }), dated: () => [] }, []);
  const families = await metrics.registry.getMetricsAsJSON();
  return new Set(families.flatMap(({ name, type }) => (String(type) === 'histogram' ? [`${name}_bucket`, `${name}_sum`, `${name}_count`] : [name])));
}

const KEYWORDS = new Set(['and', 'or', 'unless', 'by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'offset', 'bool', 'inf', 'nan']);

/** The metric names a PromQL expression reads: identifiers left once strings, matchers, ranges, label lists and function calls are taken out. */
function metricNames(expr: string): string[] {
  const bare = expr
    .replace(/"(?:[^"\\]|\\.)*"/g, '""')
    .replace(/\{[^}]*\}/g, ' ')
    .replace(/\[[^\]]*\]/g, ' ')
    .replace(/\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ')
    .replace(/(?<![\w:])\d+(?:\.\d+)?(?:e[+-]?\d+)?/gi, ' ');
  // a name followed by `(` is a function
  return [...bare.matchAll(/([a-zA-Z_:][a-zA-Z0-9_:]*)(\s*\()?/g)].filter((match) => match[2] === undefined && !KEYWORDS.has(match[1]!.toLowerCase())).map((match) => match[1]!);
}

interface Rule {
  alert: string;
  expr: string;
  annotations: { summary: string; description: string };
}

const rules = (parse(readFileSync(RULES, 'utf8')) as { groups: Array<{ rules: Rule[] }> }).groups.flatMap((group) => group.rules);

interface Panel {
  title: string;
  type: string;
  targets?: Array<{ expr: string }>;
}

const dashboard = JSON.parse(readFileSync(DASHBOARD, 'utf8')) as { panels: Panel[] };
/** The dashboard's queries as Prometheus gets them: Grafana's variables filled in. */
const dashboardQueries = dashboard.panels.flatMap((panel) => (panel.targets ?? []).map((target) => ({ panel: panel.title, expr: target.expr.replace(/\$__rate_interval/g, '5m').replace(/\$instance/g, '.*') })));

t.test('the metric names found in a query', async (t) => {
  t.strictSame(metricNames('sum by (connector) (rate(tlsrelay_delivery_attempts_total{outcome="deferred", x=~"a|b"}[15m])) / sum(rate(up[5m])) > 0.25 and on(instance) time() - process_start_time_seconds > 1e3'), [
    'tlsrelay_delivery_attempts_total',
    'up',
    'process_start_time_seconds',
  ]);
});

t.test('every alert and every panel reads only what the relay exports', async (t) => {
  const exported = await exportedNames();
  t.ok(exported.has('tlsrelay_delivery_duration_seconds_bucket') && exported.has('process_cpu_seconds_total') && exported.has('nodejs_eventloop_lag_p99_seconds'), 'the exported names, process metrics included');
  t.strictSame(
    rules.map((rule) => rule.alert),
    ['TlsrelayQueueStuck', 'TlsrelayQueueOldMessage', 'TlsrelayDeferredRateHigh', 'TlsrelayCertificateExpiresSoon', 'TlsrelayCertificateExpired', 'TlsrelayTlsFailures'],
    'queue age, deferred rate by connector, certificate expiry, TLS failures',
  );
  for (const { alert, expr } of rules) {
    const names = metricNames(expr);
    t.ok(names.length > 0, `${alert} reads a metric`);
    t.strictSame(names.filter((name) => !exported.has(name)), [], `${alert}: ${names.join(', ')}`);
  }
  t.ok(dashboardQueries.length >= 15, `${dashboardQueries.length} queries`);
  for (const { panel, expr } of dashboardQueries) {
    const names = metricNames(expr);
    t.ok(names.length > 0, `${panel} reads a metric`);
    t.strictSame(names.filter((name) => !exported.has(name)), [], `${panel}: ${names.join(', ')}`);
  }
  const read = new Set([...rules.map((rule) => rule.expr), ...dashboardQueries.map((query) => query.expr)].flatMap(metricNames));
  const relayMetrics = [...exported].filter((name) => name.startsWith('tlsrelay_') && !/_(?:sum|count)$/.test(name));
  t.strictSame(relayMetrics.filter((name) => !read.has(name)), [], 'the dashboard shows every metric of the relay');
});

t.test('promtool checks the rules', needsTool('promtool', PROMTOOL), async (t) => {
  const run = await runTool('promtool', ['check', 'rules', RULES]);
  t.equal(run.code, 0, run.output);
  t.match(run.output, `SUCCESS: ${rules.length} rules found`);
});

t.test("promtool checks the dashboard's queries as PromQL", needsTool('promtool', PROMTOOL), async (t) => {
  const file = join(t.testdir(), 'dashboard-queries.yaml');
  writeFileSync(file, stringify({ groups: [{ name: 'dashboard', rules: dashboardQueries.map(({ expr }, index) => ({ record: `dashboard:query_${index}`, expr })) }] }));
  const run = await runTool('promtool', ['check', 'rules', file]);
  t.equal(run.code, 0, run.output);
});

/** What an alert of the rule says: its summary as expected, its description with `{{ $labels.x }}` and `{{ $value … }}` (as `value`) filled in. */
function expectedAlert(alert: string, labels: Record<string, string>, summary: string, value = ''): { exp_labels: Record<string, string>; exp_annotations: Rule['annotations'] } {
  const { description } = rules.find((rule) => rule.alert === alert)!.annotations;
  const filled = description.replace(/\{\{ \$labels\.(\w+) \}\}/g, (_, name: string) => labels[name]!).replace(/\{\{ \$value[^}]*\}\}/g, value);
  return { exp_labels: labels, exp_annotations: { summary, description: filled } };
}

t.test('promtool runs the rules on series that should raise each alert, and on some that should not', needsTool('promtool', PROMTOOL), async (t) => {
  const file = join(t.testdir(), 'alerts.test.yaml');
  const instance = 'relay:9325';
  const DAY = 86_400;
  writeFileSync(
    file,
    stringify({
      rule_files: [RULES],
      evaluation_interval: '1m',
      tests: [
        {
          interval: '1m',
          input_series: [
            // a message that has waited from the start: 60 s more each minute
            { series: `tlsrelay_queue_oldest_message_age_seconds{instance="${instance}"}`, values: '0+60x120' },
            // connector partner: three attempts deferred a minute for one delivered; connector ok delivers only
            { series: `tlsrelay_delivery_attempts_total{instance="${instance}",connector="partner",outcome="deferred"}`, values: '0+3x120' },
            { series: `tlsrelay_delivery_attempts_total{instance="${instance}",connector="partner",outcome="delivered"}`, values: '0+1x120' },
            { series: `tlsrelay_delivery_attempts_total{instance="${instance}",connector="ok",outcome="delivered"}`, values: '0+5x120' },
            // runs out 10 days, one hour and 100 days after the start
            { series: `tlsrelay_certificate_expiry_timestamp_seconds{instance="${instance}",role="certificate",subject="CN=relay.test"}`, values: `${10 * DAY}x120` },
            { series: `tlsrelay_certificate_expiry_timestamp_seconds{instance="${instance}",role="crl",subject="CN=Partner CA"}`, values: '3600x120' },
            { series: `tlsrelay_certificate_expiry_timestamp_seconds{instance="${instance}",role="trust-anchor",subject="CN=Far CA"}`, values: `${100 * DAY}x120` },
            // one outbound TLS failure a minute
            { series: `tlsrelay_tls_handshake_failures_total{instance="${instance}",direction="outbound",reason="certificate-expired"}`, values: '0+1x120' },
          ],
          alert_rule_test: [
            { eval_time: '70m', alertname: 'TlsrelayQueueStuck', exp_alerts: [] },
            { eval_time: '80m', alertname: 'TlsrelayQueueStuck', exp_alerts: [expectedAlert('TlsrelayQueueStuck', { severity: 'warning', instance }, `tlsrelay ${instance}: a message has waited over an hour`, '1h 20m 0s')] },
            { eval_time: '80m', alertname: 'TlsrelayQueueOldMessage', exp_alerts: [] },
            { eval_time: '40m', alertname: 'TlsrelayDeferredRateHigh', exp_alerts: [expectedAlert('TlsrelayDeferredRateHigh', { severity: 'warning', instance, connector: 'partner' }, `tlsrelay ${instance}: connector partner defers 75% of its attempts`)] },
            { eval_time: '90m', alertname: 'TlsrelayCertificateExpiresSoon', exp_alerts: [expectedAlert('TlsrelayCertificateExpiresSoon', { severity: 'warning', instance, role: 'certificate', subject: 'CN=relay.test' }, `tlsrelay ${instance}: certificate CN=relay.test runs out in 9d 22h 30m 0s`)] },
            { eval_time: '30m', alertname: 'TlsrelayCertificateExpired', exp_alerts: [] },
            { eval_time: '10m', alertname: 'TlsrelayDeferredRateHigh', exp_alerts: [] },
            { eval_time: '90m', alertname: 'TlsrelayCertificateExpired', exp_alerts: [expectedAlert('TlsrelayCertificateExpired', { severity: 'critical', instance, role: 'crl', subject: 'CN=Partner CA' }, `tlsrelay ${instance}: crl CN=Partner CA has run out`)] },
            { eval_time: '60m', alertname: 'TlsrelayTlsFailures', exp_alerts: [expectedAlert('TlsrelayTlsFailures', { severity: 'warning', instance, direction: 'outbound', reason: 'certificate-expired' }, `tlsrelay ${instance}: 30 outbound TLS failures in 30 minutes: certificate-expired`)] },
          ],
        },
      ],
    }),
  );
  const run = await runTool('promtool', ['test', 'rules', file]);
  t.equal(run.code, 0, run.output);
  t.match(run.output, 'SUCCESS');
});
