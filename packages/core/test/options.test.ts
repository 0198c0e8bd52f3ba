import {
  ApphookError,
  ApphookOptionError,
  callbackBinding,
  createReloader,
  memoryNotifier,
  memoryStore,
  type ReloaderOptions,
} from '@apphook/core';
import { describe, expect, it } from 'vitest';

const store = memoryStore({ logger: false });
const binding = () => callbackBinding({ rebuildRoutes: () => ({}) });
const base = (): ReloaderOptions<object, unknown> =>
  ({ store, binding: binding(), logger: false }) as ReloaderOptions<object, unknown>;

function errorOf(fn: () => unknown): ApphookError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(ApphookError);
    return error as ApphookError;
  }
  throw new Error('expected a throw');
}

describe('createReloader options (G11)', () => {
  it('rejects a missing store and says what to pass', () => {
    const error = errorOf(() => createReloader({ ...base(), store: undefined as never }));
    expect(error).toBeInstanceOf(ApphookOptionError);
    expect(error.code).toBe('E_OPTION');
    expect(error.message).toMatch(/store is missing.*postgresStore\(orm\)/);
  });

  it('rejects a missing binding', () => {
    const error = errorOf(() => createReloader({ ...base(), binding: undefined as never }));
    expect(error.message).toMatch(/binding is missing.*callbackBinding/);
  });

  it('rejects an unknown mode', () => {
    const error = errorOf(() => createReloader({ ...base(), mode: 'sometimes' as never }));
    expect(error.message).toMatch(/mode must be 'push', 'interval' or 'request', got "sometimes"/);
  });

  it.each([0, -5, Number.NaN, Number.POSITIVE_INFINITY, '1000', 2 ** 31])(
    'rejects intervalMs %s',
    (value) => {
      const error = errorOf(() => createReloader({ ...base(), intervalMs: value as number }));
      expect(error.message).toMatch(/intervalMs must be a positive number of milliseconds/);
    },
  );

  it('rejects non-positive timeouts and a retryMaxMs below retryBaseMs', () => {
    expect(errorOf(() => createReloader({ ...base(), rebuildTimeoutMs: 0 })).message).toMatch(
      /rebuildTimeoutMs/,
    );
    expect(errorOf(() => createReloader({ ...base(), safetyIntervalMs: -1 })).message).toMatch(
      /safetyIntervalMs/,
    );
    expect(errorOf(() => createReloader({ ...base(), retryBaseMs: 100, retryMaxMs: 10 })).message).toMatch(
      /retryMaxMs \(10\) must be at least retryBaseMs \(100\)/,
    );
  });

  it.each([
    ['', /non-empty string/],
    ['x'.repeat(192), /192 characters long; the limit is 191/],
    ["x'; drop table apphook_token; --", /outside \[A-Za-z0-9._:-\]/],
    ['tenant/42', /outside/],
    [42, /non-empty string.*got 42/],
  ])('rejects scope %j', (scope, message) => {
    const error = errorOf(() => createReloader({ ...base(), scope: scope as string }));
    expect(error.code).toBe('E_SCOPE');
    expect(error.message).toMatch(message);
  });

  it('validates minRebuildIntervalMs and minHintIntervalMs (0 allowed: no spacing, no throttle)', () => {
    for (const key of ['minRebuildIntervalMs', 'minHintIntervalMs'] as const) {
      const error = errorOf(() => createReloader({ ...base(), [key]: -1 }));
      expect(error.code).toBe('E_OPTION');
      expect(error.message).toMatch(new RegExp(`${key} must be a non-negative number of milliseconds`));
      expect(() => createReloader({ ...base(), [key]: 0 })).not.toThrow();
    }
  });

  it('validates the storm backoff: maxRebuildIntervalMs at least minRebuildIntervalMs, stormQuietMs >= 0', () => {
    const error = errorOf(() =>
      createReloader({ ...base(), minRebuildIntervalMs: 200, maxRebuildIntervalMs: 100 }),
    );
    expect(error.code).toBe('E_OPTION');
    expect(error.message).toMatch(
      /maxRebuildIntervalMs \(100\) must be at least minRebuildIntervalMs \(200\)/,
    );
    expect(errorOf(() => createReloader({ ...base(), stormQuietMs: -1 })).message).toMatch(
      /stormQuietMs must be a non-negative number of milliseconds/,
    );
    // A spacing above the default cap raises the cap with it instead of failing.
    expect(() => createReloader({ ...base(), minRebuildIntervalMs: 5000 })).not.toThrow();
    expect(() => createReloader({ ...base(), maxRebuildIntervalMs: 100 })).not.toThrow();
  });

  it('accepts a 191-character scope and the allowed punctuation', () => {
    expect(() => createReloader({ ...base(), scope: 'a'.repeat(191) })).not.toThrow();
    expect(() => createReloader({ ...base(), scope: 'site:example.com_1-a' })).not.toThrow();
  });

  it("refuses mode 'push' without any push channel", () => {
    const pushless = memoryStore({ push: false });
    const { subscribe: _unused, ...noSubscribe } = pushless;
    const error = errorOf(() =>
      createReloader({ store: noSubscribe, binding: binding(), mode: 'push', logger: false }),
    );
    expect(error.message).toMatch(/mode 'push' needs a push channel.*choose mode 'interval'/);
  });

  it("defaults to 'push' with a notifier and to 'interval' without any channel", () => {
    const pushless = memoryStore({ push: false });
    const { subscribe: _unused, ...noSubscribe } = pushless;
    expect(createReloader({ store: noSubscribe, binding: binding() }).mode).toBe('interval');
    expect(createReloader({ store: noSubscribe, binding: binding(), notifier: memoryNotifier() }).mode).toBe(
      'push',
    );
  });

  it('refuses a notifier when the store cannot run after-commit hooks (it could only publish before commit)', () => {
    const { afterCommit: _unused, ...noHooks } = memoryStore();
    const error = errorOf(() =>
      createReloader({ store: noHooks, binding: binding(), notifier: memoryNotifier(), logger: false }),
    );
    expect(error.message).toMatch(/cannot run after-commit hooks/);
  });

  it('refuses a binding that already serves another reloader', () => {
    const shared = binding();
    createReloader({ store, binding: shared, scope: 'a' });
    const error = errorOf(() => createReloader({ store, binding: shared, scope: 'b' }));
    expect(error.message).toMatch(/already serves the reloader of scope 'a'/);
  });

  it('rejects a rebuildRoutes that is not a function', () => {
    const error = errorOf(() => callbackBinding({ rebuildRoutes: 'nope' as never }));
    expect(error.message).toMatch(/rebuildRoutes must be a function/);
  });
});
