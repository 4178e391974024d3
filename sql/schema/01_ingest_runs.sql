-- One row per ingest run: when it ran, what it saw and what it wrote.
create table if not exists ingest_runs (
    run_id            bigint primary key,
    flow_run_id       varchar,
    source            varchar not null,
    started_at        timestamptz not null,
    finished_at       timestamptz,
    parser_version    varchar not null,
    files_seen        bigint not null default 0,
    files_new         bigint not null default 0,
    files_changed     bigint not null default 0,
    files_unchanged   bigint not null default 0,
    files_missing     bigint not null default 0,
    articles_written  bigint not null default 0,
    duplicates        bigint not null default 0,
    rejected          bigint not null default 0,
    is_conserved      boolean
);
