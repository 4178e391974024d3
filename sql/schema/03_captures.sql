-- Every file that parsed as an article, one row per file: the raw material of `articles`.
-- Key: source_path, unique (checked by sql/checks/keys_are_unique.sql, not indexed).
create table if not exists captures (
    article_id              varchar not null,
    source_path             varchar not null,
    content_hash            varchar not null,
    title                   varchar not null,
    published_at            timestamp,
    lead                    varchar not null,
    body                    varchar not null,
    caption                 varchar,
    attribution             varchar,
    sign_off                varchar,
    paragraph_count         integer not null,
    word_count              integer not null,
    related_status          varchar not null,
    related_declared_bytes  integer,
    related_actual_bytes    integer,
    related_count           integer not null,
    source_encoding         varchar not null,
    parser_version          varchar not null,
    language                varchar,
    site                    varchar,
    dateline                varchar
);

-- Warehouses made by parser 1.0.0 lack the last three columns; the new parser version
-- makes the next run re-read every file, which fills them.
alter table captures add column if not exists language varchar;
alter table captures add column if not exists site varchar;
alter table captures add column if not exists dateline varchar;

comment on table captures is 'Every file that parsed as an article, one row per file: the raw material of articles (a story captured twice has two rows here, one in articles), with the same columns but capture_count.';
comment on column captures.article_id is 'As articles.article_id, for this file.';
comment on column captures.source_path is 'Absolute path of the raw file.';
comment on column captures.content_hash is 'SHA-256 of the file''s bytes (hex).';
comment on column captures.title is 'As articles.title, for this file.';
comment on column captures.published_at is 'As articles.published_at, for this file.';
comment on column captures.lead is 'As articles.lead, for this file.';
comment on column captures.body is 'As articles.body, for this file.';
comment on column captures.caption is 'As articles.caption, for this file.';
comment on column captures.attribution is 'As articles.attribution, for this file.';
comment on column captures.sign_off is 'As articles.sign_off, for this file.';
comment on column captures.paragraph_count is 'As articles.paragraph_count, for this file.';
comment on column captures.word_count is 'As articles.word_count, for this file.';
comment on column captures.related_status is 'As articles.related_status, for this file.';
comment on column captures.related_declared_bytes is 'As articles.related_declared_bytes, for this file.';
comment on column captures.related_actual_bytes is 'As articles.related_actual_bytes, for this file.';
comment on column captures.related_count is 'As articles.related_count, for this file.';
comment on column captures.source_encoding is 'As articles.source_encoding, for this file.';
comment on column captures.parser_version is 'As articles.parser_version, for this file.';
comment on column captures.language is 'As articles.language, for this file.';
comment on column captures.site is 'As articles.site, for this file.';
comment on column captures.dateline is 'As articles.dateline, for this file.';
