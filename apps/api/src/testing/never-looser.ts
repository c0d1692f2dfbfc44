import { ValidationError } from '@aos/logs-domain';

/**
 * The property every single-pass body validator must keep: it accepts a body
 * only when the DTOs accept it, and then answers the same items. Tried on
 * deterministic mutations of a valid item: every value in every field, alone
 * (`one()`) and as the second item of a batch under `key`. Answers how many
 * mutated bodies the fast path accepted (so a test can check it tried some).
 */
export async function expectNeverLooserThanDtos(spec: {
  key: string;
  one: (i: number) => Record<string, unknown>;
  fields: readonly string[];
  values: readonly unknown[];
  fast: (body: unknown) => unknown[] | null;
  dtos: (body: unknown) => Promise<unknown[]>;
}): Promise<number> {
  let accepted = 0;
  for (const field of spec.fields) {
    for (const value of spec.values) {
      for (const body of [spec.one(0), { [spec.key]: [spec.one(0), spec.one(1)] }]) {
        const target = spec.key in body ? (body[spec.key] as Array<Record<string, unknown>>)[1] : body;
        target[field] = value;
        const text = JSON.stringify(body);
        const fast = spec.fast(JSON.parse(text));
        let dto: unknown = null;
        try {
          dto = await spec.dtos(JSON.parse(text));
        } catch (e) {
          expect(e).toBeInstanceOf(ValidationError);
        }
        if (fast) {
          accepted++;
          expect({ text, dto: JSON.parse(JSON.stringify(dto)) }).toEqual({ text, dto: JSON.parse(JSON.stringify(fast)) });
        }
      }
    }
  }
  return accepted;
}
