import pino from 'pino';

/** The one logger for Node-side code. Workflow and activity code log through Temporal's `log`. */
export const logger = pino({
  level: process.env.LOG_LEVEL || 'info',
  redact: ['token', 'password', '*.token', '*.password', 'headers.authorization'],
});
