// @ts-check
/**
 * Every view of the console, in the navigation's order. A view is one module exporting a
 * component that receives {session, loc}; adminOnly views are hidden from client keys
 * (the API would answer them 403 anyway).
 */
import { ClientsView } from "./clients.js";
import { NotificationsView } from "./notifications.js";

/**
 * @typedef {{session: import("../lib/session.js").Session, loc: import("../lib/router.js").Location}} ViewProps
 * @typedef {{id: string, title: string, adminOnly: boolean, component: (props: ViewProps) => any}} View
 */

/** @type {View[]} */
export const VIEWS = [
  { id: "clients", title: "Clients & keys", adminOnly: false, component: ClientsView },
  { id: "notifications", title: "Notifications", adminOnly: false, component: NotificationsView },
];
