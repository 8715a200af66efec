import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { LANGUAGE_IDS } from '../../core/languages';
import {
  CLIENT_SETTING_KEYS,
  SERVER_SETTING_KEYS,
  SettingReader,
  needsRestart,
  toServerSettings,
} from '../../core/settings';
import { contributedDefaults, readPackageJson } from './packageJson';

/** A reader like VS Code's: user values over package.json defaults, with `[lang]` overrides. */
function reader(
  values: Record<string, unknown> = {},
  languageOverrides: Record<string, Record<string, unknown>> = {},
): SettingReader {
  const defaults = contributedDefaults();
  return (key, languageId) => {
    const override = languageId !== undefined ? languageOverrides[languageId] : undefined;
    if (override !== undefined && key in override) {
      return override[key];
    }
    return key in values ? values[key] : defaults.get(key);
  };
}

describe('package.json settings', () => {
  it('contributes exactly the server keys plus the client-only keys', () => {
    const contributed = [...contributedDefaults().keys()].sort();
    const expected = [...SERVER_SETTING_KEYS, ...CLIENT_SETTING_KEYS].sort();
    assert.deepEqual(contributed, expected);
  });

  it('lets ghostline.enabled be set per language', () => {
    const props = readPackageJson().contributes.configuration.properties;
    assert.equal(props['ghostline.enabled']?.scope, 'language-overridable');
  });

  it('declares a default whose JSON type matches the schema type', () => {
    const props = readPackageJson().contributes.configuration.properties;
    for (const [name, schema] of Object.entries(props)) {
      const value = schema.default;
      const actual = Array.isArray(value)
        ? 'array'
        : Number.isInteger(value) && schema.type === 'integer'
          ? 'integer'
          : typeof value;
      assert.equal(actual, schema.type, name);
    }
  });
});

describe('toServerSettings', () => {
  it('sends every server key with its default and no client-only key', () => {
    const sent = toServerSettings(reader(), LANGUAGE_IDS);
    assert.deepEqual(Object.keys(sent).sort(), [...SERVER_SETTING_KEYS].sort());
    assert.equal(sent.maxTokens, contributedDefaults().get('maxTokens'));
    assert.equal('interpreter' in sent, false);
    assert.equal('trace' in sent || 'trace.server' in sent, false);
    assert.equal(sent.enabled, true);
    assert.deepEqual(sent.disabledLanguages, []);
  });

  it('passes user values through', () => {
    const sent = toServerSettings(
      reader({ maxTokens: 12, model: '/m.gguf', routes: { tests: 'gpu' } }),
      LANGUAGE_IDS,
    );
    assert.equal(sent.maxTokens, 12);
    assert.equal(sent.model, '/m.gguf');
    assert.deepEqual(sent.routes, { tests: 'gpu' });
  });

  it('folds a per-language "enabled: false" into disabledLanguages', () => {
    const sent = toServerSettings(
      reader({ disabledLanguages: ['plaintext'] }, { go: { enabled: false } }),
      LANGUAGE_IDS,
    );
    assert.equal(sent.enabled, true);
    assert.deepEqual([...(sent.disabledLanguages as string[])].sort(), ['go', 'plaintext']);
  });

  it('turns "off except python" into enabled + every other language disabled', () => {
    const sent = toServerSettings(reader({ enabled: false }, { python: { enabled: true } }), LANGUAGE_IDS);
    assert.equal(sent.enabled, true);
    const disabled = sent.disabledLanguages as string[];
    assert.equal(disabled.includes('python'), false);
    assert.deepEqual(
      [...disabled].sort(),
      LANGUAGE_IDS.filter((id) => id !== 'python').sort(),
    );
  });

  it('keeps a global "off" as enabled=false with the user list unchanged', () => {
    const sent = toServerSettings(reader({ enabled: false, disabledLanguages: ['c'] }), LANGUAGE_IDS);
    assert.equal(sent.enabled, false);
    assert.deepEqual(sent.disabledLanguages, ['c']);
  });

  it('sends enabled=false when every language is overridden off', () => {
    const overrides = Object.fromEntries(LANGUAGE_IDS.map((id) => [id, { enabled: false }]));
    const sent = toServerSettings(reader({}, overrides), LANGUAGE_IDS);
    assert.equal(sent.enabled, false);
  });

  it('copies objects into plain JSON (no methods, no shared references)', () => {
    const backends = { gpu: { kind: 'llama-server', url: 'http://127.0.0.1:8080', get: () => 1 } };
    const sent = toServerSettings(reader({ backends }), LANGUAGE_IDS);
    assert.deepEqual(sent.backends, { gpu: { kind: 'llama-server', url: 'http://127.0.0.1:8080' } });
    assert.notEqual(sent.backends, backends);
    assert.deepEqual(JSON.parse(JSON.stringify(sent)), sent);
  });

  it('leaves out keys the reader has no value for', () => {
    const sent = toServerSettings((key) => (key === 'maxTokens' ? 5 : undefined), []);
    assert.equal(sent.maxTokens, 5);
    assert.equal('model' in sent, false);
  });
});

describe('needsRestart', () => {
  it('restarts for the interpreter only', () => {
    assert.equal(needsRestart((s) => s === 'ghostline.interpreter'), true);
    assert.equal(needsRestart((s) => s === 'ghostline.maxTokens' || s === 'ghostline'), false);
  });
});
