// @ts-check
/**
 * Notifications: /ui/notifications?status=&kind=&client_id=&since=&until= is the
 * filtered list, /ui/notifications/<notification_id> one notification's detail. Split
 * in two modules (list, detail); this one only picks which the URL names.
 */
import { html } from "../lib/html.js";
import { NotificationDetail } from "./notifications_detail.js";
import { NotificationList } from "./notifications_list.js";

/** @param {import("./index.js").ViewProps} props */
export function NotificationsView({ session, loc }) {
  return loc.id
    ? html`<${NotificationDetail} session=${session} notificationId=${loc.id} />`
    : html`<${NotificationList} session=${session} loc=${loc} />`;
}
