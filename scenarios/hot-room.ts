/**
 * k6 entry point: one hot room: many subscribers, several publishers; fan-out latency, delivery, order, missing.
 * Profile: PROFILE (default smoke). Built by build.mjs into dist/hot-room.js. Environment: lib/README.md.
 */
import { defineSuite, vuFunctions } from '../lib/suite.js';

const suite = defineSuite('hot-room', 'smoke');

export const options = suite.options;
export const setup = suite.setup;
export const handleSummary = suite.handleSummary;
export const { restIteration, wsSession, hotRoomSession, hotRoomSlowSession, stormRequest, stormWitness } = vuFunctions(suite);
