/**
 * The local usage ledger as the client sees it: inline completion items carry the server's
 * `ghostline.accepted` command (vscode-languageclient turns it into the VS Code item's
 * command, which VS Code runs when the suggestion is accepted), the client says it runs it
 * (an experimental capability), and `ghostline.status` reports today's totals.
 */

/** The command the server puts on its inline completion items. */
export const ACCEPT_COMMAND = 'ghostline.accepted';
/** Under `capabilities.experimental`: this client runs inline completion items' commands. */
export const ACCEPT_CAPABILITY = 'ghostlineAcceptCommand';

/** Today's totals from `ghostline.status` (`usageToday`; null with the ledger off). */
export interface UsageToday {
  readonly shown: number;
  readonly accepted: number;
  readonly acceptanceRate: number | null;
  readonly escalations: number;
}

/** A static client feature (structurally what vscode-languageclient's `registerFeature` takes). */
export const acceptCommandFeature = {
  fillClientCapabilities(capabilities: { experimental?: unknown }): void {
    const experimental =
      typeof capabilities.experimental === 'object' && capabilities.experimental !== null
        ? (capabilities.experimental as Record<string, unknown>)
        : {};
    capabilities.experimental = { ...experimental, [ACCEPT_CAPABILITY]: true };
  },
  initialize(): void {},
  getState(): { kind: 'static' } {
    return { kind: 'static' };
  },
  clear(): void {},
};

function count(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isFinite(value) && value >= 0 ? value : undefined;
}

/** The `usageToday` of a `ghostline.status` answer, if it has a usable one. */
export function usageToday(answer: unknown): UsageToday | undefined {
  if (typeof answer !== 'object' || answer === null) {
    return undefined;
  }
  const usage = (answer as { usageToday?: unknown }).usageToday;
  if (typeof usage !== 'object' || usage === null) {
    return undefined;
  }
  const raw = usage as Record<string, unknown>;
  const shown = count(raw.shown);
  const accepted = count(raw.accepted);
  if (shown === undefined || accepted === undefined) {
    return undefined;
  }
  return {
    shown,
    accepted,
    acceptanceRate: count(raw.acceptanceRate) ?? null,
    escalations: count(raw.escalations) ?? 0,
  };
}

/** One tooltip line, e.g. "Today: 12 shown, 3 accepted (25%), 0 escalations". */
export function usageLine(usage: UsageToday): string {
  const rate =
    usage.acceptanceRate !== null
      ? `${Math.round(usage.acceptanceRate * 100)}%`
      : usage.shown > 0
        ? 'rate unknown'
        : undefined;
  const accepted = rate !== undefined ? `${usage.accepted} accepted (${rate})` : `${usage.accepted} accepted`;
  const escalations = `${usage.escalations} escalation${usage.escalations === 1 ? '' : 's'}`;
  return `Today: ${usage.shown} shown, ${accepted}, ${escalations}`;
}
