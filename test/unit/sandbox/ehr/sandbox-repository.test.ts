import { beforeAll, describe, expect, it } from 'vitest';
import type { Observation } from '@medplum/fhirtypes';
import { OperationOutcomeError, parseSearchRequest } from '@medplum/core';
import { MemoryRepository } from '@medplum/fhir-router';
import type { FhirDefinitions } from '../../../../src/sandbox/ehr/fhir-definitions.js';
import { loadFhirDefinitions, resolveChoicePath } from '../../../../src/sandbox/ehr/fhir-definitions.js';
import { SandboxRepository } from '../../../../src/sandbox/ehr/sandbox-repository.js';
import type { ResourceWriteEvent } from '../../../../src/sandbox/ehr/sandbox-repository.js';

let definitions: FhirDefinitions;
beforeAll(() => {
  definitions = loadFhirDefinitions();
});

function observation(patient: string, value: number): Observation {
  return { resourceType: 'Observation', status: 'final', code: { text: 'hr' }, subject: { reference: `Patient/${patient}` }, valueQuantity: { value } };
}

async function ids(repo: SandboxRepository, query: string): Promise<number[]> {
  const found = await repo.searchResources<Observation>(parseSearchRequest(query));
  return found.map((o) => o.valueQuantity?.value ?? -1).sort((a, b) => a - b);
}

describe('SandboxRepository', () => {
  it('is a MemoryRepository that validates every write', async () => {
    const repo = new SandboxRepository({ definitions });
    expect(repo).toBeInstanceOf(MemoryRepository);
    await expect(repo.createResource({ resourceType: 'Observation', code: { text: 'x' } } as Observation)).rejects.toBeInstanceOf(OperationOutcomeError);
    expect(repo.countResources('Observation')).toBe(0);
  });

  it('finds resources by reference through the index, also after updates that move the reference', async () => {
    const repo = new SandboxRepository({ definitions });
    const a1 = await repo.createResource(observation('a', 1));
    await repo.createResource(observation('a', 2));
    await repo.createResource(observation('b', 3));
    expect(await ids(repo, 'Observation?subject=Patient/a')).toEqual([1, 2]);
    expect(await ids(repo, 'Observation?patient=b')).toEqual([3]);
    expect(await ids(repo, 'Observation?subject=Patient/a,Patient/b')).toEqual([1, 2, 3]);
    await repo.updateResource({ ...a1, subject: { reference: 'Patient/b' } });
    expect(await ids(repo, 'Observation?subject=Patient/a')).toEqual([2]);
    expect(await ids(repo, 'Observation?subject=Patient/b')).toEqual([1, 3]);
    await repo.deleteResource('Observation', a1.id);
    expect(await ids(repo, 'Observation?subject=Patient/b')).toEqual([3]);
    expect(await ids(repo, `Observation?_id=${a1.id}`)).toEqual([]);
  });

  it('finds resources by identifier and tag tokens through the index, with FHIR token semantics', async () => {
    const repo = new SandboxRepository({ definitions });
    const tagged = (value: number, system: string | undefined, code: string): Observation => ({
      ...observation('a', value),
      identifier: [{ ...(system ? { system } : {}), value: code }],
      meta: { tag: [{ system: 'urn:tags', code: `t${code}` }] },
    });
    const one = await repo.createResource(tagged(1, 'urn:a', 'X1'));
    await repo.createResource(tagged(2, 'urn:b', 'X1'));
    await repo.createResource(tagged(3, undefined, 'X1'));
    await repo.createResource(tagged(4, 'urn:a', 'Y2'));
    expect(await ids(repo, 'Observation?identifier=urn:a|X1')).toEqual([1]);
    expect(await ids(repo, 'Observation?identifier=X1')).toEqual([1, 2, 3]);
    expect(await ids(repo, 'Observation?identifier=|X1')).toEqual([3]);
    expect(await ids(repo, 'Observation?identifier=urn:a|X1,urn:a|Y2')).toEqual([1, 4]);
    // `system|` (any code of a system) is not indexable: answered by the full scan, still right.
    expect(await ids(repo, 'Observation?identifier=urn:a|')).toEqual([1, 4]);
    expect(await ids(repo, 'Observation?_tag=urn:tags|tY2')).toEqual([4]);
    expect(await ids(repo, 'Observation?_tag=urn:tags|tX1&identifier=urn:b|X1')).toEqual([2]);
    await repo.updateResource({ ...one, identifier: [{ system: 'urn:a', value: 'Z9' }] });
    expect(await ids(repo, 'Observation?identifier=urn:a|X1')).toEqual([]);
    expect(await ids(repo, 'Observation?identifier=urn:a|Z9')).toEqual([1]);
  });

  it('rolls a failed transaction back completely and tells listeners only of committed writes', async () => {
    const repo = new SandboxRepository({ definitions });
    const heard: ResourceWriteEvent[] = [];
    repo.addWriteListener((event) => heard.push(event));
    const kept = await repo.createResource(observation('a', 1));
    await expect(
      repo.withTransaction(async () => {
        await repo.createResource(observation('a', 2));
        await repo.updateResource({ ...kept, subject: { reference: 'Patient/c' } });
        await repo.deleteResource('Observation', kept.id);
        throw new Error('abort');
      }),
    ).rejects.toThrow('abort');
    expect(heard.map((e) => e.interaction)).toEqual(['create']);
    expect(repo.countResources('Observation')).toBe(1);
    expect(await ids(repo, 'Observation?subject=Patient/a')).toEqual([1]);
    expect(await ids(repo, 'Observation?subject=Patient/c')).toEqual([]);
    const history = await repo.readHistory('Observation', kept.id);
    expect(history.entry).toHaveLength(1);

    await repo.withTransaction(async () => {
      await repo.createResource(observation('d', 5));
      expect(heard).toHaveLength(1);
    });
    expect(heard).toHaveLength(2);
  });

  it('sorts by several keys and pages without losing resources', async () => {
    const repo = new SandboxRepository({ definitions });
    for (const [patient, value] of [['b', 2], ['a', 9], ['b', 1], ['a', 3]] as const) await repo.createResource(observation(patient, value));
    const sorted = await repo.search<Observation>(parseSearchRequest('Observation?_sort=subject,-value-quantity&_count=3'));
    expect(sorted.total).toBe(4);
    expect(sorted.entry?.map((e) => `${e.resource?.subject?.reference}:${e.resource?.valueQuantity?.value}`)).toEqual([
      'Patient/a:9',
      'Patient/a:3',
      'Patient/b:2',
    ]);
    const rest = await repo.search<Observation>(parseSearchRequest('Observation?_sort=subject,-value-quantity&_count=3&_offset=3'));
    expect(rest.entry?.map((e) => e.resource?.valueQuantity?.value)).toEqual([1]);
  });

  it('names the concrete choice element in validation paths', () => {
    const resource = { resourceType: 'Observation', valueQuantity: { value: 'x' }, component: [{ valueString: 1 }] } as unknown as Observation;
    expect(resolveChoicePath(resource, 'Observation.value[x].value')).toBe('Observation.valueQuantity.value');
    expect(resolveChoicePath(resource, 'Observation.component[0].value[x]')).toBe('Observation.component[0].valueString');
  });
});
