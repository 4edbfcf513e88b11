-- Scale over stored data (docs/operations.md, docs/performance.md "Over stored history").
-- depends: 0009_delivery_attempts
--
-- uuid_v7(): a time-ordered UUID (RFC 9562 version 7: 48 bits of Unix milliseconds,
-- then random bits), for the ids of new notifications. With random (version 4) ids each
-- new notification is inserted at a random leaf of the notifications primary key, and
-- its deliveries are looked up and inserted at random leaves of the deliveries primary
-- key: once ten million stored rows have grown those indexes past shared_buffers, a
-- batch of 500 read ~450 and ~500 index pages (the aggregator's upsert and the sender's
-- endpoint lookup). Ids that grow with time keep each batch at the right edge of both
-- indexes, in cached pages (measured: 1 to 6 pages). The ids stay unguessable (74 random
-- bits); what they reveal, the creation time, notifications already show.
-- Postgres 17 and older have no built-in version 7 generator (18 has uuidv7()).
CREATE FUNCTION uuid_v7() RETURNS uuid
LANGUAGE sql VOLATILE PARALLEL SAFE
AS $$
    SELECT encode(
        set_bit(set_bit(
            overlay(uuid_send(gen_random_uuid())
                PLACING substring(int8send((extract(epoch FROM clock_timestamp()) * 1000)::bigint)
                    FROM 3)
                FROM 1 FOR 6),
            52, 1), 53, 1),
        'hex')::uuid
$$;
