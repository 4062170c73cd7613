import type { Node } from 'yaml';
import { MapReader, type Field } from './reader.js';
import { listOf } from './values.js';
import { FirstOccurrences } from './unique.js';
import { readKey, readKeys } from './read-keys.js';
import { keyNames } from './key-spec.js';
import { AUTH_KEYS, USER_KEYS } from './keys.js';
import type { AuthConfig, AuthUser } from './types.js';

function readUser(node: Node, field: Field, names: FirstOccurrences): AuthUser {
  const map = MapReader.open(field, node, keyNames(USER_KEYS), node);
  const { name = '', passwordHash = '' } = readKeys(map, USER_KEYS);
  if (map.has('name')) names.claim(map.fieldOf('name'), map.placeOf('name'), name);
  return { name, passwordHash };
}

export function readAuth(root: MapReader): AuthConfig {
  const section = root.section('auth', keyNames(AUTH_KEYS));
  const names = new FirstOccurrences('user name');
  return {
    users: section.optional('users', listOf((node, field) => readUser(node, field, names), { nonEmpty: AUTH_KEYS.users.nonEmpty }), []),
    maxFailuresPerIp: readKey(section, AUTH_KEYS, 'maxFailuresPerIp'),
  };
}
