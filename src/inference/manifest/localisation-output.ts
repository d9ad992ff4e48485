import type { ModelManifest, TensorSpec } from '../../contracts/manifest-types.js';

/** One problem in a manifest, as `manifest-schema.ts` reports them (JSON Pointer + message). */
interface Issue {
  pointer: string;
  message: string;
}

/** Output roles: what the server reads from the graph (every other role is an input's). */
export const OUTPUT_ROLES: ReadonlySet<TensorSpec['role']> = new Set([
  'probabilities',
  'embedding',
  'localisation',
  'localisation-offset',
  'finding-map',
  'finding-probabilities',
]);

/**
 * The localisation output a manifest declares (issue 20), or `undefined`: role `localisation`,
 * shape `[-1, outcomes, h, w]`, channel k = the outcome with `outcomes[].index` k (the same order as
 * `probabilities`), values in logit units on the model's output grid, row-major.
 */
export function localisationOutput(manifest: Pick<ModelManifest, 'outputs'>): TensorSpec | undefined {
  return manifest.outputs.find((t) => t.role === 'localisation');
}

/**
 * Cross-field rules of the localisation outputs: at most one `localisation` and one
 * `localisation-offset`; the map is `[-1, K, h, w]` with K the number of outcomes in `probabilities`
 * and h, w fixed; the offset is `[-1, K]` and only comes with a map; a map needs an `image` input
 * (it is a map over the image, and the server returns it only when the image was present).
 */
export function localisationOutputIssues(manifest: ModelManifest): Issue[] {
  const outcomes = manifest.outputs.find((t) => t.role === 'probabilities')?.shape[1] ?? -1;
  const maps = outputsWithRole(manifest, 'localisation');
  const offsets = outputsWithRole(manifest, 'localisation-offset');
  const issues: Issue[] = [...maps.issues, ...offsets.issues];
  for (const { t, i } of maps.found) {
    const [, k, h, w] = t.shape;
    if (t.shape.length !== 4 || k !== outcomes || !(h! > 0) || !(w! > 0))
      issues.push({
        pointer: `/outputs/${i}/shape`,
        message: `localisation must be [-1, ${outcomes}, h, w]: one fixed-size map per outcome of probabilities`,
      });
    issues.push(...imageInputIssues(manifest, i, 'a localisation map'));
  }
  for (const { t, i } of offsets.found)
    if (t.shape.length !== 2 || t.shape[1] !== outcomes)
      issues.push({
        pointer: `/outputs/${i}/shape`,
        message: `localisation-offset must be [-1, ${outcomes}]`,
      });
  if (offsets.found.length > 0 && maps.found.length === 0)
    issues.push({
      pointer: '/outputs',
      message: "a 'localisation-offset' output needs a 'localisation' output",
    });
  return issues;
}

/**
 * The outputs with `role`, with their index, and the rules every map-related role shares: at most
 * one output has it, and it is float32.
 */
function outputsWithRole(
  manifest: Pick<ModelManifest, 'outputs'>,
  role: TensorSpec['role'],
): { found: Array<{ t: TensorSpec; i: number }>; issues: Issue[] } {
  const found = manifest.outputs.flatMap((t, i) => (t.role === role ? [{ t, i }] : []));
  const issues: Issue[] = [];
  found
    .slice(1)
    .forEach(({ i }) =>
      issues.push({ pointer: `/outputs/${i}/role`, message: `only one output may have role '${role}'` }),
    );
  for (const { t, i } of found)
    if (t.dtype !== 'float32')
      issues.push({ pointer: `/outputs/${i}/dtype`, message: `${role} must be float32` });
  return { found, issues };
}

/** A map over the image needs an `image` input: the server returns it only when the image was present. */
function imageInputIssues(manifest: Pick<ModelManifest, 'inputs'>, index: number, what: string): Issue[] {
  return manifest.inputs.some((input) => input.role === 'image')
    ? []
    : [{ pointer: `/outputs/${index}/role`, message: `${what} needs an input with role 'image'` }];
}

/** The finding localiser's outputs a manifest declares (issue 20), or `undefined` when it has none. */
export function findingOutputs(
  manifest: Pick<ModelManifest, 'outputs' | 'imageFindings'>,
): { map: TensorSpec; probabilities: TensorSpec } | undefined {
  const map = manifest.outputs.find((t) => t.role === 'finding-map');
  const probabilities = manifest.outputs.find((t) => t.role === 'finding-probabilities');
  return map && probabilities && manifest.imageFindings?.length ? { map, probabilities } : undefined;
}

/**
 * Cross-field rules of the finding localiser (issue 20): `finding-map` and `finding-probabilities`
 * come together, at most one of each, with `imageFindings` naming each channel once; the map is
 * `[-1, F, h, w]` (h, w fixed) and the probabilities `[-1, F]` with F the number of image findings;
 * they need an `image` input; `imageFindings` without the outputs names nothing.
 */
export function findingOutputIssues(manifest: ModelManifest): Issue[] {
  const findings = manifest.imageFindings ?? [];
  const count = findings.length;
  const maps = outputsWithRole(manifest, 'finding-map');
  const probs = outputsWithRole(manifest, 'finding-probabilities');
  const issues: Issue[] = [...maps.issues, ...probs.issues];
  const map = maps.found[0];
  const prob = probs.found[0];
  if ((map === undefined) !== (prob === undefined))
    issues.push({
      pointer: '/outputs',
      message: "'finding-map' and 'finding-probabilities' outputs come together",
    });
  if ((map || prob) && count === 0)
    issues.push({
      pointer: '/imageFindings',
      message: 'a finding-map output needs imageFindings naming its channels',
    });
  if (!map && !prob && count > 0)
    issues.push({
      pointer: '/imageFindings',
      message: "imageFindings need 'finding-map' and 'finding-probabilities' outputs",
    });
  if (map) {
    const [, f, h, w] = map.t.shape;
    if (map.t.shape.length !== 4 || f !== count || !(h! > 0) || !(w! > 0))
      issues.push({
        pointer: `/outputs/${map.i}/shape`,
        message: `finding-map must be [-1, ${count}, h, w]: one fixed-size map per image finding`,
      });
    issues.push(...imageInputIssues(manifest, map.i, 'a finding map'));
  }
  if (prob && (prob.t.shape.length !== 2 || prob.t.shape[1] !== count))
    issues.push({
      pointer: `/outputs/${prob.i}/shape`,
      message: `finding-probabilities must be [-1, ${count}]`,
    });
  const seen = new Set<number>();
  findings.forEach((f, i) => {
    if (f.index >= count || seen.has(f.index))
      issues.push({
        pointer: `/imageFindings/${i}/index`,
        message: `each of 0…${count - 1} must name exactly one channel`,
      });
    seen.add(f.index);
  });
  return issues;
}

/** Logit tolerance of the faithfulness identity: as the golden check, |a − b| ≤ 1e-4 + 1e-3·|b|. */
const FAITHFUL_ABS = 1e-4;
const FAITHFUL_REL = 1e-3;

/**
 * Checks that a run's localisation map is faithful (issue 20): for every row and outcome,
 * mean over the map's cells + `localisation-offset` = logit(probability). Needs the three outputs
 * of one run, by name; returns the first violation as text, or `undefined` when it holds (or the
 * manifest declares no map with an offset). Probabilities within 1e-6 of 0 or 1 are skipped: their
 * float32 logit is not precise enough to compare.
 */
export function faithfulnessViolation(
  outputs: readonly (Pick<TensorSpec, 'name'> & Partial<Pick<TensorSpec, 'role'>>)[],
  results: Readonly<Record<string, { dims: readonly number[]; data: unknown } | undefined>>,
): string | undefined {
  const probabilities = outputs.find((t) => t.role === 'probabilities');
  const map = outputs.find((t) => t.role === 'localisation');
  const offset = outputs.find((t) => t.role === 'localisation-offset');
  if (!probabilities || !map || !offset) return undefined;
  const p = results[probabilities.name];
  const m = results[map.name];
  const o = results[offset.name];
  if (!p || !m || !o)
    return `the run did not return ${[probabilities, map, offset].map((t) => t.name).join(', ')}`;
  const [rows = 0, outcomes = 0, h = 0, w = 0] = m.dims;
  const cells = h * w;
  const pv = p.data as ArrayLike<number>;
  const mv = m.data as ArrayLike<number>;
  const ov = o.data as ArrayLike<number>;
  for (let r = 0; r < rows; r++) {
    for (let k = 0; k < outcomes; k++) {
      const prob = pv[r * outcomes + k]!;
      if (!(prob > 1e-6 && prob < 1 - 1e-6)) continue;
      let sum = 0;
      for (let c = 0; c < cells; c++) sum += mv[(r * outcomes + k) * cells + c]!;
      const logit = Math.log(prob / (1 - prob));
      const got = sum / cells + ov[r * outcomes + k]!;
      if (!(Math.abs(got - logit) <= FAITHFUL_ABS + FAITHFUL_REL * Math.abs(logit)))
        return `row ${r} outcome ${k}: mean(${map.name}) + ${offset.name} = ${got}, logit of ${probabilities.name} = ${logit}`;
    }
  }
  return undefined;
}
