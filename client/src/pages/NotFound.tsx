import { Link } from 'react-router';
import { EmptyState } from '../components/ui';

export function NotFound() {
  return (
    <div className="page">
      <EmptyState title="Page not found" icon="?" action={<Link className="btn btn--primary" to="/">Go to the dashboard</Link>}>
        The address may be mistyped, or the page has moved.
      </EmptyState>
    </div>
  );
}
