/** The admin console's REST calls (/api/admin), as TanStack Query hooks. Administrators only. */
import { keepPreviousData, useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { api, call, type Level, type Schemas, type Track } from './client';
import { toApiError } from './errors';
import { keys } from './queries';

export type AdminUser = Schemas['AdminUser'];
export type AdminUsers = Schemas['AdminUsers'];
export type AdminUserDetail = Schemas['AdminUserDetail'];
export type Role = Schemas['Role'];
export type AuditEntry = Schemas['AuditEntry'];
export type AuditEntries = Schemas['AuditEntries'];
export type AdminStats = Schemas['AdminStats'];
export type DayStats = Schemas['DayStats'];
export type Question = Schemas['QuestionPublic'];
export type Questions = Schemas['QuestionsPublic'];
export type QuestionCreate = Schemas['QuestionCreate'];
export type QuestionUpdate = Schemas['QuestionUpdate'];
export type BankFile = Schemas['BankFile'];
export type ImportResult = Schemas['ImportResult'];
export type AdminPayment = Schemas['AdminPayment'];
export type AdminPayments = Schemas['AdminPaymentList'];
export type Revenue = Schemas['Revenue'];
export type RevenueDay = Schemas['RevenueDay'];

export const adminKeys = {
  all: ['admin'] as const,
  users: (email: string, limit: number, offset: number) => ['admin', 'users', email, limit, offset] as const,
  user: (id: string) => ['admin', 'user', id] as const,
  userInterview: (userId: string, interviewId: string) => ['admin', 'user', userId, 'interview', interviewId] as const,
  audit: (filters: AuditFilters, limit: number, offset: number) => ['admin', 'audit', filters, limit, offset] as const,
  stats: (from: string, to: string) => ['admin', 'stats', from, to] as const,
  questions: (filters: QuestionFilters, limit: number, offset: number) => ['admin', 'questions', filters, limit, offset] as const,
  payments: (filters: PaymentFilters, limit: number, offset: number) => ['admin', 'payments', filters, limit, offset] as const,
  revenue: (from: string, to: string) => ['admin', 'revenue', from, to] as const,
};

// --- users -------------------------------------------------------------------------------------

export function useAdminUsers(email: string, limit: number, offset: number) {
  return useQuery({
    queryKey: adminKeys.users(email, limit, offset),
    queryFn: () =>
      call(api.GET('/api/admin/users', { params: { query: { email: email || undefined, limit, offset } } })),
    placeholderData: keepPreviousData,
  });
}

export function useAdminUser(id: string) {
  return useQuery({
    queryKey: adminKeys.user(id),
    queryFn: () => call(api.GET('/api/admin/users/{user_id}', { params: { path: { user_id: id } } })),
  });
}

export function fetchUserInterview(userId: string, interviewId: string) {
  return call(
    api.GET('/api/admin/users/{user_id}/interviews/{interview_id}', {
      params: { path: { user_id: userId, interview_id: interviewId } },
    }),
  );
}

export function useUserInterview(userId: string, interviewId: string, enabled = true) {
  return useQuery({
    queryKey: adminKeys.userInterview(userId, interviewId),
    queryFn: () => fetchUserInterview(userId, interviewId),
    enabled: enabled && !!userId && !!interviewId,
  });
}

/** The account actions of the user detail page; each returns the account as it now is. */
export function useUserActions(id: string) {
  const queryClient = useQueryClient();
  const done = (user: AdminUser) => {
    queryClient.setQueryData<AdminUserDetail>(adminKeys.user(id), (old) => (old ? { ...old, ...user } : old));
    void queryClient.invalidateQueries({ queryKey: ['admin', 'users'] });
    // The administrator may have changed their own account (the credits in the top bar).
    void queryClient.invalidateQueries({ queryKey: keys.me });
  };
  const path = { params: { path: { user_id: id } } };
  return {
    role: useMutation({
      mutationFn: (role: Role) => call(api.PATCH('/api/admin/users/{user_id}/role', { ...path, body: { role } })),
      onSuccess: done,
    }),
    credits: useMutation({
      mutationFn: (body: { delta: number; reason: string }) =>
        call(api.POST('/api/admin/users/{user_id}/credits', { ...path, body })),
      onSuccess: done,
    }),
    disable: useMutation({
      mutationFn: () => call(api.POST('/api/admin/users/{user_id}/disable', path)),
      onSuccess: done,
    }),
    enable: useMutation({
      mutationFn: () => call(api.POST('/api/admin/users/{user_id}/enable', path)),
      onSuccess: done,
    }),
  };
}

// --- audit log -----------------------------------------------------------------------------------

export interface AuditFilters {
  /** Actions starting with this ("credits", "interview.note"). */
  action: string;
  targetType: string;
  targetId: string;
  adminId: string;
}

export function useAuditLog(filters: AuditFilters, limit: number, offset: number) {
  return useQuery({
    queryKey: adminKeys.audit(filters, limit, offset),
    queryFn: () =>
      call(
        api.GET('/api/admin/audit', {
          params: {
            query: {
              action: filters.action || undefined,
              target_type: filters.targetType || undefined,
              target_id: filters.targetId || undefined,
              admin_id: filters.adminId || undefined,
              limit,
              offset,
            },
          },
        }),
      ),
    placeholderData: keepPreviousData,
  });
}

// --- statistics ----------------------------------------------------------------------------------

export function useAdminStats(from: string, to: string) {
  return useQuery({
    queryKey: adminKeys.stats(from, to),
    queryFn: () => call(api.GET('/api/admin/stats', { params: { query: { from, to } } })),
    placeholderData: keepPreviousData,
    staleTime: 60_000,
  });
}

// --- the question bank ---------------------------------------------------------------------------

export interface QuestionFilters {
  track: Track | '';
  level: Level | '';
  tag: string;
  search: string;
  includeRetired: boolean;
}

export function useQuestions(filters: QuestionFilters, limit: number, offset: number) {
  return useQuery({
    queryKey: adminKeys.questions(filters, limit, offset),
    queryFn: () =>
      call(
        api.GET('/api/admin/questions', {
          params: {
            query: {
              track: filters.track || undefined,
              level: filters.level || undefined,
              tag: filters.tag.trim() || undefined,
              q: filters.search.trim() || undefined,
              include_retired: filters.includeRetired,
              limit,
              offset,
            },
          },
        }),
      ),
    placeholderData: keepPreviousData,
  });
}

export function useQuestionActions() {
  const queryClient = useQueryClient();
  const refresh = () => void queryClient.invalidateQueries({ queryKey: ['admin', 'questions'] });
  return {
    create: useMutation({
      mutationFn: (body: QuestionCreate) => call(api.POST('/api/admin/questions', { body })),
      onSuccess: refresh,
    }),
    update: useMutation({
      mutationFn: ({ id, body }: { id: string; body: QuestionUpdate }) =>
        call(api.PUT('/api/admin/questions/{question_id}', { params: { path: { question_id: id } }, body })),
      onSuccess: refresh,
    }),
    retire: useMutation({
      mutationFn: (id: string) =>
        call(api.POST('/api/admin/questions/{question_id}/retire', { params: { path: { question_id: id } } })),
      onSuccess: refresh,
    }),
    restore: useMutation({
      mutationFn: (id: string) =>
        call(api.POST('/api/admin/questions/{question_id}/restore', { params: { path: { question_id: id } } })),
      onSuccess: refresh,
    }),
    import: useMutation({
      mutationFn: importQuestions,
      onSuccess: refresh,
    }),
  };
}

export function exportQuestions(track: Track, includeRetired: boolean): Promise<BankFile> {
  return call(
    api.GET('/api/admin/questions/export', {
      params: { query: { track, format: 'json', include_retired: includeRetired } },
    }),
  ) as Promise<BankFile>;
}

/** One reason the server refused an import, with where in the file it is ("question 3, points"). */
export interface ImportProblem {
  where: string;
  message: string;
}

/** An import the server refused as a whole (422): nothing was written. */
export class ImportRefused extends Error {
  constructor(readonly problems: ImportProblem[]) {
    super(problems.map((p) => `${p.where}: ${p.message}`).join(' · '));
    this.name = 'ImportRefused';
  }
}

/** Where a field of the uploaded file is, in words: ["body","question",2,"points"] → "question 3 › points". */
export function describeLocation(loc: (string | number)[]): string {
  const parts: string[] = [];
  for (const part of loc) {
    if (part === 'body') continue;
    if (typeof part === 'number') {
      const last = parts.pop();
      parts.push(last ? `${last} ${part + 1}` : `item ${part + 1}`);
    } else {
      parts.push(part.replace(/_/g, ' '));
    }
  }
  return parts.join(' › ') || 'file';
}

export async function importQuestions(file: BankFile): Promise<ImportResult> {
  const result = await api.POST('/api/admin/questions/import', { body: file }).catch((error: unknown) => {
    throw toApiError(undefined, {
      detail: error instanceof TypeError ? 'Could not reach the server. Check your connection and try again.' : String(error),
    });
  });
  if (result.response.status === 422 && result.error && Array.isArray((result.error as { detail?: unknown }).detail)) {
    const detail = (result.error as { detail: { loc: (string | number)[]; msg: string }[] }).detail;
    throw new ImportRefused(detail.map((d) => ({ where: describeLocation(d.loc), message: d.msg.replace(/^Value error, /, '') })));
  }
  if (result.error !== undefined || !result.response.ok || !result.data) throw toApiError(result.response, result.error);
  return result.data;
}

// --- purchases -----------------------------------------------------------------------------------

export interface PaymentFilters {
  status: Schemas['PaymentStatus'] | '';
  /** Part of the buyer's email. */
  email: string;
}

export function useAdminPayments(filters: PaymentFilters, limit: number, offset: number) {
  return useQuery({
    queryKey: adminKeys.payments(filters, limit, offset),
    queryFn: () =>
      call(
        api.GET('/api/admin/payments', {
          params: {
            query: { status: filters.status || undefined, email: filters.email.trim() || undefined, limit, offset },
          },
        }),
      ),
    placeholderData: keepPreviousData,
  });
}

/** Refunds what is left of a captured payment; the buyer's credits go when Razorpay confirms it. */
export function useRefundPayment() {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: ({ id, reason }: { id: string; reason: string }) =>
      call(api.POST('/api/admin/payments/{payment_id}/refund', { params: { path: { payment_id: id } }, body: { reason } })),
    onSuccess: () => {
      void queryClient.invalidateQueries({ queryKey: ['admin', 'payments'] });
      void queryClient.invalidateQueries({ queryKey: ['admin', 'revenue'] });
      void queryClient.invalidateQueries({ queryKey: ['admin', 'users'] });
      void queryClient.invalidateQueries({ queryKey: ['admin', 'user'] });
      void queryClient.invalidateQueries({ queryKey: keys.me });
    },
  });
}

export function useAdminRevenue(from: string, to: string) {
  return useQuery({
    queryKey: adminKeys.revenue(from, to),
    queryFn: () => call(api.GET('/api/admin/payments/revenue', { params: { query: { from, to } } })),
    placeholderData: keepPreviousData,
    staleTime: 60_000,
  });
}
