/**
 * The admin console: every screen under /admin. This module is the console's chunk (App loads it
 * with React.lazy, for administrators only); the metrics screen, with the charts library, is a
 * chunk of its own again.
 */
import { lazy, Suspense, useEffect, useRef, type ReactNode } from 'react';
import { NavLink, Outlet, Route, Routes, useLocation } from 'react-router';
import { AdminLiveProvider } from '../../components/admin/AdminLive';
import { LoadingBlock } from '../../components/ui';
import { NotFound } from '../NotFound';
import { Audit } from './Audit';
import { Monitor } from './Monitor';
import { Payments } from './Payments';
import { Questions } from './Questions';
import { UserDetail } from './UserDetail';
import { Users } from './Users';
import { Watch } from './Watch';
import '../../styles/admin.css';

// With the charts library: chunks of their own, so the live screens load without it.
const Metrics = lazy(() => import('./Metrics').then((m) => ({ default: m.Metrics })));
const UserInterview = lazy(() => import('./UserInterview').then((m) => ({ default: m.UserInterview })));

function Charted({ children, label }: { children: ReactNode; label: string }) {
  return <Suspense fallback={<LoadingBlock label={label} lines={6} />}>{children}</Suspense>;
}

const SECTIONS = [
  { to: '/admin', label: 'Live', testId: 'admin-nav-live', end: true },
  { to: '/admin/metrics', label: 'Metrics', testId: 'admin-nav-metrics' },
  { to: '/admin/users', label: 'Users', testId: 'admin-nav-users' },
  { to: '/admin/questions', label: 'Questions', testId: 'admin-nav-questions' },
  { to: '/admin/payments', label: 'Payments', testId: 'admin-nav-payments' },
  { to: '/admin/audit', label: 'Audit log', testId: 'admin-nav-audit' },
];

function AdminShell() {
  const linksRef = useRef<HTMLDivElement>(null);
  const { pathname } = useLocation();
  // On a phone the links scroll sideways: bring the current one into view.
  useEffect(() => {
    const box = linksRef.current;
    const active = box?.querySelector<HTMLElement>('.active');
    if (!box || !active) return;
    const link = active.getBoundingClientRect();
    const view = box.getBoundingClientRect();
    if (link.left < view.left || link.right > view.right) {
      box.scrollLeft += link.left - view.left - (view.width - link.width) / 2;
    }
  }, [pathname]);
  return (
    <div className="admin">
      <nav className="admin-nav no-print" aria-label="Admin" data-testid="admin-nav">
        <span className="admin-nav__badge" aria-hidden="true">
          Admin
        </span>
        <div className="admin-nav__links" ref={linksRef}>
          {SECTIONS.map((s) => (
            <NavLink key={s.to} to={s.to} end={s.end} className="admin-nav__link" data-testid={s.testId}>
              {s.label}
            </NavLink>
          ))}
        </div>
      </nav>
      <Outlet />
    </div>
  );
}

function LiveScreens() {
  return (
    <AdminLiveProvider>
      <Outlet />
    </AdminLiveProvider>
  );
}

export function AdminSection() {
  return (
    <Routes>
      <Route element={<AdminShell />}>
        <Route element={<LiveScreens />}>
          <Route index element={<Monitor />} />
          <Route path="interviews/:id/watch" element={<Watch />} />
        </Route>
        <Route
          path="metrics"
          element={
            <Charted label="Loading the metrics">
              <Metrics />
            </Charted>
          }
        />
        <Route path="users" element={<Users />} />
        <Route path="users/:id" element={<UserDetail />} />
        <Route
          path="users/:userId/interviews/:interviewId"
          element={
            <Charted label="Loading the interview">
              <UserInterview />
            </Charted>
          }
        />
        <Route path="questions" element={<Questions />} />
        <Route path="payments" element={<Payments />} />
        <Route path="audit" element={<Audit />} />
        <Route path="*" element={<NotFound />} />
      </Route>
    </Routes>
  );
}
