// Permission set session durations: the ISO-8601 durations Identity Center takes, and its 1 to 12 hour bounds.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { durationSeconds } from '../../src/domain/duration.js';
import { checkSessionDuration } from '../../src/services/sso-admin/common.js';
import { ServiceError } from '../../src/wire/errors.js';

describe('durationSeconds', () => {
  test('days, hours, minutes and seconds, alone or together', () => {
    const cases: [string, number][] = [
      ['PT1H', 3600],
      ['PT8H', 28800],
      ['PT12H', 43200],
      ['PT30M', 1800],
      ['PT45S', 45],
      ['PT1H30M', 5400],
      ['PT2H0M0S', 7200],
      ['PT3600S', 3600],
      ['PT90M', 5400],
      ['P1D', 86400],
      ['P1DT1H', 90000],
      ['P0D', 0],
      ['PT0S', 0],
      ['PT1.5S', 1.5],
    ];
    for (const [iso, seconds] of cases) assert.equal(durationSeconds(iso), seconds, iso);
  });

  test('what is not such a duration is undefined', () => {
    for (const iso of [
      '',
      'P',
      'PT',
      'P1DT',
      'pt1h',
      'PT1h',
      'PT1H ',
      ' PT1H',
      '1H',
      'T1H',
      '-PT1H',
      'P1Y',
      'P1M',
      'P1W',
      'PT1.5H',
      'PT1M1H',
      'PT1H1H',
      'PT',
      'PT-1H',
      'P1DT1H30M5',
      'PT8H\n',
    ]) {
      assert.equal(durationSeconds(iso), undefined, JSON.stringify(iso));
    }
  });
});

describe('checkSessionDuration', () => {
  const refused = (iso: string) =>
    assert.throws(
      () => checkSessionDuration(iso),
      (err: unknown) => {
        assert.ok(err instanceof ServiceError);
        assert.equal(err.code, 'ValidationException');
        assert.equal(err.message, `SessionDuration ${iso} is invalid: it must be an ISO-8601 duration from PT1H to PT12H`);
        return true;
      },
      iso,
    );

  test('from PT1H to PT12H inclusive, however written', () => {
    for (const iso of ['PT1H', 'PT12H', 'PT8H', 'PT60M', 'PT3600S', 'PT43200S', 'P0DT2H', 'PT11H59M59S']) {
      assert.doesNotThrow(() => checkSessionDuration(iso), iso);
    }
  });

  test('an absent duration is left to the default', () => {
    assert.doesNotThrow(() => checkSessionDuration(undefined));
  });

  test('shorter than an hour, longer than twelve, or not a duration: ValidationException', () => {
    for (const iso of ['PT59M59S', 'PT3599S', 'PT0S', 'PT12H0M1S', 'PT13H', 'P1D', 'PT43201S', 'eight hours', 'P1Y']) refused(iso);
  });
});
