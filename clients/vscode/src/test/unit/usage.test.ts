import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { ACCEPT_CAPABILITY, acceptCommandFeature, usageLine, usageToday } from '../../core/usage';

describe('usage ledger (client side)', () => {
  it('reads usageToday from a ghostline.status answer', () => {
    const answer = {
      state: 'ready',
      usageToday: { requests: 9, shown: 4, accepted: 1, acceptanceRate: 0.25, escalations: 0, fallbacks: 2 },
    };
    assert.deepEqual(usageToday(answer), { shown: 4, accepted: 1, acceptanceRate: 0.25, escalations: 0 });
    assert.equal(usageToday({ state: 'ready', usageToday: null }), undefined);
    assert.equal(usageToday({ state: 'ready' }), undefined);
    assert.equal(usageToday({ usageToday: { shown: 'x', accepted: 1 } }), undefined);
    assert.equal(usageToday(null), undefined);
  });

  it('words the rate: a percentage, unknown, or none when nothing was shown', () => {
    assert.equal(
      usageLine({ shown: 3, accepted: 2, acceptanceRate: 2 / 3, escalations: 2 }),
      'Today: 3 shown, 2 accepted (67%), 2 escalations',
    );
    assert.equal(
      usageLine({ shown: 3, accepted: 0, acceptanceRate: null, escalations: 0 }),
      'Today: 3 shown, 0 accepted (rate unknown), 0 escalations',
    );
    assert.equal(
      usageLine({ shown: 0, accepted: 0, acceptanceRate: null, escalations: 0 }),
      'Today: 0 shown, 0 accepted, 0 escalations',
    );
  });

  it('announces that the client runs accept commands, keeping other experimental capabilities', () => {
    const capabilities: { experimental?: unknown } = { experimental: { other: 1 } };
    acceptCommandFeature.fillClientCapabilities(capabilities);
    assert.deepEqual(capabilities.experimental, { other: 1, [ACCEPT_CAPABILITY]: true });
    const empty: { experimental?: unknown } = {};
    acceptCommandFeature.fillClientCapabilities(empty);
    assert.deepEqual(empty.experimental, { [ACCEPT_CAPABILITY]: true });
  });
});
