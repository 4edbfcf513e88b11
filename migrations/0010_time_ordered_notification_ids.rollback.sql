-- New notifications go back to random (version 4) ids; the ids already given stay.
DROP FUNCTION uuid_v7();
