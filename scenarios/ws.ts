/**
 * k6 entry point: room WebSockets only: join, send with client_msg_id, send-to-echo latency, errors, early closes.
 * Profile: PROFILE (default smoke). Built by build.mjs into dist/ws.js. Environment: lib/README.md.
 */
import { defineSuite, vuFunctions } from '../lib/suite.js';

const suite = defineSuite('ws', 'smoke');

export const options = suite.options;
export const setup = suite.setup;
export const handleSummary = suite.handleSummary;
export const { restIteration, wsSession, hotRoomSession, hotRoomSlowSession, stormRequest, stormWitness } = vuFunctions(suite);
