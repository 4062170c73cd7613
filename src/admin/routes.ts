// Which request gets which answer, decided from the method and path alone.

import type { DashboardView } from './dashboard/dashboardEndpoint.js';

export type AdminEndpoint = 'healthz' | 'readyz' | 'metrics' | DashboardView;

export type Route = { kind: 'endpoint' | 'method-not-allowed'; endpoint: AdminEndpoint } | { kind: 'not-found' };

// a Map, not an object: a request-target such as `constructor` must find nothing
const ENDPOINTS = new Map<string, AdminEndpoint>([
  ['/healthz', 'healthz'],
  ['/readyz', 'readyz'],
  ['/metrics', 'metrics'],
  ['/', 'dashboard'],
  ['/api/dashboard', 'dashboard-data'],
]);

/** The probes answer without a password: they tell only whether the relay serves, and why not. */
const OPEN_ENDPOINTS: ReadonlySet<AdminEndpoint> = new Set(['healthz', 'readyz']);

/** Whether the answer to this request needs the password, when one is set: all but the probes (unknown paths too). */
export function needsPassword(target: Route): boolean {
  return target.kind === 'not-found' || !OPEN_ENDPOINTS.has(target.endpoint);
}

/** Nothing here changes state: only GET (and HEAD, which Node answers without the body). */
export function route(method: string | undefined, url: string | undefined): Route {
  const path = (url ?? '/').split('?')[0]!;
  const endpoint = ENDPOINTS.get(path);
  if (endpoint === undefined) return { kind: 'not-found' };
  return { kind: method === 'GET' || method === 'HEAD' ? 'endpoint' : 'method-not-allowed', endpoint };
}
