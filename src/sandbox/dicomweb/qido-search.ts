import type { StoredInstance } from './dicom-instance.js';
import { isBinaryVr, type DicomJsonAttribute, type DicomJsonDataset } from './dicom-json.js';
import { attributeStrings, matchesValue, type QidoLevel, type QidoQuery } from './qido-query.js';

/**
 * Attributes returned by default at each level (DICOM PS3.18 §10.6.3.3, Tables 10.6.3-3/-4/-5),
 * plus BodyPartExamined and ViewPosition, which the fusion pipeline selects images by.
 */
const DEFAULT_TAGS: Record<QidoLevel, string[]> = {
  study: [
    '00080005',
    '00080020',
    '00080030',
    '00080050',
    '00080056',
    '00080061',
    '00080090',
    '00081030',
    '00081190',
    '00100010',
    '00100020',
    '00100030',
    '00100040',
    '0020000D',
    '00200010',
    '00201206',
    '00201208',
  ],
  series: [
    '00080005',
    '00080060',
    '0008103E',
    '00081190',
    '00180015',
    '0020000D',
    '0020000E',
    '00200011',
    '00201209',
    '00400244',
    '00400245',
  ],
  instance: [
    '00080005',
    '00080016',
    '00080018',
    '00080056',
    '00081190',
    '00083002',
    '00185101',
    '0020000D',
    '0020000E',
    '00200013',
    '00280008',
    '00280010',
    '00280011',
    '00280100',
  ],
};

/** Computed attributes (not stored in any instance) that QIDO answers from the index. */
const COMPUTED = new Set([
  '00080056',
  '00080061',
  '00081190',
  '00083002',
  '00201206',
  '00201208',
  '00201209',
]);

/** Result of a QIDO-RS search: the page asked for, and how many matched in all. */
export interface QidoSearchResult {
  results: DicomJsonDataset[];
  total: number;
}

function groupKey(instance: StoredInstance, level: QidoLevel): string {
  if (level === 'study') return instance.studyInstanceUid;
  if (level === 'series') return instance.seriesInstanceUid;
  return instance.sopInstanceUid;
}

function computedAttribute(
  tag: string,
  level: QidoLevel,
  group: StoredInstance[],
  all: StoredInstance[],
  baseUrl: string,
): DicomJsonAttribute | undefined {
  const first = group[0];
  if (!first) return undefined;
  const studyInstances = all.filter((i) => i.studyInstanceUid === first.studyInstanceUid);
  switch (tag) {
    case '00080056': // InstanceAvailability: everything is in memory.
      return { vr: 'CS', Value: ['ONLINE'] };
    case '00080061': {
      const modalities = [...new Set(studyInstances.flatMap((i) => attributeStrings(i.dataset, '00080060')))];
      return modalities.length ? { vr: 'CS', Value: modalities } : { vr: 'CS' };
    }
    case '00083002':
      return { vr: 'UI', Value: [first.transferSyntaxUid] };
    case '00201206':
      return { vr: 'IS', Value: [new Set(studyInstances.map((i) => i.seriesInstanceUid)).size] };
    case '00201208':
      return { vr: 'IS', Value: [studyInstances.length] };
    case '00201209':
      return { vr: 'IS', Value: [all.filter((i) => i.seriesInstanceUid === first.seriesInstanceUid).length] };
    case '00081190': {
      let url = `${baseUrl}/studies/${first.studyInstanceUid}`;
      if (level !== 'study') url += `/series/${first.seriesInstanceUid}`;
      if (level === 'instance') url += `/instances/${first.sopInstanceUid}`;
      return { vr: 'UR', Value: [url] };
    }
    default:
      return undefined;
  }
}

function groupMatches(
  group: StoredInstance[],
  query: QidoQuery,
  level: QidoLevel,
  all: StoredInstance[],
): boolean {
  // Entity-level attributes are the same in every instance of the entity; lower-level match keys
  // (e.g. Modality on a study search, PS3.18 §10.6.1.2) match when any instance matches them all.
  return group.some((instance) =>
    query.filters.every((filter) => {
      if (filter.tag === '00080061') {
        const modalities = all
          .filter((i) => i.studyInstanceUid === instance.studyInstanceUid)
          .flatMap((i) => attributeStrings(i.dataset, '00080060'));
        return matchesValue({ ...filter, vr: 'CS' }, modalities, query.fuzzyMatching);
      }
      if (COMPUTED.has(filter.tag)) {
        const computed = computedAttribute(filter.tag, level, [instance], all, '');
        return matchesValue(filter, (computed?.Value ?? []).map(String), query.fuzzyMatching);
      }
      return matchesValue(filter, attributeStrings(instance.dataset, filter.tag), query.fuzzyMatching);
    }),
  );
}

/**
 * Runs a QIDO-RS search over `instances` (already narrowed to the study/series of the URL).
 * Returns one DICOM JSON object per matching study, series or instance with the level's default
 * attributes, every match key's attribute, and the `includefield` attributes (PS3.18 §10.6.3.3).
 */
export function searchQido(
  instances: StoredInstance[],
  all: StoredInstance[],
  level: QidoLevel,
  query: QidoQuery,
  baseUrl: string,
): QidoSearchResult {
  const groups = new Map<string, StoredInstance[]>();
  for (const instance of instances) {
    const key = groupKey(instance, level);
    const group = groups.get(key);
    if (group) group.push(instance);
    else groups.set(key, [instance]);
  }
  const matched = [...groups.values()].filter((group) => groupMatches(group, query, level, all));
  const start = query.offset;
  const page = matched.slice(start, query.limit === undefined ? undefined : start + query.limit);
  const results = page.map((group) => {
    const first = group[0] as StoredInstance;
    const tags = new Set([...DEFAULT_TAGS[level], ...query.filters.map((f) => f.tag)]);
    if (query.includeFields === 'all') {
      for (const [tag, attribute] of Object.entries(first.dataset))
        if (!isBinaryVr(attribute.vr)) tags.add(tag);
    } else {
      for (const tag of query.includeFields) tags.add(tag);
    }
    const out: DicomJsonDataset = {};
    for (const tag of [...tags].sort()) {
      const attribute = COMPUTED.has(tag)
        ? computedAttribute(tag, level, group, all, baseUrl)
        : first.dataset[tag];
      if (attribute && !isBinaryVr(attribute.vr)) out[tag] = attribute;
    }
    return out;
  });
  return { results, total: matched.length };
}
