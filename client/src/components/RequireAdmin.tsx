import type { ReactNode } from 'react';
import { useAuth } from '../auth/AuthContext';
import { NotFound } from '../pages/NotFound';
import { LoadingBlock } from './ui';

/**
 * The admin console, for administrators only: anyone else sees the page that is not there (the
 * server answers them 404 too). The console's code is not even loaded for them.
 */
export function RequireAdmin({ children }: { children: ReactNode }) {
  const { user, userLoading } = useAuth();
  if (userLoading) {
    return (
      <div className="page">
        <LoadingBlock label="Loading" lines={4} />
      </div>
    );
  }
  if (user?.role !== 'admin') return <NotFound />;
  return <>{children}</>;
}
