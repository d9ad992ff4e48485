import type { GraphTensorSpec } from './golden-check.js';

/**
 * One graph input or output as ONNX Runtime reports it (`InferenceSession.inputMetadata`, ORT >= 1.22):
 * a dimension is a number when static, a string (symbolic name) when dynamic.
 */
export interface GraphValueInfo {
  name: string;
  isTensor: boolean;
  /** ORT tensor type name (`float32`, `int64`, ...); undefined for non-tensors. */
  type?: string;
  shape: ReadonlyArray<number | string>;
}

/** What one side of the graph looks like, for comparing with the manifest. */
export interface GraphSignature {
  inputs: readonly GraphValueInfo[];
  outputs: readonly GraphValueInfo[];
}

/** One difference between manifest and graph; `subject` names the tensor. */
export interface SignatureMismatch {
  subject: string;
  detail: string;
}

/**
 * Compares a manifest's inputs and outputs with the ONNX graph, Triton-style: every manifest tensor
 * must exist with the same element type and rank; a static manifest axis must equal the graph's
 * static axis (a symbolic graph axis accepts any size); a dynamic manifest axis (-1) must be dynamic
 * in the graph too (otherwise batching would fail at run time). Every graph input must be named in
 * the manifest, since the engine can only feed what the manifest describes.
 */
export function compareSignature(
  inputs: readonly GraphTensorSpec[],
  outputs: readonly GraphTensorSpec[],
  graph: GraphSignature,
): SignatureMismatch[] {
  return [
    ...compareSide('input', inputs, graph.inputs),
    ...compareSide('output', outputs, graph.outputs),
    ...graph.inputs
      .filter((g) => !inputs.some((t) => t.name === g.name))
      .map((g) => ({
        subject: `graph input '${g.name}'`,
        detail: `not in manifest (manifest inputs: ${inputs.map((t) => t.name).join(', ')})`,
      })),
  ];
}

function compareSide(
  side: 'input' | 'output',
  specs: readonly GraphTensorSpec[],
  graph: readonly GraphValueInfo[],
): SignatureMismatch[] {
  const out: SignatureMismatch[] = [];
  for (const spec of specs) {
    const subject = `manifest ${side} '${spec.name}'`;
    const info = graph.find((g) => g.name === spec.name);
    if (!info) {
      out.push({ subject, detail: `not in graph (graph ${side}s: ${graph.map((g) => g.name).join(', ')})` });
      continue;
    }
    if (!info.isTensor) {
      out.push({ subject, detail: 'graph value is not a tensor' });
      continue;
    }
    if (info.type !== spec.dtype)
      out.push({ subject, detail: `dtype ${spec.dtype} in manifest, ${info.type ?? 'unknown'} in graph` });
    // ORT reports an empty shape when the graph leaves it undefined; nothing to compare then.
    if (info.shape.length === 0) continue;
    if (info.shape.length !== spec.shape.length) {
      out.push({
        subject,
        detail: `rank ${spec.shape.length} [${spec.shape.join(', ')}] in manifest, rank ${info.shape.length} [${formatShape(info.shape)}] in graph`,
      });
      continue;
    }
    spec.shape.forEach((dim, axis) => {
      const graphDim = info.shape[axis];
      const graphStatic = typeof graphDim === 'number' && graphDim > 0;
      if (dim === -1 && graphStatic) {
        out.push({
          subject,
          detail: `axis ${axis} is dynamic (-1) in manifest but static ${graphDim} in graph`,
        });
      } else if (dim !== -1 && graphStatic && graphDim !== dim) {
        out.push({ subject, detail: `axis ${axis} is ${dim} in manifest, ${graphDim} in graph` });
      }
    });
  }
  return out;
}

function formatShape(shape: ReadonlyArray<number | string>): string {
  return shape.map((d) => (typeof d === 'string' ? d || '?' : String(d))).join(', ');
}
