import { lazy, Suspense } from "react";
import { NavLink, Route, Routes } from "react-router";
import { ErrorMessage, Loading, PageTitle } from "./components/states.js";
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
const Requests = lazy(() => import("./pages/requests.js"));
const RequestPage = lazy(() => import("./pages/request.js"));
const Approvals = lazy(() => import("./pages/approvals.js"));
const Elevate = lazy(() => import("./pages/elevate.js"));
const Sod = lazy(() => import("./pages/sod.js"));
const SodViolationPage = lazy(() => import("./pages/sod-violation.js"));
const Reviews = lazy(() => import("./pages/reviews.js"));
const ReviewItemPage = lazy(() => import("./pages/reviews-item.js"));
const ReviewCampaigns = lazy(() => import("./pages/reviews-campaigns.js"));
const ReviewCampaignPage = lazy(() => import("./pages/reviews-campaign.js"));
const Reports = lazy(() => import("./pages/reports.js"));
const AccessHistory = lazy(() => import("./pages/access-history.js"));
const NonHumanIdentities = lazy(() => import("./pages/nhi.js"));

/** The pages in the navigation, each shown only to a role holding its permission (or one of them). */
const PAGES: ReadonlyArray<{
  to: string;
  label: string;
  permission: Permission | readonly Permission[];
  what: string;
}> = [
  { to: "/", label: "Dashboard", permission: "identities:read", what: "the installation at a glance" },
  { to: "/identities", label: "Identities", permission: "identities:read", what: "people and their access" },
  { to: "/systems", label: "Systems", permission: "systems:read", what: "connected systems" },
  { to: "/operations", label: "Operations", permission: "operations:read", what: "the change queue" },
  { to: "/audit", label: "Audit log", permission: "audit:read", what: "the ledger" },
  { to: "/plan", label: "Plan", permission: "plan:read", what: "what the next run would change" },
  {
    to: "/requests",
    label: "Requests",
    permission: "requests:read",
    what: "ask for access, see your requests",
  },
  {
    to: "/approvals",
    label: "Approvals",
    permission: "requests:decide",
    what: "requests waiting for your decision",
  },
  {
    to: "/elevate",
    label: "Elevate",
    permission: "requests:create",
    what: "an elevation role for a few hours",
  },
  {
    to: "/sod",
    label: "Separation of duties",
    permission: "sod:read",
    what: "conflicting access, its exceptions and the reports",
  },
  {
    to: "/reviews",
    label: "Reviews",
    permission: "review:read",
    what: "access to confirm or remove, riskiest first, and the campaigns",
  },
  {
    to: "/nhi",
    label: "Non-human identities",
    // An owner without nhi:read sees the NHIs they own or must confirm (GET /api/me/nhi).
    permission: ["nhi:read", "nhi:confirm"],
    what: "service accounts, API keys, OAuth apps and certificates: owners and findings",
  },
  {
    to: "/access-history",
    label: "Access history",
    permission: "audit:read",
    what: "who had an access on any date, and why, from the ledger",
  },
  {
    to: "/reports",
    label: "Reports",
    permission: "audit:read",
    what: "evidence for auditors: leavers, orphan accounts, privileged access, changes, reviews",
  },
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
  const canAny = (permission: Permission | readonly Permission[]) =>
    typeof permission === "string" ? can(permission) : permission.some((p) => can(p));
  const pages = PAGES.filter((p) => canAny(p.permission));
  const guard = (permission: Permission | readonly Permission[], element: React.ReactNode) =>
    canAny(permission) ? element : <Forbidden />;
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
            <Route path="/" element={can("identities:read") ? <Dashboard /> : <Welcome pages={pages} />} />
            <Route path="/identities" element={guard("identities:read", <Identities />)} />
            <Route path="/identities/:ref" element={guard("identities:read", <IdentityPage />)} />
            <Route path="/systems" element={guard("systems:read", <Systems />)} />
            <Route path="/operations" element={guard("operations:read", <Operations />)} />
            <Route path="/audit" element={guard("audit:read", <AuditLog />)} />
            <Route path="/plan" element={guard("plan:read", <Plan />)} />
            <Route path="/requests" element={guard("requests:read", <Requests />)} />
            <Route path="/requests/:id" element={guard("requests:read", <RequestPage />)} />
            <Route path="/approvals" element={guard("requests:decide", <Approvals />)} />
            <Route path="/elevate" element={guard("requests:create", <Elevate />)} />
            <Route path="/sod" element={guard("sod:read", <Sod />)} />
            <Route path="/sod/violations/:id" element={guard("sod:read", <SodViolationPage />)} />
            <Route path="/reviews" element={guard("review:read", <Reviews />)} />
            <Route path="/reviews/campaigns" element={guard("review:read", <ReviewCampaigns />)} />
            <Route path="/reviews/items/:id" element={guard("review:read", <ReviewItemPage />)} />
            {/* The link in reviewers' notifications (review-closing.ts reviewLink). */}
            <Route path="/reviews/:campaignId" element={guard("review:read", <ReviewCampaignPage />)} />
            <Route path="/reports" element={guard("audit:read", <Reports />)} />
            <Route path="/access-history" element={guard("audit:read", <AccessHistory />)} />
            <Route path="/nhi" element={guard(["nhi:read", "nhi:confirm"], <NonHumanIdentities />)} />
            <Route path="*" element={<NotFound />} />
          </Routes>
        </Suspense>
      </main>
    </>
  );
}

/** The first page of a role without the dashboard: what it can do here, or that it can do nothing yet. */
function Welcome({ pages }: { pages: typeof PAGES }) {
  const { session } = useSession();
  return (
    <>
      <PageTitle>Welcome, {session.identity?.displayName ?? session.name}</PageTitle>
      {pages.length === 0 ? (
        <p>
          Your role, <strong>{session.role}</strong>, has no page in the console yet.
        </p>
      ) : (
        <>
          <p>
            Your role, <strong>{session.role}</strong>, can use:
          </p>
          <ul>
            {pages.map((p) => (
              <li key={p.to}>
                <NavLink to={p.to}>{p.label}</NavLink>: {p.what}
              </li>
            ))}
          </ul>
        </>
      )}
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
