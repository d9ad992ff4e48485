import type { Resource } from '@medplum/fhirtypes';

function when(iso: string | undefined): string {
  return iso ? iso.slice(0, 16).replace('T', ' ') : '';
}

function clip(text: string, max = 160): string {
  return text.length <= max ? text : `${text.slice(0, max - 1).trimEnd()}…`;
}

/**
 * What an input resource said, in one line, for showing it inline on the page (issue 25.6: links
 * to the EHR's FHIR server do not open in a browser without the token, which stays server-side):
 * an Observation's value and unit (or "waveform" for SampledData), a report's conclusion, a
 * study's description, each with its date. Empty when there is nothing short to show.
 */
export function inputSummary(resource: Resource | undefined): string {
  switch (resource?.resourceType) {
    case 'Observation': {
      const q = resource.valueQuantity;
      const value =
        q?.value !== undefined
          ? `${q.value} ${q.unit ?? q.code ?? ''}`.trim()
          : (resource.valueString ??
            resource.valueCodeableConcept?.text ??
            resource.valueCodeableConcept?.coding?.[0]?.display ??
            (resource.valueSampledData || (resource.component ?? []).some((c) => c.valueSampledData)
              ? `waveform, ${(resource.component ?? []).filter((c) => c.valueSampledData).length || 1} lead(s)`
              : ''));
      return [value, when(resource.effectiveDateTime ?? resource.issued)].filter(Boolean).join(' · ');
    }
    case 'DiagnosticReport':
      return [clip(resource.conclusion ?? ''), when(resource.effectiveDateTime ?? resource.issued)]
        .filter(Boolean)
        .join(' · ');
    case 'ImagingStudy':
      return [
        resource.modality
          ?.map((m) => m.code)
          .filter(Boolean)
          .join(', ') ?? '',
        resource.numberOfInstances !== undefined ? `${resource.numberOfInstances} image(s)` : '',
        when(resource.started),
      ]
        .filter(Boolean)
        .join(' · ');
    default:
      return '';
  }
}
