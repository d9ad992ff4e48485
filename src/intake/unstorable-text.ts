/**
 * Text PostgreSQL cannot keep: `jsonb` (and `text`) refuse U+0000 ("unsupported Unicode escape
 * sequence"), and a lone UTF-16 surrogate has no UTF-8 encoding, so the driver cannot send it. With
 * the `u` flag a lone surrogate is one code point of category Cs, while a valid pair is not.
 */
// eslint-disable-next-line no-control-regex -- U+0000 is exactly what must be found
const UNSTORABLE = /[\u0000\p{Cs}]/u;

/** Where unstorable text was found: the FHIRPath-style path of the element, and why. */
export interface UnstorableText {
  /** e.g. `Bundle.entry[1].resource.valueString`; for a property name, the object holding it. */
  expression: string;
  reason: 'nul' | 'lone-surrogate';
  /** True when the offending text is a property name rather than a value. */
  inName: boolean;
}

function reasonOf(text: string): UnstorableText['reason'] {
  return text.includes('\u0000') ? 'nul' : 'lone-surrogate';
}

/**
 * Finds the first string (value or property name) in a parsed JSON value that Postgres cannot
 * store, walking iteratively (hostile bodies nest deeply) in document order. The root is named by
 * its `resourceType` when it has one, as FHIR expressions are (R4 §2.1.0.6 / FHIRPath).
 */
export function findUnstorableText(root: unknown): UnstorableText | undefined {
  const rootName =
    typeof root === 'object' && root !== null && !Array.isArray(root) && typeof (root as { resourceType?: unknown }).resourceType === 'string'
      ? ((root as { resourceType: string }).resourceType.replace(UNSTORABLE, '') || '$this')
      : '$this';
  const stack: Array<{ value: unknown; path: string }> = [{ value: root, path: rootName }];
  while (stack.length > 0) {
    const { value, path } = stack.pop()!;
    if (typeof value === 'string') {
      if (UNSTORABLE.test(value)) return { expression: path, reason: reasonOf(value), inName: false };
      continue;
    }
    if (typeof value !== 'object' || value === null) continue;
    const children: Array<{ value: unknown; path: string }> = [];
    if (Array.isArray(value)) {
      value.forEach((item, i) => children.push({ value: item, path: `${path}[${i}]` }));
    } else {
      for (const [name, child] of Object.entries(value)) {
        if (UNSTORABLE.test(name)) return { expression: path, reason: reasonOf(name), inName: true };
        children.push({ value: child, path: `${path}.${name}` });
      }
    }
    // Pushed in reverse so the first element in the document is reported first.
    for (let i = children.length - 1; i >= 0; i--) stack.push(children[i]!);
  }
  return undefined;
}
