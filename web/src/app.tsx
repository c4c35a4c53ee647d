import { lazy, Suspense } from "react";
import { NavLink, Route, Routes } from "react-router";
import { ErrorMessage, Loading } from "./components/states.js";
import Dashboard from "./pages/dashboard.js";
import { SignInPage } from "./pages/sign-in.js";
import { type Permission, SignedIn, useSession, useSessionQuery } from "./session.js";

// The dashboard is the first page: in the main bundle, so opening the console waits for no second
// script (and no Suspense reveal, which React holds back up to 300 ms). Every other page is a chunk.
const Identities = lazy(() => import("./pages/identities.js"));
const IdentityPage = lazy(() => import("./pages/identity.js"));
const Systems = lazy(() => import("./pages/systems.js"));
const Operations = lazy(() => import("./pages/operations.js"));
const AuditLog = lazy(() => import("./pages/audit.js"));
const Plan = lazy(() => import("./pages/plan.js"));

/** The pages in the navigation, each shown only to a role holding its permission. */
const PAGES: ReadonlyArray<{ to: string; label: string; permission: Permission }> = [
  { to: "/", label: "Dashboard", permission: "identities:read" },
  { to: "/identities", label: "Identities", permission: "identities:read" },
  { to: "/systems", label: "Systems", permission: "systems:read" },
  { to: "/operations", label: "Operations", permission: "operations:read" },
  { to: "/audit", label: "Audit log", permission: "audit:read" },
  { to: "/plan", label: "Plan", permission: "plan:read" },
];

export function App() {
  const session = useSessionQuery();
  if (session.isPending) return <Loading what="the console" />;
  if (session.isError) return <ErrorMessage error={session.error} what="your session" />;
  if (session.data === null) return <SignInPage />;
  return (
    <SignedIn session={session.data}>
      <Shell />
    </SignedIn>
  );
}

function Shell() {
  const { session, can, signOut } = useSession();
  const pages = PAGES.filter((p) => can(p.permission));
  const guard = (permission: Permission, element: React.ReactNode) =>
    can(permission) ? element : <Forbidden />;
  return (
    <>
      <a className="skip-link" href="#main">
        Skip to content
      </a>
      <header className="top">
        <span className="brand">Tenure</span>
        <nav aria-label="Main">
          <ul>
            {pages.map((p) => (
              <li key={p.to}>
                <NavLink to={p.to} end={p.to === "/"}>
                  {p.label}
                </NavLink>
              </li>
            ))}
          </ul>
        </nav>
        <div className="who">
          <span>
            {session.identity?.displayName ?? session.name} <span className="role">{session.role}</span>
          </span>
          <button type="button" onClick={() => void signOut()}>
            Sign out
          </button>
        </div>
      </header>
      <main id="main" tabIndex={-1}>
        <Suspense fallback={<Loading what="the page" />}>
          <Routes>
            <Route
              path="/"
              element={pages.length === 0 ? <NothingYet /> : guard("identities:read", <Dashboard />)}
            />
            <Route path="/identities" element={guard("identities:read", <Identities />)} />
            <Route path="/identities/:ref" element={guard("identities:read", <IdentityPage />)} />
            <Route path="/systems" element={guard("systems:read", <Systems />)} />
            <Route path="/operations" element={guard("operations:read", <Operations />)} />
            <Route path="/audit" element={guard("audit:read", <AuditLog />)} />
            <Route path="/plan" element={guard("plan:read", <Plan />)} />
            <Route path="*" element={<NotFound />} />
          </Routes>
        </Suspense>
      </main>
    </>
  );
}

function NothingYet() {
  const { session } = useSession();
  return (
    <>
      <h1>Welcome, {session.identity?.displayName ?? session.name}</h1>
      <p>
        Your role, <strong>{session.role}</strong>, has no page in the console yet. Access requests and
        reviews, which this role is for, will appear here as they become available.
      </p>
    </>
  );
}

function Forbidden() {
  const { session } = useSession();
  return (
    <>
      <h1>Not available</h1>
      <p role="alert">Your role, {session.role}, may not see this page.</p>
    </>
  );
}

function NotFound() {
  return (
    <>
      <h1>Page not found</h1>
      <p>
        There is no such page. <NavLink to="/">Go to the start</NavLink>.
      </p>
    </>
  );
}
