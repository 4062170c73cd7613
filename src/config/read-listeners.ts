import type { Node } from 'yaml';
import { fail, MapReader, type Field } from './reader.js';
import { integer, ipAddress, listOf, oneOf, text } from './values.js';
import { FirstOccurrences } from './unique.js';
import { ListenerEndpoints } from './listener-endpoints.js';
import { DEFAULT_LISTENER, LISTENER_DEFAULTS } from './defaults.js';
import { AUTH_MODES, LISTENER_TLS_MODES, type ListenerConfig } from './types.js';

const LISTENER_KEYS = ['name', 'address', 'port', 'tls', 'auth'] as const;

const NEEDS_CERTIFICATE = 'set tls.cert and tls.key (or tls.generateIfMissing: true for a self-signed test pair)';

interface ListenerChecks {
  certificateConfigured: boolean;
  names: FirstOccurrences;
  /** Two listeners that cannot both bind: the second would fail at start. */
  endpoints: ListenerEndpoints;
}

function readListener(node: Node, field: Field, { certificateConfigured, names, endpoints }: ListenerChecks): ListenerConfig {
  const map = MapReader.open(field, node, LISTENER_KEYS, node);
  const name = map.required('name', text, '');
  const address = map.optional('address', ipAddress, LISTENER_DEFAULTS.address);
  // Port 0 asks the OS for a free port: tests and ephemeral setups rely on it.
  const port = map.required('port', integer(0, 65535), 0);
  const tls = map.optional('tls', oneOf(LISTENER_TLS_MODES), LISTENER_DEFAULTS.tls);
  const auth = map.optional('auth', oneOf(AUTH_MODES), LISTENER_DEFAULTS.auth);
  if (map.has('name')) names.claim(map.fieldOf('name'), map.placeOf('name'), name);
  if (map.has('port') && !map.isInvalid('address')) endpoints.claim(map.fieldOf('port'), map.placeOf('port'), name, address, port);
  if (tls !== 'none' && !map.isInvalid('tls') && !certificateConfigured) {
    fail(map.fieldOf('tls'), map.placeOf('tls'), `${tls} needs our certificate: ${NEEDS_CERTIFICATE}`);
  }
  if (tls === 'none' && auth !== 'none') {
    fail(map.fieldOf('auth'), map.placeOf('auth'), `${auth} needs TLS: passwords are only taken over TLS, and this listener has tls: none`);
  }
  return { name, address, port, tls, auth };
}

export function readListeners(root: MapReader, certificateConfigured: boolean): ListenerConfig[] {
  if (!root.has('listeners') && !root.isInvalid('listeners')) {
    if (!certificateConfigured) {
      const { address, port, tls } = DEFAULT_LISTENER;
      fail(root.fieldOf('listeners'), root.place, `the default listener (${address}:${port}, ${tls}) needs our certificate: ${NEEDS_CERTIFICATE}, or configure listeners`);
    }
    return [{ ...DEFAULT_LISTENER }];
  }
  const checks: ListenerChecks = {
    certificateConfigured,
    names: new FirstOccurrences('listener name'),
    endpoints: new ListenerEndpoints(),
  };
  const item = (node: Node, field: Field) => readListener(node, field, checks);
  return root.optional('listeners', listOf(item, { nonEmpty: true }), []);
}
