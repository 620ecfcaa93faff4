/**
 * Streaming reader of k6's raw JSON output (`--out json=<file>`, gzip when the name ends in .gz): one JSON
 * object a line, `{"type":"Metric",...}` declarations and `{"type":"Point","metric":...,"data":{time,value,tags}}`
 * samples. Used to count the samples behind every thresholded (sub)metric, because k6 passes a threshold whose
 * metric never got a sample.
 */
import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { createGunzip } from 'node:zlib';
import type { Readable } from 'node:stream';

export interface RawPoint {
  metric: string;
  time: string;
  value: number;
  tags: Record<string, string>;
  /** k6 sample metadata (lib/history.ts), when the sample carries any. */
  metadata?: Record<string, string | number | boolean>;
}

/** Opens a raw output file, gunzipping when it starts with the gzip magic bytes (whatever its name). */
export async function openRaw(path: string): Promise<Readable> {
  const fh = await open(path, 'r');
  const magic = Buffer.alloc(2);
  await fh.read(magic, 0, 2, 0);
  await fh.close();
  const file = createReadStream(path);
  return magic[0] === 0x1f && magic[1] === 0x8b ? file.pipe(createGunzip()) : file;
}

/** Calls `onPoint` for every sample whose metric is in `metrics` (all samples when omitted). */
export async function forEachPoint(path: string, onPoint: (p: RawPoint) => void, metrics?: ReadonlySet<string>): Promise<void> {
  const lines = createInterface({ input: await openRaw(path), crlfDelay: Infinity });
  const prefix = '{"metric":"';
  for await (const line of lines) {
    // Cheap pre-filter: Points start with {"metric":"<name>","type":"Point"; skip the JSON parse of others.
    if (!line.startsWith(prefix)) {
      if (!line.includes('"type":"Point"')) continue;
    } else if (metrics) {
      const end = line.indexOf('"', prefix.length);
      if (!metrics.has(line.slice(prefix.length, end))) continue;
    }
    const obj = JSON.parse(line) as { type?: string; metric?: string; data?: { time: string; value: number; tags?: Record<string, string> | null; metadata?: RawPoint['metadata'] | null } };
    if (obj.type !== 'Point' || !obj.metric || !obj.data) continue;
    if (metrics && !metrics.has(obj.metric)) continue;
    onPoint({ metric: obj.metric, time: obj.data.time, value: obj.data.value, tags: obj.data.tags ?? {}, ...(obj.data.metadata ? { metadata: obj.data.metadata } : {}) });
  }
}

/** A metric or a submetric filter: samples of `baseMetric` whose tags include every pair of `tags`. */
export interface SeriesFilter {
  key: string;
  baseMetric: string;
  tags: Record<string, string>;
  /** Keep the values too (to compute an aggregation the summary data lacks). Memory grows with the samples. */
  keepValues?: boolean;
  /** Called with every matching sample's value (bounded-memory aggregation, e.g. split/series-stats.ts). */
  onValue?: (value: number) => void;
}

export interface SeriesCount {
  samples: number;
  values?: number[];
}

/** Counts, in one pass over the raw output, the samples of every filter. */
export async function countSamples(path: string, filters: readonly SeriesFilter[]): Promise<Map<string, SeriesCount>> {
  const out = new Map<string, SeriesCount>();
  const byMetric = new Map<string, SeriesFilter[]>();
  for (const f of filters) {
    out.set(f.key, f.keepValues ? { samples: 0, values: [] } : { samples: 0 });
    byMetric.set(f.baseMetric, [...(byMetric.get(f.baseMetric) ?? []), f]);
  }
  await forEachPoint(
    path,
    (p) => {
      for (const f of byMetric.get(p.metric) ?? []) {
        if (!Object.entries(f.tags).every(([k, v]) => p.tags[k] === v)) continue;
        const c = out.get(f.key)!;
        c.samples += 1;
        c.values?.push(p.value);
        f.onValue?.(p.value);
      }
    },
    new Set(byMetric.keys()),
  );
  return out;
}
