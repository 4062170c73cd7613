import type { Node } from 'yaml';
import { fail, MapReader, type Field } from './reader.js';
import { listOf } from './values.js';
import { FirstOccurrences } from './unique.js';
import { readKeys } from './read-keys.js';
import { keyNames } from './key-spec.js';
import { CONFIG_KEYS, LISTENER_KEYS } from './keys.js';
import { ListenerEndpoints } from './listener-endpoints.js';
import { DEFAULT_LISTENER } from './defaults.js';
import type { ListenerConfig } from './types.js';

const NEEDS_CERTIFICATE = 'set tls.cert and tls.key (or tls.generateIfMissing: true for a self-signed test pair)';

interface ListenerChecks {
  certificateConfigured: boolean;
  names: FirstOccurrences;
  /** Two listeners that cannot both bind: the second would fail at start. */
  endpoints: ListenerEndpoints;
}

function readListener(node: Node, field: Field, { certificateConfigured, names, endpoints }: ListenerChecks): ListenerConfig {
  const map = MapReader.open(field, node, keyNames(LISTENER_KEYS), node);
  // Port 0 asks the OS for a free port: tests and ephemeral setups rely on it.
  const { name = '', address, port = 0, tls, auth } = readKeys(map, LISTENER_KEYS);
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
  return root.optional('listeners', listOf(item, { nonEmpty: CONFIG_KEYS.listeners.nonEmpty }), []);
}
