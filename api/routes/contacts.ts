import { Router } from 'express';
import {
  checkContactInput,
  contactView,
  CONTACT_SELECT,
  searchContacts,
  updateContact,
} from '../../crm/contacts';
import { callerOf, requireRole } from '../auth';
import type { ApiContext } from '../context';
import { ProblemError } from '../problem';
import { pageLimit, queryString } from './crm-common';

export function contactRoutes(ctx: ApiContext): Router {
  const router = Router();

  /** Quick search across name, email and phone (`?q=`, at least 2 characters). */
  router.get('/contacts', async (req, res) => {
    callerOf(req);
    const q = queryString(req, 'q', 200);
    if (!q || q.trim().length < 2)
      throw ProblemError.badRequest('Search with at least 2 characters', [
        { pointer: '/query/q', message: 'needs at least 2 characters' },
      ]);
    const limit = pageLimit(req, 20, Math.min(ctx.maxPageSize, 100));
    res.json({ items: await searchContacts(ctx.db, q, limit) });
  });

  router.get('/contacts/:id', async (req, res) => {
    callerOf(req);
    const rows = await ctx.db.query(`SELECT ${CONTACT_SELECT} FROM contacts k WHERE k.id = $1`, [
      req.params.id,
    ]);
    if (!rows[0]) throw ProblemError.notFound(`Contact ${req.params.id}`);
    res.json(contactView(rows[0]));
  });

  router.patch('/contacts/:id', async (req, res) => {
    requireRole(req, 'agent', 'supervisor', 'admin');
    const patch = checkContactInput(req.body ?? {}, '/body', false);
    const contact = await ctx.db.transaction(async (tx) => {
      const rows = await tx.query(`SELECT ${CONTACT_SELECT} FROM contacts k WHERE k.id = $1 FOR UPDATE`, [
        req.params.id,
      ]);
      if (!rows[0]) throw ProblemError.notFound(`Contact ${req.params.id}`);
      return updateContact(tx, contactView(rows[0]), patch);
    });
    res.json(contact);
  });

  router.delete('/contacts/:id', async (req, res) => {
    requireRole(req, 'agent', 'supervisor', 'admin');
    const rows = await ctx.db.query('DELETE FROM contacts WHERE id = $1 RETURNING id', [req.params.id]);
    if (!rows[0]) throw ProblemError.notFound(`Contact ${req.params.id}`);
    res.status(204).end();
  });

  return router;
}
