-- What apply_schema (newswh/warehouse.py) needs to know to skip its work, in one query:
-- the digest of the files it would run and of those it vouches for (DIGEST_FOLDERS: each
-- file's folder, name and text), the digest the warehouse recorded when they last ran (the text
-- of the macro newswh_sql_digest), and the tables, views and macros those files create
-- that the warehouse lacks. DuckDB reads the files: a run reads them while discovery walks
-- the source on another thread, and a file read from Python would wait for that thread's
-- turn with the interpreter, each time.
with files as (
    select regexp_extract(filename, '[^/]+/[^/]+$') as name, content
    from read_text($files)
),
expected as (
    select distinct lower(unnest(regexp_extract_all(
        content, '(?im)^create\s+(?:or\s+replace\s+)?(?:table|view|macro)\s+(?:if\s+not\s+exists\s+)?(\w+)', 1
    ))) as name
    from files
    where split_part(name, '/', 1) in ('schema', 'views')
),
present as (
    select lower(table_name) as name from duckdb_tables() where database_name = current_database()
    union all
    select lower(view_name) from duckdb_views() where database_name = current_database() and not internal
    union all
    select lower(function_name) from duckdb_functions()
    where database_name = current_database() and function_type in ('macro', 'table_macro')
)
select
    (select sha256(string_agg(name || chr(0) || content, chr(0) order by name)) from files) as digest,
    (select any_value(macro_definition) from duckdb_functions()
        where database_name = current_database() and function_name = $macro) as recorded,
    (select coalesce(list(name order by name), []) from (select name from expected except select name from present)) as missing;
