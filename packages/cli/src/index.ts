export { type Connection, type ConnectOptions, connect } from './connect.js';
export { formatFleet, formatLaggards } from './format.js';
export { EXIT, type Io, run } from './run.js';
