"""The sender: claims notifications, delivers them by email, Slack and webhook, retries."""
