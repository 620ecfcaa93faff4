/**
 * k6 entry point: every part of a staged profile (baseline, stage1, stage2, stage3; SCALE, DURATION, execution segments).
 * Profile: PROFILE (default baseline). Built by build.mjs into dist/load.js. Environment: lib/README.md.
 */
import { defineSuite, vuFunctions } from '../lib/suite.js';

const suite = defineSuite('load', 'baseline');

export const options = suite.options;
export const setup = suite.setup;
export const handleSummary = suite.handleSummary;
export const { restIteration, wsSession, hotRoomSession, hotRoomSlowSession, msaIteration, stormRequest, stormWitness } = vuFunctions(suite);
