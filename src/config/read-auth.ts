import type { Node } from 'yaml';
import { MapReader, type Field } from './reader.js';
import { integer, listOf, passwordHash, text } from './values.js';
import { FirstOccurrences } from './unique.js';
import { AUTH_DEFAULTS } from './defaults.js';
import type { AuthConfig, AuthUser } from './types.js';

const AUTH_KEYS = ['users', 'maxFailuresPerIp'] as const;
const USER_KEYS = ['name', 'passwordHash'] as const;

function readUser(node: Node, field: Field, names: FirstOccurrences): AuthUser {
  const map = MapReader.open(field, node, USER_KEYS, node);
  const name = map.required('name', text, '');
  if (map.has('name')) names.claim(map.fieldOf('name'), map.placeOf('name'), name);
  return { name, passwordHash: map.required('passwordHash', passwordHash, '') };
}

export function readAuth(root: MapReader): AuthConfig {
  const section = root.section('auth', AUTH_KEYS);
  const names = new FirstOccurrences('user name');
  return {
    users: section.optional('users', listOf((node, field) => readUser(node, field, names)), []),
    maxFailuresPerIp: section.optional('maxFailuresPerIp', integer(1), AUTH_DEFAULTS.maxFailuresPerIp),
  };
}
