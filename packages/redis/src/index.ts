export {
  type DecodedMessage,
  decodeMessage,
  encodeMessage,
  type HintMessage,
  MESSAGE_FORMAT,
} from './message.js';
export type { RedisClient, RedisNotifierOptions } from './options.js';
export { type RedisNotifier, type RedisNotifierStats, redisNotifier } from './redis-notifier.js';
export type { HubState as SubscriberState } from './subscriber-hub.js';
