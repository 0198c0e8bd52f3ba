export {
  type InstrumentedReloader,
  type InstrumentReloaderOptions,
  instrumentReloader,
  type NotifierDropStats,
  type ReloaderInstrumentation,
} from './instrument-reloader.js';
