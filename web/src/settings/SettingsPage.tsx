import { useEffect, useMemo, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { useSession } from '../session/session';
import { LanguagePicker } from '../shared/LanguagePicker';
import { ProblemBanner } from '../shared/ProblemBanner';
import { browserTimeZone } from '../shared/format';

/** Every IANA zone this browser knows, the device's own first among them if it is missing. */
function zones(device: string): string[] {
  const all = Intl.supportedValuesOf('timeZone');
  return all.includes(device) ? all : [device, ...all];
}

/** The person's settings: language and time zone, saved for them (every device and their emails follow). */
export default function SettingsPage() {
  const { t } = useTranslation('settings');
  const { user, format, timeZone, setLanguage, setTimeZone } = useSession();
  const device = browserTimeZone();
  const options = useMemo(() => zones(device), [device]);
  const [saved, setSaved] = useState(false);
  const [error, setError] = useState<unknown>(null);
  useEffect(() => {
    document.title = `${t('title')} · CRM`;
  }, [t]);
  return (
    <main id="main" className="page settings-page">
      <h1>{t('title')}</h1>
      <section className="card" aria-labelledby="settings-h">
        <h2 id="settings-h" className="sr-only">
          {t('title')}
        </h2>
        <div className="field">
          <LanguagePicker onChange={setLanguage} />
        </div>
        <div className="field">
          <label htmlFor="settings-zone">{t('timeZone')}</label>
          <select
            id="settings-zone"
            value={user.timeZone ?? ''}
            aria-describedby="settings-zone-help"
            onChange={(e) => {
              setSaved(false);
              setError(null);
              setTimeZone(e.target.value === '' ? null : e.target.value).then(
                () => setSaved(true),
                (err: unknown) => setError(err),
              );
            }}
          >
            <option value="">{t('followDevice', { zone: device })}</option>
            {options.map((z) => (
              <option key={z} value={z}>
                {z.replace(/_/g, ' ')}
              </option>
            ))}
          </select>
          <p className="help" id="settings-zone-help">
            {t('timeZoneHelp')}
          </p>
          <p data-testid="zone-now">
            {t('now', { time: format.dateTime(new Date().toISOString()) })}{' '}
            <span className="muted">({timeZone})</span>
          </p>
        </div>
        {error !== null && <ProblemBanner error={error} />}
        {saved && (
          <p className="success" role="status">
            {t('saved')}
          </p>
        )}
      </section>
    </main>
  );
}
