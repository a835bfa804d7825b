-- A drill's check of a restored orders database: its row counts and checksum must be the values recorded
-- when the backup was taken (see orders-fingerprint.sql). They come from the environment variables
-- ORDERS_EXPECTED_ACCOUNTS, ORDERS_EXPECTED_ORDERS and ORDERS_EXPECTED_CHECKSUM, read here with psql's
-- \getenv (psql 15 or later) rather than named as `$VAR` in the policy's command: restorable masks every
-- value a `$VAR` brings into a command as a possible secret, and these are not secret, so the drill's
-- output shows them.
--
--   psql -X -v ON_ERROR_STOP=1 --dbname=drill_1234abcd -f examples/drills/verify-orders.sql
--
-- Any difference raises an error that names each value, expected and found: psql prints it and exits
-- with code 3, which fails the drill's step (and the drill) with that output.
\set ON_ERROR_STOP on
\getenv expected_accounts ORDERS_EXPECTED_ACCOUNTS
\getenv expected_orders ORDERS_EXPECTED_ORDERS
\getenv expected_checksum ORDERS_EXPECTED_CHECKSUM
\ir orders-fingerprint.sql

create temporary table drill_expected (name text primary key, value text not null);
insert into drill_expected (name, value) values
  ('accounts', :'expected_accounts'),
  ('orders', :'expected_orders'),
  ('checksum', :'expected_checksum');

do $verify$
declare
  problems text;
begin
  select string_agg(format('%s: expected %s, found %s', e.name, e.value, coalesce(f.value, 'nothing')), '; '
                    order by e.name)
    into problems
    from drill_expected e
    left join drill_fingerprint f using (name)
   where f.value is distinct from e.value;
  if problems is not null then
    raise exception 'the restored database differs from the backup: %', problems;
  end if;
end
$verify$;

\echo the restored database matches the backup
