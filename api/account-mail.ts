import type { Transporter } from 'nodemailer';
import { TemplateStore } from '../activities/templates';
import { ProblemError } from './problem';

/** The account emails: an invite to set a first password, and a forgotten-password link. */
export type AccountTemplate = 'account-invite' | 'account-reset';

export interface AccountMailOptions {
  transport: Transporter;
  from: string;
  /** definitions/templates (the same folder as case emails; layouts and helpers apply). */
  templatesDir: string;
}

/** 503 when no SMTP transport is configured or the server did not take the message. */
export const emailUnavailable = (detail: string) =>
  new ProblemError(503, 'email-unavailable', 'Email could not be sent', detail);

/**
 * Sends account emails straight through the SMTP transport (lib/mailer.ts), not through the outbox: the
 * outbox keeps every message's body for resends and audits, and these bodies hold a one-time secret that
 * must exist only in the recipient's mailbox (the database keeps its hash).
 */
export class AccountMailer {
  private readonly templates: TemplateStore;

  constructor(private readonly options: AccountMailOptions) {
    this.templates = new TemplateStore(options.templatesDir);
  }

  /** Renders a template for the recipient (in their locale) and sends it; resolves once the server took it. */
  async send(
    template: AccountTemplate,
    recipient: { name: string; email: string; locale: string },
    context: Record<string, unknown>,
  ): Promise<void> {
    const rendered = this.templates.render(
      template,
      { ...context, recipient: { name: recipient.name, email: recipient.email } },
      recipient.locale,
    );
    await this.options.transport.sendMail({
      from: this.options.from,
      to: { name: recipient.name, address: recipient.email },
      subject: rendered.subject,
      text: rendered.text,
      ...(rendered.html ? { html: rendered.html } : {}),
      headers: { 'X-CRM-Email': template, 'Auto-Submitted': 'auto-generated' },
    });
  }
}
