/** Why the model registry refused to start or a verification failed. */
export class ModelRegistryError extends Error {
  override readonly name = 'ModelRegistryError';
  /**
   * @param model - model name (folder), or `*` for the repository itself.
   * @param version - version folder, or `*`.
   * @param subject - the file or tensor the problem is about (`model.onnx`, `input 'image'`).
   * @param detail - the exact difference found.
   */
  constructor(
    readonly model: string,
    readonly version: string,
    readonly subject: string,
    readonly detail: string,
  ) {
    super(`model ${model}@${version}: ${subject}: ${detail}`);
  }
}

/** The dynamic batcher's queue is at its limit: back off and retry later (Triton returns UNAVAILABLE). */
export class InferenceQueueFull extends Error {
  override readonly name = 'InferenceQueueFull';
  constructor(readonly queueLimit: number) {
    super(`inference queue is full (${queueLimit} requests waiting); retry later`);
  }
}

/** The engine is draining or closed and takes no new requests. */
export class InferenceEngineClosed extends Error {
  override readonly name = 'InferenceEngineClosed';
  constructor() {
    super('inference engine is closed');
  }
}

/** A request named a model that is not active in the registry. */
export class ModelNotFoundError extends Error {
  override readonly name = 'ModelNotFoundError';
  constructor(
    readonly model: string,
    readonly version: string | undefined,
  ) {
    super(`model ${model}${version ? `@${version}` : ''} is not active`);
  }
}

/** A request's tensors do not match the model manifest; `tensor` names the offending input. */
export class InferenceInputError extends Error {
  override readonly name = 'InferenceInputError';
  constructor(
    readonly tensor: string,
    readonly detail: string,
  ) {
    super(`input '${tensor}': ${detail}`);
  }
}

/** ONNX Runtime failed while running a batch (in a worker). */
export class InferenceRunError extends Error {
  override readonly name = 'InferenceRunError';
}
