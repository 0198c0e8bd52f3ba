export { type AnnouncedReloader, type AnnounceOptions, type Announcer, announce } from './announce.js';
export {
  type AnnouncedError,
  type Announcement,
  MAX_ANNOUNCEMENT_BYTES,
  parseAnnouncement,
} from './announcement.js';
export type { FleetBackend, FleetEntry, FleetListing } from './backend.js';
export {
  FleetLagError,
  type FleetMember,
  type FleetSnapshot,
  type FleetView,
  type FleetViewOptions,
  fleetView,
  type Laggard,
  laggardsOf,
  type RejectedEntry,
  type WaitForFleetOptions,
} from './fleet-view.js';
export { type MemoryFleetBackend, memoryFleetBackend } from './memory-backend.js';
