import { randomBytes } from 'node:crypto';
import type { LaunchContext } from './smart-types.js';

/** A validated authorization request waiting for the user's decision (consent page). */
export interface PendingAuthorization {
  clientId: string;
  redirectUri: string;
  scopes: string[];
  state: string | undefined;
  codeChallenge: string;
  context: LaunchContext | undefined;
  /** True when the client asked for `launch/patient` without an EHR launch: the user picks a patient. */
  needsPatientPick: boolean;
  expiresAt: number;
}

/** An issued authorization code (RFC 6749 §4.1.2): single use, short-lived. */
export interface AuthorizationCodeGrant {
  clientId: string;
  redirectUri: string;
  scopes: string[];
  codeChallenge: string;
  context: LaunchContext | undefined;
  expiresAt: number;
}

/** A refresh token's grant (RFC 6749 §6). */
export interface RefreshGrant {
  clientId: string;
  scopes: string[];
  context: LaunchContext | undefined;
  expiresAt: number;
}

/** Opaque random handle, 256 bits, base64url. */
function handle(): string {
  return randomBytes(32).toString('base64url');
}

/** In-memory, expiring state of the authorization server: launches, pending requests, codes, refresh tokens. */
export interface AuthorizationState {
  createLaunch(context: LaunchContext): string;
  launch(id: string): LaunchContext | undefined;
  addPending(pending: PendingAuthorization): string;
  takePending(id: string): PendingAuthorization | undefined;
  peekPending(id: string): PendingAuthorization | undefined;
  addCode(grant: AuthorizationCodeGrant): string;
  /** Returns and removes the code: a second use finds nothing (RFC 6749 §4.1.2 "MUST NOT use … more than once"). */
  takeCode(code: string): AuthorizationCodeGrant | undefined;
  /** True when `code` was issued and already redeemed. */
  wasRedeemed(code: string): boolean;
  addRefresh(grant: RefreshGrant): string;
  refresh(token: string): RefreshGrant | undefined;
}

/** Creates empty state; `now` is seconds since the epoch. Launch ids live for an hour. */
export function createAuthorizationState(now: () => number): AuthorizationState {
  const launches = new Map<string, { context: LaunchContext; expiresAt: number }>();
  const pending = new Map<string, PendingAuthorization>();
  const codes = new Map<string, AuthorizationCodeGrant>();
  const redeemed = new Map<string, number>();
  const refreshTokens = new Map<string, RefreshGrant>();
  const live = <T extends { expiresAt: number }>(value: T | undefined): T | undefined =>
    value && value.expiresAt >= now() ? value : undefined;
  return {
    createLaunch(context) {
      const id = handle();
      launches.set(id, { context, expiresAt: now() + 3600 });
      return id;
    },
    launch(id) {
      return live(launches.get(id))?.context;
    },
    addPending(value) {
      const id = handle();
      pending.set(id, value);
      return id;
    },
    takePending(id) {
      const value = pending.get(id);
      pending.delete(id);
      return live(value);
    },
    peekPending(id) {
      return live(pending.get(id));
    },
    addCode(grant) {
      const code = handle();
      codes.set(code, grant);
      return code;
    },
    takeCode(code) {
      const grant = codes.get(code);
      if (!grant) return undefined;
      codes.delete(code);
      redeemed.set(code, grant.expiresAt);
      return live(grant);
    },
    wasRedeemed(code) {
      return redeemed.has(code);
    },
    addRefresh(grant) {
      const token = handle();
      refreshTokens.set(token, grant);
      return token;
    },
    refresh(token) {
      return live(refreshTokens.get(token));
    },
  };
}
