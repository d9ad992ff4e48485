import type { MedplumClient } from '@medplum/core';
import { describe, expect, it } from 'vitest';
import { releaseOfFhirVersion, resolveRelease } from '../../../src/subscriptions/fhir-release.js';
import { topicsByWatchedType } from '../../../src/subscriptions/subscription-topics.js';
import {
  backportSubscriptionResource,
  r5SubscriptionResource,
} from '../../../src/subscriptions/topic-subscription-resource.js';

/** A client whose only server is a CapabilityStatement with `fhirVersion`. */
function clientWithVersion(fhirVersion: string | undefined): { client: MedplumClient; calls: string[] } {
  const calls: string[] = [];
  const client = {
    fhirUrl: (...path: string[]) => new URL(`http://ehr/fhir/${path.join('/')}`),
    get: async (url: URL) => {
      calls.push(url.pathname);
      return { resourceType: 'CapabilityStatement', ...(fhirVersion ? { fhirVersion } : {}) };
    },
  } as unknown as MedplumClient;
  return { client, calls };
}

describe('FHIR release of an EHR', () => {
  it.each([
    ['4.0.1', 'R4'],
    ['4.0.0', 'R4'],
    ['4.3.0', 'R4B'],
    ['4.3.0-snapshot1', 'R4B'],
    ['5.0.0', 'R5'],
    ['5.0', 'R5'],
    ['3.0.2', undefined],
    ['4.6.0', undefined],
    ['6.0.0-ballot3', undefined],
    ['R5', undefined],
    ['', undefined],
  ])('fhirVersion %s → %s', (version, release) => {
    expect(releaseOfFhirVersion(version)).toBe(release);
  });

  it('FHIR_VERSION wins without asking the EHR; auto reads /metadata', async () => {
    const configured = clientWithVersion('4.0.1');
    expect(await resolveRelease(configured.client, 'R5')).toEqual({ release: 'R5', source: 'configured' });
    expect(configured.calls).toEqual([]);
    const discovered = clientWithVersion('5.0.0');
    expect(await resolveRelease(discovered.client, 'auto')).toMatchObject({
      release: 'R5',
      source: 'capability-statement',
    });
    expect(discovered.calls).toEqual(['/fhir/metadata']);
  });

  it('refuses a version it cannot speak, naming it', async () => {
    await expect(resolveRelease(clientWithVersion('3.0.2').client, 'auto')).rejects.toThrow(
      /"3\.0\.2".*FHIR_VERSION/,
    );
    await expect(resolveRelease(clientWithVersion(undefined).client)).rejects.toThrow(/null/);
  });
});

describe('SubscriptionTopic discovery (R4B/R5)', () => {
  it('maps watched types to the first active topic triggering on them', () => {
    const topics = topicsByWatchedType([
      {
        resourceType: 'SubscriptionTopic',
        url: 'http://t/retired',
        status: 'retired',
        resourceTrigger: [{ resource: 'Observation' }],
      },
      {
        resourceType: 'SubscriptionTopic',
        url: 'http://t/obs',
        status: 'active',
        resourceTrigger: [{ resource: 'http://hl7.org/fhir/StructureDefinition/Observation' }],
      },
      {
        resourceType: 'SubscriptionTopic',
        url: 'http://t/obs-2',
        status: 'active',
        resourceTrigger: [{ resource: 'Observation' }],
      },
      {
        resourceType: 'SubscriptionTopic',
        url: 'http://t/enc',
        resourceTrigger: [{ resource: 'Encounter' }],
      },
      {
        resourceType: 'SubscriptionTopic',
        url: 'http://t/dr',
        resourceTrigger: [{ resource: 'DiagnosticReport' }, { resource: 'ImagingStudy' }],
      },
      { resourceType: 'Basic', url: 'http://t/basic' },
      'garbage',
    ]);
    expect(Object.fromEntries(topics)).toEqual({
      Observation: 'http://t/obs',
      DiagnosticReport: 'http://t/dr',
      ImagingStudy: 'http://t/dr',
    });
  });
});

describe('the Subscription shape per release', () => {
  const spec = {
    type: 'Observation',
    topic: 'http://t/obs',
    endpoint: 'https://ff/intake/observation-topic',
    secret: 'abc',
    heartbeatSeconds: 60,
    content: 'id-only' as const,
  };

  it('R5: native elements, no criteria or Backport extensions', () => {
    const r5 = r5SubscriptionResource(spec);
    expect(r5).toMatchObject({
      topic: 'http://t/obs',
      channelType: {
        system: 'http://terminology.hl7.org/CodeSystem/subscription-channel-type',
        code: 'rest-hook',
      },
      endpoint: spec.endpoint,
      parameter: [{ name: 'Authorization', value: 'Bearer abc' }],
      heartbeatPeriod: 60,
      contentType: 'application/fhir+json',
      content: 'id-only',
      status: 'requested',
    });
    expect(JSON.stringify(r5)).not.toMatch(/criteria|extension|subscriptions-backport/);
  });

  it('R4/R4B: the Backport profile with criteria = topic and the extensions', () => {
    const backport = backportSubscriptionResource(spec);
    expect(backport.criteria).toBe('http://t/obs');
    expect(backport.meta?.profile).toEqual([
      'http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition/backport-subscription',
    ]);
    expect(backport.channel.header).toEqual(['Authorization: Bearer abc']);
  });
});
