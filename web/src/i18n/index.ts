import i18n from 'i18next';
import { initReactI18next } from 'react-i18next';
import { messages as app } from '../app/messages';
import { messages as session } from '../session/messages';
import { messages as inbox } from '../inbox/messages';
import { messages as tasks } from '../tasks/messages';
import { messages as cases } from '../cases/messages';
import { messages as board } from '../board/messages';
import { messages as settings } from '../settings/messages';

export const LANGUAGES = ['en', 'es'] as const;
export type Language = (typeof LANGUAGES)[number];

/** Every feature's messages, one namespace each; English is the reference the others must match. */
const features = { app, session, inbox, tasks, cases, board, settings };

export const resources = Object.fromEntries(
  LANGUAGES.map((lng) => [lng, Object.fromEntries(Object.entries(features).map(([ns, m]) => [ns, m[lng]]))]),
) as unknown as Record<Language, Record<keyof typeof features, Record<string, string>>>;

/** The language a person gets before choosing: their saved choice, else the browser's first match. */
export function preferredLanguage(saved: string | null | undefined): Language {
  const candidates = [saved, ...(typeof navigator === 'undefined' ? [] : navigator.languages)];
  for (const c of candidates) {
    const base = c?.toLowerCase().split('-')[0];
    if (base && (LANGUAGES as readonly string[]).includes(base)) return base as Language;
  }
  return 'en';
}

void i18n.use(initReactI18next).init({
  resources,
  lng: preferredLanguage(localStorage.getItem('crm.language')),
  fallbackLng: 'en',
  ns: Object.keys(features),
  defaultNS: 'app',
  interpolation: { escapeValue: false },
  keySeparator: false,
  returnNull: false,
});

i18n.on('languageChanged', (lng) => {
  document.documentElement.lang = lng;
});
document.documentElement.lang = i18n.language;

export default i18n;
