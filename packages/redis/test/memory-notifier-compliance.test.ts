import { memoryNotifier } from '@apphook/core';
import { runNotifierSuite } from '@apphook/test-suite/notifier';

// Core's in-memory notifier is held to the same contract as the Redis one (it lives here so core keeps no
// dependency on the test suite).
runNotifierSuite({
  name: 'memoryNotifier (@apphook/core)',
  createNotifier: () => memoryNotifier(),
});
