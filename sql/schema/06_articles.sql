-- One row per story: the best capture of each article_id (see sql/load/30_articles.sql).
create table if not exists articles (
    article_id              varchar primary key,
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
    capture_count           integer not null
);
