import { MAX_STREAM_WAIT_MS, playbackOffsets, streamWaits } from './schedule';

const at = (...seconds: number[]) => seconds.map((s) => new Date(Date.UTC(2026, 0, 20, 10, 0, 0) + s * 1000).toISOString());

describe('playbackOffsets', () => {
  it('divides the recorded gaps by the speed', () => {
    expect(playbackOffsets(at(0, 1, 3), 1)).toEqual([0, 1000, 3000]);
    expect(playbackOffsets(at(0, 1, 3), 10)).toEqual([0, 100, 300]);
    expect(playbackOffsets(at(0, 1, 3), 0.5)).toEqual([0, 2000, 6000]);
  });

  it('plays everything at once at speed 0', () => {
    expect(playbackOffsets(at(0, 1, 3), 0)).toEqual([0, 0, 0]);
  });

  it('never plays a step before the one ahead of it', () => {
    expect(playbackOffsets(at(0, 5, 2, 6), 1)).toEqual([0, 5000, 5000, 6000]);
    expect(playbackOffsets([], 1)).toEqual([]);
  });
});

describe('streamWaits', () => {
  it('waits the gaps, capped', () => {
    expect(streamWaits([0, 100, 100, 60_000])).toEqual([0, 100, 0, MAX_STREAM_WAIT_MS]);
  });
});
