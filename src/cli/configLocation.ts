// Which config file a command reads when `-c` does not say: the environment, then a
// checkout's own file, then the system's — so the commands work from any folder on an
// installed relay, and unchanged in a checkout.

export const CONFIG_ENV = 'TLSRELAY_CONFIG';
/** Relative to the current folder: the file of a checkout (what `npm start` runs). */
export const CHECKOUT_CONFIG = 'config/tlsrelay.yaml';
/** The installed relay's file (the systemd unit's ConfigurationDirectory). */
export const SYSTEM_CONFIG = '/etc/tlsrelay/tlsrelay.yaml';

export type ConfigLocation = { found: true; file: string } | { found: false; problem: string };

/**
 * The lookup order. A file named by `-c` or the variable is taken as it is, present or
 * not: its loader then says it cannot be read — looking further would run the relay on
 * a file the operator did not mean. An empty variable counts as unset (`TLSRELAY_CONFIG=`).
 */
export function locateConfig(option: string | undefined, environment: string | undefined, exists: (file: string) => boolean): ConfigLocation {
  if (option !== undefined) return { found: true, file: option };
  if (environment !== undefined && environment !== '') return { found: true, file: environment };
  if (exists(CHECKOUT_CONFIG)) return { found: true, file: CHECKOUT_CONFIG };
  if (exists(SYSTEM_CONFIG)) return { found: true, file: SYSTEM_CONFIG };
  return {
    found: false,
    problem: `tlsrelay: no config file: none given with -c FILE, ${CONFIG_ENV} is not set, and neither ./${CHECKOUT_CONFIG} nor ${SYSTEM_CONFIG} exists`,
  };
}
