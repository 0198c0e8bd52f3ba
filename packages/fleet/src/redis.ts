export { type RedisFleetBackendOptions, redisFleetBackend } from './redis-backend.js';
