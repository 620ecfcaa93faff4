/**
 * The per-socket delivery digest (lib/delivery-digest.ts) and the cheap marker extraction from raw frames.
 */
import { describe, expect, it } from 'vitest';
import { decodeDigest, DeliveryDigest, digestHas, streamKey } from '../../lib/delivery-digest.js';
import { messageBody, receiptInFrame, type Marker } from '../../lib/marker.js';

const K = '0:w:3:0:1';

describe('DeliveryDigest', () => {
  it('keeps seqs as ranges; in-order receipts of one stream stay one range', () => {
    const d = new DeliveryDigest();
    for (let s = 0; s < 100; s++) expect(d.record(K, s)).toBe('new');
    expect(d.encode()).toBe(`1|${K}=0-99|100|0:|0:|0`);
  });

  it('gaps, fills, duplicates and reorders: counted, listed, and the set stays exact', () => {
    const d = new DeliveryDigest();
    const seen = new Set<number>();
    const order = [0, 1, 5, 3, 2, 9, 4, 5, 12, 11, 10, 0];
    const kinds = order.map((s) => d.record(K, s));
    expect(kinds).toEqual(['new', 'new', 'new', 'reordered', 'reordered', 'new', 'reordered', 'duplicate', 'new', 'reordered', 'reordered', 'duplicate']);
    for (const s of order) seen.add(s);
    const back = decodeDigest(d.encode())!;
    expect(back.duplicates).toBe(2);
    expect(back.duplicateList).toEqual([`${K}#5`, `${K}#0`]);
    expect(back.reordered).toBe(5);
    expect(back.reorderedList[0]).toBe(`${K}#3<5`);
    expect(back.streams.get(K)).toEqual([0, 5, 9, 12]);
    for (let s = 0; s < 15; s++) expect(digestHas(back, K, s), String(s)).toBe(seen.has(s));
    expect(digestHas(back, '0:w:9:0:0', 0)).toBe(false);
  });

  it('random receipts: the decoded digest answers exactly the set received', () => {
    const d = new DeliveryDigest();
    const seen = new Map<string, Set<number>>();
    let x = 7;
    for (let i = 0; i < 3000; i++) {
      x = (x * 1103515245 + 12345) % 2147483648;
      const key = `0:w:${x % 7}:0:0`;
      const seq = (x >> 8) % 300;
      d.record(key, seq);
      (seen.get(key) ?? seen.set(key, new Set()).get(key)!).add(seq);
    }
    const back = decodeDigest(d.encode())!;
    for (const [key, set] of seen) for (let s = 0; s < 300; s++) expect(digestHas(back, key, s)).toBe(set.has(s));
    expect(back.receipts).toBe(3000);
    expect(back.duplicates).toBe(3000 - [...seen.values()].reduce((a, s) => a + s.size, 0));
  });

  it('a stream cap: receipts of streams past it are counted as overflow, not kept', () => {
    const d = new DeliveryDigest(2);
    d.record('a', 0);
    d.record('b', 0);
    d.record('c', 0);
    const back = decodeDigest(d.encode())!;
    expect(back.overflow).toBe(1);
    expect([...back.streams.keys()]).toEqual(['a', 'b']);
    expect(decodeDigest('garbage')).toBeUndefined();
    expect(decodeDigest('1|a=x|0|0:|0:|0')).toBeUndefined();
  });
});

describe('receiptInFrame', () => {
  const m: Marker = { run: 'r1', inst: '0', src: 'w', vu: 3, iter: 0, sock: 1, seq: 7 };
  it('finds the sender stream and seq of a fan-out frame without decoding it; ignores other frames', () => {
    const frame = JSON.stringify({ type: 'message', room_id: 'x', user_id: 'u', payload: { id: 'i', body: messageBody(m, 1234) } });
    expect(receiptInFrame(frame)).toEqual({ key: streamKey(m), seq: 7 });
    expect(streamKey(m)).toBe('0:w:3:0:1');
    expect(receiptInFrame(JSON.stringify({ type: 'error', error: 'duplicate client_msg_id' }))).toBeUndefined();
    expect(receiptInFrame(JSON.stringify({ type: 'message', payload: { body: 'hello' } }))).toBeUndefined();
    expect(receiptInFrame(JSON.stringify({ type: 'message', payload: { body: 'k6m:r1:0:w:3:0:x t=5' } }))).toBeUndefined();
    expect(receiptInFrame(JSON.stringify({ type: 'message', payload: { body: 'k6m:r1:w:3:0:1:2 t=5' } }))).toBeUndefined(); // a field short
    expect(receiptInFrame(JSON.stringify({ type: 'signal_webrtc_offer', payload: { body: messageBody(m, 1) } }))).toBeUndefined();
    expect(receiptInFrame('{ "type" : "message", "payload": {"body": "k6m:r1:0:w:3:0:1:8 t=5 x"}}')).toEqual({ key: '0:w:3:0:1', seq: 8 });
    // a marker at the very end of a body (no filler)
    expect(receiptInFrame('{"type":"message","payload":{"body":"k6m:r1:0:w:3:0:1:9"}}')).toEqual({ key: '0:w:3:0:1', seq: 9 });
  });
  it('rejects malformed markers however often their stream was seen well formed', () => {
    const body = (b: string) => JSON.stringify({ type: 'message', payload: { body: b } });
    expect(receiptInFrame(body('k6m:r1:0:w:4:0:1:2 t=5'))).toEqual({ key: '0:w:4:0:1', seq: 2 });
    expect(receiptInFrame(body('k6m:r1:0:w:4:0:1:3 t=5'))).toEqual({ key: '0:w:4:0:1', seq: 3 }); // a known stream
    expect(receiptInFrame(body('k6m:r1:0:w:4:0:1: t=5'))).toBeUndefined(); // no seq
    expect(receiptInFrame(body('k6m:r1:0:w:4:0:1:-1 t=5'))).toBeUndefined();
    expect(receiptInFrame(body('k6m:r1:0:w:4:0:1:2.5 t=5'))).toBeUndefined();
    expect(receiptInFrame(body('k6m::0:w:4:0:1:2 t=5'))).toBeUndefined(); // no run id
    expect(receiptInFrame(body('k6m:r1:0:w:4:0:1:9:2 t=5'))).toBeUndefined(); // a field too many
    expect(receiptInFrame(body('k6m:r1 t=5'))).toBeUndefined();
    expect(receiptInFrame('{"type":"message","payload":{"body":"k6m:r1:0:w:4:0:1:7 t=5","x":"a:b"}}')).toEqual({ key: '0:w:4:0:1', seq: 7 });
  });
});
