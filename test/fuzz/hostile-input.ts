import fc from 'fast-check';

/** JSON nested `depth` levels deep, in arrays and objects alternately (stack exhaustion attempts). */
export function deeplyNested(depth: number): string {
  let open = '';
  let close = '';
  for (let i = 0; i < depth; i++) {
    open += i % 2 === 0 ? '{"a":' : '[';
    close = (i % 2 === 0 ? '}' : ']') + close;
  }
  return `${open}1${close}`;
}

/** Numbers no parser should trust: huge, tiny, non-finite spellings, long digit strings. */
export const hostileNumber: fc.Arbitrary<unknown> = fc.oneof(
  fc.double(),
  fc.constantFrom(1e308, -1e308, 5e-324, Number.MAX_SAFE_INTEGER + 2, 2 ** 53, -0),
  fc.bigInt().map((n) => n.toString()),
  fc.constantFrom('NaN', 'Infinity', '-Infinity', '1e99999', '0x10', ''),
);

/** Arbitrary JSON-ish values, including hostile numbers, to put into resource fields. */
export const hostileValue: fc.Arbitrary<unknown> = fc.oneof(
  { depthSize: 'small' },
  fc.jsonValue(),
  hostileNumber,
  fc.string({ maxLength: 200 }),
  fc.constant(null),
);
