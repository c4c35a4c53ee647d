import { useQuery, useQueryClient } from "@tanstack/react-query";
import { createContext, type ReactNode, useContext, useEffect } from "react";
import { ApiError, api, type Schemas, setCsrfToken, unwrap, whenSignedOut } from "./api/client.js";

export type Session = Schemas["ConsoleSession"];
export type Permission = Session["permissions"][number];

interface SessionState {
  session: Session;
  can(permission: Permission): boolean;
  signOut(): Promise<void>;
}

const SessionContext = createContext<SessionState | null>(null);

/** The signed-in session; only inside <SignedIn>. */
export function useSession(): SessionState {
  const state = useContext(SessionContext);
  if (state === null) throw new Error("useSession outside a signed-in page");
  return state;
}

const SESSION_KEY = ["session"] as const;

/** Who is signed in: the session, null when nobody is, or the query still loading. */
export function useSessionQuery() {
  return useQuery({
    queryKey: SESSION_KEY,
    queryFn: async () => {
      try {
        return await unwrap(api.GET("/api/session"));
      } catch (err) {
        if (err instanceof ApiError && err.status === 401) return null;
        throw err;
      }
    },
    staleTime: 60_000,
    retry: false,
  });
}

/** Signs in with an API token; the session query then holds the new session. */
export function useSignIn() {
  const client = useQueryClient();
  return async (token: string): Promise<void> => {
    const session = await unwrap(api.POST("/api/session", { body: { token } }));
    setCsrfToken(session.csrfToken);
    client.setQueryData(SESSION_KEY, session);
  };
}

/** Provides the session to the pages, and signs out when the server says it has ended. */
export function SignedIn({ session, children }: { session: Session; children: ReactNode }) {
  const client = useQueryClient();
  setCsrfToken(session.csrfToken);
  useEffect(() => {
    whenSignedOut(() => {
      client.setQueryData(SESSION_KEY, null);
      client.removeQueries({ predicate: (q) => q.queryKey[0] !== SESSION_KEY[0] });
    });
  }, [client]);
  const state: SessionState = {
    session,
    can: (permission) => session.permissions.includes(permission),
    async signOut() {
      await api.DELETE("/api/session");
      setCsrfToken("");
      // The session query stays (its observer is the app); everything read as this person goes.
      client.setQueryData(SESSION_KEY, null);
      client.removeQueries({ predicate: (q) => q.queryKey[0] !== SESSION_KEY[0] });
    },
  };
  return <SessionContext.Provider value={state}>{children}</SessionContext.Provider>;
}
