-- Every file that parsed as an article, one row per file: the raw material of `articles`.
create table if not exists captures (
    article_id              varchar not null,
    source_path             varchar primary key,
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
    parser_version          varchar not null
);

comment on table captures is 'Every file that parsed as an article, one row per file: the raw material of articles (a story captured twice has two rows here, one in articles).';
comment on column captures.article_id is 'Stable story id: the first 16 hex digits of SHA-256 over the normalized title and publication time (title and lead when undated).';
comment on column captures.source_path is 'Absolute path of the raw file.';
comment on column captures.content_hash is 'SHA-256 of the file''s bytes (hex).';
comment on column captures.title is 'Headline.';
comment on column captures.published_at is 'Publication time as printed on the page (site local time, no time zone); null when the page has no date line.';
comment on column captures.lead is 'First body paragraph.';
comment on column captures.body is 'All body paragraphs joined by a blank line, without title, date line, caption, sign-off or trailer.';
comment on column captures.caption is 'Short photo-caption line under the lead, when the page has one.';
comment on column captures.attribution is 'Outlet named in a closing ''…; Press TV reported.'' sentence, when there is one.';
comment on column captures.sign_off is 'Editor''s sign-off line at the end of the body (e.g. ''S/SH 11''), when there is one.';
comment on column captures.paragraph_count is 'Number of body paragraphs.';
comment on column captures.word_count is 'Number of words in the body.';
comment on column captures.related_status is 'State of the related-stories trailer: ok, empty, absent, truncated or malformed.';
comment on column captures.related_declared_bytes is 'Length the trailer''s string(N) declares; often a few bytes off.';
comment on column captures.related_actual_bytes is 'Real UTF-8 length of the trailer''s text.';
comment on column captures.related_count is 'Number of related items recovered from the trailer.';
comment on column captures.source_encoding is 'Encoding the file was decoded from (utf-8, utf-8-sig, utf-16, cp1252, …).';
comment on column captures.parser_version is 'Version of the parser that produced the row.';
