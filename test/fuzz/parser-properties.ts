import fc from 'fast-check';
import { parseBackportDelivery } from '../../src/intake/parse-backport-delivery.js';
import { parseRestHookResource, type IntakeParseResult } from '../../src/intake/parse-rest-hook.js';
import { findUnstorableText } from '../../src/intake/unstorable-text.js';
import type { SubscriptionRow } from '../../src/store/subscriptions-repository.js';
import { backportBundle } from '../helpers/backport-bundle.js';
import { hostileNumber, hostileValue } from './hostile-input.js';
import { framerProperties, hl7Inputs, hl7KeepsContract } from './hl7v2-properties.js';

/** Text Postgres cannot store, and text around it: NUL, lone surrogates, astral characters. */
export const hostileText: fc.Arbitrary<string> = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.constantFrom('\u0000', 'a\u0000b', '\ud800', 'x\udc00', '\ud83d\ude00', '\ud83d', ''),
);

const anyValue: fc.Arbitrary<unknown> = fc.oneof(hostileValue, hostileText, hostileNumber);

/** Replaces the value at a random path of `value` (objects and arrays) with `replacement`. */
function mutate(value: unknown, path: number[], replacement: unknown): unknown {
  if (path.length === 0 || typeof value !== 'object' || value === null) return replacement;
  const [step, ...rest] = path as [number, ...number[]];
  if (Array.isArray(value)) {
    if (value.length === 0) return replacement;
    const i = step % value.length;
    return value.map((item, j) => (j === i ? mutate(item, rest, replacement) : item));
  }
  const keys = Object.keys(value);
  if (keys.length === 0) return replacement;
  const key = keys[step % keys.length]!;
  return { ...(value as Record<string, unknown>), [key]: mutate((value as Record<string, unknown>)[key], rest, replacement) };
}

/** Backport IG notification bundles: valid ones, then with one element replaced by a hostile value. */
export const backportBodies: fc.Arbitrary<Buffer> = fc.oneof(
  fc
    .record({
      type: fc.constantFrom('handshake', 'heartbeat', 'event-notification', 'query-status'),
      since: fc.oneof(fc.nat(), fc.constantFrom(1e14, 999_999_999_999_999, 2 ** 53)),
      events: fc.array(fc.record({ n: fc.oneof(fc.nat(), hostileNumber), focus: fc.option(fc.constantFrom('Observation/o1', 'Patient/p1', 'http://x/Observation/o2/_history/3', 'bad ref'), { nil: undefined }) }), { maxLength: 5 }),
      path: fc.array(fc.nat(), { maxLength: 8 }),
      replacement: anyValue,
      mutateIt: fc.boolean(),
    })
    .map(({ type, since, events, path, replacement, mutateIt }) => {
      const bundle = backportBundle({
        subscriptionId: 'sub-1',
        type: type as 'heartbeat',
        eventsSinceSubscriptionStart: since,
        events: events.map((e) => ({ eventNumber: e.n as number, ...(e.focus ? { focus: e.focus } : {}) })),
        resources: [{ resourceType: 'Observation', id: 'o1', status: 'final', subject: { reference: 'Patient/p1' } }],
      });
      return Buffer.from(JSON.stringify(mutateIt ? mutate(bundle, path, replacement) : bundle) ?? 'null');
    }),
  fc.jsonValue().map((v) => Buffer.from(JSON.stringify(v) ?? 'null')),
  fc.uint8Array({ maxLength: 2048 }).map((b) => Buffer.from(b)),
);

/** Rest-hook resources with hostile fields, text and raw bytes. */
export const restHookBodies: fc.Arbitrary<Buffer> = fc.oneof(
  fc
    .record(
      {
        resourceType: fc.oneof(fc.constantFrom('Observation', 'DiagnosticReport', 'ImagingStudy', 'Patient'), anyValue),
        id: fc.oneof(fc.stringMatching(/^[A-Za-z0-9\-.]{1,64}$/), anyValue),
        subject: fc.oneof(fc.record({ reference: fc.oneof(fc.constant('Patient/p1'), hostileText) }), anyValue),
        note: fc.array(fc.record({ text: hostileText }), { maxLength: 2 }),
        meta: anyValue,
      },
      { requiredKeys: [] },
    )
    .map((r) => Buffer.from(JSON.stringify(r))),
  fc.uint8Array({ maxLength: 2048 }).map((b) => Buffer.from(b)),
);

const ROW = { key: 'topic', ehr_subscription: 'sub-1', kind: 'backport-topic', criteria: 'Observation', secret: 's', status: 'active' } as SubscriptionRow;

/**
 * The contract every parser keeps: a value Postgres can store (no U+0000, no lone surrogate: what
 * it accepts is written to jsonb), or a 4xx OperationOutcome with diagnostics; never a throw, never 5xx.
 */
export function keepsContract(result: IntakeParseResult<unknown>): boolean {
  if (result.ok) return findUnstorableText(JSON.parse(JSON.stringify(result.value) ?? 'null')) === undefined;
  return result.status >= 400 && result.status < 500 && result.outcome.resourceType === 'OperationOutcome' && (result.outcome.issue?.[0]?.diagnostics?.length ?? 0) > 0;
}

/** One property per parser, by name, for the vitest suites and `npm run fuzz`. */
export const parserProperties: Readonly<
  Record<'backport-delivery' | 'rest-hook' | 'hl7v2-message' | 'mllp-framer-roundtrip' | 'mllp-framer-any-bytes', fc.IProperty<[unknown]>>
> = {
  'backport-delivery': fc.property(backportBodies, (raw) => keepsContract(parseBackportDelivery(raw, ROW))),
  'rest-hook': fc.property(restHookBodies, (raw) => keepsContract(parseRestHookResource(raw, 'rest-hook-post'))),
  // HL7 v2 (src/intake/hl7v2): the message parser and the MLLP framer.
  'hl7v2-message': fc.property(hl7Inputs, hl7KeepsContract),
  ...framerProperties,
};
