/** Longest full-text search term the lists take, characters. */
export const SEARCH_MAX_LENGTH = 500;

/**
 * Negations (a `-` that does not join two parts of a word) a search term may
 * hold. PostgreSQL's websearch parser keeps its pending operators on a stack
 * 32 deep and fails past it ("tsquery stack too small", an internal error): 33
 * dashes in a row did. No search needs more than a few.
 */
export const SEARCH_MAX_NEGATIONS = 16;

/** Why a full-text search term (websearch syntax) cannot be run, or undefined when it can. */
export function searchTermProblem(term: string): string | undefined {
  if (term.length > SEARCH_MAX_LENGTH) return `must be at most ${SEARCH_MAX_LENGTH} characters`;
  const negations = term.match(/(?<![\p{L}\p{N}_])-/gu)?.length ?? 0;
  if (negations > SEARCH_MAX_NEGATIONS) return `may hold at most ${SEARCH_MAX_NEGATIONS} negations ('-' before a word), not ${negations}`;
  return undefined;
}
