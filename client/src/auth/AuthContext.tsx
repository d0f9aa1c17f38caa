import { createContext, useCallback, useContext, useEffect, useMemo, useSyncExternalStore, type ReactNode } from 'react';
import { useQueryClient } from '@tanstack/react-query';
import { api, call, onAuthLost, type AuthSession, type User } from '../api/client';
import { keys, useMe } from '../api/queries';
import { tokens } from './tokens';

interface AuthValue {
  signedIn: boolean;
  user: User | undefined;
  userLoading: boolean;
  signIn: (email: string, password: string) => Promise<User>;
  signUp: (email: string, password: string) => Promise<User>;
  signOut: () => void;
  /** Keeps this session (with a new pair of tokens); every other session is signed out. */
  changePassword: (currentPassword: string, newPassword: string) => Promise<User>;
  /** Sets a new password with a reset link's token and signs in. */
  resetPassword: (token: string, newPassword: string) => Promise<User>;
}

const AuthContext = createContext<AuthValue | null>(null);

export function AuthProvider({ children }: { children: ReactNode }) {
  const queryClient = useQueryClient();
  const session = useSyncExternalStore(tokens.subscribe, tokens.get, tokens.get);
  const me = useMe();

  const accept = useCallback(
    (result: AuthSession) => {
      queryClient.clear();
      tokens.set(result);
      queryClient.setQueryData(keys.me, result.user);
      return result.user;
    },
    [queryClient],
  );

  const signIn = useCallback(
    async (email: string, password: string) =>
      accept(await call(api.POST('/api/auth/login', { body: { email, password } }))),
    [accept],
  );

  const signUp = useCallback(
    async (email: string, password: string) =>
      accept(await call(api.POST('/api/auth/register', { body: { email, password } }))),
    [accept],
  );

  const changePassword = useCallback(
    async (currentPassword: string, newPassword: string) => {
      const result = await call(
        api.POST('/api/auth/change-password', {
          body: { current_password: currentPassword, new_password: newPassword },
        }),
      );
      tokens.set(result);
      queryClient.setQueryData(keys.me, result.user);
      return result.user;
    },
    [queryClient],
  );

  const resetPassword = useCallback(
    async (token: string, newPassword: string) =>
      accept(await call(api.POST('/api/auth/reset-password', { body: { token, new_password: newPassword } }))),
    [accept],
  );

  const signOut = useCallback(() => {
    tokens.clear();
    queryClient.clear();
  }, [queryClient]);

  useEffect(() => onAuthLost(() => queryClient.clear()), [queryClient]);

  const value = useMemo<AuthValue>(
    () => ({
      signedIn: session !== null,
      user: session ? me.data : undefined,
      userLoading: session !== null && me.isPending,
      signIn,
      signUp,
      signOut,
      changePassword,
      resetPassword,
    }),
    [session, me.data, me.isPending, signIn, signUp, signOut, changePassword, resetPassword],
  );
  return <AuthContext.Provider value={value}>{children}</AuthContext.Provider>;
}

export function useAuth(): AuthValue {
  const value = useContext(AuthContext);
  if (!value) throw new Error('useAuth must be used inside <AuthProvider>');
  return value;
}
