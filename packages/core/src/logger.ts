import type { Logger } from './contracts.js';

const silent: Logger = { warn() {}, error() {} };

const consoleLogger: Logger = {
  warn: (message, meta) => (meta ? console.warn(message, meta) : console.warn(message)),
  error: (message, meta) => (meta ? console.error(message, meta) : console.error(message)),
};

/** `undefined` means console (warn and error only), `false` means silent. */
export function createLogger(logger: Logger | false | undefined): Logger {
  if (logger === false) return silent;
  return logger ?? consoleLogger;
}
