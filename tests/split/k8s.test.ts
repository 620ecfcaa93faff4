import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { operatorSegmentArgs, testRunManifest, TARGET_SECRET } from '../../split/k8s.js';
import { segmentArgs } from '../../split/segments.js';

describe('k6-operator manifest', () => {
  it('a ConfigMap with the script and a TestRun with env from a Secret, arguments, parallelism, resources', () => {
    const yaml = testRunManifest({ profile: 'stage3', parallelism: 4, script: 'export default function () {}\n', runId: 'w47', hotRoom: 'room-9' });
    const [cm, tr] = parseAllDocuments(yaml).map((d) => d.toJS());
    expect(cm.kind).toBe('ConfigMap');
    expect(cm.data['load.js']).toBe('export default function () {}\n');
    expect(tr.apiVersion).toBe('k6.io/v1alpha1');
    expect(tr.kind).toBe('TestRun');
    expect(tr.spec.parallelism).toBe(4);
    expect(tr.spec.script.configMap).toEqual({ name: cm.metadata.name, file: 'load.js' });
    expect(tr.spec.arguments).toContain('--out json=');
    expect(tr.spec.arguments).not.toContain('execution-segment'); // the operator adds the segments itself
    const env = Object.fromEntries(tr.spec.runner.env.map((e: { name: string; value?: string; valueFrom?: unknown }) => [e.name, e.value ?? e.valueFrom]));
    expect(env.PROFILE).toBe('stage3');
    expect(env.RUN_ID).toBe('w47');
    expect(env.HOT_ROOM).toBe('room-9'); // every runner joins the one hot room of npm run load -- prepare
    expect(env.LOGIN_PASSWORD).toEqual({ secretKeyRef: { name: TARGET_SECRET, key: 'LOGIN_PASSWORD' } });
    expect(yaml).not.toMatch(/password:\s*\S/i);
    expect(tr.spec.runner.resources.requests.cpu).toBe('2');
    expect(tr.spec.runner.resources.requests.memory).toMatch(/^\d+Mi$/);
  });

  it("the operator's segmenting of parallelism N equals the local split i/N", () => {
    for (const n of [1, 2, 3, 4, 10]) {
      for (let i = 1; i <= n; i++) expect(operatorSegmentArgs(i, n)).toEqual(segmentArgs({ index: i, count: n }));
    }
    expect(operatorSegmentArgs(2, 3)).toEqual(['--execution-segment', '1/3:2/3', '--execution-segment-sequence', '0,1/3,2/3,1']);
  });
});
