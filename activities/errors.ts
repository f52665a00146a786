/**
 * Errors activities throw. The class name becomes the ApplicationFailure type, so the workflow's retry
 * policy lists the permanent ones in `nonRetryableErrorTypes`.
 */
export class PermanentEmailError extends Error {
  override name = 'PermanentEmailError';
  constructor(
    message: string,
    readonly smtpCode?: number,
  ) {
    super(message);
  }
}

export class TemplateError extends Error {
  override name = 'TemplateError';
}

export class NoRecipientsError extends Error {
  override name = 'NoRecipientsError';
}

export class UnknownCaseTypeError extends Error {
  override name = 'UnknownCaseTypeError';
}
