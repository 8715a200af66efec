/** Picking the server's "Generate tests for NAME" action out of a code action list. */

export const GENERATE_TESTS_PREFIX = 'Generate tests for';

interface Titled {
  readonly title: string;
}

/** The first "Generate tests for ..." action (the innermost function comes first), if any. */
export function findGenerateTests<T extends Titled>(actions: readonly T[] | null | undefined): T | undefined {
  return (actions ?? []).find((action) => action.title.startsWith(GENERATE_TESTS_PREFIX));
}

/**
 * A bare LSP `Command` (`{title, command: "name"}`) as opposed to a `CodeAction`, whose
 * `command`, if any, is an object. (The protocol's `CodeAction.is` rejects an action that
 * has neither `edit` nor `command`, which is exactly what an unresolved action looks like.)
 */
export function isBareCommand(action: Titled & { command?: unknown }): boolean {
  return typeof action.command === 'string';
}

/** A code action the server left to `codeAction/resolve`: no edit and no command yet. */
export function needsResolve(action: Titled & { command?: unknown; edit?: unknown }): boolean {
  return !isBareCommand(action) && action.edit === undefined && action.command === undefined;
}
