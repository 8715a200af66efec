/**
 * The mapping between VS Code's `ghostline.*` settings and the server's settings.
 *
 * The server reads camelCase keys from `initializationOptions` and from the `ghostline`
 * section of `workspace/configuration`. VS Code's configuration object also carries
 * client-only keys (`interpreter`, `trace`) and methods, so the client sends an explicit
 * object built from the keys below, never the raw configuration.
 */

/** Settings the server understands, by their camelCase name (`ghostline.<name>` in VS Code). */
export const SERVER_SETTING_KEYS = [
  'enabled',
  'disabledLanguages',
  'model',
  'contextSize',
  'threads',
  'maxTokens',
  'maxTokensMultiline',
  'temperature',
  'debounceMs',
  'timeLimitS',
  'promptTokens',
  'maxFileBytes',
  'minConfidence',
  'contextTokens',
  'contextSources',
  'memberBias',
  'namesBelowBias',
  'fitCodeBelow',
  'testContextTokens',
  'hoverContextTokens',
  'hoverTimeLimitS',
  'runGeneratedTests',
  'backends',
  'routes',
  'fallbackToLocal',
  'ledger',
  'escalate',
  'lookupDraft',
  'draftModel',
  'idlePrefill',
  'coldBudgetMs',
  'lineSuffixTokens',
] as const;

export type ServerSettingKey = (typeof SERVER_SETTING_KEYS)[number];

/** Settings only the extension reads; they are never sent to the server. */
export const CLIENT_SETTING_KEYS = ['interpreter', 'trace.server'] as const;

/** The configuration section shared by VS Code and the server. */
export const SECTION = 'ghostline';

export type ServerSettings = Partial<Record<ServerSettingKey, unknown>>;

/**
 * Reads one `ghostline.*` value. With `languageId`, the value as seen in documents of that
 * language (VS Code's `"[python]": {...}` overrides); without it, the plain value.
 */
export type SettingReader = (key: string, languageId?: string) => unknown;

/**
 * The object sent to the server: every server key with its effective value.
 *
 * Effective values (defaults included) are sent, not only the ones a user set: the server
 * applies the keys it receives on top of its current settings, so a setting the user
 * removes must arrive as its default to take effect.
 *
 * `ghostline.enabled` is language-overridable in VS Code; the server has one `enabled` flag
 * and a `disabledLanguages` list, so per-language overrides are folded into that list for
 * the languages the client sends to the server (`languageIds`).
 */
export function toServerSettings(
  read: SettingReader,
  languageIds: readonly string[],
): ServerSettings {
  const settings: ServerSettings = {};
  for (const key of SERVER_SETTING_KEYS) {
    const value = read(key);
    if (value !== undefined && value !== null) {
      settings[key] = plain(value);
    }
  }
  const listed = stringList(settings.disabledLanguages);
  const disabled = new Set(listed);
  let anyEnabled = false;
  for (const languageId of languageIds) {
    if (read('enabled', languageId) === false) {
      disabled.add(languageId);
    } else if (!disabled.has(languageId)) {
      anyEnabled = true;
    }
  }
  if (settings.enabled === false && anyEnabled) {
    // Off globally but on for some languages: the server sees "on, except these".
    settings.enabled = true;
    settings.disabledLanguages = [...disabled];
  } else if (settings.enabled !== false && languageIds.length > 0 && !anyEnabled) {
    settings.enabled = false;
    settings.disabledLanguages = listed;
  } else if (settings.enabled !== false) {
    settings.disabledLanguages = [...disabled];
  } else {
    settings.disabledLanguages = listed;
  }
  return settings;
}

/** True when a change to `key` (a full `ghostline.*` name) needs a new server process. */
export function needsRestart(affects: (section: string) => boolean): boolean {
  return affects(`${SECTION}.interpreter`);
}

function stringList(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : [];
}

/** A JSON-safe deep copy (VS Code hands out frozen proxies for objects). */
function plain(value: unknown): unknown {
  if (Array.isArray(value)) {
    return value.map(plain);
  }
  if (typeof value === 'object' && value !== null) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
      if (typeof v !== 'function') {
        out[k] = plain(v);
      }
    }
    return out;
  }
  return value;
}
