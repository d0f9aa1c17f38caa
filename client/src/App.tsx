import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { lazy, Suspense, useEffect, type ReactNode } from 'react';
import {
  createBrowserRouter,
  Navigate,
  Outlet,
  RouterProvider,
  ScrollRestoration,
  useLocation,
  useNavigate,
  type RouteObject,
} from 'react-router';
import { ApiError } from './api/errors';
import { onAuthLost } from './api/client';
import { AuthProvider, useAuth } from './auth/AuthContext';
import { AuthLayout, Layout, PublicLayout } from './components/Layout';
import { PageTitleProvider } from './components/PageTitle';
import { RequireAdmin } from './components/RequireAdmin';
import { RedirectIfSignedIn, RequireAuth } from './components/RequireAuth';
import { AuthPage } from './pages/AuthPage';
import { LoadingBlock } from './components/ui';
import { Landing } from './pages/Landing';
import { NotFound } from './pages/NotFound';

// Screens load on demand; the charts library only comes with the dashboard and the report.
const Dashboard = lazy(() => import('./pages/Dashboard').then((m) => ({ default: m.Dashboard })));
const History = lazy(() => import('./pages/History').then((m) => ({ default: m.History })));
const InterviewRoom = lazy(() => import('./pages/InterviewRoom').then((m) => ({ default: m.InterviewRoom })));
const NewInterview = lazy(() => import('./pages/NewInterview').then((m) => ({ default: m.NewInterview })));
const Report = lazy(() => import('./pages/Report').then((m) => ({ default: m.Report })));
const SharedReport = lazy(() => import('./pages/Report').then((m) => ({ default: m.SharedReport })));
const ForgotPassword = lazy(() => import('./pages/ForgotPassword').then((m) => ({ default: m.ForgotPassword })));
const ResetPassword = lazy(() => import('./pages/ResetPassword').then((m) => ({ default: m.ResetPassword })));
const Account = lazy(() => import('./pages/Account').then((m) => ({ default: m.Account })));
const Credits = lazy(() => import('./pages/Credits').then((m) => ({ default: m.Credits })));
// The admin console is one chunk of its own, loaded only when an administrator opens it.
export const AdminSection = lazy(() => import('./pages/admin/AdminSection').then((m) => ({ default: m.AdminSection })));

function Screen({ children }: { children: ReactNode }) {
  return (
    <Suspense
      fallback={
        <div className="page">
          <LoadingBlock label="Loading" lines={4} />
        </div>
      }
    >
      {children}
    </Suspense>
  );
}

export function makeQueryClient() {
  return new QueryClient({
    defaultOptions: {
      queries: {
        staleTime: 10_000,
        refetchOnWindowFocus: true,
        retry: (count, error) => {
          if (error instanceof ApiError && error.status >= 400 && error.status < 500) return false;
          return count < 2;
        },
      },
      mutations: { retry: false },
    },
  });
}

/** Each route's title; a page that knows more (a report's score, a loading state) says so itself. */
const titles: [RegExp, string][] = [
  [/^\/admin\/interviews\/[^/]+\/watch/, 'Watch interview · Admin'],
  [/^\/admin\/metrics/, 'Metrics · Admin'],
  [/^\/admin\/users\/[^/]+\/interviews\//, 'Interview · Admin'],
  [/^\/admin\/users\/[^/]+/, 'User · Admin'],
  [/^\/admin\/users/, 'Users · Admin'],
  [/^\/admin\/questions/, 'Question bank · Admin'],
  [/^\/admin\/audit/, 'Audit log · Admin'],
  [/^\/admin\/payments/, 'Payments · Admin'],
  [/^\/admin\/?$/, 'Live interviews · Admin'],
  [/^\/login/, 'Sign in'],
  [/^\/signup/, 'Create account'],
  [/^\/forgot-password/, 'Reset password'],
  [/^\/reset-password/, 'Choose a new password'],
  [/^\/account/, 'Account'],
  [/^\/credits/, 'Buy credits'],
  [/^\/new/, 'New interview'],
  [/^\/history/, 'History'],
  [/^\/interviews\/[^/]+\/report/, 'Report'],
  [/^\/interviews\//, 'Interview'],
  [/^\/shared\//, 'Shared report'],
  [/^\/$/, 'Dashboard'],
];

/** The title of a route before its page has said anything. */
export function routeTitle(pathname: string): string {
  return titles.find(([re]) => re.test(pathname))?.[1] ?? 'Not found';
}

/** The app's frame for a signed-in user, or the plain one for a visitor. */
function SignedInOrVisitorLayout() {
  const { signedIn } = useAuth();
  return signedIn ? <Layout /> : <AuthLayout />;
}

/** The home page: the dashboard for a signed-in user, what the product is for a visitor. */
function HomeLayout() {
  const { signedIn } = useAuth();
  return signedIn ? <Layout /> : <PublicLayout />;
}

function Home() {
  const { signedIn } = useAuth();
  return signedIn ? (
    <Screen>
      <Dashboard />
    </Screen>
  ) : (
    <Landing />
  );
}

/**
 * Page titles, scrolling (a new page opens at the top; back and forward return to where the
 * reader was), and a redirect to sign-in when the session is lost.
 */
function Root() {
  const location = useLocation();
  const navigate = useNavigate();
  useEffect(
    () =>
      onAuthLost(() => {
        const here = `${window.location.pathname}${window.location.search}`;
        if (!here.startsWith('/login') && !here.startsWith('/signup')) {
          navigate(`/login?next=${encodeURIComponent(here)}`, { replace: true });
        }
      }),
    [navigate],
  );
  return (
    <AuthProvider>
      <PageTitleProvider routeTitle={routeTitle(location.pathname)}>
        <ScrollRestoration />
        <Outlet />
      </PageTitleProvider>
    </AuthProvider>
  );
}

export const routes: RouteObject[] = [
  {
    element: <Root />,
    children: [
      {
        element: (
          <RedirectIfSignedIn>
            <AuthLayout />
          </RedirectIfSignedIn>
        ),
        children: [
          { path: '/login', element: <AuthPage mode="login" /> },
          { path: '/signup', element: <AuthPage mode="signup" /> },
          { path: '/forgot-password', element: <Screen><ForgotPassword /></Screen> },
        ],
      },
      {
        element: <HomeLayout />,
        children: [{ path: '/', element: <Home /> }],
      },
      {
        // A shared report is readable without an account, at the width of the app's pages.
        element: <PublicLayout />,
        children: [{ path: '/shared/:token', element: <Screen><SharedReport /></Screen> }],
      },
      {
        // Open whether or not signed in: a reset link may be opened in a signed-in browser.
        element: <AuthLayout />,
        children: [{ path: '/reset-password', element: <Screen><ResetPassword /></Screen> }],
      },
      {
        // Prices are public; buying needs an account. Links here load the whole page: the
        // server allows Razorpay's Checkout script only on documents loaded at /credits.
        element: <SignedInOrVisitorLayout />,
        children: [{ path: '/credits', element: <Screen><Credits /></Screen> }],
      },
      {
        element: (
          <RequireAuth>
            <Layout />
          </RequireAuth>
        ),
        children: [
          { path: '/new', element: <Screen><NewInterview /></Screen> },
          { path: '/history', element: <Screen><History /></Screen> },
          { path: '/account', element: <Screen><Account /></Screen> },
          { path: '/interviews/:id', element: <Screen><InterviewRoom /></Screen> },
          { path: '/interviews/:id/report', element: <Screen><Report /></Screen> },
          { path: '/interviews', element: <Navigate to="/history" replace /> },
          {
            path: '/admin/*',
            element: (
              <RequireAdmin>
                <Screen>
                  <AdminSection />
                </Screen>
              </RequireAdmin>
            ),
          },
          { path: '*', element: <NotFound /> },
        ],
      },
    ],
  },
];

const router = createBrowserRouter(routes);

const queryClient = makeQueryClient();

export function App() {
  return (
    <QueryClientProvider client={queryClient}>
      <RouterProvider router={router} />
    </QueryClientProvider>
  );
}
