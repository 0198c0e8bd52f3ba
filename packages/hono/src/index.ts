export { type HonoApp, type HonoBinding, type HonoBindingOptions, honoBinding } from './hono-binding.js';
