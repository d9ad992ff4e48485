import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  answerCell,
  HTI1_END,
  HTI1_SOURCE_ATTRIBUTES,
  HTI1_START,
  renderHti1Section,
} from '../../../src/evaluation/hti1-source-attributes.js';
import { repoRoot } from '../../helpers/fixtures.js';

/** Every shipped card: models/<name>/<version>/card.md, the retrieval model's included. */
function shippedCards(): string[] {
  const modelsDir = join(repoRoot, 'models');
  return readdirSync(modelsDir)
    .filter((name) => name !== 'training' && !name.startsWith('.'))
    .flatMap((name) =>
      readdirSync(join(modelsDir, name)).map((version) => join(modelsDir, name, version, 'card.md')),
    )
    .filter((path) => existsSync(path))
    .sort();
}

/** Which HTI-1 answers a card carries, from its folder. */
function cardKind(path: string): 'risk' | 'retrieval' | 'drafting' {
  if (path.includes('ecg-report-clip')) return 'retrieval';
  return path.includes('report-drafter') ? 'drafting' : 'risk';
}

describe('ONC HTI-1 source attributes (45 CFR 170.315(b)(11)(iv)(B))', () => {
  it('lists 31 distinct attributes across the nine headings (1)–(9)', () => {
    const ids = HTI1_SOURCE_ATTRIBUTES.map((a) => a.id);
    expect(new Set(ids).size).toBe(31);
    expect(new Set(ids.map((id) => id.slice(0, 3)))).toEqual(
      new Set(['(1)', '(2)', '(3)', '(4)', '(5)', '(6)', '(7)', '(8)', '(9)']),
    );
  });

  const cards = shippedCards();
  it('covers every shipped card, ecg-report-clip included', () => {
    expect(cards.some((c) => c.includes('ecg-report-clip'))).toBe(true);
    expect(cards.length).toBeGreaterThanOrEqual(9);
  });

  it.each(cards.map((c) => [c.split('/').slice(-3, -1).join('/'), c]))(
    '%s answers all 31, each with a status and a reason, and is up to date',
    (_label, path) => {
      const card = readFileSync(path, 'utf8');
      const start = card.indexOf(HTI1_START);
      const end = card.indexOf(HTI1_END);
      expect(start).toBeGreaterThan(-1);
      expect(end).toBeGreaterThan(start);
      const section = card.slice(start, end + HTI1_END.length);
      const rows = section.split('\n').filter((line) => /^\| \(\d\)\(/.test(line));
      expect(rows).toHaveLength(31);
      for (const attribute of HTI1_SOURCE_ATTRIBUTES) {
        const row = rows.find((r) => r.startsWith(`| ${attribute.id} |`));
        expect(row, attribute.id).toBeDefined();
        const cells = row!.split(' | ');
        expect(['present', 'partial', 'not applicable', 'not done']).toContain(cells[2]);
        expect(cells[3]!.replace(/ \|$/, '').trim().length, attribute.id).toBeGreaterThan(10);
      }
      const kind = cardKind(path);
      expect(section).toBe(renderHti1Section(kind));
    },
  );

  it.each(cards.map((c) => [c.split('/').slice(-3, -1).join('/'), c]))(
    '%s has every section its HTI-1 table points at',
    (_label, path) => {
      const card = readFileSync(path, 'utf8');
      const headings = card
        .slice(0, card.indexOf(HTI1_START))
        .split('\n')
        .filter((line) => line.startsWith('## '))
        .map((line) => line.slice(3));
      const kind = cardKind(path);
      const pointed = HTI1_SOURCE_ATTRIBUTES.flatMap((a) => a.answer[kind].section ?? []);
      expect(pointed.length).toBeGreaterThan(5);
      for (const section of new Set(pointed)) {
        expect(
          headings.some((h) => h.startsWith(section)),
          `${section} in ${headings.join(' | ')}`,
        ).toBe(true);
      }
    },
  );

  it('says "see" only for a section, and gives a reason of its own for every not done / not applicable', () => {
    for (const kind of ['risk', 'retrieval', 'drafting'] as const) {
      for (const a of HTI1_SOURCE_ATTRIBUTES) {
        const answer = a.answer[kind];
        expect(answerCell(answer).includes('(see “'), `${kind} ${a.id}`).toBe(answer.section !== undefined);
        if (answer.status === 'not done' || answer.status === 'not applicable')
          expect(answer.text.length, `${kind} ${a.id}`).toBeGreaterThan(10);
      }
    }
  });
});
