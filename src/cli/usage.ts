import { CHECKOUT_CONFIG, CONFIG_ENV, SYSTEM_CONFIG } from './configLocation.js';

export type CommandName = 'start' | 'check-config' | 'health' | 'config' | 'hash-password' | 'policy' | 'queue' | 'report' | 'cert' | 'tls';

/** One way to call a command, and what it does. */
interface Synopsis {
  call: string;
  what: string;
}

/**
 * Every command line the CLI understands: the overall usage lists them all, a command's
 * own usage (`--help`, or after a usage error) only its own.
 */
const SYNOPSES: Record<CommandName, readonly Synopsis[]> = {
  start: [{ call: 'start [-c FILE]', what: 'run the relay' }],
  'check-config': [{ call: 'check-config [-c FILE]', what: 'validate the config file (exit 0 valid, 2 invalid)' }],
  health: [{ call: 'health [-c FILE]', what: "ask the first listener for its greeting and QUIT (exit 0 on 220, 1 otherwise): the container's HEALTHCHECK" }],
  config: [
    { call: 'config show [-n] [--json]', what: 'every config key with its value after defaults (-n: only those the file sets)' },
    { call: 'config schema', what: 'the JSON Schema of the config file, for editors' },
  ],
  'hash-password': [{ call: 'hash-password', what: 'read a password from stdin, print its hash for auth.users' }],
  policy: [
    { call: 'policy explain DOMAIN [--json]', what: 'the outbound connector, TLS level and route for a recipient domain' },
    {
      call: 'policy explain DOMAIN --lookup [--json]',
      what: "the same, with the domain's MX, TLSA and MTA-STS looked up: per MX host the deciding source, the plan and what each failure causes",
    },
    {
      call: 'policy explain --inbound IP [--sender ADDR] [--cert-name NAME] [--json]',
      what: 'the inbound connector and the replies a session with these facts gets',
    },
    {
      call: 'policy what-if -c NEW.yaml [--current FILE] [--since 7d] [--domain D] [--json]',
      what:
        "the transit record's sessions replayed under NEW's connectors (--current: the config they ran under, else the usual lookup): per domain whose connector changes, what would be delivered, deferred and why; exit 0 nothing deferred, 1 something would be, 2 a config or the record unreadable",
    },
  ],
  queue: [
    { call: 'queue list [--domain D] [--json]', what: 'the queued messages, one line each' },
    { call: 'queue show ID [--json]', what: "a message's envelope, its attempts with their TLS, its errors" },
    { call: 'queue retry ID|--all|--domain D', what: 'attempt now' },
    { call: 'queue delete ID [--silent]', what: 'remove a message, bouncing it to the sender unless --silent' },
    { call: 'queue hold ID', what: 'never deliver it until released' },
    { call: 'queue release ID', what: 'back on its retry schedule' },
  ],
  report: [
    {
      call: 'report tls [--since 24h] [--domain D] [--json]',
      what: 'delivery sessions per recipient domain by TLS version, certificate verdict and policy; failures by reason; the share verified',
    },
  ],
  cert: [
    {
      call: 'cert info [--json]',
      what: 'the certificate the relay serves and presents: root issuer and chain, names, organization, key, dates, fingerprints to pin, OCSP and CRL URLs',
    },
    {
      call: 'cert check FILE [--name N] [--json]',
      what: "whether a certificate file chains to a root trusted here, holds the names, is in date, and which outbound connectors' pins and names it satisfies (exit 0 yes, 1 no, 2 error)",
    },
  ],
  tls: [
    {
      call: 'tls probe HOST[:PORT] [--name N] [--connector C] [--starttls|--implicit] [--json]',
      what: 'connect as the relay would (HOST: a mail domain by its route, [host] or an IP itself), QUIT before MAIL; the dialogue, TLS, the chain, names, OCSP, pins and what each outbound level would do (exit 0 deliver, 1 defer, 2 error)',
    },
  ],
};

/** A command's own options, beyond -c and --help, as its usage lists them. */
const OPTIONS: Partial<Record<CommandName, ReadonlyArray<[option: string, what: string]>>> = {
  cert: [
    ['--name N', 'cert check: a name the certificate must hold (repeat for several)'],
    ['--json', 'one JSON document on stdout'],
  ],
  tls: [
    ['--name N', 'a name the certificate must hold, in place of the connector\'s tlsNames or the host dialled (repeat for several)'],
    ['--connector C', "the outbound connector whose settings (client certificate, minVersion, ciphers, CRLs, pins) the connection uses and whose level the exit status answers for; without it, the settings of the connector mail to the domain gets (the default's for [host] or an IP) and the level verify"],
    ['--starttls', 'STARTTLS after EHLO, as delivery does (the default)'],
    ['--implicit', 'TLS from the first byte (port 465 unless :PORT)'],
    ['--json', 'one JSON document on stdout'],
  ],
};

export function isCommandName(name: string): name is CommandName {
  return Object.hasOwn(SYNOPSES, name);
}

/** The call padded to a column with its meaning beside it, or below it when it is too long. */
function listed({ call, what }: Synopsis): string {
  const column = 25;
  return call.length < column - 1 ? `  ${call.padEnd(column)}${what}\n` : `  ${call}\n${' '.repeat(column + 2)}${what}\n`;
}

/** `tlsrelay` without a command, `tlsrelay --help`, an unknown command. */
export function overallUsage(): string {
  const commands = Object.values(SYNOPSES).flat().map(listed).join('');
  return `usage: tlsrelay <command> [options]

commands:
${commands}
every command takes -c FILE (without it: $${CONFIG_ENV}, else ./${CHECKOUT_CONFIG}
when present, else ${SYSTEM_CONFIG}) and --help (its own usage);
tlsrelay --version prints the version
`;
}

/** `tlsrelay COMMAND --help`, and what a usage error of that command shows. */
export function commandUsage(name: CommandName): string {
  const calls = SYNOPSES[name].map(({ call, what }, i) => `${i === 0 ? 'usage:' : '      '} tlsrelay ${call}\n${' '.repeat(10)}${what}\n`);
  const own = (OPTIONS[name] ?? []).map(([option, what]) => `  ${option.padEnd(17)}  ${what}\n`);
  return `${calls.join('')}
options:
  -c, --config FILE  the config file; without it, $${CONFIG_ENV}, else
                     ./${CHECKOUT_CONFIG} when present, else ${SYSTEM_CONFIG}
  -h, --help         print this usage
${own.join('')}`;
}
