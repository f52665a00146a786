import { searchIndexPattern, type FoldedNameStats } from './entity-queries';

/** 100 histogram bounds shaped like the bench's names: every one holds "bench entity", 12 of them "gomez". */
const histogram = Array.from(
  { length: 100 },
  (_, i) => `${i < 12 ? 'gomez' : i < 24 ? 'nunez' : 'smith'} bench entity ${i * 9973}`,
);
const stats: FoldedNameStats = { mostCommon: [], mostCommonFreqs: [], histogram, nullFrac: 0 };

describe('the trigram index pattern of a search', () => {
  it('replaces the words most names hold by wildcards, keeping the separators and the rare words', () => {
    // gomez: 12 % of the names, bench and entity: 100 %; 4242 is in none.
    expect(searchIndexPattern('gomez bench entity 4242', stats)).toBe('%% % % 4242%');
  });

  it('keeps the least common word of three letters or more when the rare words are shorter', () => {
    // "77" alone has no trigram next to a wildcard; nunez (12 %) is the least common long word.
    expect(searchIndexPattern('nunez bench entity 77', stats)).toBe('%nunez % % 77%');
  });

  it('keeps the least common word, the longer one on a tie, when every word is common', () => {
    expect(searchIndexPattern('bench entity', stats)).toBe('%% entity%');
    expect(searchIndexPattern('gomez bench', stats)).toBe('%gomez %%');
  });

  it('escapes the wildcards of the text it keeps', () => {
    expect(searchIndexPattern('q_x% bench 123', stats)).toBe('%q\\_x\\% % 123%');
  });

  it('counts the most common values by their frequency', () => {
    const common: FoldedNameStats = {
      mostCommon: ['acme bench'],
      mostCommonFreqs: [0.5],
      histogram: Array.from({ length: 100 }, (_, i) => `other ${i}`),
      nullFrac: 0,
    };
    // bench: 50 % (the most common value), 9999 in none.
    expect(searchIndexPattern('bench 9999', common)).toBe('%% 9999%');
  });

  it('asks for the whole text when nothing is to be left out or nothing is known', () => {
    expect(searchIndexPattern('gomez', stats)).toBeUndefined();
    expect(searchIndexPattern('zzz 4242', stats)).toBeUndefined();
    expect(searchIndexPattern('gomez bench entity 4242', undefined)).toBeUndefined();
    const empty: FoldedNameStats = { mostCommon: [], mostCommonFreqs: [], histogram: [], nullFrac: 0 };
    expect(searchIndexPattern('gomez bench entity 4242', empty)).toBeUndefined();
    // Only short words besides the common one: dropping it would leave no trigram.
    expect(searchIndexPattern('bench 77', stats)).toBeUndefined();
  });
});
