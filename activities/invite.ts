import ical, { ICalAttendeeRole, ICalCalendarMethod } from 'ical-generator';
import type { Recipient } from './recipients';

/** How long an invitation blocks in the calendar when the action has only a due time. */
const DEFAULT_DURATION_MS = 60 * 60 * 1000;

export interface InviteInput {
  task: { id: string; title: string; description: string | null; dueAt: string; createdAt: string };
  caseTitle: string;
  url: string;
  organizer: { name: string; email: string };
  attendees: Recipient[];
  /** Host part of the event UID. */
  uidDomain: string;
}

/**
 * An iCalendar REQUEST for a dated task, so it lands in the attendees' calendars. Deterministic for a task:
 * the UID derives from the task id (a later invitation for the same task updates the same event) and the
 * stamp is the task's creation time, so a re-delivered message carries the same invitation.
 */
export function taskInvite(input: InviteInput): string {
  const start = new Date(input.task.dueAt);
  const calendar = ical({ method: ICalCalendarMethod.REQUEST, prodId: '//crm-process-engine//email//EN' });
  calendar.createEvent({
    id: `${input.task.id}@${input.uidDomain}`,
    start,
    end: new Date(start.getTime() + DEFAULT_DURATION_MS),
    stamp: new Date(input.task.createdAt),
    summary: input.task.title,
    description: [input.caseTitle, input.task.description, input.url].filter(Boolean).join('\n'),
    url: input.url,
    organizer: { name: input.organizer.name, email: input.organizer.email },
    attendees: input.attendees.map((a) => ({
      email: a.address,
      ...(a.name ? { name: a.name } : {}),
      role: ICalAttendeeRole.REQ,
      rsvp: true,
    })),
  });
  return calendar.toString();
}
