/**
 * The building blocks of the configuration schema, each with the error text a user sees: the bad value
 * and what is accepted. Values that have a parser of their own (addresses, pins) are checked by it, so
 * the file, the command line and stubby.yml import all say the same thing about the same mistake.
 */
import * as z from 'zod';
import { ConfigError } from '../errors.js';
import { parsePin } from '../upstream/spki-pin.js';
import { parseListenAddress, parseUpstreamAddress } from './addresses.js';

/** A value as the user wrote it, for messages. */
export function show(value: unknown): string {
  if (value === undefined) return 'nothing';
  const text = JSON.stringify(value);
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

/** The message for any failed check of a field: what was there, and what is accepted. */
export const accepts = (what: string) => ({
  error: (issue: { input?: unknown }) =>
    issue.input === undefined ? `missing (expected ${what})` : `${show(issue.input)} is not ${what}`,
});

export function wholeNumber(min: number, max: number, unit = ''): z.ZodInt {
  const what = accepts(`a whole number from ${min} to ${max}${unit}`);
  return z.int(what).min(min, what).max(max, what);
}

export function oneOf<const T extends readonly [string, ...string[]]>(
  values: T,
): z.ZodEnum<{ [K in T[number]]: K }> {
  return z.enum(values, accepts(`one of ${values.join(', ')}`));
}

/** A string checked by one of our parsers; its ConfigError becomes the field's message. */
function parsedString(parse: (text: string) => unknown, what: string): z.ZodString {
  return z.string(accepts(what)).check((ctx) => {
    try {
      parse(ctx.value);
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err;
      ctx.issues.push({ code: 'custom', message: err.message, input: ctx.value });
    }
  });
}

export const pinField = parsedString(
  (text) => parsePin(text, ''),
  'a pin (expected pin-sha256="<44 base64 chars>")',
).meta({
  description:
    'An SPKI pin, `pin-sha256="BASE64"` or the bare 44-character base64 value (RFC 7469 sec. 2.4).',
});

export const listenAddressField = parsedString(
  (text) => parseListenAddress(text, ''),
  'an address such as 127.0.0.1@53 or [::1]:53',
).meta({
  description: 'An IP address and optional port: `127.0.0.1`, `127.0.0.1@5353`, `[::1]:53`, `0::1@53`.',
});

export const upstreamAddressField = parsedString(
  (text) => parseUpstreamAddress(text, ''),
  'an upstream such as 9.9.9.9#853~dns.quad9.net',
).meta({
  description:
    'An upstream as getdns_query writes it: `IP[@CLEARPORT][#TLSPORT][~AUTHNAME]`, or `[V6]:PORT`.',
});

const HOST_NAME =
  /^(?=.{1,253}\.?$)([A-Za-z0-9_]([A-Za-z0-9_-]{0,61}[A-Za-z0-9])?\.)*[A-Za-z0-9_]([A-Za-z0-9_-]{0,61}[A-Za-z0-9])?\.?$/;

export const authNameField = z
  .string(accepts('a host name such as dns.quad9.net'))
  .check((ctx) => {
    if (!HOST_NAME.test(ctx.value.trim()))
      ctx.issues.push({
        code: 'custom',
        message: `${show(ctx.value)} is not a host name (expected, for example, dns.quad9.net)`,
        input: ctx.value,
      });
  })
  .meta({
    description:
      'The authentication domain name: checked against the certificate, sent as SNI (RFC 8310 sec. 8).',
  });

export const portField = wholeNumber(1, 65535);
