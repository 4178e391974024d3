-- One row per story: the best capture of each article_id (see sql/load/30_articles.sql).
-- Key: article_id, unique (one row per group of sql/load/30_articles.sql; not indexed).
create table if not exists articles (
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
    capture_count           integer not null,
    language                varchar,
    site                    varchar,
    dateline                varchar
);

-- Warehouses made by parser 1.0.0 lack the last three columns (added at the end, as here,
-- so old and new warehouses agree on the column order); re-reading every file fills them.
alter table articles add column if not exists language varchar;
alter table articles add column if not exists site varchar;
alter table articles add column if not exists dateline varchar;

comment on table articles is 'One row per story: the best capture of each article_id (a complete related list first, then the longest one, then the first path).';
comment on column articles.capture_count is 'Number of raw files that carried this story.';
comment on column articles.article_id is 'Stable story id: the first 16 hex digits of SHA-256 over the normalized title and publication time (title and lead when undated).';
comment on column articles.source_path is 'The raw file this row was taken from (the best capture).';
comment on column articles.content_hash is 'SHA-256 of that file''s bytes (hex).';
comment on column articles.title is 'Headline.';
comment on column articles.published_at is 'Publication time as printed on the page (site local time, no time zone); null when the page has no date line.';
comment on column articles.lead is 'First body paragraph.';
comment on column articles.body is 'All body paragraphs joined by a blank line, without title, date line, caption, sign-off or trailer.';
comment on column articles.caption is 'Short photo-caption line under the lead, when the page has one.';
comment on column articles.attribution is 'Outlet named in a closing ''…; Press TV reported.'' sentence, when there is one.';
comment on column articles.sign_off is 'Editor''s sign-off line at the end of the body (e.g. ''S/SH 11''), when there is one.';
comment on column articles.paragraph_count is 'Number of body paragraphs.';
comment on column articles.word_count is 'Number of words in the body.';
comment on column articles.related_status is 'State of the related-stories trailer: ok, empty, absent, truncated or malformed.';
comment on column articles.related_declared_bytes is 'Length the trailer''s string(N) declares; often a few bytes off.';
comment on column articles.related_actual_bytes is 'Real UTF-8 length of the trailer''s text.';
comment on column articles.related_count is 'Number of related items recovered from the trailer.';
comment on column articles.source_encoding is 'Encoding the file was decoded from (utf-8, utf-8-sig, utf-16, cp1252, …).';
comment on column articles.parser_version is 'Version of the parser that produced the row.';
comment on column articles.language is 'Language of the page as an ISO 639-1 code: en for every article (Arabic and Persian pages of the sister sites are rejects with reason foreign_language); null only on rows from parser 1.0.0, which the next run re-reads.';
comment on column articles.site is 'Site the page comes from, as a host name: en.alalam.ir; null only on rows from parser 1.0.0.';
comment on column articles.dateline is 'Desk and country line printed in the body (e.g. ''Alalam - Syria''), kept out of body and caption; null when the page has none.';
