/** TanStack Query hooks over the REST API. */
import {
  keepPreviousData,
  useMutation,
  useQueries,
  useQuery,
  useQueryClient,
} from '@tanstack/react-query';
import { api, call, type Interview, type InterviewCreate, type InterviewDetail } from './client';
import { tokens } from '../auth/tokens';

export const keys = {
  me: ['me'] as const,
  interviews: ['interviews'] as const,
  page: (limit: number, offset: number) => ['interviews', 'page', limit, offset] as const,
  all: ['interviews', 'all'] as const,
  detail: (id: string) => ['interviews', 'detail', id] as const,
};

export function fetchMe() {
  return call(api.GET('/api/me'));
}

export function useMe() {
  return useQuery({
    queryKey: keys.me,
    queryFn: fetchMe,
    enabled: tokens.get() !== null,
    staleTime: 30_000,
  });
}

export function useInterviewPage(limit: number, offset = 0) {
  return useQuery({
    queryKey: keys.page(limit, offset),
    queryFn: () => call(api.GET('/api/interviews', { params: { query: { limit, offset } } })),
    placeholderData: keepPreviousData,
  });
}

const PAGE = 100;
const MAX_ITEMS = 1000;

/** Every interview (newest first), paging through the list endpoint. */
export async function fetchAllInterviews(): Promise<Interview[]> {
  const items: Interview[] = [];
  for (let offset = 0; offset < MAX_ITEMS; offset += PAGE) {
    const page = await call(
      api.GET('/api/interviews', { params: { query: { limit: PAGE, offset } } }),
    );
    items.push(...page.items);
    if (items.length >= page.total || page.items.length === 0) break;
  }
  return items;
}

export function useAllInterviews() {
  return useQuery({ queryKey: keys.all, queryFn: fetchAllInterviews });
}

export function fetchInterview(id: string): Promise<InterviewDetail> {
  return call(api.GET('/api/interviews/{interview_id}', { params: { path: { interview_id: id } } }));
}

export function useInterview(id: string) {
  return useQuery({ queryKey: keys.detail(id), queryFn: () => fetchInterview(id) });
}

/** Details of several interviews (for per-criterion progress); finished ones rarely change. */
export function useInterviewDetails(ids: string[]) {
  return useQueries({
    queries: ids.map((id) => ({
      queryKey: keys.detail(id),
      queryFn: () => fetchInterview(id),
      staleTime: 5 * 60_000,
    })),
    combine: (results) => ({
      data: results.flatMap((r) => (r.data ? [r.data] : [])),
      isPending: results.some((r) => r.isPending),
      isError: results.some((r) => r.isError),
    }),
  });
}

export function useCreateInterview() {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: (body: InterviewCreate) => call(api.POST('/api/interviews', { body })),
    onSuccess: () => {
      void queryClient.invalidateQueries({ queryKey: keys.interviews });
      void queryClient.invalidateQueries({ queryKey: keys.me });
    },
    onError: () => {
      void queryClient.invalidateQueries({ queryKey: keys.me });
    },
  });
}

export function useDeleteInterview() {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: (id: string) =>
      call(api.DELETE('/api/interviews/{interview_id}', { params: { path: { interview_id: id } } })),
    onSuccess: (_data, id) => {
      queryClient.removeQueries({ queryKey: keys.detail(id) });
      void queryClient.invalidateQueries({ queryKey: keys.interviews });
    },
  });
}

export function useSharedInterview(token: string) {
  return useQuery({
    queryKey: ['shared', token],
    queryFn: () => call(api.GET('/api/shared/{token}', { params: { path: { token } } })),
  });
}

/** Turn the read-only share link on or off for one of your interviews. */
export function useSharing(id: string) {
  const queryClient = useQueryClient();
  const refresh = () => void queryClient.invalidateQueries({ queryKey: keys.detail(id) });
  const share = useMutation({
    mutationFn: () =>
      call(api.POST('/api/interviews/{interview_id}/share', { params: { path: { interview_id: id } } })),
    onSuccess: refresh,
  });
  const unshare = useMutation({
    mutationFn: () =>
      call(api.DELETE('/api/interviews/{interview_id}/share', { params: { path: { interview_id: id } } })),
    onSuccess: refresh,
  });
  return { share, unshare };
}
