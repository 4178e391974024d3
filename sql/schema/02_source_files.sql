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
    is_present           boolean not null,
    missing_since_run_id bigint
);

-- Warehouses made before missing_since_run_id had last_seen_run_id, which every run
-- rewrote for every file: a cost that grew with the corpus, not with the run.
alter table source_files drop column if exists last_seen_run_id;
alter table source_files add column if not exists missing_since_run_id bigint;

comment on table source_files is 'The manifest: every raw file ever seen, what it held and what it became.';
comment on column source_files.source_path is 'Absolute path of the raw file.';
comment on column source_files.size_bytes is 'File size when last read or checked.';
comment on column source_files.mtime_ns is 'File modification time in nanoseconds since the Unix epoch, when last checked.';
comment on column source_files.content_hash is 'SHA-256 of the file''s bytes (hex); null when the file could not be read.';
comment on column source_files.outcome is 'What the file became: ''article'' or ''rejected''.';
comment on column source_files.article_id is 'The article this file carries (maybe as a duplicate capture), when outcome = ''article''; for a reject, the article whose capture the file kept from its earlier content (null if none): a file whose new content is a reject or holds less than its archived capture keeps that capture.';
comment on column source_files.reject_reason is 'Why the file was rejected (see rejects.reason), when outcome = ''rejected''.';
comment on column source_files.parser_version is 'Version of the parser that last read the file.';
comment on column source_files.first_seen_run_id is 'Run that first saw the file.';
comment on column source_files.last_changed_run_id is 'Run that last read the file because it was new or changed.';
comment on column source_files.is_present is 'Whether the last run found the file; a vanished file keeps its data.';
comment on column source_files.missing_since_run_id is 'First run that did not find the file, while it stays missing; null when the file is present.';
