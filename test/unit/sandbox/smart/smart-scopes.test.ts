import { describe, expect, it } from 'vitest';
import {
  grantableScopes,
  parseResourceScope,
  scopeCovers,
  scopesPermitting,
} from '../../../../src/sandbox/smart/smart-scopes.js';
import { isValidCodeVerifier, s256Challenge, verifyS256 } from '../../../../src/sandbox/smart/pkce.js';

describe('SMART scopes', () => {
  it('parses v2 permissions in c-r-u-d-s order and rejects disorder', () => {
    expect([...(parseResourceScope('patient/Observation.rs')?.permissions ?? [])]).toEqual(['r', 's']);
    expect(parseResourceScope('system/*.cruds')?.resourceType).toBe('*');
    expect(parseResourceScope('patient/Observation.sr')).toBeUndefined();
    expect(parseResourceScope('patient/Observation.rr')).toBeUndefined();
    expect(parseResourceScope('launch/patient')).toBeUndefined();
    expect(parseResourceScope('openid')).toBeUndefined();
  });

  it('maps v1 read/write/* onto v2 permissions', () => {
    expect([...(parseResourceScope('user/Patient.read')?.permissions ?? [])].sort()).toEqual(['r', 's']);
    expect([...(parseResourceScope('user/Patient.write')?.permissions ?? [])].sort()).toEqual([
      'c',
      'd',
      'u',
    ]);
    expect(parseResourceScope('system/*.*')?.permissions.size).toBe(5);
  });

  it('treats registered scopes as ceilings', () => {
    expect(scopeCovers('patient/*.cruds', 'patient/Observation.rs')).toBe(true);
    expect(scopeCovers('patient/*.rs', 'patient/Observation.c')).toBe(false);
    expect(scopeCovers('patient/*.rs', 'user/Observation.rs')).toBe(false);
    expect(scopeCovers('patient/Observation.read', 'patient/Observation.r')).toBe(true);
    expect(
      grantableScopes(
        ['launch', 'openid', 'patient/Condition.rs', 'user/Observation.rs'],
        ['launch', 'patient/*.rs'],
      ),
    ).toEqual(['launch', 'patient/Condition.rs']);
  });

  it('applies finer-grained query restrictions to searches only', () => {
    const granted = ['patient/Observation.rs?category=laboratory'];
    expect(
      scopesPermitting(granted, {
        resourceType: 'Observation',
        permission: 's',
        searchParams: new URLSearchParams('category=laboratory&patient=1'),
      }),
    ).toHaveLength(1);
    expect(
      scopesPermitting(granted, {
        resourceType: 'Observation',
        permission: 's',
        searchParams: new URLSearchParams('category=vital-signs'),
      }),
    ).toHaveLength(0);
    expect(scopesPermitting(granted, { resourceType: 'Observation', permission: 'r' })).toHaveLength(0);
    expect(
      scopesPermitting(['system/*.cruds'], { resourceType: 'RiskAssessment', permission: 'c' }),
    ).toHaveLength(1);
  });
});

describe('PKCE S256 (RFC 7636)', () => {
  it('matches the RFC 7636 Appendix B example', () => {
    expect(s256Challenge('dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk')).toBe(
      'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM',
    );
    expect(
      verifyS256(
        'dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk',
        'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM',
      ),
    ).toBe(true);
    expect(
      verifyS256(
        'dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXz',
        'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM',
      ),
    ).toBe(false);
  });
  it('rejects verifiers outside 43..128 unreserved characters', () => {
    expect(isValidCodeVerifier('short')).toBe(false);
    expect(isValidCodeVerifier('a'.repeat(129))).toBe(false);
    expect(isValidCodeVerifier(`${'a'.repeat(42)}!`)).toBe(false);
    expect(isValidCodeVerifier('a'.repeat(43))).toBe(true);
  });
});
