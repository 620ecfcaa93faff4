/**
 * k6 entry point: the owners' own MSA load test alone (chat message, session status, tenants list, 200 ms sleep,
 * after one login), tagged per service and endpoint, with their thresholds (lib/msa-plan.ts). Needs SESSION_URL
 * and TENANTHUB_URL. Profile: PROFILE (default smoke). Built by build.mjs into dist/msa.js.
 */
import { defineSuite, vuFunctions } from '../lib/suite.js';

const suite = defineSuite('msa', 'smoke');

export const options = suite.options;
export const setup = suite.setup;
export const handleSummary = suite.handleSummary;
export const { msaIteration, stormRequest, stormWitness } = vuFunctions(suite);
