import type { Rng } from './seeded-random.js';

const femaleGiven = [
  'Ada',
  'Beatrix',
  'Clara',
  'Dora',
  'Edith',
  'Freya',
  'Greta',
  'Hilde',
  'Ines',
  'Julia',
  'Karin',
  'Lena',
  'Mira',
  'Nora',
  'Olga',
  'Petra',
] as const;
const maleGiven = [
  'Anton',
  'Bruno',
  'Carl',
  'David',
  'Emil',
  'Felix',
  'Georg',
  'Hugo',
  'Ivan',
  'Jonas',
  'Karl',
  'Leon',
  'Max',
  'Nils',
  'Oskar',
  'Paul',
] as const;
const family = [
  'Synthia',
  'Testwood',
  'Mockridge',
  'Fakeley',
  'Simms',
  'Placeholder',
  'Sampleton',
  'Dummer',
  'Examplar',
  'Modelson',
  'Demoff',
  'Fictor',
] as const;

/** A made-up person: obviously synthetic names so that nobody mistakes the cohort for real data. */
export interface SyntheticIdentity {
  given: string;
  family: string;
  /** Medical record number, unique within the cohort. */
  mrn: string;
  birthDate: string;
}

/** Identifier system of the synthetic medical record numbers. */
export const syntheticMrnSystem = 'https://fhir-fusion.example.org/fhir/sid/synthetic-mrn';

/** Draws a name and a birth date consistent with `ageYears` at `now`; the MRN derives from the index. */
export function sampleIdentity(
  rng: Rng,
  index: number,
  seed: number,
  sex: 'male' | 'female',
  ageYears: number,
  now: Date,
): SyntheticIdentity {
  const given = rng.pick(sex === 'female' ? femaleGiven : maleGiven);
  const birth = new Date(now.getTime());
  birth.setUTCFullYear(birth.getUTCFullYear() - ageYears);
  birth.setUTCDate(birth.getUTCDate() - rng.int(1, 360));
  return {
    given,
    family: rng.pick(family),
    mrn: `SYN${seed.toString(36).toUpperCase()}-${String(index).padStart(6, '0')}`,
    birthDate: birth.toISOString().slice(0, 10),
  };
}
