export {
  ApphookFleet,
  type ApphookFleetRow,
  DEFAULT_FLEET_TABLE,
  defineApphookFleet,
} from './fleet-entity.js';
export { type SqlFleetBackend, type SqlFleetBackendOptions, sqlFleetBackend } from './sql-backend.js';
