import { SEARCH_MAX_LENGTH, SEARCH_MAX_NEGATIONS, searchTermProblem } from './search-term';

describe(searchTermProblem.name, () => {
  it('takes ordinary terms, hyphenated words and ids however many hyphens they join', () => {
    for (const term of ['refund -fraud', '"refund above" -limit or chargeback', 'ORD-123-456', 'e-mail x-ray', Array(12).fill('3f2a8c1e-0b4d-4c6f-9a7e-1d2c3b4a5f6e').join(' ')]) {
      expect({ term, problem: searchTermProblem(term) }).toEqual({ term, problem: undefined });
    }
  });

  it(`refuses more than ${SEARCH_MAX_NEGATIONS} negations, counted wherever a '-' starts a word`, () => {
    expect(searchTermProblem('-'.repeat(SEARCH_MAX_NEGATIONS))).toBeUndefined();
    for (const term of ['-'.repeat(33), '- '.repeat(40) + 'x', '-!'.repeat(20), 'x ' + '-'.repeat(17) + 'y']) {
      expect(searchTermProblem(term)).toMatch(/at most 16 negations/);
    }
  });

  it('refuses a term longer than the lists take', () => {
    expect(searchTermProblem('a'.repeat(SEARCH_MAX_LENGTH))).toBeUndefined();
    expect(searchTermProblem('a'.repeat(SEARCH_MAX_LENGTH + 1))).toMatch(/at most 500 characters/);
  });
});
