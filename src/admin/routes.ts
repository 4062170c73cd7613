// Which request gets which answer, decided from the method and path alone.

export type AdminEndpoint = 'healthz' | 'readyz' | 'metrics';

export type Route = { kind: 'endpoint'; endpoint: AdminEndpoint } | { kind: 'not-found' } | { kind: 'method-not-allowed' };

const ENDPOINTS: Record<string, AdminEndpoint> = { '/healthz': 'healthz', '/readyz': 'readyz', '/metrics': 'metrics' };

/** The probes answer without a password: they tell only whether the relay serves, and why not. */
export const OPEN_ENDPOINTS: ReadonlySet<AdminEndpoint> = new Set(['healthz', 'readyz']);

/** Nothing here changes state: only GET (and HEAD, which Node answers without the body). */
export function route(method: string | undefined, url: string | undefined): Route {
  const path = (url ?? '/').split('?')[0]!;
  const endpoint = ENDPOINTS[path];
  if (endpoint === undefined) return { kind: 'not-found' };
  return method === 'GET' || method === 'HEAD' ? { kind: 'endpoint', endpoint } : { kind: 'method-not-allowed' };
}
