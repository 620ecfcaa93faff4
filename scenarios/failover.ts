/**
 * k6 entry point: REST + WS + hot room at a steady rate for DURATION, phase-tagged from FAULT_WINDOWS (drills).
 * Profile: PROFILE (default failover). Built by build.mjs into dist/failover.js. Environment: lib/README.md.
 */
import { defineSuite, vuFunctions } from '../lib/suite.js';

const suite = defineSuite('failover', 'failover');

export const options = suite.options;
export const setup = suite.setup;
export const handleSummary = suite.handleSummary;
export const { restIteration, wsSession, hotRoomSession, hotRoomSlowSession, msaIteration, stormRequest, stormWitness } = vuFunctions(suite);
