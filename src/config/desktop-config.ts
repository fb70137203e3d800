/**
 * Config keys of desktop life (see src/desktop): `domains` (split DNS), `followSystemDomains`,
 * `watchNetwork` and `portal`. Same style as daemon-config.ts: every error names the key path, the bad
 * value and what is accepted.
 */
import type { DesktopOptions } from '../desktop/desktop-life.js';
import type { PortalConfig } from '../desktop/portal-controller.js';
import type { SplitDomainSpec } from '../desktop/split-upstreams.js';
import { ConfigError } from '../errors.js';
import { PROFILE_RULES, USAGE_PROFILES } from '../upstream/usage-profile.js';
import type { UpstreamSpec } from '../upstream/upstream.js';
import { parseListenAddress } from './addresses.js';
import { rejectUnknownKeys } from './known-keys.js';

type Json = Record<string, unknown>;

const LABEL = /^[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?$/;

function suffixOf(value: unknown, path: string): string {
  const name = typeof value === 'string' ? value.trim().toLowerCase().replace(/\.$/, '') : '';
  if (name === '' || name.length > 253 || !name.split('.').every((l) => LABEL.test(l)))
    throw new ConfigError(
      path,
      `${JSON.stringify(value)} is not a domain name (for example "corp.example" or "lan")`,
    );
  return name;
}

function bool(value: unknown, path: string): boolean {
  if (typeof value === 'boolean') return value;
  throw new ConfigError(path, `${JSON.stringify(value)} is not true or false`);
}

function clearServer(value: unknown, path: string): UpstreamSpec {
  if (typeof value !== 'string')
    throw new ConfigError(path, 'expected "IP", "IP@PORT" or "[V6]:PORT" (clear DNS, port 53)');
  const { host, port } = parseListenAddress(value, path, 53);
  return { address: host, port, pins: [] };
}

type UpstreamParser = (value: unknown, path: string) => UpstreamSpec;

function domainRule(value: unknown, path: string, parseUpstream: UpstreamParser): SplitDomainSpec {
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw new ConfigError(
      path,
      'expected {"suffix": "corp.example", "servers": ["10.0.0.53#853~dns.corp.example"]}',
    );
  const o = value as Json;
  rejectUnknownKeys(o, ['suffix', 'servers', 'clear', 'profile'], path);
  const raw = Array.isArray(o.suffix) ? o.suffix : [o.suffix];
  const suffixes = raw.map((s: unknown, i) =>
    suffixOf(s, Array.isArray(o.suffix) ? `${path}.suffix[${i}]` : `${path}.suffix`),
  );
  const clear = o.clear === undefined ? false : bool(o.clear, `${path}.clear`);
  if (!Array.isArray(o.servers) || o.servers.length === 0)
    throw new ConfigError(`${path}.servers`, 'expected a non-empty list of servers');
  const profile = o.profile === undefined ? 'strict' : o.profile;
  if (clear && o.profile !== undefined)
    throw new ConfigError(
      `${path}.profile`,
      'a rule with "clear": true sends DNS in clear; drop "profile" or "clear"',
    );
  if (!(USAGE_PROFILES as readonly unknown[]).includes(profile))
    throw new ConfigError(
      `${path}.profile`,
      `${JSON.stringify(profile)} is not one of ${USAGE_PROFILES.join(', ')}`,
    );
  const servers = o.servers.map((s: unknown, i) => {
    const at = `${path}.servers[${i}]`;
    if (clear) return clearServer(s, at);
    const spec = { ...parseUpstream(s, at), profile: profile as (typeof USAGE_PROFILES)[number] };
    if (spec.authName === undefined && spec.pins.length === 0 && PROFILE_RULES[spec.profile].needsCredentials)
      throw new ConfigError(
        at,
        `${spec.address} has neither an authentication name nor a pin, so the Strict profile cannot authenticate it: add ~NAME, or set "clear": true if this server (a router, a VPN resolver) only speaks plain DNS`,
      );
    return spec;
  });
  return { suffixes, servers, clear };
}

function optionalMs(o: Json, key: string, path: string, min: number, max: number): number | undefined {
  const v = o[key];
  if (v === undefined) return undefined;
  if (typeof v === 'number' && Number.isInteger(v) && v >= min && v <= max) return v;
  throw new ConfigError(
    `${path}.${key}`,
    `${JSON.stringify(v)} is not a whole number of ms from ${min} to ${max}`,
  );
}

function optionalString(o: Json, key: string, path: string): string | undefined {
  const v = o[key];
  if (v === undefined) return undefined;
  if (typeof v === 'string' && v !== '') return v;
  throw new ConfigError(`${path}.${key}`, 'expected a non-empty string');
}

function portalConfig(value: unknown): PortalConfig {
  if (value === undefined) return {};
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw new ConfigError('portal', 'expected {"servers": [...], "probeUrl": "http://...", "detect": false}');
  const o = value as Json;
  rejectUnknownKeys(
    o,
    ['servers', 'probeUrl', 'probeExpect', 'detect', 'detectInterval', 'recheckInterval'],
    'portal',
  );
  const probeUrl = optionalString(o, 'probeUrl', 'portal');
  if (probeUrl !== undefined && !/^http:\/\/[^/]+/.test(probeUrl))
    throw new ConfigError(
      'portal.probeUrl',
      `${JSON.stringify(probeUrl)} is not an http:// URL (a portal can only intercept plain HTTP)`,
    );
  const servers =
    o.servers === undefined
      ? undefined
      : Array.isArray(o.servers)
        ? o.servers.map((s: unknown, i) => clearServer(s, `portal.servers[${i}]`))
        : (() => {
            throw new ConfigError('portal.servers', 'expected a list of clear DNS servers ("192.168.1.1")');
          })();
  return {
    ...(servers === undefined ? {} : { servers }),
    ...(probeUrl === undefined ? {} : { probeUrl }),
    probeExpect: optionalString(o, 'probeExpect', 'portal'),
    ...(o.detect === undefined ? {} : { detect: bool(o.detect, 'portal.detect') }),
    detectIntervalMs: optionalMs(o, 'detectInterval', 'portal', 10_000, 86_400_000),
    recheckMs: optionalMs(o, 'recheckInterval', 'portal', 1000, 600_000),
  };
}

/** The desktop keys of a config file. */
export function desktopConfig(file: Json, parseUpstream: UpstreamParser): DesktopOptions {
  if (file.domains !== undefined && !Array.isArray(file.domains))
    throw new ConfigError('domains', 'expected a list of {"suffix", "servers"} rules');
  const domains = ((file.domains ?? []) as unknown[]).map((d, i) =>
    domainRule(d, `domains[${i}]`, parseUpstream),
  );
  return {
    domains,
    followSystemDomains:
      file.followSystemDomains === undefined ? false : bool(file.followSystemDomains, 'followSystemDomains'),
    watchNetwork: file.watchNetwork === undefined ? true : bool(file.watchNetwork, 'watchNetwork'),
    portal: portalConfig(file.portal),
  };
}
