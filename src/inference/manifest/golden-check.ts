import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import type ort from 'onnxruntime-node';
import type { TensorSpec } from '../../contracts/manifest-types.js';
import { faithfulnessViolation } from './localisation-output.js';
import { outputsByRequestedName } from './ort-output-names.js';
import { NpyFormatError, readNpyTensor } from './npy-format.js';
import type { TensorData } from './tensor-data.js';

/** Tolerance between the training framework's outputs and ONNX Runtime's: |a - b| <= ABS + REL * |b|. */
const ABS_TOLERANCE = 1e-4;
const REL_TOLERANCE = 1e-3;

/**
 * The tensors of one ONNX graph as a manifest declares them: a risk model's `ModelManifest`, or one
 * encoder of an embedding manifest (`EncoderSpec`), so both are checked the same way.
 */
export interface GraphTensors {
  inputs: readonly GraphTensorSpec[];
  outputs: readonly GraphTensorSpec[];
}

/**
 * What the graph checks read of a tensor spec: name, dtype and shape, and the role where there is
 * one. The role only matters to the risk-model manifest (the localisation faithfulness check), so
 * the drafting model's graphs (token, state and logits tensors) are checked by the same code
 * without borrowing a risk-model role.
 */
export type GraphTensorSpec = Pick<TensorSpec, 'name' | 'dtype' | 'shape'> & Partial<Pick<TensorSpec, 'role'>>;

/** Result of {@link checkGoldenTensors}: skipped when the folder has no golden tensors. */
export type GoldenCheckResult =
  | { status: 'skipped' }
  | { status: 'passed'; rows: number }
  | { status: 'failed'; subject: string; detail: string };

/**
 * Runs the folder's golden tensors, if it has them, and compares with the outputs the training
 * framework computed (`golden-input-<input>.npy` for every manifest input, `golden-output-<output>.npy`
 * for one or more outputs, written by `models/training/`). This catches an export that changed the
 * maths, which hashes and tensor signatures cannot. A folder with several graphs (the ECG and text
 * encoders of an embedding model) is checked per graph: each looks only for its own tensors' files.
 */
export async function checkGoldenTensors(
  dir: string,
  manifest: GraphTensors,
  session: ort.InferenceSession,
  makeTensor: (t: TensorData) => ort.Tensor,
): Promise<GoldenCheckResult> {
  const files = new Set(await readdir(dir));
  const inputFiles = manifest.inputs.map((i) => `golden-input-${i.name}.npy`);
  const present = inputFiles.filter((f) => files.has(f));
  if (present.length === 0) return { status: 'skipped' };
  const missing = inputFiles.find((f) => !files.has(f));
  if (missing)
    return {
      status: 'failed',
      subject: missing,
      detail: 'golden inputs are incomplete (one file per manifest input is needed)',
    };
  const outputs = manifest.outputs.filter((o) => files.has(`golden-output-${o.name}.npy`));
  if (outputs.length === 0)
    return {
      status: 'failed',
      subject: 'golden-output-*.npy',
      detail: 'golden inputs without any golden output',
    };

  const load = async (file: string): Promise<TensorData | string> => {
    const bytes = new Uint8Array(await readFile(join(dir, file)));
    try {
      return readNpyTensor(bytes);
    } catch (error) {
      if (error instanceof NpyFormatError) return error.message;
      throw error;
    }
  };
  const feeds: Record<string, ort.Tensor> = {};
  let rows = 0;
  for (const input of manifest.inputs) {
    const file = `golden-input-${input.name}.npy`;
    const tensor = await load(file);
    if (typeof tensor === 'string') return { status: 'failed', subject: file, detail: tensor };
    if (tensor.dtype !== input.dtype)
      return {
        status: 'failed',
        subject: file,
        detail: `dtype ${tensor.dtype}, manifest says ${input.dtype}`,
      };
    rows = tensor.dims[0] ?? 0;
    feeds[input.name] = makeTensor(tensor);
  }
  // A localisation map is also checked for faithfulness on the same run (all three outputs).
  const faithful = manifest.outputs.filter(
    (o) => o.role !== undefined && ['probabilities', 'localisation', 'localisation-offset'].includes(o.role),
  );
  const names = [
    ...new Set([
      ...outputs.map((o) => o.name),
      ...(faithful.length === 3 ? faithful.map((o) => o.name) : []),
    ]),
  ];
  const results = outputsByRequestedName(names, session.outputNames, await session.run(feeds, names));
  const unfaithful = faithful.length === 3 ? faithfulnessViolation(manifest.outputs, results) : undefined;
  if (unfaithful)
    return {
      status: 'failed',
      subject: 'localisation',
      detail: `map is not faithful to the score: ${unfaithful}`,
    };
  for (const output of outputs) {
    const file = `golden-output-${output.name}.npy`;
    const expected = await load(file);
    if (typeof expected === 'string') return { status: 'failed', subject: file, detail: expected };
    const actual = results[output.name];
    if (!actual) return { status: 'failed', subject: file, detail: `graph returned no '${output.name}'` };
    if (actual.dims.join(',') !== expected.dims.join(',')) {
      return {
        status: 'failed',
        subject: file,
        detail: `shape [${expected.dims.join(', ')}] expected, model gives [${actual.dims.join(', ')}]`,
      };
    }
    const a = actual.data as ArrayLike<number | bigint>;
    for (let i = 0; i < expected.data.length; i++) {
      const want = Number(expected.data[i]);
      const got = Number(a[i]);
      if (!(Math.abs(got - want) <= ABS_TOLERANCE + REL_TOLERANCE * Math.abs(want))) {
        const width = expected.dims.slice(1).reduce((n, d) => n * d, 1);
        return {
          status: 'failed',
          subject: file,
          detail: `row ${Math.floor(i / width)} element ${i % width}: expected ${want}, model gives ${got}`,
        };
      }
    }
  }
  return { status: 'passed', rows };
}
