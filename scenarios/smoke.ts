/**
 * k6 entry point: REST, WS and hot room briefly in one k6 run (the PR smoke, about 25 s of load).
 * Profile: PROFILE (default smoke). Built by build.mjs into dist/smoke.js. Environment: lib/README.md.
 */
import { defineSuite, vuFunctions } from '../lib/suite.js';

const suite = defineSuite('smoke', 'smoke');

export const options = suite.options;
export const setup = suite.setup;
export const handleSummary = suite.handleSummary;
export const { restIteration, wsSession, hotRoomSession, hotRoomSlowSession, msaIteration, stormRequest, stormWitness } = vuFunctions(suite);
