// @ts-check
/**
 * Every view of the console, in the navigation's order. A view is one module exporting a
 * component that receives {session, loc}; adminOnly views are hidden from client keys
 * (the API would answer them 403 anyway).
 */
import { ClientsView } from "./clients.js";
import { EndpointsView } from "./endpoints.js";
import { GroupsView } from "./groups.js";
import { LoadgenView } from "./loadgen.js";
import { MatchView } from "./match.js";
import { NotificationsView } from "./notifications.js";
import { PipelineView } from "./pipeline.js";
import { RulesView } from "./rules.js";
import { SilencesView } from "./silences.js";

/**
 * @typedef {{session: import("../lib/session.js").Session, loc: import("../lib/router.js").Location}} ViewProps
 * @typedef {{id: string, title: string, adminOnly: boolean, component: (props: ViewProps) => any}} View
 */

/** @type {View[]} */
export const VIEWS = [
  { id: "clients", title: "Clients & keys", adminOnly: false, component: ClientsView },
  { id: "rules", title: "Rules", adminOnly: false, component: RulesView },
  { id: "endpoints", title: "Endpoints", adminOnly: false, component: EndpointsView },
  { id: "match", title: "Match tester", adminOnly: false, component: MatchView },
  { id: "silences", title: "Silences", adminOnly: false, component: SilencesView },
  { id: "notifications", title: "Notifications", adminOnly: false, component: NotificationsView },
  { id: "groups", title: "Groups", adminOnly: false, component: GroupsView },
  { id: "pipeline", title: "Pipeline", adminOnly: true, component: PipelineView },
  { id: "loadgen", title: "Load generator", adminOnly: true, component: LoadgenView },
];
