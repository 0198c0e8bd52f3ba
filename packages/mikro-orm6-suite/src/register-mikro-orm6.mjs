/** `node --import` this file to run workspace source on MikroORM 6 (worker processes of the e2e scenarios). */
import { register } from 'node:module';

register('./mikro-orm6-hooks.mjs', import.meta.url);
