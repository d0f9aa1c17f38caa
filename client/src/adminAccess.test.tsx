import { QueryClientProvider } from '@tanstack/react-query';
import { render, screen } from '@testing-library/react';
import { isValidElement, type ReactElement, type ReactNode } from 'react';
import { createMemoryRouter, RouterProvider, type RouteObject } from 'react-router';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

// Node's Request (used by openapi-fetch) needs an absolute URL; set before the client loads.
vi.hoisted(() => {
  vi.stubEnv('VITE_API_BASE_URL', 'http://api.test');
});

import { AdminSection, makeQueryClient, routes } from './App';
import { tokens } from './auth/tokens';
import { stubApi } from './test/api';
import { FakeWebSocket } from './test/socket';

const user = (role: 'candidate' | 'admin') => ({
  id: '11111111-2222-4333-8444-555555555555',
  email: `${role}@example.com`,
  role,
  created_at: '2026-01-01T00:00:00Z',
  credits: 3,
});

function renderApp(path: string, role: 'candidate' | 'admin') {
  stubApi({
    'GET /api/me': () => Response.json(user(role)),
    'GET /api/interviews': () => Response.json({ items: [], total: 0, limit: 100, offset: 0 }),
  });
  const router = createMemoryRouter(routes, { initialEntries: [path] });
  return render(
    <QueryClientProvider client={makeQueryClient()}>
      <RouterProvider router={router} />
    </QueryClientProvider>,
  );
}

beforeEach(() => {
  FakeWebSocket.all = [];
  vi.stubGlobal('WebSocket', FakeWebSocket);
  tokens.set({ access_token: 'A', refresh_token: 'R', expires_in: 3600 });
});

afterEach(() => {
  tokens.clear();
  vi.unstubAllGlobals();
});

describe('the admin console is for administrators only', () => {
  it('shows no Admin link to a candidate, and /admin is a page that is not there', async () => {
    renderApp('/admin', 'candidate');
    expect(await screen.findByText('Page not found')).toBeInTheDocument();
    expect(screen.getByRole('link', { name: 'Account' })).toBeInTheDocument();
    expect(screen.queryByTestId('nav-admin')).toBeNull();
    expect(screen.queryByTestId('admin-nav')).toBeNull();
    // Nothing of the console ran: no admin socket was opened.
    expect(FakeWebSocket.all).toEqual([]);
  });

  it('also hides a deeper admin page from a candidate', async () => {
    renderApp('/admin/users', 'candidate');
    expect(await screen.findByText('Page not found')).toBeInTheDocument();
  });

  it('shows an administrator the Admin link and the console at /admin', async () => {
    renderApp('/admin', 'admin');
    expect(await screen.findByTestId('nav-admin')).toHaveAttribute('href', '/admin');
    expect(await screen.findByTestId('admin-nav')).toBeInTheDocument();
    for (const section of ['live', 'metrics', 'users', 'questions', 'audit']) {
      expect(screen.getByTestId(`admin-nav-${section}`)).toBeInTheDocument();
    }
    expect(await screen.findByRole('heading', { name: 'Live interviews' })).toBeInTheDocument();
    expect(FakeWebSocket.lastAdmin?.url).toBe('ws://api.test/ws/admin');
  });
});

// That nothing imports it statically is tests/contract/adminChunk.test.ts.
describe('the admin console is a chunk of its own', () => {
  function findElement(node: ReactNode, match: (e: ReactElement) => boolean): ReactElement | null {
    if (!isValidElement(node)) return null;
    if (match(node)) return node;
    const children = (node.props as { children?: ReactNode }).children;
    for (const child of Array.isArray(children) ? children : [children]) {
      const found = findElement(child, match);
      if (found) return found;
    }
    return null;
  }

  function findRoute(list: RouteObject[], path: string): RouteObject | null {
    for (const route of list) {
      if (route.path === path) return route;
      const inner = route.children ? findRoute(route.children, path) : null;
      if (inner) return inner;
    }
    return null;
  }

  it('routes /admin/* to a React.lazy component', () => {
    const route = findRoute(routes, '/admin/*');
    expect(route).not.toBeNull();
    const lazy = findElement(route!.element, (e) => e.type === AdminSection);
    expect(lazy).not.toBeNull();
    expect((AdminSection as unknown as { $$typeof: symbol }).$$typeof).toBe(Symbol.for('react.lazy'));
  });
});
