import { useEffect, useId, useState } from 'react';
import { useQuery } from '@tanstack/react-query';
import { useTranslation } from 'react-i18next';
import { api, call } from '../api/client';
import { ProblemBanner } from '../shared/ProblemBanner';

/** Waits this long after the last keystroke before asking the API. */
const SEARCH_DELAY_MS = 250;

/** The people a task can be handed to (GET /api/delegates), searched by name or email. */
function useDelegates(text: string) {
  const [query, setQuery] = useState(text);
  useEffect(() => {
    const timer = setTimeout(() => setQuery(text.trim()), SEARCH_DELAY_MS);
    return () => clearTimeout(timer);
  }, [text]);
  return useQuery({
    queryKey: ['delegates', query],
    staleTime: 30_000,
    placeholderData: (previous) => previous,
    queryFn: () => call(api.GET('/api/delegates', { params: { query: query === '' ? {} : { q: query } } })),
  });
}

/**
 * Picks the person to delegate to: a search box and the matching people as radio buttons (name and
 * email, each a full-width touch target), then one button that delegates.
 */
export function DelegatePicker({ onDelegate, busy }: { onDelegate(to: string): void; busy: boolean }) {
  const { t } = useTranslation('tasks');
  const [text, setText] = useState('');
  // Kept while the search changes, so narrowing the list never loses the choice.
  const [chosen, setChosen] = useState<{ id: string; name: string } | null>(null);
  const people = useDelegates(text);
  const name = useId();
  const items = people.data?.items ?? [];
  return (
    <form
      className="delegate-picker"
      onSubmit={(e) => {
        e.preventDefault();
        if (chosen) onDelegate(chosen.id);
      }}
    >
      <div className="field">
        <label htmlFor={`${name}-search`}>{t('delegateSearch')}</label>
        <input
          id={`${name}-search`}
          type="search"
          value={text}
          onChange={(e) => setText(e.target.value)}
          autoComplete="off"
          aria-describedby={`${name}-help`}
        />
        <p className="help" id={`${name}-help`}>
          {t('delegateHelp')}
        </p>
      </div>
      {people.isError && <ProblemBanner error={people.error} onRetry={() => void people.refetch()} />}
      <fieldset className="people" aria-busy={people.isFetching}>
        <legend className="sr-only">{t('delegateTo')}</legend>
        {people.isSuccess && items.length === 0 && <p className="muted">{t('noDelegates')}</p>}
        <ul className="plain-list">
          {items.map((p) => (
            <li key={p.id}>
              <label className={`person${chosen?.id === p.id ? ' chosen' : ''}`}>
                <input
                  type="radio"
                  name={name}
                  value={p.id}
                  checked={chosen?.id === p.id}
                  onChange={() => setChosen({ id: p.id, name: p.name })}
                />
                <span className="person-text">
                  <span className="person-name">{p.name}</span>
                  <span className="muted small">{p.email}</span>
                </span>
              </label>
            </li>
          ))}
        </ul>
        {people.data?.more && <p className="muted small">{t('moreDelegates')}</p>}
      </fieldset>
      <button type="submit" className="button primary wide" disabled={!chosen || busy}>
        {chosen ? t('delegateToName', { name: chosen.name }) : t('delegate')}
      </button>
    </form>
  );
}
