export { type ExpressBinding, type ExpressBindingOptions, expressBinding } from './express-binding.js';
