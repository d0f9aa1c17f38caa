import { Link, useParams } from 'react-router';
import { useUserInterview } from '../../api/admin';
import { ApiError } from '../../api/errors';
import { EmptyState, ErrorState, LoadingBlock } from '../../components/ui';
import { ReportView } from '../Report';

/** One of a user's interviews as its owner sees it (transcript, scores, report), for an administrator. */
export function UserInterview() {
  const { userId = '', interviewId = '' } = useParams();
  const query = useUserInterview(userId, interviewId);
  if (query.isPending) {
    return (
      <div className="page admin-page">
        <LoadingBlock label="Loading the interview" lines={6} />
      </div>
    );
  }
  if (query.isError) {
    const missing = query.error instanceof ApiError && (query.error.status === 404 || query.error.status === 422);
    return (
      <div className="page admin-page">
        {missing ? (
          <EmptyState
            title="Interview not found"
            action={
              <Link className="btn btn--primary" to={`/admin/users/${userId}`}>
                Back to the user
              </Link>
            }
          >
            It may have been deleted, or it belongs to another account.
          </EmptyState>
        ) : (
          <ErrorState title="Could not load the interview" error={query.error} onRetry={() => void query.refetch()} />
        )}
      </div>
    );
  }
  return (
    <div data-testid="admin-report">
      <ReportView
        detail={query.data}
        admin={{
          back: { to: `/admin/users/${userId}`, label: 'User' },
          watch: query.data.status === 'live' ? `/admin/interviews/${interviewId}/watch?user=${userId}` : null,
        }}
      />
    </div>
  );
}
