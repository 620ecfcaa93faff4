/**
 * k6 entry point: REST only: login, rooms, post message, list messages; open model (arrival rate).
 * Profile: PROFILE (default smoke). Built by build.mjs into dist/rest.js. Environment: lib/README.md.
 */
import { defineSuite, vuFunctions } from '../lib/suite.js';

const suite = defineSuite('rest', 'smoke');

export const options = suite.options;
export const setup = suite.setup;
export const handleSummary = suite.handleSummary;
export const { restIteration, wsSession, hotRoomSession, hotRoomSlowSession, stormRequest, stormWitness } = vuFunctions(suite);
