/**
 * One admin socket for the live screens (the monitor and watching an interview): moving between
 * them keeps the connection and the monitor's rows, and steering goes out on the same socket.
 */
import { createContext, useContext, type ReactNode } from 'react';
import { refreshSession } from '../../api/client';
import { tokens } from '../../auth/tokens';
import { adminSocketUrl } from '../../config';
import { useAdminSocket, type AdminSocketOptions, type UseAdminSocket } from '../../hooks/useAdminSocket';

const AdminLiveContext = createContext<UseAdminSocket | null>(null);

export function AdminLiveProvider({
  children,
  options,
}: {
  children: ReactNode;
  /** For tests: a fake socket, timers. */
  options?: Partial<AdminSocketOptions>;
}) {
  const live = useAdminSocket({
    url: adminSocketUrl(),
    getToken: () => tokens.get()?.accessToken ?? null,
    refreshToken: refreshSession,
    ...options,
  });
  return <AdminLiveContext.Provider value={live}>{children}</AdminLiveContext.Provider>;
}

export function useAdminLive(): UseAdminSocket {
  const value = useContext(AdminLiveContext);
  if (!value) throw new Error('useAdminLive must be used inside <AdminLiveProvider>');
  return value;
}
