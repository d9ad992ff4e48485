import type { Coding } from '@medplum/fhirtypes';
import type { FeedbackItem } from '../../contracts/cds-feedback.js';
import type { Result } from '../../contracts/result.js';
import { invalid, isObject, type InvalidCdsInput } from './parse-result.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function parseCoding(value: unknown, path: string): Result<Coding | undefined, InvalidCdsInput> {
  if (value === undefined) return { ok: true, value: undefined };
  if (!isObject(value) || typeof value.code !== 'string') return invalid(`${path}.code`, 'is required');
  return {
    ok: true,
    value: {
      code: value.code,
      ...(typeof value.system === 'string' ? { system: value.system } : {}),
      ...(typeof value.display === 'string' ? { display: value.display } : {}),
    },
  };
}

/**
 * Parses a CDS Hooks 2.0 feedback body (§Feedback): `{ feedback: [{ card, outcome,
 * acceptedSuggestions?, overrideReason?, outcomeTimestamp }] }`. `overrideReason` is only allowed
 * with outcome `overridden`; `acceptedSuggestions` only with `accepted`.
 */
export function parseFeedback(body: unknown): Result<FeedbackItem[], InvalidCdsInput> {
  if (!isObject(body) || !Array.isArray(body.feedback) || body.feedback.length === 0)
    return invalid('feedback', 'must be a non-empty array');
  const items: FeedbackItem[] = [];
  for (const [i, raw] of body.feedback.entries()) {
    const path = `feedback[${i}]`;
    if (!isObject(raw)) return invalid(path, 'must be an object');
    if (typeof raw.card !== 'string' || !UUID.test(raw.card)) return invalid(`${path}.card`, 'must be a card uuid');
    if (raw.outcome !== 'accepted' && raw.outcome !== 'overridden')
      return invalid(`${path}.outcome`, 'must be "accepted" or "overridden"');
    if (typeof raw.outcomeTimestamp !== 'string' || Number.isNaN(Date.parse(raw.outcomeTimestamp)))
      return invalid(`${path}.outcomeTimestamp`, 'must be an ISO 8601 instant');
    const accepted: Array<{ id: string }> = [];
    if (raw.acceptedSuggestions !== undefined) {
      if (raw.outcome !== 'accepted') return invalid(`${path}.acceptedSuggestions`, 'only allowed when outcome is accepted');
      if (!Array.isArray(raw.acceptedSuggestions)) return invalid(`${path}.acceptedSuggestions`, 'must be an array');
      for (const [j, s] of raw.acceptedSuggestions.entries()) {
        if (!isObject(s) || typeof s.id !== 'string') return invalid(`${path}.acceptedSuggestions[${j}].id`, 'is required');
        accepted.push({ id: s.id });
      }
    }
    let overrideReason: FeedbackItem['overrideReason'];
    if (raw.overrideReason !== undefined) {
      if (raw.outcome !== 'overridden') return invalid(`${path}.overrideReason`, 'only allowed when outcome is overridden');
      if (!isObject(raw.overrideReason)) return invalid(`${path}.overrideReason`, 'must be an object');
      const reason = parseCoding(raw.overrideReason.reason, `${path}.overrideReason.reason`);
      if (!reason.ok) return reason;
      const comment = raw.overrideReason.userComment;
      if (comment !== undefined && typeof comment !== 'string')
        return invalid(`${path}.overrideReason.userComment`, 'must be a string');
      overrideReason = {
        ...(reason.value ? { reason: reason.value } : {}),
        ...(typeof comment === 'string' ? { userComment: comment } : {}),
      };
    }
    items.push({
      card: raw.card.toLowerCase(),
      outcome: raw.outcome,
      acceptedSuggestions: accepted,
      ...(overrideReason ? { overrideReason } : {}),
      outcomeTimestamp: new Date(raw.outcomeTimestamp).toISOString(),
    });
  }
  return { ok: true, value: items };
}
