-- The fingerprint of the example's orders database: row counts, and one checksum over the content of every
-- table (each table's rows as text, in primary-key order). Run it when the backup is taken to record the
-- values the drill expects:
--
--   psql -X -q -tA -F ' ' --dbname="$ORDERS_DATABASE_URL" -f examples/drills/orders-fingerprint.sql
--
-- verify-orders.sql includes it to compute the same values in the restored copy. The settings below make a
-- row's text the same on every server (dates, times, numbers); they last for this session only.
set timezone = 'UTC';
set datestyle = 'ISO, YMD';
set intervalstyle = 'postgres';
set extra_float_digits = 1;
set bytea_output = 'hex';

create temporary view drill_fingerprint (name, value) as
with tables (name, rows, checksum) as (
  select 'pgbench_accounts', count(*), md5(string_agg(t::text, E'\n' order by t.aid)) from pgbench_accounts t
  union all
  select 'pgbench_branches', count(*), md5(string_agg(t::text, E'\n' order by t.bid)) from pgbench_branches t
  union all
  select 'pgbench_tellers', count(*), md5(string_agg(t::text, E'\n' order by t.tid)) from pgbench_tellers t
  union all
  select 'customers', count(*), md5(string_agg(t::text, E'\n' order by t.id)) from customers t
  union all
  select 'orders', count(*), md5(string_agg(t::text, E'\n' order by t.id)) from orders t
)
select 'accounts', (select rows::text from tables where name = 'pgbench_accounts')
union all
select 'orders', (select rows::text from tables where name = 'orders')
union all
select 'checksum', md5(string_agg(format('%s %s %s', name, rows, coalesce(checksum, '-')), E'\n' order by name))
  from tables;

select name, value from drill_fingerprint order by name;
