import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { StatusModel, serverStatusError } from '../../core/status';

function running(): StatusModel {
  const model = new StatusModel();
  model.setLifecycle('running');
  return model;
}

describe('StatusModel', () => {
  it('goes stopped → starting → ready', () => {
    const model = new StatusModel();
    assert.equal(model.view().state, 'stopped');
    model.setLifecycle('starting');
    assert.equal(model.view().state, 'starting');
    model.setLifecycle('running');
    assert.equal(model.view().state, 'ready');
  });

  it('shows server progress with its title and percentage until it ends', () => {
    const model = running();
    model.onProgress('idx', { kind: 'begin', title: 'Indexing', percentage: 0 });
    model.onProgress('idx', { kind: 'report', message: '40/100 files', percentage: 40.4 });
    const view = model.view();
    assert.equal(view.state, 'progress');
    assert.match(view.text, /Indexing 40%/);
    assert.match(view.tooltip, /40\/100 files/);
    model.onProgress('idx', { kind: 'end' });
    assert.equal(model.view().state, 'ready');
  });

  it('shows the message of a progress titled just "Ghostline"', () => {
    const model = running();
    model.onProgress('m', { kind: 'begin', title: 'Ghostline', message: 'loading model' });
    assert.equal(model.view().text, '$(sync~spin) Ghostline: loading model');
  });

  it('shows the latest of overlapping progress reports', () => {
    const model = running();
    model.onProgress(1, { kind: 'begin', title: 'Indexing' });
    model.onProgress(2, { kind: 'begin', title: 'Loading model' });
    assert.match(model.view().text, /Loading model/);
    model.onProgress(2, { kind: 'end' });
    assert.match(model.view().text, /Indexing/);
  });

  it('ignores a report for an unknown token', () => {
    const model = running();
    model.onProgress('nope', { kind: 'report', percentage: 50 });
    assert.equal(model.view().state, 'ready');
  });

  it('is busy while a request is in flight; finishing twice counts once', () => {
    const model = running();
    const first = model.beginRequest();
    const second = model.beginRequest();
    assert.equal(model.view().state, 'busy');
    first();
    first();
    assert.equal(model.view().state, 'busy');
    second();
    assert.equal(model.view().state, 'ready');
  });

  it('puts an error above everything else until the server runs again', () => {
    const model = running();
    model.onProgress('x', { kind: 'begin', title: 'Indexing' });
    model.setError('Ghostline is not installed for python3');
    const view = model.view();
    assert.equal(view.state, 'error');
    assert.equal(view.severity, 'error');
    assert.match(view.tooltip, /not installed/);
    model.setLifecycle('stopped');
    assert.equal(model.view().state, 'error');
    model.setLifecycle('running');
    assert.equal(model.view().state, 'ready');
  });

  it('shows that inline completion is off', () => {
    const model = running();
    model.setEnabled(false);
    assert.equal(model.view().state, 'disabled');
    model.setEnabled(true);
    assert.equal(model.view().state, 'ready');
  });

  it('forgets progress and requests when the server stops', () => {
    const model = running();
    model.onProgress('x', { kind: 'begin', title: 'Indexing' });
    model.beginRequest();
    model.setLifecycle('stopped');
    model.setLifecycle('running');
    assert.equal(model.view().state, 'ready');
  });

  it('names the interpreter in the tooltip', () => {
    const model = running();
    model.setInterpreter('/venv/bin/python');
    assert.match(model.view().tooltip, /\/venv\/bin\/python/);
  });

  it("shows today's usage in the tooltip while the server runs", () => {
    const model = running();
    model.setUsage({ shown: 12, accepted: 3, acceptanceRate: 0.25, escalations: 1 });
    assert.match(model.view().tooltip, /\nToday: 12 shown, 3 accepted \(25%\), 1 escalation\n/);
    model.setUsage(undefined); // the ledger is off
    assert.doesNotMatch(model.view().tooltip, /Today/);
    model.setUsage({ shown: 1, accepted: 0, acceptanceRate: null, escalations: 0 });
    model.setLifecycle('stopped');
    assert.doesNotMatch(model.view().tooltip, /Today/);
  });
});

describe('serverStatusError', () => {
  it('reads the error of a failed server', () => {
    assert.equal(serverStatusError({ state: 'error', error: 'no GGUF at /x' }), 'no GGUF at /x');
    assert.equal(serverStatusError({ state: 'error', error: null }), 'the model failed to load');
  });

  it('is undefined for loading, ready and unexpected answers', () => {
    for (const answer of [{ state: 'ready' }, { state: 'loading' }, null, 'error', 3]) {
      assert.equal(serverStatusError(answer), undefined);
    }
  });
});
