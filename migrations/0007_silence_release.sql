-- The release of suppressed notifications when their silence ends (rule-service's
-- releaser, docs/lifecycle.md).
-- depends: 0006_alert_lifecycle
--
-- A suppressed firing row whose episode was resolved stays SUPPRESSED for good (it is
-- never sent). Once the releaser has seen such a row under an inactive silence it marks
-- it settled, so the release index below holds only rows that may still be released:
-- the releaser's work per pass follows those, not every row ever suppressed.
ALTER TABLE notifications ADD COLUMN suppression_settled_at timestamptz;

CREATE INDEX notifications_release_idx ON notifications (silence_id)
    WHERE status = 'SUPPRESSED' AND kind = 'firing' AND suppression_settled_at IS NULL;
