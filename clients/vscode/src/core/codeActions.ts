/** Picking the server's "Generate tests for NAME" action out of a code action list. */

export const GENERATE_TESTS_PREFIX = 'Generate tests for';

interface Titled {
  readonly title: string;
}

/** The first "Generate tests for ..." action (the innermost function comes first), if any. */
export function findGenerateTests<T extends Titled>(actions: readonly T[] | null | undefined): T | undefined {
  return (actions ?? []).find((action) => action.title.startsWith(GENERATE_TESTS_PREFIX));
}
