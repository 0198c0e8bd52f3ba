import { type Binding, createReloader, memoryStore } from '@apphook/core';
import { afterEach } from 'vitest';

/** What a test opened (reloaders, servers), closed after each test in reverse order. */
export const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** A started reloader on a memory store serving `binding`; `change()` commits a bump through it. */
export async function started(binding: Binding<unknown>) {
  const store = memoryStore({ logger: false });
  const reloader = createReloader({ store, binding, logger: false });
  cleanups.push(() => reloader.stop());
  await reloader.start();
  return { store, reloader, change: () => store.transaction((tx) => reloader.markChanged(tx)) };
}
