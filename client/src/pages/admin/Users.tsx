import { useEffect, useRef, useState } from 'react';
import { Link, useSearchParams } from 'react-router';
import { useAdminUsers } from '../../api/admin';
import { Pager, TableScroll } from '../../components/admin/AdminUi';
import { EmptyState, ErrorState, LoadingBlock, PageHeader } from '../../components/ui';
import { formatDate } from '../../lib/format';

const PAGE = 25;
const SEARCH_DELAY_MS = 250;

export function Users() {
  const [params, setParams] = useSearchParams();
  const email = params.get('q') ?? '';
  const offset = Math.max(0, Number(params.get('offset')) || 0);
  const [typed, setTyped] = useState(email);
  const query = useAdminUsers(email, PAGE, offset);

  // Search as the admin types, once the typing pauses; the back button brings its search back.
  const pushed = useRef(email);
  useEffect(() => {
    if (email !== pushed.current) {
      pushed.current = email;
      setTyped(email);
    }
  }, [email]);
  useEffect(() => {
    if (typed.trim() === email) return;
    const timer = setTimeout(() => search(typed), SEARCH_DELAY_MS);
    return () => clearTimeout(timer);
    // `search` reads the params of this render: only what was typed starts a new search.
  }, [typed, email]);

  function search(text: string) {
    const next = new URLSearchParams(params);
    if (text.trim()) next.set('q', text.trim());
    else next.delete('q');
    next.delete('offset');
    pushed.current = text.trim();
    setParams(next, { replace: true });
  }

  function setOffset(value: number) {
    const next = new URLSearchParams(params);
    if (value) next.set('offset', String(value));
    else next.delete('offset');
    setParams(next);
  }

  return (
    <div className="page admin-page">
      <PageHeader title="Users" subtitle="Every account, newest first. Open one to change its role, credits or access." />

      <form
        className="filters"
        role="search"
        aria-label="Find users"
        onSubmit={(e) => {
          e.preventDefault();
          search(typed);
        }}
      >
        <div className="field field--inline filters__grow">
          <label className="field__label" htmlFor="users-search">
            Email
          </label>
          <input
            id="users-search"
            className="input"
            type="search"
            placeholder="Part of an email…"
            value={typed}
            onChange={(e) => setTyped(e.target.value)}
            data-testid="users-search"
          />
        </div>
        <button type="submit" className="btn btn--secondary">
          Search
        </button>
      </form>

      <div className="card card--flush">
        {query.isPending ? (
          <LoadingBlock label="Loading users" lines={6} />
        ) : query.isError ? (
          <ErrorState title="Could not load the users" error={query.error} onRetry={() => void query.refetch()} />
        ) : query.data.items.length === 0 ? (
          <EmptyState title={email ? 'No user matches' : 'No users yet'}>
            {email ? `No account's email contains “${email}”.` : 'Accounts appear here when people sign up.'}
          </EmptyState>
        ) : (
          <TableScroll label="Users">
            <table className="table" data-testid="users-table" aria-busy={query.isFetching}>
              <thead>
                <tr>
                  <th scope="col">Email</th>
                  <th scope="col">Role</th>
                  <th scope="col" className="num">
                    Credits
                  </th>
                  <th scope="col" className="num">
                    Interviews
                  </th>
                  <th scope="col">Joined</th>
                  <th scope="col">Access</th>
                </tr>
              </thead>
              <tbody>
                {query.data.items.map((u) => (
                  <tr key={u.id} data-testid="users-row" data-user-id={u.id}>
                    <th scope="row" className="cell-main">
                      <Link to={`/admin/users/${u.id}`} className="cell-email" data-testid="users-link">
                        {u.email}
                      </Link>
                    </th>
                    <td>
                      <span className={`tag${u.role === 'admin' ? ' tag--accent' : ''}`}>{u.role === 'admin' ? 'Admin' : 'Candidate'}</span>
                    </td>
                    <td className="num">{u.credit_balance}</td>
                    <td className="num">{u.interview_count}</td>
                    <td>{formatDate(u.created_at)}</td>
                    <td>{u.disabled_at ? <span className="tag tag--danger">Disabled</span> : <span className="muted">Active</span>}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </TableScroll>
        )}
      </div>
      {query.data && <Pager offset={offset} limit={PAGE} total={query.data.total} onOffset={setOffset} noun="user" />}
    </div>
  );
}
