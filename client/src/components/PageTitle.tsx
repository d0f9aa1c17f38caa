/**
 * The document's title: the route's own by default, or a better one from the page on screen
 * once it knows more ("Loading report…", then "Report: Backend mid-level · 3.4/5").
 */
import { createContext, useCallback, useContext, useEffect, useState, type ReactNode } from 'react';
import { useLocation } from 'react-router';

export const APP_NAME = 'Mock Interview';

export function documentTitle(title: string): string {
  return `${title} · ${APP_NAME}`;
}

type SetPageTitle = (path: string, title: string | null) => void;

const PageTitleContext = createContext<SetPageTitle | null>(null);

/** Sets document.title from `routeTitle`, unless the page at `pathname` said something better. */
export function PageTitleProvider({ routeTitle, children }: { routeTitle: string; children: ReactNode }) {
  const { pathname } = useLocation();
  const [fromPage, setFromPage] = useState<{ path: string; title: string } | null>(null);
  // A title is the page's at one address only: a page that is gone cannot leave its title behind.
  const title = fromPage && fromPage.path === pathname ? fromPage.title : routeTitle;

  useEffect(() => {
    document.title = documentTitle(title);
  }, [title]);

  const set = useCallback<SetPageTitle>((path, next) => {
    setFromPage((current) => {
      if (next !== null) return current?.path === path && current.title === next ? current : { path, title: next };
      return current?.path === path ? null : current;
    });
  }, []);

  return <PageTitleContext.Provider value={set}>{children}</PageTitleContext.Provider>;
}

/** The title of the page on screen while it is shown (`null`: the route's). */
export function usePageTitle(title: string | null | undefined): void {
  const set = useContext(PageTitleContext);
  const { pathname } = useLocation();
  useEffect(() => {
    if (!title) return;
    if (!set) {
      // Outside the app's frame (a page tested on its own): straight to the document.
      document.title = documentTitle(title);
      return;
    }
    set(pathname, title);
    return () => set(pathname, null);
  }, [set, pathname, title]);
}
