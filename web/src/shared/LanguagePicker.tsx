import { useTranslation } from 'react-i18next';
import { LANGUAGES, type Language } from '../i18n';

const NAMES: Record<Language, string> = { en: 'English', es: 'Español' };

/** Language choice; `onChange` saves it for the signed-in person, else it only applies here. */
export function LanguagePicker({ onChange }: { onChange?: (lng: Language) => void }) {
  const { t, i18n } = useTranslation('app');
  return (
    <label className="inline-field">
      <span>{t('language')}</span>
      <select
        value={i18n.language}
        onChange={(e) => {
          const lng = e.target.value as Language;
          if (onChange) onChange(lng);
          else {
            localStorage.setItem('crm.language', lng);
            void i18n.changeLanguage(lng);
          }
        }}
      >
        {LANGUAGES.map((l) => (
          <option key={l} value={l} lang={l}>
            {NAMES[l]}
          </option>
        ))}
      </select>
    </label>
  );
}
