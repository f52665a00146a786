export { caseWorkflow } from './case';
export { campaignWorkflow } from './campaign';
export { emailDigestWorkflow } from './digest';
export { resendEmailWorkflow } from './resend-email';
export { importWorkflow } from './import';
