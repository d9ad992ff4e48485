import { OperationOutcomeError, validateResource, validateTypedValue } from '@medplum/core';
import type {
  Extension,
  OperationOutcome,
  OperationOutcomeIssue,
  Resource,
  StructureDefinition,
} from '@medplum/fhirtypes';
import { checkFusionInvariants } from './assessment-invariants.js';
import { PROFILE_URLS } from '../contracts/fusion-terminology.js';
import type { R4TypeIndex } from './index-r4-definitions.js';
import { profileTypeName } from './index-r4-definitions.js';

/** Validates resources fhir-fusion writes against base FHIR R4 and the fhir-fusion profiles. */
export interface ProfileValidator {
  /** The loaded StructureDefinitions (profiles and extensions), by canonical URL. */
  readonly structureDefinitions: ReadonlyMap<string, StructureDefinition>;
  /**
   * Returns an `OperationOutcome` listing every issue when the resource has at least one error,
   * `undefined` when it is valid. Each issue's `expression` is the element path (FHIRPath).
   */
  validate(resource: Resource): OperationOutcome | undefined;
}

/** Options for {@link createProfileValidator}. */
export interface ProfileValidatorOptions {
  /**
   * How many distinct valid resources to remember (default 64). The model Device and card are the
   * same in every bundle for a model version, apart from their `urn:uuid:` placeholders, so each
   * is validated once rather than on every write.
   */
  rememberValid?: number;
}

/** Content key for the valid-resource memory: placeholders differ per bundle, meaning does not. */
function contentKey(resource: Resource): string {
  return JSON.stringify(resource).replace(/urn:uuid:[0-9a-fA-F-]{36}/g, 'urn:uuid:_');
}

/** Runs one medplum validation, turning its thrown `OperationOutcomeError` back into issues. */
function collectIssues(run: () => OperationOutcomeIssue[]): OperationOutcomeIssue[] {
  try {
    return run();
  } catch (err) {
    if (err instanceof OperationOutcomeError) return err.outcome.issue ?? [];
    throw err;
  }
}

/** Medplum reports issues inside an extension from `Extension`; prefix them with where it sits. */
function relocate(issues: OperationOutcomeIssue[], from: string, to: string): OperationOutcomeIssue[] {
  return issues.map((i) => ({
    ...i,
    expression: i.expression?.map((e) =>
      e === from || e.startsWith(from + '.') ? to + e.slice(from.length) : e,
    ),
  }));
}

/**
 * Drops medplum's `error` objects from diagnostics data and repeated issues, and writes choice
 * elements as FHIRPath does (`RiskAssessment.occurrence`, not medplum's `occurrence[x]`), since
 * `issue.expression` is FHIRPath (R4 OperationOutcome.issue.expression).
 */
function tidy(issues: OperationOutcomeIssue[]): OperationOutcomeIssue[] {
  const seen = new Set<string>();
  const out: OperationOutcomeIssue[] = [];
  for (const i of issues) {
    const clean: OperationOutcomeIssue = {
      severity: i.severity,
      code: i.code,
      ...(i.details ? { details: i.details } : {}),
      ...(i.expression ? { expression: i.expression.map((e) => e.replace(/\[x\]/g, '')) } : {}),
    };
    const key = JSON.stringify(clean);
    if (!seen.has(key)) {
      seen.add(key);
      out.push(clean);
    }
  }
  return out;
}

/**
 * Loads the fhir-fusion StructureDefinitions and returns a validator that runs, for each resource:
 * 1. validation against the fhir-fusion profile for its type (FusionRiskAssessment,
 *    FusionProvenance, FusionModelDevice, FusionModelCard), whose snapshot includes base R4, through
 *    the schema the index parsed once ({@link profileTypeName}); `validateResource(resource)`
 *    against base R4 for any other type;
 * 2. each fhir-fusion extension on the resource against its extension definition (same way);
 * 3. {@link checkFusionInvariants}: ras-2 on the 0..1 scale and AIAST, which the validator does
 *    not evaluate everywhere.
 *
 * Medplum's type index is global to the process (module state inside `@medplum/core`). Creating a
 * validator does not write it: `typeIndex` is the result of `ensureR4DefinitionsIndexed()`, the
 * index's one writer, so any number of validators (and sandboxes) share one index that nobody
 * rewrites while another validates (issue #22 point 4).
 */
export function createProfileValidator(typeIndex: R4TypeIndex, options: ProfileValidatorOptions = {}): ProfileValidator {
  const { structureDefinitions } = typeIndex;
  for (const url of Object.values(PROFILE_URLS)) {
    if (!structureDefinitions.has(url)) throw new Error(`profile ${url} is missing from fhir-profiles`);
  }

  const profileFor = (resource: Resource): StructureDefinition | undefined => {
    const declared = resource.meta?.profile?.find((url) => structureDefinitions.has(url));
    const url = declared ?? (PROFILE_URLS as Record<string, string | undefined>)[resource.resourceType];
    return url ? structureDefinitions.get(url) : undefined;
  };

  const extensionIssues = (resource: Resource): OperationOutcomeIssue[] => {
    const extensions = (resource as { extension?: Extension[] }).extension ?? [];
    return extensions.flatMap((extension, index) => {
      const sd = structureDefinitions.get(extension.url);
      if (!sd || sd.type !== 'Extension') return [];
      const issues = collectIssues(() => validateTypedValue({ type: profileTypeName(sd.url), value: extension }));
      return relocate(issues, 'Extension', `${resource.resourceType}.extension[${index}]`);
    });
  };

  const rememberValid = options.rememberValid ?? 64;
  const knownValid = new Set<string>();

  return {
    structureDefinitions,
    validate(resource: Resource): OperationOutcome | undefined {
      const key = rememberValid > 0 ? contentKey(resource) : '';
      if (key && knownValid.has(key)) {
        // Refresh recency, so the Device and card every write repeats are never the oldest.
        knownValid.delete(key);
        knownValid.add(key);
        return undefined;
      }
      const profile = profileFor(resource);
      // A profile's snapshot carries every element and constraint of its base type
      // (R4 §2.27.0.2 profiling.html: snapshot = base + differential), so validating against the
      // profile also validates against base R4; doing both would crawl the resource twice.
      const issues = [
        ...collectIssues(() =>
          profile ? validateTypedValue({ type: profileTypeName(profile.url), value: resource }) : validateResource(resource),
        ),
        ...extensionIssues(resource),
        ...checkFusionInvariants(resource),
      ];
      if (!issues.some((i) => i.severity === 'error' || i.severity === 'fatal')) {
        if (key) {
          // Insertion-ordered Set: dropping the first entry drops the oldest.
          if (knownValid.size >= rememberValid) knownValid.delete(knownValid.values().next().value as string);
          knownValid.add(key);
        }
        return undefined;
      }
      return { resourceType: 'OperationOutcome', issue: tidy(issues) };
    },
  };
}
