export { type KoaBinding, type KoaBindingOptions, koaBinding } from './koa-binding.js';
