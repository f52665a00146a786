import { useQuery } from '@tanstack/react-query';
import { api, call } from '../api/client';
import type { components } from '../api/schema';
import type { ObjectSchema } from '../shared/SchemaForm';

/** A case as GET /api/cases/:id shows it. */
export type CaseDetail = components['schemas']['CaseDetail'];

/** The parts of a case-type definition the screens read. */
export interface Definition {
  name: string;
  statuses: { code: string; name: string; category: string; manual?: boolean }[];
  fields?: ObjectSchema;
  lines?: ObjectSchema;
  editableFields?: string[];
  actionTypes?: { code: string; name: string }[];
  steps: Record<
    string,
    { type: string; form?: ObjectSchema; outcomes?: Record<string, { status?: string }> }
  >;
}

export function useCase(id: string | undefined) {
  return useQuery({
    queryKey: ['case', id],
    enabled: id !== undefined,
    queryFn: () => call(api.GET('/api/cases/{id}', { params: { path: { id: id as string } } })),
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
