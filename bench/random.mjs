// A small seeded generator (mulberry32) for the benchmarks' corpora: the same seed writes the same bytes.
export function random(seed) {
  let state = seed >>> 0;
  const next = () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
  const int = (n) => Math.floor(next() * n);
  return {
    next,
    int,
    chance: (p) => next() < p,
    pick: (list) => list[int(list.length)],
    hex: (chars) => {
      let s = '';
      while (s.length < chars) s += ((next() * 4_294_967_296) >>> 0).toString(16).padStart(8, '0');
      return s.slice(0, chars);
    },
  };
}
