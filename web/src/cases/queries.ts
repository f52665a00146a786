import { useQuery } from '@tanstack/react-query';
import { api, call } from '../api/client';
import type { Task } from '../api/types';
import type { ObjectSchema } from '../shared/SchemaForm';

/** GET /api/cases/:id (its OpenAPI response is an untyped object, so its shape is named here). */
export interface CaseDetail {
  id: string;
  caseType: string;
  definitionVersion: number;
  title: string;
  status: string;
  statusName: string;
  statusCategory: string;
  probability: number | null;
  entity: { id: string; name: string | null } | null;
  ownerId: string | null;
  parentCaseId: string | null;
  data: Record<string, unknown>;
  lines: Record<string, unknown>[] | null;
  currentSteps: string[];
  createdAt: string;
  updatedAt: string;
  endedAt: string | null;
  version: number;
  tasks: (Task & { actionable: boolean })[];
  timeline: {
    seq: number;
    at: string;
    kind: string;
    actor: string | null;
    taskId: string | null;
    detail: unknown;
  }[];
}

/** The parts of a case-type definition the screens read. */
export interface Definition {
  name: string;
  statuses: { code: string; name: string; category: string; manual?: boolean }[];
  fields?: ObjectSchema;
  lines?: ObjectSchema;
  editableFields?: string[];
  steps: Record<
    string,
    { type: string; form?: ObjectSchema; outcomes?: Record<string, { status?: string }> }
  >;
}

export function useCase(id: string | undefined) {
  return useQuery({
    queryKey: ['case', id],
    enabled: id !== undefined,
    queryFn: async () =>
      (await call(
        api.GET('/api/cases/{id}', { params: { path: { id: id as string } } }),
      )) as unknown as CaseDetail,
  });
}

export function useDefinition(caseType: string | undefined) {
  return useQuery({
    queryKey: ['case-type', caseType],
    enabled: caseType !== undefined,
    staleTime: 5 * 60_000,
    queryFn: async () => {
      const body = await call(
        api.GET('/api/case-types/{id}', { params: { path: { id: caseType as string } } }),
      );
      return body.definition as unknown as Definition;
    },
  });
}

export function useContacts(entityId: string | undefined) {
  return useQuery({
    queryKey: ['contacts', entityId],
    enabled: entityId !== undefined,
    queryFn: () =>
      call(api.GET('/api/entities/{id}/contacts', { params: { path: { id: entityId as string } } })),
  });
}

export function useAttachments(caseId: string | undefined) {
  return useQuery({
    queryKey: ['attachments', caseId],
    enabled: caseId !== undefined,
    queryFn: () =>
      call(api.GET('/api/cases/{id}/attachments', { params: { path: { id: caseId as string } } })),
  });
}
