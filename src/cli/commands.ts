/**
 * The table of `dotstub` subcommands. Each is loaded only when it runs, so `dotstub query` does not pay for
 * the daemon's modules at start-up (cold start counts: a stub answers the machine's first lookup).
 * A command module exports `main(args)`, resolving with the exit code.
 */
export interface CommandModule {
  main(args: readonly string[]): Promise<number>;
}

export interface CommandEntry {
  readonly summary: string;
  readonly load: () => Promise<CommandModule>;
}

export const COMMANDS: Readonly<Record<string, CommandEntry>> = {
  run: {
    summary: 'start the resolver daemon',
    load: async () => ({ main: (await import('./run-command.js')).runMain }),
  },
  pin: {
    summary: "print a server's certificate chain and SPKI pins",
    load: async () => ({ main: (await import('./pin-command.js')).pinCommand }),
  },
  status: {
    summary: 'show what the running daemon does: upstreams, authentication, counters',
    load: async () => ({ main: (await import('./status-command.js')).statusCommand }),
  },
  portal: {
    summary: 'let a captive portal log-in through: clear DNS for a few minutes, then Strict again',
    load: async () => ({ main: (await import('./portal-command.js')).portalCommand }),
  },
  config: {
    summary: 'show, change, validate or import (stubby.yml) the configuration',
    load: async () => ({ main: (await import('./config-command.js')).configCommand }),
  },
  reload: {
    summary: 'make the running daemon re-read its configuration (as SIGHUP does)',
    load: async () => ({ main: (await import('./reload-command.js')).reloadCommand }),
  },
  query: {
    summary: 'ask one question the getdns_query way, and see how it was answered',
    load: async () => ({ main: (await import('./query-command.js')).queryCommand }),
  },
  service: {
    summary: 'install, remove, start or stop dotstub as the system service',
    load: async () => ({ main: (await import('./service-command.js')).serviceCommand }),
  },
  system: {
    summary: "make dotstub this machine's resolver, put the previous one back, or show who resolves",
    load: async () => ({ main: (await import('./system-command.js')).systemCommand }),
  },
  cache: {
    summary: "flush the running daemon's answer cache, or show its statistics",
    load: async () => ({ main: (await import('./cache-command.js')).cacheCommand }),
  },
};
