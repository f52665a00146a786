import { parseVcards } from './vcard';

describe('vCard error messages (issue 15: they spoke of "ical")', () => {
  it('says a card is not closed in vCard terms', () => {
    const [card] = parseVcards('BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Ana\r\nEMAIL:ana@example.com\r\n');
    expect(card?.error).toBe('the card has BEGIN:VCARD but no END:VCARD');
    expect(card?.error).not.toMatch(/ical/i);
  });

  it('names a broken line without the parser library', () => {
    const [card] = parseVcards(
      'BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Ana\r\nthis line is broken\r\nEND:VCARD\r\n',
    );
    expect(card?.error).toBe('a line has no ":" between its name and value: "this line is broken"');
  });
});
