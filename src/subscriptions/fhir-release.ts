import type { MedplumClient } from '@medplum/core';
import type { CapabilityStatement } from '@medplum/fhirtypes';
import type { FhirVersionSetting } from '../config/config-schema.js';

/** The FHIR releases whose subscriptions fhir-fusion registers. */
export type FhirRelease = 'R4' | 'R4B' | 'R5';

/**
 * The release of a `CapabilityStatement.fhirVersion` (FHIR R5 §2.1.0.3 versions.html: the
 * version is `major.minor.patch`, and only major.minor says which release a server speaks):
 * 4.0.x → R4, 4.3.x → R4B, 5.0.x → R5. Ballots and other versions (4.1, 4.4–4.6, 6.x) are not
 * releases we can speak; undefined for them.
 */
export function releaseOfFhirVersion(version: string | undefined): FhirRelease | undefined {
  const match = /^(\d+)\.(\d+)(?:\.\d+)?(?:-.*)?$/.exec(version?.trim() ?? '');
  if (!match) return undefined;
  const majorMinor = `${match[1]}.${match[2]}`;
  if (majorMinor === '4.0') return 'R4';
  if (majorMinor === '4.3') return 'R4B';
  if (majorMinor === '5.0') return 'R5';
  return undefined;
}

/** The EHR's CapabilityStatement (`GET [base]/metadata`, FHIR R4 §3.1.0.13 capabilities). */
export async function readCapabilityStatement(client: MedplumClient): Promise<CapabilityStatement> {
  return (await client.get(client.fhirUrl('metadata'), { cache: 'no-cache' })) as CapabilityStatement;
}

/** The release to subscribe with, and the CapabilityStatement when it was read. */
export interface ResolvedRelease {
  release: FhirRelease;
  /** How it was decided: `FHIR_VERSION`, or read from the CapabilityStatement. */
  source: 'configured' | 'capability-statement';
  statement?: CapabilityStatement;
}

/**
 * Decides the EHR's release: `FHIR_VERSION` when it names one; with `auto`, the
 * CapabilityStatement's `fhirVersion`. Throws, naming the version found, when it is none of
 * R4/R4B/R5 — subscribing in the wrong shape would be refused by the EHR or, worse, half-understood.
 */
export async function resolveRelease(
  client: MedplumClient,
  setting: FhirVersionSetting = 'auto',
): Promise<ResolvedRelease> {
  if (setting !== 'auto') return { release: setting, source: 'configured' };
  const statement = await readCapabilityStatement(client);
  const release = releaseOfFhirVersion(statement.fhirVersion);
  if (!release) {
    throw new Error(
      `The EHR's CapabilityStatement.fhirVersion is ${JSON.stringify(statement.fhirVersion ?? null)}: not 4.0.x (R4), 4.3.x (R4B) or 5.0.x (R5). Set FHIR_VERSION to choose.`,
    );
  }
  return { release, source: 'capability-statement', statement };
}
