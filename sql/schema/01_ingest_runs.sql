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

comment on table ingest_runs is 'One row per ingest run: when it ran, what it saw and what it wrote.';
comment on column ingest_runs.run_id is 'Run number, 1 for the first run on this data folder, increasing by one.';
comment on column ingest_runs.flow_run_id is 'Id of the Prefect flow run that did this run, to find its logs and artifact in the Prefect UI.';
comment on column ingest_runs.source is 'Absolute path of the folder of raw files the run read.';
comment on column ingest_runs.started_at is 'When the run started (UTC).';
comment on column ingest_runs.finished_at is 'When the run finished loading, just before committing (UTC).';
comment on column ingest_runs.parser_version is 'Version of the parser that read this run''s new and changed files.';
comment on column ingest_runs.files_seen is 'Raw files found in the source folder.';
comment on column ingest_runs.files_new is 'Files not in the manifest before this run.';
comment on column ingest_runs.files_changed is 'Known files whose content changed: size or modification time differed and the hash did too.';
comment on column ingest_runs.files_unchanged is 'Known files whose content is unchanged: same size and modification time (not read), or read again with an identical hash.';
comment on column ingest_runs.files_missing is 'Files in the manifest that are no longer in the source folder; their data is kept.';
comment on column ingest_runs.articles_written is 'Articles inserted or replaced by this run (their best capture is a file this run read).';
comment on column ingest_runs.duplicates is 'Files read by this run that carried a story already held by another file.';
comment on column ingest_runs.rejected is 'Files read by this run that became rejects (among them any that kept the capture archived from their earlier content: see source_files.article_id).';
comment on column ingest_runs.is_conserved is 'True when files seen = new + changed + unchanged and every file read became exactly one capture (an article or a duplicate) or one reject: no file is unaccounted for.';
