import { Type } from '@sinclair/typebox';
import { Router } from 'express';
import type { Queryable } from '../../db';
import {
  getToken,
  issueToken,
  listTokens,
  revokeToken,
  tokenExpiry,
  type ApiToken,
} from '../../identity/tokens';
import {
  addTeamMember,
  createTeam,
  listTeams,
  removeTeamMember,
  requireSupervisorUser,
  setTeamSupervisor,
  teamView,
  teamsOf,
} from '../../identity/teams';
import {
  USER_ROLES,
  createUser,
  findUser,
  isActiveUser,
  listUsers,
  updateUser,
  type UserRole,
  type UserRow,
} from '../../identity/users';
import { emailAddressProblem } from '../../lib/email-address';
import { MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH, passwordProblem } from '../../lib/passwords';
import { callerOf, requireRole, type Caller } from '../auth';
import type { ApiContext } from '../context';
import { dateTime, idString, nullableDateTime, problemResponses, type OperationSpec } from '../operation';
import { ProblemError } from '../problem';
import { noQuery } from '../request-guards';
import { check } from '../validation';
import { decodeCursor, encodeCursor } from '../../lib/cursor';

const ROLES = USER_ROLES;
const objectId = Type.String({ pattern: '^[A-Za-z0-9][A-Za-z0-9._@-]{0,99}$' });
const name = Type.String({ minLength: 1, maxLength: 200 });
const email = Type.String({
  minLength: 3,
  maxLength: 320,
  description: 'RFC 3696: at most 320 characters',
});
const locale = Type.String({ pattern: '^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$', maxLength: 35 });
const role = Type.Unsafe<UserRole>({ enum: ROLES });
const limit = Type.String({ pattern: '^[0-9]{1,9}$' });
const cursor = Type.String({ maxLength: 400, pattern: '^[A-Za-z0-9_-]+$' });
const idParam = Type.String(idString);
const nullableId = Type.Unsafe<string | null>({ ...idString, type: ['string', 'null'] });

export const createUserSchema = Type.Object(
  {
    id: Type.Optional(objectId),
    name: name,
    email: email,
    role: role,
    locale: Type.Optional(locale),
    password: Type.Optional(
      Type.String({
        maxLength: MAX_PASSWORD_LENGTH,
        description: `Sets a sign-in password (at least ${MIN_PASSWORD_LENGTH} characters); stored as a scrypt hash only. Without one the user signs in after an invite`,
      }),
    ),
  },
  { additionalProperties: false },
);
export const updateUserSchema = Type.Object(
  {
    name: Type.Optional(name),
    email: Type.Optional(email),
    role: Type.Optional(role),
    locale: Type.Optional(locale),
    active: Type.Optional(Type.Boolean()),
  },
  { minProperties: 1, additionalProperties: false },
);
/** The user id a users page continues after, from the cursor the previous page answered; 400 otherwise. */
function userCursor(text: string): string {
  const value = decodeCursor(text);
  if (Array.isArray(value) && value.length === 1 && typeof value[0] === 'string') return value[0];
  throw ProblemError.badRequest('The cursor is not valid', [
    { pointer: '/query/cursor', message: 'is not a cursor this API returned' },
  ]);
}

export const listUsersQuery = Type.Object(
  {
    role: Type.Optional(role),
    team: Type.Optional(idParam),
    limit: Type.Optional(limit),
    cursor: Type.Optional(cursor),
  },
  { additionalProperties: false },
);
export const createTeamSchema = Type.Object(
  { id: Type.Optional(objectId), name: name, supervisorId: Type.Optional(nullableId) },
  { additionalProperties: false },
);
export const supervisorSchema = Type.Object({ userId: nullableId }, { additionalProperties: false });
export const createTokenSchema = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 100 }),
    userId: Type.Optional(
      Type.String({ ...idString, description: 'Administrators only: issue the token for this user' }),
    ),
    expiresAt: Type.Optional(
      Type.String({
        format: 'date-time',
        description:
          'When the token stops working: in the future and at most TOKEN_MAX_VALID_DAYS ahead; omitted: TOKEN_DEFAULT_VALID_DAYS from now',
      }),
    ),
  },
  { additionalProperties: false },
);
export const listTokensQuery = Type.Object(
  { userId: Type.Optional(idParam) },
  { additionalProperties: false },
);

const teamRef = { type: 'object', properties: { id: { type: 'string' }, name: { type: 'string' } } };
export const userSchema = {
  type: 'object',
  properties: {
    id: { type: 'string' },
    name: { type: 'string' },
    email: { type: 'string' },
    role: { enum: ROLES },
    locale: { type: 'string' },
    active: { type: 'boolean' },
    hasPassword: { type: 'boolean', description: 'Whether the user can sign in with a password' },
    teams: { type: 'array', items: teamRef },
    supervisedTeams: { type: 'array', items: teamRef },
    createdAt: dateTime,
  },
  required: ['id', 'name', 'email', 'role'],
};
export const teamSchema = {
  type: 'object',
  properties: {
    id: { type: 'string' },
    name: { type: 'string' },
    supervisor: {
      type: ['object', 'null'],
      properties: { id: { type: 'string' }, name: { type: 'string' } },
    },
    members: {
      type: 'array',
      items: {
        type: 'object',
        properties: { id: { type: 'string' }, name: { type: 'string' }, role: { type: 'string' } },
      },
    },
    createdAt: dateTime,
  },
  required: ['id', 'name'],
};
export const tokenSchema = {
  type: 'object',
  properties: {
    id: { type: 'string' },
    userId: { type: 'string' },
    name: { type: 'string' },
    createdAt: dateTime,
    lastUsedAt: nullableDateTime,
    revokedAt: nullableDateTime,
    expiresAt: {
      ...nullableDateTime,
      description: 'When the token stops working on its own; null: until revoked',
    },
    token: { type: 'string', description: 'Only in the answer to POST: the token in clear, shown once' },
  },
  required: ['id', 'userId', 'name', 'createdAt'],
};

const ok = (description: string, schema: Record<string, unknown>) => ({ '200': { description, schema } });
const created = (description: string, schema: Record<string, unknown>) => ({
  '201': { description, schema },
});
const noContent = { '204': { description: 'Done' } };

export const identityOperations: OperationSpec[] = [
  {
    method: 'get',
    path: '/api/users/me',
    operationId: 'getMe',
    tag: 'Identity',
    summary: 'The caller: role, teams and supervised teams',
    responses: { ...ok('The caller', userSchema), ...problemResponses(401) },
  },
  {
    method: 'get',
    path: '/api/users',
    operationId: 'listUsers',
    tag: 'Identity',
    summary: 'Users, by id (administrators)',
    query: listUsersQuery,
    responses: {
      ...ok('A page of users', {
        type: 'object',
        properties: { items: { type: 'array', items: userSchema }, nextCursor: { type: ['string', 'null'] } },
      }),
      ...problemResponses(400, 401, 403),
    },
  },
  {
    method: 'post',
    path: '/api/users',
    operationId: 'createUser',
    tag: 'Identity',
    summary: 'Creates a user (administrators)',
    body: createUserSchema,
    responses: { ...created('The user', userSchema), ...problemResponses(400, 401, 403, 409) },
    problems: ['already-exists'],
  },
  {
    method: 'get',
    path: '/api/users/:id',
    operationId: 'getUser',
    tag: 'Identity',
    summary: 'A user (administrators, or the user)',
    params: { id: 'User id' },
    responses: { ...ok('The user', userSchema), ...problemResponses(401, 404) },
  },
  {
    method: 'patch',
    path: '/api/users/:id',
    operationId: 'updateUser',
    tag: 'Identity',
    summary: 'Changes a user; active=false locks them out (administrators)',
    params: { id: 'User id' },
    body: updateUserSchema,
    responses: { ...ok('The user', userSchema), ...problemResponses(400, 401, 403, 404) },
  },
  {
    method: 'get',
    path: '/api/teams',
    operationId: 'listTeams',
    tag: 'Identity',
    summary: 'Teams: all for administrators, otherwise those the caller belongs to or supervises',
    responses: {
      ...ok('Teams', { type: 'object', properties: { items: { type: 'array', items: teamSchema } } }),
      ...problemResponses(401),
    },
  },
  {
    method: 'post',
    path: '/api/teams',
    operationId: 'createTeam',
    tag: 'Identity',
    summary: 'Creates a team (administrators)',
    body: createTeamSchema,
    responses: { ...created('The team', teamSchema), ...problemResponses(400, 401, 403, 409) },
    problems: ['already-exists'],
  },
  {
    method: 'get',
    path: '/api/teams/:id',
    operationId: 'getTeam',
    tag: 'Identity',
    summary: 'A team with its members (administrators, its members and supervisor)',
    params: { id: 'Team id' },
    responses: { ...ok('The team', teamSchema), ...problemResponses(401, 404) },
  },
  {
    method: 'put',
    path: '/api/teams/:id/supervisor',
    operationId: 'setTeamSupervisor',
    tag: 'Identity',
    summary: 'Sets (or clears, with null) the supervisor of a team (administrators)',
    params: { id: 'Team id' },
    body: supervisorSchema,
    responses: { ...ok('The team', teamSchema), ...problemResponses(400, 401, 403, 404) },
  },
  {
    method: 'put',
    path: '/api/teams/:id/members/:userId',
    operationId: 'addTeamMember',
    tag: 'Identity',
    summary: 'Adds a member to a team (administrators; idempotent)',
    params: { id: 'Team id', userId: 'User id' },
    responses: { ...noContent, ...problemResponses(401, 403, 404) },
  },
  {
    method: 'delete',
    path: '/api/teams/:id/members/:userId',
    operationId: 'removeTeamMember',
    tag: 'Identity',
    summary: 'Removes a member from a team (administrators; idempotent)',
    params: { id: 'Team id', userId: 'User id' },
    responses: { ...noContent, ...problemResponses(401, 403, 404) },
  },
  {
    method: 'post',
    path: '/api/tokens',
    operationId: 'createToken',
    tag: 'Identity',
    summary:
      'Creates an API token for the caller (or, for administrators, for userId); returned once in clear',
    body: createTokenSchema,
    responses: {
      ...created('The token, with `token` in clear', tokenSchema),
      ...problemResponses(400, 401, 403),
    },
  },
  {
    method: 'get',
    path: '/api/tokens',
    operationId: 'listTokens',
    tag: 'Identity',
    summary: "The caller's tokens (administrators: anyone's with userId), without secrets",
    query: listTokensQuery,
    responses: {
      ...ok('Tokens', { type: 'object', properties: { items: { type: 'array', items: tokenSchema } } }),
      ...problemResponses(400, 401, 403),
    },
  },
  {
    method: 'delete',
    path: '/api/tokens/:id',
    operationId: 'revokeToken',
    tag: 'Identity',
    summary: 'Revokes a token (own, or any for administrators)',
    params: { id: 'Token id' },
    responses: { ...noContent, ...problemResponses(401, 404) },
  },
];

const userView = (u: UserRow) => ({
  id: u.id,
  name: u.name,
  email: u.email,
  role: u.role,
  locale: u.locale,
  active: u.active,
  hasPassword: u.password_hash !== null,
  createdAt: u.created_at,
});

function checkEmail(value: string | undefined): void {
  if (value === undefined) return;
  const problem = emailAddressProblem(value);
  if (problem)
    throw ProblemError.badRequest('Invalid email address', [{ pointer: '/body/email', message: problem }]);
}

async function loadUser(db: Queryable, id: string): Promise<UserRow> {
  const user = await findUser(db, id);
  if (!user) throw ProblemError.notFound(`User ${id}`);
  return user;
}

/** Whether the caller may see a team: administrators, its members and its supervisor. */
function seesTeam(caller: Caller, teamId: string): boolean {
  return caller.role === 'admin' || caller.teams.includes(teamId) || caller.supervisedTeams.includes(teamId);
}

export function identityRoutes(ctx: ApiContext): Router {
  const router = Router();
  const { db } = ctx;

  router.get('/users/me', async (req, res) => {
    noQuery(req);
    const caller = callerOf(req);
    const user = await loadUser(db, caller.userId);
    res.json({ ...userView(user), ...(await teamsOf(db, caller.userId)) });
  });

  router.get('/users', async (req, res) => {
    requireRole(req, 'admin');
    const query = check(listUsersQuery, { ...req.query }, '/query');
    const size = Number(query.limit ?? 100);
    if (size < 1 || size > ctx.maxPageSize) {
      throw ProblemError.badRequest('Invalid limit', [
        { pointer: '/query/limit', message: `must be between 1 and ${ctx.maxPageSize}` },
      ]);
    }
    const after = query.cursor === undefined ? null : userCursor(query.cursor);
    const rows = await listUsers(db, {
      ...(query.role !== undefined ? { role: query.role } : {}),
      ...(query.team !== undefined ? { team: query.team } : {}),
      after,
      limit: size + 1,
    });
    const items = rows.slice(0, size);
    const last = items[items.length - 1];
    res.json({
      items: items.map(userView),
      nextCursor: rows.length > size && last ? encodeCursor([last.id]) : null,
    });
  });

  router.post('/users', async (req, res) => {
    requireRole(req, 'admin');
    const body = check(createUserSchema, req.body ?? {}, '/body');
    checkEmail(body.email);
    const weak = body.password === undefined ? undefined : passwordProblem(body.password);
    if (weak)
      throw ProblemError.badRequest('The password is too weak', [
        { pointer: '/body/password', message: weak },
      ]);
    const user = await createUser(db, body);
    res
      .status(201)
      .location(`/api/users/${user.id}`)
      .json({ ...userView(user), teams: [], supervisedTeams: [] });
  });

  router.get('/users/:id', async (req, res) => {
    noQuery(req);
    const caller = callerOf(req);
    const id = req.params.id;
    if (caller.role !== 'admin' && caller.userId !== id) throw ProblemError.notFound(`User ${id}`);
    const user = await loadUser(db, id);
    res.json({ ...userView(user), ...(await teamsOf(db, id)) });
  });

  router.patch('/users/:id', async (req, res) => {
    requireRole(req, 'admin');
    const body = check(updateUserSchema, req.body ?? {}, '/body');
    checkEmail(body.email);
    const user = await updateUser(db, req.params.id, body);
    if (!user) throw ProblemError.notFound(`User ${req.params.id}`);
    ctx.callers.invalidate();
    res.json({ ...userView(user), ...(await teamsOf(db, user.id)) });
  });

  router.get('/teams', async (req, res) => {
    noQuery(req);
    const caller = callerOf(req);
    const items = await listTeams(db, {
      all: caller.role === 'admin',
      teams: caller.teams,
      userId: caller.userId,
    });
    res.json({ items });
  });

  router.post('/teams', async (req, res) => {
    requireRole(req, 'admin');
    const body = check(createTeamSchema, req.body ?? {}, '/body');
    if (body.supervisorId) await requireSupervisorUser(db, body.supervisorId, '/body/supervisorId');
    const id = await createTeam(db, body);
    ctx.callers.invalidate();
    res
      .status(201)
      .location(`/api/teams/${id}`)
      .json(await teamView(db, id));
  });

  router.get('/teams/:id', async (req, res) => {
    noQuery(req);
    const caller = callerOf(req);
    if (!seesTeam(caller, req.params.id)) throw ProblemError.notFound(`Team ${req.params.id}`);
    res.json(await teamView(db, req.params.id));
  });

  router.put('/teams/:id/supervisor', async (req, res) => {
    requireRole(req, 'admin');
    const body = check(supervisorSchema, req.body ?? {}, '/body');
    if (body.userId !== null) await requireSupervisorUser(db, body.userId, '/body/userId');
    await setTeamSupervisor(db, req.params.id, body.userId);
    ctx.callers.invalidate();
    res.json(await teamView(db, req.params.id));
  });

  router.put('/teams/:id/members/:userId', async (req, res) => {
    requireRole(req, 'admin');
    const { id, userId } = req.params;
    await addTeamMember(db, id, userId);
    ctx.callers.invalidate();
    res.status(204).end();
  });

  router.delete('/teams/:id/members/:userId', async (req, res) => {
    requireRole(req, 'admin');
    await removeTeamMember(db, req.params.id, req.params.userId);
    ctx.callers.invalidate();
    res.status(204).end();
  });

  router.post('/tokens', async (req, res) => {
    const caller = callerOf(req);
    const body = check(createTokenSchema, req.body ?? {}, '/body');
    const expiry = tokenExpiry(body.expiresAt, ctx.security, '/body/expiresAt');
    const userId = body.userId ?? caller.userId;
    if (userId !== caller.userId) {
      if (caller.role !== 'admin')
        throw ProblemError.forbidden('Only administrators issue tokens for other users');
      if (!(await isActiveUser(db, userId)))
        throw ProblemError.badRequest('Unknown user', [
          { pointer: '/body/userId', message: 'is not an active user' },
        ]);
    }
    const { id, token } = await issueToken(db, userId, body.name, expiry);
    res
      .status(201)
      .set('Cache-Control', 'no-store')
      .json({ ...((await getToken(db, id)) as ApiToken), token });
  });

  router.get('/tokens', async (req, res) => {
    const caller = callerOf(req);
    const query = check(listTokensQuery, { ...req.query }, '/query');
    const userId = query.userId ?? caller.userId;
    if (userId !== caller.userId && caller.role !== 'admin')
      throw ProblemError.forbidden("Only administrators list other users' tokens");
    res.json({ items: await listTokens(db, userId) });
  });

  router.delete('/tokens/:id', async (req, res) => {
    const caller = callerOf(req);
    const revoked = await revokeToken(db, req.params.id, caller.role === 'admin' ? undefined : caller.userId);
    if (!revoked) throw ProblemError.notFound(`Token ${req.params.id}`);
    ctx.callers.invalidate();
    res.status(204).end();
  });

  return router;
}
