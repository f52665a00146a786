/** Links into the web app (served by the API at `/`), for emails: people open pages, not JSON routes. */

/** The page of a task. */
export const taskPage = (publicUrl: string, taskId: string): string =>
  `${publicUrl}/tasks/${encodeURIComponent(taskId)}`;

/** The page of a case. */
export const casePage = (publicUrl: string, caseId: string): string =>
  `${publicUrl}/cases/${encodeURIComponent(caseId)}`;

/** The signed-in person's inbox. */
export const inboxPage = (publicUrl: string): string => `${publicUrl}/inbox`;
