import { messages as app } from '../web/src/app/messages';
import { messages as session } from '../web/src/session/messages';
import { messages as inbox } from '../web/src/inbox/messages';
import { messages as tasks } from '../web/src/tasks/messages';
import { messages as cases } from '../web/src/cases/messages';
import { messages as board } from '../web/src/board/messages';

const features = { app, session, inbox, tasks, cases, board };
const placeholders = (text: string) => [...text.matchAll(/\{\{(\w+)\}\}/g)].map((m) => m[1]).sort();

describe.each(Object.entries(features))('the %s messages', (_name, m) => {
  const en = m.en as Record<string, string>;
  const es = m.es as Record<string, string>;

  test('Spanish has every English key and no other', () => {
    expect(Object.keys(es).sort()).toEqual(Object.keys(en).sort());
  });

  test('each Spanish text fills the same placeholders and is not left empty', () => {
    for (const key of Object.keys(en)) {
      expect([key, placeholders(es[key] ?? '')]).toEqual([key, placeholders(en[key] ?? '')]);
      expect([key, (es[key] ?? '').trim().length > 0]).toEqual([key, true]);
    }
  });
});
