import nodemailer, { type Transporter } from 'nodemailer';

/** An SMTP transport from a URL such as `smtp://user:pass@host:587` or `smtps://host:465?pool=true`. */
export function createMailer(smtpUrl: string): Transporter {
  return nodemailer.createTransport(smtpUrl);
}
