import type { components, operations } from './schema';

type Json<T> = T extends { content: { 'application/json': infer B } } ? B : never;

/** The API's shapes the screens use, named once from the generated schema. */
export type Session = Json<operations['getSession']['responses']['200']>;
export type SessionUser = Session['user'];
export type InboxPage = Json<operations['getInbox']['responses']['200']>;
export type InboxItem = NonNullable<InboxPage['items']>[number];
export type InboxCounts = NonNullable<InboxPage['counts']>;
export type InboxQuery = NonNullable<operations['getInbox']['parameters']['query']>;
export type InboxActivityPage = Json<operations['getInboxActivities']['responses']['200']>;
export type InboxActivity = InboxActivityPage['items'][number];
export type InboxActivityQuery = NonNullable<operations['getInboxActivities']['parameters']['query']>;
export type Task = components['schemas']['Task'];
export type Board = Json<operations['getTeamBoard']['responses']['200']>;
