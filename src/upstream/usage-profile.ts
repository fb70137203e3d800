/**
 * The two usage profiles of RFC 8310 sec. 5 as one decision table, so no `if (strict)` hides elsewhere.
 *
 * Strict: encryption and authentication required; anything less is a hard failure, nothing in clear.
 * Opportunistic: in order of preference, TLS authenticated, TLS unauthenticated (encrypted only), clear DNS
 * to port 53 of the same server when TLS cannot be set up at all; never clear text to the TLS port
 * (RFC 7858 sec. 3.1).
 */
export const USAGE_PROFILES = ['strict', 'opportunistic'] as const;
export type UsageProfile = (typeof USAGE_PROFILES)[number];

export interface ProfileRules {
  /** A certificate that fails the checks: refuse the server, or use it encrypted but unauthenticated. */
  readonly onAuthFailure: 'refuse' | 'use-unauthenticated';
  /** TLS cannot be set up (refused, reset, handshake failure or timeout): fail, or ask port 53 in clear. */
  readonly onTlsFailure: 'fail' | 'clear-text';
  /** An upstream with neither pins nor authentication name is a configuration error. */
  readonly needsCredentials: boolean;
}

export const PROFILE_RULES: Readonly<Record<UsageProfile, ProfileRules>> = {
  strict: { onAuthFailure: 'refuse', onTlsFailure: 'fail', needsCredentials: true },
  opportunistic: {
    onAuthFailure: 'use-unauthenticated',
    onTlsFailure: 'clear-text',
    needsCredentials: false,
  },
};

/**
 * How private an upstream's answers are now, best first (RFC 8310 sec. 5 preference order); the
 * resolver tries more private upstreams first. `fallback` marks the configured clear-text last resort.
 */
export const PRIVACY_LEVELS = ['authenticated', 'encrypted', 'clear', 'fallback'] as const;
export type PrivacyLevel = (typeof PRIVACY_LEVELS)[number];
