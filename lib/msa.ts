/**
 * The msa part on k6 (plan and thresholds: lib/msa-plan.ts): one iteration of the owners' MSA script as the admin
 * logged in once in setup: a chat message, a session status update (online → busy → away), the tenants list, then
 * the 200 ms sleep. Every request is tagged `service` (chat, session, tenanthub) and `endpoint`
 * (message_store, session_status, tenants_list) besides `phase` and `traffic:load` (k6 adds `scenario:msa`).
 *
 * The tenants list carries the tenants' connection strings and secret keys: its body is read only to check that
 * it is a JSON array, and is never logged, returned or put into an error text (a failure says its status only).
 */
import { sleep } from 'k6';
import exec from 'k6/execution';
import http from 'k6/http';
import { Rate } from 'k6/metrics';
import type { SuiteConfig } from './config.js';
import { msaStatusFor, type MsaPart } from './msa-plan.js';
import type { Phase } from './types.js';
import { ChatApi, errorText, parseJson, type Call } from './rest.js';

/**
 * 1 per 200 answer of the part with the contract's shape (status update `{"ok": true}`, tenants list a JSON array),
 * 0 for a 200 without it: a service that answers 200 on a failure, or a page instead of the array, is no success.
 * Tags: service, endpoint, phase.
 */
export const msaAnswerOk = new Rate('msa_answer_ok');

export interface MsaTarget {
  sessionUrl: string;
  tenanthubUrl: string;
  timeoutS: number;
  phase: () => Phase | 'setup';
  token: string;
}

function params(t: MsaTarget, service: string, endpoint: string, name: string) {
  const phase = t.phase();
  return {
    headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${t.token}` },
    timeout: `${t.timeoutS}s`,
    tags: { service, endpoint, phase, traffic: phase === 'setup' ? 'setup' : 'load', name },
  };
}

/** PATCH /api/v1/session/status: 200 expected (the real session answers 400 on any failure, dbman's included). */
export function updateStatus(t: MsaTarget, status: string): Call<{ ok: boolean }> {
  const name = `${t.sessionUrl}/api/v1/session/status`;
  const res = http.patch(name, JSON.stringify({ status }), params(t, 'session', 'session_status', name));
  const json = parseJson(res.body);
  const durationMs = res.timings.duration;
  if (res.status !== 200) return { ok: false, status: res.status, durationMs, error: errorText(res, json) };
  const shaped = (json as { ok?: unknown } | undefined)?.ok === true;
  msaAnswerOk.add(shaped, { service: 'session', endpoint: 'session_status', phase: t.phase() });
  return shaped ? { ok: true, status: 200, durationMs, data: { ok: true } } : { ok: false, status: 200, durationMs, error: 'answer without "ok": true' };
}

/** GET /api/v1/tenants: 200 with a JSON array expected. Returns only the count; the body is secret. */
export function listTenants(t: MsaTarget): Call<{ count: number }> {
  const name = `${t.tenanthubUrl}/api/v1/tenants`;
  const res = http.get(name, params(t, 'tenanthub', 'tenants_list', name));
  const durationMs = res.timings.duration;
  if (res.status !== 200) return { ok: false, status: res.status, durationMs, error: res.status === 0 ? 'no response' : `status ${res.status}` };
  const json = parseJson(res.body);
  msaAnswerOk.add(Array.isArray(json), { service: 'tenanthub', endpoint: 'tenants_list', phase: t.phase() });
  if (!Array.isArray(json)) return { ok: false, status: res.status, durationMs, error: 'answer is not a JSON array' };
  return { ok: true, status: res.status, durationMs, data: { count: json.length } };
}

export interface MsaData {
  token: string;
  roomId: string;
}

/** One iteration of the owners' script. */
export function msaIteration(cfg: SuiteConfig, part: MsaPart, data: MsaData, phase: () => Phase): void {
  const n = exec.scenario.iterationInTest;
  const chat = new ChatApi({ chatUrl: cfg.chatUrl, authUrl: cfg.authUrl, timeoutS: part.timeoutS, phase }, data.token);
  chat.postMessage(data.roomId, `msa ${n} ${Date.now()}`);
  const t: MsaTarget = { sessionUrl: cfg.sessionUrl!, tenanthubUrl: cfg.tenanthubUrl!, timeoutS: part.timeoutS, phase, token: data.token };
  updateStatus(t, msaStatusFor(n));
  listTenants(t);
  sleep(part.sleepS);
}
