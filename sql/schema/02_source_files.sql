-- The manifest: every raw file ever seen, what it held and what it became.
create table if not exists source_files (
    source_path          varchar primary key,
    size_bytes           bigint not null,
    mtime_ns             bigint not null,
    content_hash         varchar,
    outcome              varchar not null check (outcome in ('article', 'rejected')),
    article_id           varchar,
    reject_reason        varchar,
    parser_version       varchar not null,
    first_seen_run_id    bigint not null,
    last_changed_run_id  bigint not null,
    last_seen_run_id     bigint not null,
    is_present           boolean not null
);
