import { NavLink, Outlet, Link, useLocation } from 'react-router';
import { useEffect, useRef } from 'react';
import { usePaymentsConfig } from '../api/payments';
import { useAuth } from '../auth/AuthContext';

function Brand({ label = 'Mock Interview, dashboard' }: { label?: string }) {
  return (
    <Link to="/" className="brand" aria-label={label}>
      <span className="brand__mark" aria-hidden="true">
        <svg viewBox="0 0 24 24" width="18" height="18" fill="none" stroke="currentColor" strokeWidth="2.2" strokeLinecap="round" strokeLinejoin="round">
          <path d="M4 6.5A2.5 2.5 0 0 1 6.5 4h11A2.5 2.5 0 0 1 20 6.5v7a2.5 2.5 0 0 1-2.5 2.5H10l-4.5 4v-4A2.5 2.5 0 0 1 4 13.5z" />
          <path d="M8.5 9.5h7M8.5 12.5h4" />
        </svg>
      </span>
      <span className="brand__name">Mock Interview</span>
    </Link>
  );
}

export function Layout() {
  const { user, signOut } = useAuth();
  const payments = usePaymentsConfig();
  const location = useLocation();
  const mainRef = useRef<HTMLElement>(null);
  const first = useRef(true);

  // Move focus to the page on navigation, so keyboard and screen reader users start at the top.
  useEffect(() => {
    if (first.current) {
      first.current = false;
      return;
    }
    // Without scrolling: where the page opens is the router's to say (the top, or back where it was).
    mainRef.current?.focus({ preventScroll: true });
  }, [location.pathname]);

  return (
    <div className="app">
      <a className="skip-link" href="#main">
        Skip to content
      </a>
      <header className="topbar">
        <div className="topbar__inner">
          <Brand />
          <nav className="topnav" aria-label="Main">
            <NavLink to="/" end className="topnav__link">
              Dashboard
            </NavLink>
            <NavLink to="/history" className="topnav__link">
              History
            </NavLink>
            <NavLink to="/new" className="topnav__link" aria-label="New interview">
              New<span className="topnav__long"> interview</span>
            </NavLink>
            <NavLink to="/account" className="topnav__link">
              Account
            </NavLink>
            {user?.role === 'admin' && (
              <NavLink to="/admin" className="topnav__link" data-testid="nav-admin">
                Admin
              </NavLink>
            )}
          </nav>
          <div className="topbar__user">
            <span className="credits-group">
              <span
                className={`credits${user && user.credits < 0 ? ' credits--negative' : ''}`}
                title="Each interview uses one credit"
                data-testid="credits-counter"
              >
                <span className="credits__value">{user ? user.credits : '…'}</span>
                <span className="credits__label">{user?.credits === 1 ? 'credit' : 'credits'}</span>
              </span>
              {payments.data?.enabled && (
                // A full page load: the server allows Razorpay's script only on documents loaded at /credits.
                <Link to="/credits" reloadDocument className="credits-buy" aria-label="Buy credits" data-testid="buy-credits-link">
                  <span className="credits-buy__plus" aria-hidden="true">
                    +
                  </span>
                  <span className="credits-buy__text">Buy credits</span>
                </Link>
              )}
            </span>
            <Link to="/account" className="topbar__email" title="Your account: change your password">
              {user?.email}
            </Link>
            <button type="button" className="btn btn--ghost btn--sm" onClick={signOut}>
              Sign out
            </button>
          </div>
        </div>
      </header>
      <main id="main" ref={mainRef} tabIndex={-1} className="main">
        <Outlet />
      </main>
    </div>
  );
}

export function AuthLayout() {
  const { signedIn } = useAuth();
  return (
    <div className="auth-page">
      <a className="skip-link" href="#main">
        Skip to content
      </a>
      <main id="main" className="auth-main">
        <div className="auth-brand">
          <Brand label={signedIn ? 'Mock Interview, dashboard' : 'Mock Interview, home'} />
        </div>
        <Outlet />
      </main>
    </div>
  );
}

/**
 * The frame of the pages a visitor can read (the home page, a shared report): the app's width,
 * with the way in. A signed-in reader gets the way back to the dashboard instead.
 */
export function PublicLayout() {
  const { signedIn } = useAuth();
  return (
    <div className="app app--public">
      <a className="skip-link" href="#main">
        Skip to content
      </a>
      <header className="topbar topbar--public">
        <div className="topbar__inner">
          <Brand label={signedIn ? 'Mock Interview, dashboard' : 'Mock Interview, home'} />
          <nav className="public-nav" aria-label="Account">
            {signedIn ? (
              <Link to="/" className="btn btn--secondary btn--sm">
                Dashboard
              </Link>
            ) : (
              <>
                {/* A full page load: the server allows Razorpay's script only on documents loaded at /credits. */}
                <a href="/credits" className="topnav__link public-nav__pricing">
                  Pricing
                </a>
                <Link to="/login" className="btn btn--ghost btn--sm">
                  Sign in
                </Link>
                <Link to="/signup" className="btn btn--primary btn--sm">
                  Start free
                </Link>
              </>
            )}
          </nav>
        </div>
      </header>
      <main id="main" className="main" tabIndex={-1}>
        <Outlet />
      </main>
    </div>
  );
}
