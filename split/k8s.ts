/**
 * `npm run load -- k8s --profile P --parallelism N`: a k6-operator `TestRun` (k6.io/v1alpha1) plus the
 * ConfigMap holding the bundled scenario (dist/load.js: one self-contained file), as multi-document YAML.
 * The target and login come from a Secret (`dbman-load-target`, keys CHAT_URL ... LOGIN_PASSWORD), never
 * literally; the run id and the shared hot room (HOT_ROOM) from the rooms file of `npm run load -- prepare`. The operator gives runner i of N `--execution-segment (i-1)/N:i/N` of the sequence 0,1/N,...,1:
 * the same segments as `npm run load -- --segment i/N` (operatorSegmentArgs models it; the test compares).
 */
import { stringify } from 'yaml';
import { peakSockets, peakVus, resolveProfile, type ProfileName } from '../lib/profiles.js';
import { TARGET_ENV } from '../runner/smoke-config.js';
import { SUMMARY_TREND_STATS } from '../runner/k6-run.js';

export const TARGET_SECRET = 'dbman-load-target';

export interface ManifestOptions {
  profile: ProfileName;
  parallelism: number;
  script: string;
  scale?: number;
  runId: string;
  /** The run's shared hot room (npm run load -- prepare): every runner's setup() joins it. */
  hotRoom?: string;
  image?: string;
  name?: string;
}

/** The k6-operator's segmenting of runner `index` (1-based) of `total` (pkg/segmentation: NewCommandFragments). */
export function operatorSegmentArgs(index: number, total: number): string[] {
  if (total === 1) return [];
  const part = (k: number) => (k === 0 ? '0' : k === total ? '1' : `${k}/${total}`);
  const seq = Array.from({ length: total + 1 }, (_, k) => part(k)).join(',');
  return ['--execution-segment', `${part(index - 1)}:${part(index)}`, '--execution-segment-sequence', seq];
}

export function testRunManifest(o: ManifestOptions): string {
  const name = o.name ?? `dbman-load-${o.profile}`.toLowerCase();
  const p = resolveProfile(o.profile, o.scale !== undefined ? { scale: o.scale } : {});
  const socketsPerRunner = Math.ceil(peakSockets(p) / o.parallelism);
  const vusPerRunner = Math.ceil(peakVus(p) / o.parallelism);
  // measured: ~1 MB RSS per open room socket in k6 (lib/README.md: 200 sockets ≈ 215 MB) + 200 MB base
  const memMi = Math.max(512, Math.ceil(200 + socketsPerRunner * 1.1));
  const configMap = {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: `${name}-script`, labels: { app: 'dbman-load' } },
    data: { 'load.js': o.script },
  };
  const env = [
    ...TARGET_ENV.map((k) => ({ name: k, valueFrom: { secretKeyRef: { name: TARGET_SECRET, key: k } } })),
    { name: 'PROFILE', value: o.profile },
    { name: 'RUN_ID', value: o.runId },
    { name: 'ALLOW_REMOTE', value: '1' },
    ...(o.hotRoom !== undefined ? [{ name: 'HOT_ROOM', value: o.hotRoom }] : []),
    ...(o.scale !== undefined ? [{ name: 'SCALE', value: String(o.scale) }] : []),
  ];
  const testRun = {
    apiVersion: 'k6.io/v1alpha1',
    kind: 'TestRun',
    metadata: { name, labels: { app: 'dbman-load' } },
    spec: {
      parallelism: o.parallelism,
      script: { configMap: { name: `${name}-script`, file: 'load.js' } },
      arguments: `--no-usage-report --summary-trend-stats ${SUMMARY_TREND_STATS} --out json=/tmp/k6-raw.json.gz`,
      separate: true,
      runner: {
        image: o.image ?? 'grafana/k6:1.8.1',
        env,
        resources: {
          requests: { cpu: '2', memory: `${memMi}Mi` },
          limits: { cpu: '2', memory: `${Math.ceil(memMi * 1.5)}Mi` },
        },
        securityContext: { sysctls: [{ name: 'net.ipv4.ip_local_port_range', value: '1024 65535' }] },
      },
    },
  };
  const head = `# k6-operator TestRun: profile ${o.profile}${o.scale !== undefined ? ` x${o.scale}` : ''}, ${o.parallelism} runners, ~${vusPerRunner} VUs and ~${socketsPerRunner} sockets per runner\n# needs Secret ${TARGET_SECRET} with ${TARGET_ENV.join(', ')}\n`;
  return head + stringify(configMap) + '---\n' + stringify(testRun);
}
