/**
 * The outputs of `session.run(feeds, fetches)` keyed by the names asked for. onnxruntime-node
 * (1.22, microsoft/onnxruntime#26865) returns the fetched values in graph order but keys them with
 * the graph's first output names, so asking for a subset that is not a prefix of the outputs
 * (e.g. only `localisation_map`) gets it back under another name. When the keys are exactly the
 * names asked for (a prefix, or a fixed runtime) the result is used as is; otherwise the values,
 * in graph order, are given the asked-for names in graph order.
 */
export function outputsByRequestedName<T>(
  requested: readonly string[],
  graphOutputNames: readonly string[],
  results: Readonly<Record<string, T>>,
): Record<string, T> {
  const keys = Object.keys(results);
  if (keys.length === requested.length && requested.every((name) => name in results)) return { ...results };
  const wanted = graphOutputNames.filter((name) => requested.includes(name));
  const values = graphOutputNames.filter((name) => name in results).map((name) => results[name] as T);
  if (values.length !== wanted.length)
    throw new Error(`ONNX Runtime returned ${keys.join(', ')} for ${requested.join(', ')}`);
  return Object.fromEntries(wanted.map((name, i) => [name, values[i] as T]));
}
