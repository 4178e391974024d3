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
